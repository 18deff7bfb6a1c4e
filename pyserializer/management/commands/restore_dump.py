"""``manage.py restore_dump DIR/restore.py``: replace the data by a dump, through migrations.

The dump may be older than the code: the database is brought to the dump's
migration state, loaded, and migrated forward (see ``pyserializer.migrating``).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from pyserializer.migrating import describe_database, plan_restore, restore_through_migrations


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

    def handle(self, manifest, interactive, database, verbosity, **options):
        plan = plan_restore(manifest)
        if interactive:
            answer = input(
                "This replaces ALL data of %s by the dump %s.\n%s\nAre you sure (y/n)? "
                % (describe_database(connections[database]), plan.dump.directory, plan.describe())
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Cancelled; nothing was changed.")
        restore_through_migrations(
            manifest, using=database, stdout=self.stdout if verbosity >= 1 else None
        )
