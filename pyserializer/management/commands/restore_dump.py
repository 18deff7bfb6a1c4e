"""``manage.py restore_dump DIR`` (or ``DIR/restore.py``): replace the data by a dump.

The same restore as ``python DIR/restore.py`` (``pyserializer.restoring.run``),
from manage.py, without ever running the dump's ``restore.py`` as Python. A
dump older than the code is restored through the project's migrations.
``--list`` and ``--check`` look at a dump without restoring it
(``pyserializer.restoring.checking``); ``--verify`` restores it into a scratch database
and compares a second dump of that with it (``pyserializer.restoring.verifying``).
Given a folder of dumps (``dump2py --timestamped``), ``--list`` lists them and
``--latest`` takes the newest (``pyserializer.files.rotation``).
"""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from pyserializer.cli.interrupts import terminate_as_interrupt
from pyserializer.cli.progress import bar_stream
from pyserializer.cli.refusals import (
    NOTHING_CHANGED, OneVoice, add_database_argument, refusal_text, stopped_by,
)
from pyserializer.errors import DumpError
from pyserializer.files import manifest as manifests
from pyserializer.files import rotation
from pyserializer.files.safefiles import open_dump_file
from pyserializer.restore import add_restore_arguments
from pyserializer.restoring.checking import check_dump, list_dump, list_dumps_in
from pyserializer.restoring.run import restore
from pyserializer.restoring.verifying import VerifyFailed, verify


class Command(OneVoice, BaseCommand):
    after_interrupt = NOTHING_CHANGED

    help = (
        "Replace ALL data of a database by a directory dump, even one taken at older "
        "migrations: the database is migrated to the dump's migration state, the rows "
        "are loaded into the models as they were then, and the database is migrated "
        "forward to the current code. With --list or --check, only look at the dump."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "manifest",
            help="The dump: its directory, or its restore.py; with --latest or --list, "
            "also a folder of dumps (dump2py --timestamped).",
        )
        parser.add_argument(
            "--latest", action="store_true",
            help="The path is a folder of dumps: take its newest complete dump, say which, "
            "and do what was asked (restore, --check, --list, --verify) with it.",
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="Do not ask for confirmation.",
        )
        add_database_argument(
            parser, 'The database to replace. Defaults to the "default" database.',
            default=DEFAULT_DB_ALIAS,
        )
        add_restore_arguments(parser)
        looks = parser.add_mutually_exclusive_group()
        looks.add_argument(
            "--check", action="store_true",
            help="Read the whole dump as a restore would, without writing to any "
            "database: every file, checksum, row, model and field, or the migrations "
            "it needs. Exits with an error naming file and line on any problem.",
        )
        looks.add_argument(
            "--list", action="store_true",
            help="List the dump's origin, migrations, models, rows and files; read nothing else.",
        )
        looks.add_argument(
            "--verify", action="store_true",
            help="A trial restore: restore the dump into a scratch database (a temporary "
            "one, dropped afterwards), dump that again and compare it with the dump, row "
            "by row. The database is not changed. Exits with an error naming model, pk "
            "and field of the first difference.",
        )
        add_database_argument(
            parser, name="--verify-into", metavar="ALIAS",
            help="With --verify: restore into this database of the settings, replacing "
            "its data (asks first unless --noinput), instead of a temporary one; for a "
            "database user who may not create databases.",
        )

    def handle(self, manifest: str, interactive: bool, database: str, verbosity: int,
               latest: bool, **options: Any) -> None:
        if latest:
            manifest = self.latest(manifest, verbosity)
        elif rotation.is_folder_of_dumps(manifest):
            folder = rotation.find_dumps(manifest)
            if options["list"]:
                if not folder.dumps and not folder.damaged:
                    raise CommandError(
                        "%s is neither a dump (it has no restore.py) nor a folder of dumps "
                        "(no folder in it is one)." % manifest)
                self.stdout.write(list_dumps_in(folder))
                return
            if folder.newest is not None:
                raise CommandError(
                    "%s is a folder of dumps, not a dump: name one of them (the newest is "
                    "%s), or add --latest." % (manifest, folder.newest.path))
        manifest = manifests.manifest_path_of(manifest)
        verifying = options["verify"] or options["verify_into"]
        try:
            if options["list"]:
                with open_dump_file(manifest) as stream:
                    self.stdout.write(list_dump(manifests.read(stream, manifest)))
            elif options["check"]:
                report = check_dump(manifest, using=database, excludes=options["exclude"],
                                    replace_media=options["replace_media"],
                                    jobs=options["jobs"])
                if verbosity >= 1:
                    self.stdout.write(report.describe())
            elif verifying:
                self.verify(manifest, database, interactive, verbosity, options)
            else:
                # The stream itself, not our OutputWrapper: migrate wraps what it
                # is given, and two wrappers end "  Applying app.0002_x..." with a
                # newline of their own, splitting " OK" onto the next line.
                restore(
                    manifest, using=database, interactive=interactive, verbosity=verbosity,
                    ignorenonexistent=options["ignorenonexistent"], excludes=options["exclude"],
                    stdout=self.stdout._out, ask=input,
                    bar_stream=bar_stream(self.stderr._out, verbosity),
                    replace_media=options["replace_media"], signals=options["signals"],
                    jobs=options["jobs"],
                )
        except DumpError as exc:
            what = ("Verify failed" if verifying else "Check failed" if options["check"]
                    else "List failed" if options["list"] else "Restore failed")
            raise CommandError(refusal_text(exc, what)) from exc

    def latest(self, path: str, verbosity: int) -> str:
        """--latest: the newest complete dump of the folder ``path``, named to the user."""
        if manifests.is_manifest_path(path) or (
                os.path.isdir(path) and not rotation.is_folder_of_dumps(path)):
            raise CommandError(
                "%s is a dump itself; --latest takes the folder that holds the dumps: name "
                "that folder, or leave out --latest." % path)
        if not os.path.isdir(path):
            raise CommandError("%s is not a folder of dumps: no such directory." % path)
        folder = rotation.find_dumps(path)
        newest = folder.newest
        if newest is None:
            damaged = "".join("; %s is not complete: %s" % (damaged.name, damaged.problem)
                              for damaged in folder.damaged)
            raise CommandError("%s holds no complete dump%s." % (path, damaged))
        if verbosity >= 1:
            self.stdout.write("Latest dump in %s: %s, taken %s." % (
                path, newest.name, newest.manifest.created))
        return newest.path

    def verify(self, manifest: str, database: str, interactive: bool, verbosity: int,
               options: dict[str, Any]) -> None:
        """--verify: report in one line, or fail naming the first difference."""
        try:
            with terminate_as_interrupt():
                report = verify(
                    manifest, using=database, into=options["verify_into"],
                    excludes=options["exclude"], ignorenonexistent=options["ignorenonexistent"],
                    interactive=interactive, ask=input,
                    stdout=self.stdout._out, verbosity=verbosity, signals=options["signals"],
                    jobs=options["jobs"],
                )
        except KeyboardInterrupt as exc:
            what = stopped_by(exc)
            if options["verify_into"] is None:
                raise CommandError("%s. The scratch database was dropped; database %r was "
                                   "not changed." % (what, database))
            raise CommandError("%s. The trial restore into database %r was rolled back or "
                               "left unfinished; database %r was not changed." % (
                                   what, options["verify_into"], database))
        except VerifyFailed as exc:
            raise CommandError("Verify failed: %s" % exc) from exc
        if verbosity >= 1:
            self.stdout.write(report.describe())
