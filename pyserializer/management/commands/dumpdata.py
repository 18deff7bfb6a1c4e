"""``manage.py dumpdata``: Django's command, with a directory dump written safely.

Django's own ``dumpdata -o DIR/restore.py`` opens the output itself, and that
open follows a link planted at ``DIR/restore.py`` (and truncates its target)
before any code of the format runs. With ``"pyserializer"`` in
INSTALLED_APPS this command takes its place: for a directory dump in
pyserializer's format (``py``, or the name it is registered under) it
writes ``restore.py`` as ``dump2py`` does (a new private file, renamed into
place when complete) and refuses a link. A whole-site ``py`` dump (no app
labels) with ``-e`` is refused, before anything is written, when the models
it dumps refer to a model left out (``pyserializer.restoring.references``), in one
line (``pyserializer.cli.refusals``). Everything else is Django's.
"""

import os
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.commands import dumpdata
from django.db import router

from pyserializer.cli.refusals import OneVoice
from pyserializer.dumping import wholesite
from pyserializer.files.manifest import is_manifest_path
from pyserializer.files.safefiles import AtomicFile
from pyserializer.foreign import is_our_format
from pyserializer.restoring import references


class Command(OneVoice, dumpdata.Command):
    def handle(self, *app_labels: str, **options: Any) -> None:
        ours = is_our_format(options.get("format"))
        if ours and not app_labels:
            refuse_whole_site_excludes(options.get("exclude") or [], options["database"])
        output = options.get("output")
        if not (output and ours and is_manifest_path(output)):
            return super().handle(*app_labels, **options)
        if os.path.islink(output):
            raise CommandError(
                "%s is a symbolic link; a directory dump never writes through a link. "
                "Nothing was written. Remove it and dump again." % output)
        try:
            manifest = AtomicFile(os.path.abspath(output))
        except OSError as exc:
            raise CommandError("Cannot write %s: %s. Nothing was written." % (output, exc))
        stdout = self.stdout  # type: ignore[has-type]  # set by BaseCommand.__init__
        self.stdout = manifest  # Django writes to self.stdout when there is no output
        try:
            super().handle(*app_labels, **dict(options, output=None))
        except BaseException:
            manifest.discard()
            raise
        finally:
            self.stdout = stdout
        manifest.commit()


def refuse_whole_site_excludes(excludes: list[str], using: str) -> None:
    """A whole-site dump (no app labels) must not leave out a model that the
    models it dumps refer to (pyserializer.restoring.references)."""
    if not excludes:
        return
    excluded = wholesite.excluded_labels(excludes)
    kept = [
        model for model in apps.get_models()
        if not model._meta.proxy and router.allow_migrate_model(using, model)
        and not excluded(model._meta.label_lower)
    ]
    references.refuse_dump_without(kept, excludes, using)
