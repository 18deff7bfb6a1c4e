"""``manage.py dumpdata``: Django's command, with a directory dump written safely.

Django's own ``dumpdata -o DIR/restore.py`` opens the output itself, and that
open follows a link planted at ``DIR/restore.py`` (and truncates its target)
before any code of the format runs. With ``"pyserializer"`` in
INSTALLED_APPS this command takes its place: for a ``py`` directory dump it
writes ``restore.py`` as ``dump2py`` does (a new private file, renamed into
place when complete) and refuses a link; everything else is Django's.
"""

import os

from django.core.management.base import CommandError
from django.core.management.commands import dumpdata

from pyserializer.manifest import is_manifest_path
from pyserializer.outputdir import ManifestFile


class Command(dumpdata.Command):
    def handle(self, *app_labels, **options):
        output = options.get("output")
        if not (output and options.get("format") == "py" and is_manifest_path(output)):
            return super().handle(*app_labels, **options)
        if os.path.islink(output):
            raise CommandError(
                "%s is a symbolic link; a directory dump never writes through a link. "
                "Nothing was written. Remove it and dump again." % output)
        try:
            manifest = ManifestFile(os.path.abspath(output))
        except OSError as exc:
            raise CommandError("Cannot write %s: %s. Nothing was written." % (output, exc))
        stdout = self.stdout
        self.stdout = manifest  # Django writes to self.stdout when there is no output
        try:
            super().handle(*app_labels, **dict(options, output=None))
        except BaseException:
            manifest.discard()
            raise
        finally:
            self.stdout = stdout
        manifest.commit()
