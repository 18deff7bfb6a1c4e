"""``manage.py dump2py OUTPUT_DIR``: a whole-site backup as a directory dump.

``manage.py dump2py --simulate`` reads the same rows and writes nothing;
``manage.py dump2py --timestamped PARENT --keep N`` writes a new folder of
PARENT and then removes the oldest dumps there beyond N (``files.rotation``).

A thin wrapper: it chooses the models and the natural keys (``wholesite``),
opens one read-only snapshot (``snapshot``), and hands the writing to the
"py" Serializer, inside a staging directory that becomes OUTPUT_DIR only
when the dump is complete (``outputdir``). SIGTERM stops it as Ctrl-C does.
"""

import datetime
import os
import sys
import time
from dataclasses import replace
from typing import Any, Sequence

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.base import SerializationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError
from django.db.models import QuerySet

from pyserializer.cli.interrupts import interrupts_deferred, terminate_as_interrupt
from pyserializer.cli.progress import (
    DumpProgress, bar_stream, chunk_files, human_size, media_files,
)
from pyserializer.cli.refusals import ARE_YOU_SURE, OneVoice, add_database_argument, agreed, stopped_by
from pyserializer.dumping import outputdir, wholesite
from pyserializer.dumping.dumpoptions import DumpObserver, DumpOptions, UnusableOption
from pyserializer.dumping.media import DumpedMedia
from pyserializer.dumping.parallel import ParallelTables, reason_not_to_split
from pyserializer.dumping.rows import Block
from pyserializer.dumping.serializer import Serializer, UnreadableTable, UnwritableTable
from pyserializer.dumping.snapshot import ModelSavepoints, read_snapshot
from pyserializer.dumping.writer import NoOutput
from pyserializer.errors import one_line
from pyserializer.files import compression, rotation
from pyserializer.files.grammar import json_value
from pyserializer.files.manifest import MissingMedia
from pyserializer.restoring import references
from pyserializer.tables import every_row


