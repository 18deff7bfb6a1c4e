"""``manage.py reseal_dump DIR``: accept hand edits of a directory dump.

A thin wrapper over ``pyserializer.files.resealing``: it only reports.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pyserializer.cli.refusals import OneVoice
from pyserializer.errors import DumpError, DumpWriteError
from pyserializer.files.manifest import manifest_path_of
from pyserializer.files.resealing import reseal


class Command(OneVoice, BaseCommand):
    help = (
        "After chunk files (or media files) of a directory dump were edited by hand, "
        "check every chunk as the loader reads it and write their new sizes, checksums "
        "and row counts into restore.py."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", help="The dump: its directory, or its restore.py.")

    def handle(self, manifest: str, **options: Any) -> None:
        manifest = manifest_path_of(manifest)
        try:
            changed = reseal(manifest)
        except (DumpError, DumpWriteError, OSError) as exc:
            raise CommandError("%s\nrestore.py was not changed." % exc) from exc
        if options["verbosity"] < 1:
            return
        if not changed:
            self.stdout.write("Every chunk matches %s; nothing was changed." % manifest)
            return
        for name in changed:
            self.stdout.write("Resealed %s" % name)
        media = sum(1 for name in changed if "/" in name)
        self.stdout.write("Wrote %s (%d of its chunks%s changed)." % (
            manifest, len(changed) - media,
            " and %d of its media files" % media if media else ""))
