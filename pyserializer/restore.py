"""``python DUMP_DIR/restore.py``: replace a database's data by a dump.

The dump's ``restore.py`` ends by calling ``main(__file__)``. Run from the
project directory (with ``DJANGO_SETTINGS_MODULE`` set, or ``--settings``),
it names the database it is about to replace and asks for confirmation,
migrates the database if it is new or behind, and then, in ONE transaction,
empties every table but those ``migrate`` fills (content types, permissions:
the dump's are matched to them by natural key), and loads the dump with
``loaddata``: the same bounded-memory loader as ``manage.py loaddata
DUMP_DIR/restore.py``. If anything fails, the transaction is rolled back and
the data is as before.
"""

import os
import sys


def _dump_directory_off_the_path():
    """``python DIR/restore.py`` puts DIR first on sys.path, where every chunk file
    (named after its table: ``email.py``, ``argparse.py``, ...) would shadow a
    module of that name and be run on import. Take DIR off before importing
    anything else."""
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    if script and os.path.basename(script) == "restore.py":
        directory = os.path.dirname(os.path.abspath(script))
        sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != directory]


_dump_directory_off_the_path()

import argparse  # noqa: E402  (after the line above, on purpose)
import time  # noqa: E402

from django.db import DEFAULT_DB_ALIAS  # noqa: E402


class Cancelled(Exception):
    """The user answered no: nothing was changed."""


def main(manifest_path, argv=None):
    """The command line of ``restore.py``; exits with status 0 only on success."""
    parser = argparse.ArgumentParser(
        prog="python %s" % manifest_path,
        description="Replace ALL data of a database by this dump. Run it from the "
        "project directory; the database is migrated first if it is new or behind.",
    )
    parser.add_argument(
        "--noinput", "--no-input", action="store_false", dest="interactive",
        help="Do not ask for confirmation.",
    )
    parser.add_argument(
        "--database", default=DEFAULT_DB_ALIAS,
        help='The database to replace. Defaults to the "default" database.',
    )
    parser.add_argument(
        "--settings",
        help="The Python path to a settings module, e.g. \"myproject.settings\". "
        "If this isn't provided, the DJANGO_SETTINGS_MODULE environment variable will be used.",
    )
    parser.add_argument("--pythonpath", help="A directory to add to the Python path.")
    parser.add_argument(
        "-i", "--ignorenonexistent", action="store_true",
        help="Ignore fields and models in the dump that the current models do not have.",
    )
    parser.add_argument(
        "-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3],
        help="Verbosity level; 0=errors only, 1=normal output, 2=verbose output.",
    )
    parser.add_argument("--traceback", action="store_true", help="Show a full traceback on errors.")
    args = parser.parse_args(argv)

    # Like manage.py: the project directory (the current one) is importable.
    for path in (args.pythonpath, os.getcwd()):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        parser.exit(2, "Error: say which settings to use: set DJANGO_SETTINGS_MODULE or "
                       "pass --settings=myproject.settings, and run from the project directory.\n")
    import django

    try:
        django.setup()
        restore(
            manifest_path, using=args.database, interactive=args.interactive,
            verbosity=args.verbosity, ignorenonexistent=args.ignorenonexistent,
        )
    except Cancelled:
        parser.exit(1, "Cancelled; nothing was changed.\n")
    except KeyboardInterrupt:
        parser.exit(1, "\nInterrupted; the transaction was rolled back.\n")
    except Exception as exc:
        if args.traceback:
            raise
        parser.exit(1, "Restore failed: %s\nNothing of the dump was kept: the data of the "
                       "database is as it was before.\n" % exc)


