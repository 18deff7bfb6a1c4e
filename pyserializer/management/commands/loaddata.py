"""``manage.py loaddata``: Django's command, with a progress bar for a directory dump.

With ``"pyserializer"`` in INSTALLED_APPS this command takes the place of
Django's. Loading a ``restore.py`` at ``-v 2`` on a terminal, it shows a bar
of the objects loaded out of the manifest's total, as a restore does (at
``-v 3`` Django counts the objects on standard output itself). A directory dump loaded with ``-e`` is refused, before a row is loaded,
when the rows it loads refer to a model left out (``pyserializer.restoring.references``):
their references would point at nothing. Run from the command line, every
refusal reads as one line (``pyserializer.cli.refusals``), and Ctrl-C or SIGTERM
rolls the load back and says so. Everything else is Django's.
"""

import sys
from typing import Any

from django.core.management.commands import loaddata

from pyserializer.cli.progress import RestoreProgress, bar_stream, counted_media
from pyserializer.cli.refusals import NOTHING_CHANGED, OneVoice
from pyserializer.dumping import wholesite
from pyserializer.files import manifest
from pyserializer.files.safefiles import open_dump_file
from pyserializer.restoring import references


class Command(OneVoice, loaddata.Command):
    after_interrupt = NOTHING_CHANGED  # Django loads every fixture in one transaction
    progress = None
    excludes = ()

    def handle(self, *fixture_labels: str, **options: Any) -> None:
        self.excludes = options.get("exclude") or ()
        return super().handle(*fixture_labels, **options)

    def load_label(self, fixture_label: str) -> None:
        if self.excludes and manifest.is_manifest_path(fixture_label):
            self.refuse_dangling_excludes(fixture_label)
        if manifest.is_manifest_path(fixture_label) and self.verbosity >= 1:
            self.say_media_not_loaded(fixture_label)
        stream = bar_stream(sys.stderr, 1) if self.verbosity == 2 else None
        if stream is None or not manifest.is_manifest_path(fixture_label):
            return super().load_label(fixture_label)
        with open_dump_file(fixture_label) as source:
            total = manifest.read(source, fixture_label).total_rows
        with RestoreProgress(total, stream) as self.progress:
            self.loaded = 0
            try:
                loaded = super().load_label(fixture_label)
                self.progress.finished(self.loaded)
                return loaded
            finally:
                self.progress = None

    def say_media_not_loaded(self, fixture_label: str) -> None:
        """One line when the dump holds media files: loaddata loads rows only."""
        with open_dump_file(fixture_label) as source:
            media = manifest.read(source, fixture_label).media_files()
        if media:
            self.stderr.write(
                "%s holds %s, which loaddata does not put into storage: restore them with "
                "manage.py restore_dump." % (fixture_label, counted_media(media)))

    def refuse_dangling_excludes(self, fixture_label: str) -> None:
        """Before a row of the directory dump is loaded: refuse to leave out a
        model that the rows loaded refer to (pyserializer.restoring.references)."""
        with open_dump_file(fixture_label) as source:
            dump = manifest.read(source, fixture_label)
        references.refuse_loading_without(
            dump, wholesite.excluded_labels(self.excludes),
            matched=wholesite.matched_by_natural_key(dump), nothing_done="Nothing was loaded.")

    def save_obj(self, obj: Any) -> bool:
        saved = super().save_obj(obj)
        if self.progress is not None:
            self.loaded += 1
            self.progress.loaded(self.loaded)
        return saved
