"""``manage.py restore_dump DIR/restore.py``: replace the data by a dump.

The same restore as ``python DIR/restore.py`` (``pyserializer.restoring``),
from manage.py, without ever running the dump's ``restore.py`` as Python. A
dump older than the code is restored through the project's migrations.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from pyserializer.errors import DumpError
from pyserializer.restore import add_restore_arguments
from pyserializer.restoring import restore


class Command(BaseCommand):
    help = (
        "Replace ALL data of a database by a directory dump, even one taken at older "
        "migrations: the database is migrated to the dump's migration state, the rows "
        "are loaded into the models as they were then, and the database is migrated "
        "forward to the current code."
    )

    def add_arguments(self, parser):
        parser.add_argument("manifest", help="The restore.py of the dump.")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="Do not ask for confirmation.",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS,
            help='The database to replace. Defaults to the "default" database.',
        )
        add_restore_arguments(parser)

    def handle(self, manifest, interactive, database, verbosity, **options):
        try:
            restore(
                manifest, using=database, interactive=interactive, verbosity=verbosity,
                ignorenonexistent=options["ignorenonexistent"], excludes=options["exclude"],
                stdout=self.stdout, ask=input,
            )
        except DumpError as exc:
            raise CommandError("Restore failed: %s" % exc) from exc