def restore(manifest_path, using=DEFAULT_DB_ALIAS, interactive=True, verbosity=1,
            ignorenonexistent=False, stdout=None, ask=input):
    """Replace the data of database ``using`` by the dump; return (objects, models).

    A dump taken at other migrations than the code's is restored through them
    (``pyserializer.migrating``), which reports on ``stdout`` and returns None.

    ``ask(prompt)`` is asked for confirmation unless ``interactive`` is false.
    """
    from django.core.management import call_command
    from django.core.management.commands import loaddata
    from django.db import connections, transaction

    from . import manifest

    stdout = stdout or sys.stdout
    started = time.monotonic()
    manifest_path = os.path.abspath(manifest_path)
    with open(manifest_path, "rb") as stream:
        dump = manifest.read(stream, manifest_path)
    connection = connections[using]
    if interactive or verbosity >= 1:
        stdout.write(
            "This replaces ALL data of %s\nby the dump %s (%s objects of %d models, "
            "taken %s from a %s database).\n"
            % (describe_database(connection), dump.directory, "{:,}".format(dump.total_rows),
               len({entry.model for entry in dump.files if entry.rows}), dump.created,
               dump.database_vendor)
        )
        if dump.skipped:
            stdout.write(
                "WARNING: this dump is INCOMPLETE: these tables could not be read when it "
                "was made and will be empty: %s\n" % ", ".join(table for _, table, _ in dump.skipped)
            )
    if interactive:
        try:
            answer = ask("Are you sure (y/n)? ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            raise Cancelled()
    if _taken_at_other_migrations(dump, manifest_path):
        from .migrating import restore_through_migrations

        restore_through_migrations(
            manifest_path, using=using, stdout=stdout if verbosity >= 1 else None
        )
        return None
    _register_format()
    _migrate_if_needed(connection, verbosity, stdout)
    loader = loaddata.Command(stdout=stdout)
    try:
        with transaction.atomic(using=using):
            _empty(connection)
            call_command(
                loader, manifest_path, database=using, ignorenonexistent=ignorenonexistent,
                verbosity=max(verbosity - 1, 0),
            )
    finally:
        clear_content_type_cache()
    objects, models = loader.loaded_object_count, len(loader.models)
    if verbosity >= 1:
        stdout.write(
            "Restored %s objects of %d models into %s in %.1f seconds.\n"
            % ("{:,}".format(objects), models, describe_database(connection),
               time.monotonic() - started)
        )
    return objects, models


def _taken_at_other_migrations(dump, manifest_path):
    """Whether the dump's recorded migration state differs from the code's."""
    if not dump.migrations:
        return False
    from .migrating import plan_restore

    return bool(plan_restore(manifest_path).changed)


def describe_database(connection):
    """E.g. "database 'default' (postgresql: shop on db.example.org:5432)"."""
    settings_dict = connection.settings_dict
    where = str(settings_dict.get("NAME") or "")
    host = settings_dict.get("HOST")
    if host:
        port = settings_dict.get("PORT")
        where += " on %s%s" % (host, ":%s" % port if port else "")
    return "database %r (%s: %s)" % (connection.alias, connection.vendor, where)


def _register_format():
    """loaddata finds the loader by the extension ".py": make sure it is there."""
    from django.core import serializers

    if "py" not in serializers.get_serializer_formats():
        serializers.register_serializer("py", "pyserializer")


def _migrate_if_needed(connection, verbosity, stdout):
    """Migrate a new (or older) database; DDL stays outside the transaction."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", database=connection.alias, interactive=False,
                     verbosity=verbosity, stdout=stdout)


def _empty(connection):
    """Delete the rows of every table of the project, inside the caller's
    transaction, but those of the models that migrate fills (content types,
    permissions): the dump's rows of these are matched to them by natural key.

    MariaDB/MySQL's TRUNCATE would commit the transaction, so there the rows
    are deleted (with foreign key checks off) and sequences are not reset.
    """
    from django.apps import apps
    from django.core.management.color import no_style

    from .wholesite import natural_key_labels

    labels = natural_key_labels()
    kept = {
        model._meta.db_table for model in apps.get_models() if model._meta.label_lower in labels
    }
    tables = [
        table
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False)
        if table not in kept
    ]
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with deferred constraint checks pending from
        # earlier writes of the same transaction: run those checks now.
        connection.check_constraints()
    statements = connection.ops.sql_flush(
        no_style(), tables, reset_sequences=connection.vendor != "mysql"
    )
    connection.ops.execute_sql_flush(statements)


def clear_content_type_cache():
    """Content type ids cached before the restore (or a rollback) are wrong after it."""
    from django.apps import apps

    if apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