class Command(OneVoice, BaseCommand):
    after_interrupt = "no dump was written."
    help = (
        "Write a Python dump of the whole database to OUTPUT_DIR: restore.py plus "
        "one file per model. Restore it with `manage.py restore_dump OUTPUT_DIR` "
        "(replaces the database; never runs the dump); `python OUTPUT_DIR/restore.py` "
        "does the same but runs the file as Python, for your own dumps only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "output_dir", nargs="?",
            help="The directory where to write the dump; it must not exist yet "
            "(none with --simulate; with --timestamped, the folder of dumps).",
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="Do not prompt for input of any kind.",
        )
        parser.add_argument(
            "-t", "--tolerate", action="store_true",
            help="Tolerate database errors: skip a table that cannot be read, record it "
            "in restore.py, dump the others, and exit with an error status. With --media, "
            "a file missing in storage is listed in restore.py the same way.",
        )
        parser.add_argument(
            "-s", "--simulate", action="store_true",
            help="Just simulate: read every row as a real dump would, write nothing, "
            "and report how many rows each model has.",
        )
        parser.add_argument(
            "-o", "--overwrite", action="store_true",
            help="Replace OUTPUT_DIR if it exists (asking first when it is not empty, "
            "unless --noinput). The old dump is kept until the new one is complete.",
        )
        parser.add_argument(
            "--timestamped", action="store_true",
            help="OUTPUT_DIR is a folder of dumps (created when missing): write the dump "
            "into a new folder in it, named after the dump's UTC time, e.g. "
            "2026-12-07T073253Z.",
        )
        parser.add_argument(
            "--keep", type=int, default=None, metavar="N",
            help="With --timestamped, once the new dump is complete: remove the oldest "
            "dumps of OUTPUT_DIR beyond the N newest, the new one included. Only folders "
            "that are complete dumps are ever removed.",
        )
        parser.add_argument(
            "-m", "--max-row-count", type=int, default=None, metavar="NUM",
            help="Maximum number of rows per file (default: 50000, or the "
            "PYSERIALIZER_MAX_ROW_COUNT setting).",
        )
        parser.add_argument(
            "-z", "--compress", choices=compression.CHOICES + ("none",), default=None,
            help="Compress every file but restore.py with gzip (<table>.py.gz) or zstd "
            "(<table>.py.zst, needs pip install django-pyserializer[zstd]); default: the "
            "PYSERIALIZER_COMPRESS setting, else none.",
        )
        media = parser.add_mutually_exclusive_group()
        media.add_argument(
            "--media", action="store_true", default=None,
            help="Add the files that the FileField and ImageField values of the dumped "
            "rows name, read through each field's storage, under OUTPUT_DIR/media/ "
            "(default: the PYSERIALIZER_MEDIA setting, else no files).",
        )
        media.add_argument(
            "--no-media", action="store_false", dest="media",
            help="Dump no files, whatever the PYSERIALIZER_MEDIA setting says.",
        )
        parser.add_argument(
            "-j", "--jobs", type=int, default=1, metavar="N",
            help="Write the dump with N processes that read one snapshot, each a chunk "
            "at a time (PostgreSQL, and MariaDB/MySQL with the RELOAD privilege; not with "
            "--tolerate or --simulate). The files are the same as with one process.",
        )
        add_database_argument(
            parser, 'Nominates a specific database to dump. Defaults to the "default" database.',
            default=DEFAULT_DB_ALIAS,
        )
        parser.add_argument(
            "-e", "--exclude", action="append", default=[], metavar="EXCLUDE",
            help="An app_label or app_label.ModelName to exclude "
            "(use multiple --exclude to exclude multiple apps/models).",
        )

    def handle(self, output_dir: str | None = None, **options: Any) -> None:
        started = time.monotonic()
        if output_dir is None and not options["simulate"]:
            raise CommandError(
                "Name the directory to write the dump to: manage.py dump2py OUTPUT_DIR "
                "(or read the rows without writing them: manage.py dump2py --simulate)."
            )
        using = options["database"]
        try:
            dump_options = DumpOptions.resolve(
                options["max_row_count"], options["compress"], options["media"],
                tolerate_missing_media=options["tolerate"])
        except UnusableOption as exc:
            raise CommandError("--%s %s." % (exc.option.replace("_", "-"), exc.problem))
        jobs = options["jobs"]
        self.check_jobs(jobs, using, options)
        self.check_timestamped(output_dir, options)
        site = wholesite.choose_models(using, options["exclude"])
        references.refuse_dump_without(site.models, options["exclude"], using)
        self.verbosity = options["verbosity"]
        error_stream = options.get("stderr") or sys.stderr
        bars = bar_stream(error_stream, self.verbosity)
        # With --jobs, one bar of the chunk files written replaces the bar per model.
        report = self.stdout.write if self.verbosity >= 2 and not options["simulate"] else None
        progress = DumpProgress(bars if jobs == 1 else None, report)
        dump_options = self.dump_options(dump_options, using, site, progress, options["tolerate"])
        querysets = [every_row(model, using) for model in site.models]
        target = None if output_dir is None else os.path.abspath(output_dir)
        if target is not None and options["timestamped"]:
            # Only the staging directory's name: the dump is named by its CREATED.
            now = datetime.datetime.now(datetime.timezone.utc)
            target = os.path.join(target, next(rotation.timestamped_names(now)))
        existed = target is not None and os.path.lexists(target)
        written = None
        try:
            with terminate_as_interrupt(), progress:
                if options["simulate"]:
                    self.simulate(querysets, using, dump_options, progress, started)
                else:
                    assert target is not None  # handle() refused a dump without OUTPUT_DIR
                    if not options["timestamped"]:  # a timestamped dump takes a new name
                        outputdir.check_target(
                            target, options["overwrite"],
                            self.confirm if options["interactive"] else None,
                        )
                    serializer = Serializer(ParallelTables(jobs, bars) if jobs > 1 else None)
                    written = self.dump(serializer, querysets, using, target, dump_options,
                                        progress, started, options["timestamped"])
        except KeyboardInterrupt as exc:
            raise CommandError(
                "%s. %s" % (stopped_by(exc), _nothing_written(target, existed, options))
            ) from exc
        except UnwritableTable as exc:
            raise CommandError(
                "Cannot write the dump of %s: %s. %s"
                % (exc.table, exc, _nothing_written(target, existed, options))
            ) from exc
        except DatabaseError as exc:
            where = exc.table if isinstance(exc, UnreadableTable) else "database %r" % using
            raise CommandError(
                "Cannot read %s: %s. %s%s" % (
                    where, one_line(exc), _nothing_written(target, existed, options),
                    # --jobs refuses --tolerate: no hint then
                    " Use --tolerate to skip tables that cannot be read." if jobs == 1 else "",
                )
            ) from exc
        except (OSError, SerializationError) as exc:
            raise CommandError(
                "Cannot write the dump: %s. %s" % (exc, _nothing_written(target, existed, options))
            ) from exc
        if progress.skipped or self.media.missing:
            raise CommandError(self.incomplete(progress.skipped, self.media.missing, written,
                                               options["simulate"]))
        if written is not None and options["keep"] is not None:
            self.remove_old_dumps(written, options["keep"])

    def check_jobs(self, jobs: int, using: str, options: dict[str, Any]) -> None:
        """Refuse a --jobs that would not give the same, consistent dump."""
        if jobs < 1:
            raise CommandError("--jobs must be at least 1.")
        if jobs == 1:
            return
        for option in ("tolerate", "simulate"):
            if options[option]:
                raise CommandError(
                    "--%s works with one process only; leave out --jobs %d." % (option, jobs)
                )
        reason = reason_not_to_split(using)
        if reason is not None:
            raise CommandError(
                "Cannot dump database %r with --jobs %d: %s. Nothing was written; "
                "dump it with one process (leave out --jobs)." % (using, jobs, reason)
            )

    def check_timestamped(self, output_dir: str | None, options: dict[str, Any]) -> None:
        """Refuse --timestamped and --keep where they cannot do what they say."""
        keep = options["keep"]
        if not options["timestamped"]:
            if keep is not None:
                raise CommandError(
                    "--keep removes old dumps from a folder of timestamped dumps; add "
                    "--timestamped (OUTPUT_DIR is then that folder)."
                )
            return
        for option, why in (
            ("simulate", "--simulate writes no dump"),
            ("overwrite", "a timestamped dump always gets a new folder, so there is "
             "nothing to replace"),
        ):
            if options[option]:
                raise CommandError("--timestamped does not go with --%s: %s. Leave one "
                                   "of them out." % (option, why))
        if keep is not None and keep < 1:
            raise CommandError("--keep must be at least 1: the new dump is always kept.")
        if keep is not None and not rotation.REMOVAL_IS_SAFE:
            raise CommandError(
                "--keep is not available on this platform, where removing a folder could "
                "follow a symbolic link. Nothing was written; remove old dumps yourself."
            )
        assert output_dir is not None  # handle() refused a dump without OUTPUT_DIR
        parent = os.path.abspath(output_dir)
        problem = rotation.parent_problem(parent)
        if problem is not None:
            raise CommandError(
                "%s %s (--timestamped writes a new folder into it). Nothing was written."
                % (parent, problem)
            )

    def remove_old_dumps(self, written: str, keep: int) -> None:
        """--keep: remove the dumps beside ``written`` beyond the ``keep`` newest,
        each whole or not at all, naming each."""
        try:
            folder = rotation.find_dumps(os.path.dirname(written))
        except OSError as exc:
            raise CommandError("The dump %s is complete, but its folder cannot be read for "
                               "old dumps: %s." % (written, one_line(exc))) from exc
        old = folder.beyond(keep, written)
        if old is None:
            raise CommandError(
                "The dump %s was written, but it does not read back as a complete dump; "
                "no old dump was removed." % written
            )
        if self.verbosity >= 1:
            for damaged in folder.damaged:
                self.stdout.write("Kept %s: it looks like a dump but is not a complete one "
                                  "(%s)." % (damaged.path, damaged.problem))
        removed: list[str] = []
        failures: list[str] = []
        try:
            with terminate_as_interrupt():
                for dump in old:
                    try:
                        with interrupts_deferred():
                            rotation.remove_dump(dump)
                            removed.append(dump.path)
                            if self.verbosity >= 1:
                                self.stdout.write("Removed old dump %s." % dump.path)
                    except OSError as exc:
                        failures.append("  %s: %s" % (dump.path, one_line(exc)))
        except KeyboardInterrupt as exc:
            raise CommandError(
                "%s while removing old dumps. The new dump %s is complete; %s." % (
                    stopped_by(exc), written,
                    "removed: %s" % ", ".join(removed) if removed else "no old dump was removed",
                )
            ) from exc
        if failures:
            raise CommandError(
                "The dump %s is complete, but %d old dump(s) could not be removed:\n%s"
                % (written, len(failures), "\n".join(failures))
            )

    def dump_options(self, dump_options: DumpOptions, using: str, site: wholesite.WholeSite,
                     progress: DumpProgress, tolerate: bool) -> DumpOptions:
        """``dump_options`` (chunk size, compression) with what else the
        Serializer is told: natural keys per model, progress, the models left
        out, and with --tolerate a savepoint per model to fall back to."""
        labels = wholesite.natural_key_labels(site.models)
        observer: DumpObserver = progress
        on_block_error = None
        if tolerate:
            observer = savepoints = ModelSavepoints(using, progress)

            def on_block_error(block: Block, exc: BaseException) -> bool:
                if not savepoints.on_block_error(block, exc):
                    return False
                progress.block_skipped(block, exc)
                return True

        return replace(
            dump_options,
            natural_keys=lambda model: wholesite.natural_keys_for(model, labels),
            observer=observer, on_block_error=on_block_error, left_out=site.left_out,
        )

    def incomplete(self, skipped: dict[str, tuple[str, BaseException]],
                   missing: Sequence[MissingMedia], target: str | None, simulated: bool) -> str:
        """The message of a dump that skipped tables or missing files (--tolerate)."""
        what = []
        if skipped:
            what.append("%d table(s) could not be read%s:\n%s" % (
                len(skipped), "" if simulated else " and were skipped (listed as SKIPPED "
                "in restore.py)", "\n".join(
                    "  %s (model %s): %s" % (table, label, one_line(exc))
                    for label, (table, exc) in skipped.items())))
        if missing:
            what.append("%d media file(s) were missing in storage%s:\n%s" % (
                len(missing), "" if simulated else " (listed as MISSING_MEDIA in restore.py)",
                "\n".join("  %s pk=%s: field %s: file %s" % (
                    entry.model, json_value(entry.pk), entry.field, entry.name)
                    for entry in missing)))
        if simulated:
            return "The dump would be INCOMPLETE: %s" % "\n".join(what)
        return "The dump in %s is INCOMPLETE: %s" % (target, "\n".join(what))

    media = DumpedMedia()  # what the dump's media files were

    def dump(self, serializer: Serializer, querysets: list[QuerySet], using: str, target: str,
             dump_options: DumpOptions, progress: DumpProgress, started: float,
             timestamped: bool) -> str:
        """Write the dump; return its path (with --timestamped, named after its CREATED)."""
        with outputdir.StagingDirectory(target) as staging:
            if self.verbosity >= 1:
                for path in staging.removed:
                    self.stdout.write(
                        "Removed %s, left by a dump2py that was killed before it finished."
                        % path
                    )
            with read_snapshot(using):
                serializer.serialize(
                    querysets, stream=staging.manifest_file(), dump_options=dump_options
                )
            names = None
            if timestamped:
                created = rotation.created_time(serializer.manifest.created)
                names = rotation.timestamped_names(created)
            target = staging.publish(names)
        self.media = serializer.media
        if self.verbosity >= 1:
            chunks = serializer.manifest.files
            self.stdout.write(
                "Dumped %s%s to %s (%s) in %.1f seconds."
                % (progress.counted(), self.media_summary(dump_options), target,
                   chunk_files(len(chunks), sum(chunk.size for chunk in chunks)),
                   time.monotonic() - started)
            )
            self.say_left_out(dump_options.left_out)
        return target

    def simulate(self, querysets: list[QuerySet], using: str, dump_options: DumpOptions,
                 progress: DumpProgress, started: float) -> None:
        output = NoOutput()
        serializer = Serializer()
        with read_snapshot(using):
            serializer.serialize(querysets, dump_options=replace(dump_options, writer=output))
        self.media = serializer.media
        if self.verbosity >= 1:
            width = max((len(label) for label in progress.rows), default=0)
            for label, rows in progress.rows.items():
                self.stdout.write("%-*s %10s rows" % (width, label, _count(rows)))
            self.stdout.write(
                "Simulated: read %s%s in %.1f seconds (about %s of rows); nothing was written."
                % (progress.counted(), self.media_summary(dump_options),
                   time.monotonic() - started, human_size(output.size))
            )
            self.say_left_out(dump_options.left_out)

    def media_summary(self, dump_options: DumpOptions) -> str:
        """" and 42 media files (3.1 MB)" after a dump with --media, else nothing."""
        if not dump_options.media:
            return ""
        return " and " + media_files(len(self.media.files), self.media.size)

    def say_left_out(self, left_out: Sequence[Sequence[str]]) -> None:
        for line in wholesite.describe_left_out(left_out):
            self.stdout.write(line)

    def confirm(self, message: str) -> bool:
        return agreed(input, "%s\n%s" % (message, ARE_YOU_SURE))


def _nothing_written(target: str | None, existed: bool, options: dict[str, Any]) -> str:
    if options["simulate"]:
        return "Nothing was written."
    if existed:
        return "No dump was written; %s was left as it was." % target
    return "No dump was written."



def _count(number: int) -> str:
    return "{:,}".format(number)
