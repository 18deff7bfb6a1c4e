"""``python DUMP_DIR/restore.py``: the command line of a restore.

The dump's ``restore.py`` ends by calling ``main(__file__)``. Run from the
project directory (with ``DJANGO_SETTINGS_MODULE`` set, or ``--settings``),
it parses the options, sets Django up and runs the restore pipeline
(``pyserializer.restoring.run``), as ``manage.py restore_dump`` does.

Importing this module changes nothing: the script part of ``restore.py``
(``manifest.SCRIPT_TRAILERS``) takes the dump's directory off ``sys.path``
before it imports anything, so that no chunk file can pass for a module.
"""

import argparse
import os
import sys

from django.db import DEFAULT_DB_ALIAS


def main(manifest_path: str, argv: list[str] | None = None) -> None:
    """The command line of ``restore.py``; exits with status 0 only on success."""
    parser = argparse.ArgumentParser(
        prog="python %s" % manifest_path,
        description="Replace ALL data of a database by this dump. Run it from the "
        "project directory; the database is migrated first if it is new or behind, "
        "and a dump taken at older migrations is restored through them.",
    )
    parser.add_argument(
        "--noinput", "--no-input", action="store_false", dest="interactive",
        help="Do not ask for confirmation.",
    )
    database = parser.add_argument(
        "--database", default=DEFAULT_DB_ALIAS,
        help='The database to replace. Defaults to the "default" database.',
    )
    parser.add_argument(
        "--settings",
        help="The Python path to a settings module, e.g. \"myproject.settings\". "
        "If this isn't provided, the DJANGO_SETTINGS_MODULE environment variable will be used.",
    )
    parser.add_argument("--pythonpath", help="A directory to add to the Python path.")
    add_restore_arguments(parser)
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

    from .cli.refusals import interrupted, refusal_text

    try:
        django.setup()
        from django.db import connections

        from .cli.interrupts import terminate_as_interrupt
        from .cli.progress import bar_stream
        from .restoring.run import restore

        # As manage.py's commands do: the parser refuses an alias the settings lack.
        database.choices = tuple(connections)
        parser.parse_args(argv)
        with terminate_as_interrupt():
            restore(
                manifest_path, using=args.database, interactive=args.interactive,
                verbosity=args.verbosity, ignorenonexistent=args.ignorenonexistent,
                excludes=args.exclude, stdout=sys.stdout,
                bar_stream=bar_stream(sys.stderr, args.verbosity),
                replace_media=args.replace_media, signals=args.signals, jobs=args.jobs,
            )
    except KeyboardInterrupt as exc:
        parser.exit(1, "%s\n" % interrupted(exc))
    except Exception as exc:
        if args.traceback:
            raise
        parser.exit(1, "%s\n" % refusal_text(exc, "Restore failed"))


def add_restore_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``restore.py`` and ``restore_dump`` share (with ``loaddata``,
    but for ``--no-signals`` and ``--replace-media``)."""
    parser.add_argument(
        "-i", "--ignorenonexistent", action="store_true",
        help="Ignore fields and models in the dump that the current models do not have.",
    )
    parser.add_argument(
        "-e", "--exclude", action="append", default=[],
        help="An app_label or app_label.ModelName to leave out (can be used multiple "
        "times): its rows are not loaded and its table is left empty; its media files "
        "are not put back.",
    )
    parser.add_argument(
        "--no-signals", action="store_false", dest="signals", default=None,
        help="Send no pre_save, post_save or m2m_changed signals, as pg_restore runs none "
        "of the site's code: receivers that keep data of their own (search indexes, "
        "caches, counters) are not told about the rows; rebuild that data afterwards. "
        "The default is the setting PYSERIALIZER_RESTORE_SIGNALS (true unless set).",
    )
    parser.add_argument(
        "-j", "--jobs", type=jobs_count, default=1, metavar="N",
        help="Read the dump with N processes: N-1 of them read, check and decode the "
        "chunks ahead of this one, which writes the rows in one transaction, as with "
        "one process (restore_dump: with --check and --verify too). Default: 1.",
    )
    parser.add_argument(
        "--replace-media", action="store_true",
        help="Overwrite a file that a storage holds at the name of one of the dump's media "
        "files with other content (without it, the restore is refused).",
    )


def jobs_count(text: str) -> int:
    """The value of ``--jobs``: a number of processes, at least 1."""
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of processes" % text) from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("--jobs must be at least 1")
    return jobs
