"""``manage.py loaddata``: Django's command, with a progress bar for a directory dump.

With ``"pyserializer"`` in INSTALLED_APPS this command takes the place of
Django's. Loading a ``restore.py`` at ``-v 2`` or more on a terminal, it
shows a bar of the objects loaded out of the manifest's total, as a restore
does; everything else is Django's.
"""

import sys

from django.core.management.commands import loaddata

from pyserializer import manifest
from pyserializer.progress import RestoreProgress, bar_stream
from pyserializer.reader import open_dump_file


class Command(loaddata.Command):
    progress = None

    def load_label(self, fixture_label):
        stream = bar_stream(sys.stderr, self.verbosity - 1)
        if stream is None or not manifest.is_manifest_path(fixture_label):
            return super().load_label(fixture_label)
        with open_dump_file(fixture_label) as source:
            total = manifest.read(source, fixture_label).total_rows
        with RestoreProgress(total, stream) as self.progress:
            self.loaded = 0
            try:
                return super().load_label(fixture_label)
            finally:
                self.progress = None

    def save_obj(self, obj):
        saved = super().save_obj(obj)
        if self.progress is not None:
            self.loaded += 1
            self.progress.loaded(self.loaded)
        return saved
