"""Look at a dump without restoring it: ``restore_dump --list`` and ``--check``.

``list_dump`` says what ``restore.py`` records (as ``pg_restore -l`` does),
reading nothing else; ``list_dumps_in`` gives a line to each dump of a
folder of dumps (``files.rotation``). ``check_dump`` reads the whole dump
the way a restore would, through the same plan and the same loader, but
saves nothing: every chunk must be there, a regular file with its size,
checksum and row count, every row must parse and fit a model of the code (or
of the migration state the dump was taken at, when it would be restored
through migrations), and every row a row refers to must be in the dump
(``references.MissingRows``).
"""

import datetime
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError

from ..cli.progress import chunk_files, counted, counted_files, counted_media
from ..dumping.wholesite import describe_left_out
from ..errors import one_line
from ..files.compression import compression_of
from ..files.grammar import MEDIA_FOLDER, json_value
from ..files.manifest import FileEntry, Manifest
from ..files.rotation import DumpsInFolder, FoundDump
from ..loading.deserializer import Deserializer
from ..loading.objects import DumpedObject
from .media import MediaPlan, check_media
from .migrating import states
from .plan import NotRestorable, RestorePlan, loading_models, plan_restore, refuse_unknown_models
from .references import MissingRows, refuse_missing_rows


@dataclass
class CheckReport:
    """What ``check_dump`` read."""

    objects: int
    models: list[str]
    files: int
    size: int
    plan: RestorePlan
    media: MediaPlan | None = None

    def describe(self) -> str:
        dump, plan = self.plan.dump, self.plan
        if plan.through_migrations:
            restore_would = (
                "restore it at the dump's migration state (%s) and migrate forward to the "
                "code's (%s)" % (states(plan.changed, 0), states(plan.changed, 1)))
        else:
            restore_would = "load it into the current models (same migration state)"
        lines = [
            "The dump %s is good: %s (%s), taken %s from a %s database."
            % (dump.directory, counted(self.objects, len(self.models)),
               chunk_files(self.files, self.size), dump.created, dump.database_vendor),
            "A restore would %s." % restore_would,
        ]
        if self.media is not None and self.media.files:
            lines.append(self.media.describe())
        if plan.unmigrated:
            lines.append(
                "It would create the tables of the apps without migrations (%s) where "
                "they are missing, as migrate --run-syncdb does." % ", ".join(plan.unmigrated))
        if plan.excludes:
            lines.append("Left out of the check: %s." % ", ".join(sorted(plan.excludes)))
        if dump.skipped:
            lines.append("WARNING: this dump is INCOMPLETE: these tables could not be read "
                         "when it was made: %s." % ", ".join(t for _, t, _ in dump.skipped))
        lines.extend(describe_missing_media(dump))
        lines.extend(describe_left_out(dump.left_out))
        return "\n".join(lines)


def check_dump(
    manifest_path: str | os.PathLike[str], using: str = DEFAULT_DB_ALIAS, excludes: Iterable[str] = (),
    replace_media: bool = False, jobs: int = 1,
) -> CheckReport:
    """Read every row of the dump as a restore would, saving nothing; return a CheckReport.

    Raises DumpError (file and line) or NotRestorable on the first problem,
    DanglingReferences naming every reference to a row the dump lacks.
    No database is read either: natural keys are not looked up (a restore
    empties the tables first, and the database may be new); only a model's own
    ``__init__`` may read it (``built_without_tables``). The media
    files are checked as a restore checks them before it changes anything,
    storages included (``replace_media`` as for a restore). ``jobs`` as for
    a restore (``run.load_dump``).
    """
    plan = plan_restore(manifest_path, excludes)
    registry, _ = loading_models(plan, using)
    refuse_unknown_models(plan, registry)
    media = check_media(plan.dump, plan.excluded, replace_media) if plan.dump.media else None
    objects, models = 0, []
    missing = MissingRows(registry, plan.matched_by_target)
    rows = iter(Deserializer(
        plan.dump, using=using, handle_forward_references=True, apps=registry,
        excludes=plan.excludes, resolve_natural_keys=False, jobs=jobs,
    ))
    try:
        for dumped in built_without_tables(rows, plan, using):
            objects += 1
            missing.add(dumped)
            label = dumped.object._meta.label_lower
            if label not in models:
                models.append(label)
    finally:
        rows.close()  # the worker processes end here, whatever happened
    refuse_missing_rows(missing.dangling(), plan.manifest_path)
    entries = [entry for entry in plan.dump.files if not plan.excluded(entry.model)]
    return CheckReport(objects, models, len(entries), sum(e.size for e in entries), plan, media)


def built_without_tables(rows: Iterable[DumpedObject], plan: RestorePlan,
                         using: str) -> Iterator[DumpedObject]:
    """The rows of a check, as the loader makes them. A model whose ``__init__``
    reads the database (a Wagtail page looks up its content type) cannot be made
    where nothing is migrated yet, which is where a dump is checked before its
    restore: say in one line to migrate first, instead of the database's traceback."""
    try:
        yield from rows
    except DatabaseError as exc:
        raise NotRestorable(
            "Cannot check %s against database %r: making the objects of its rows read that "
            "database, which failed (%s); some models read it when an object is made (Wagtail's "
            "pages look up their content type). Migrate the database first (manage.py migrate; "
            "a restore would migrate it too), then check again. Nothing was changed."
            % (plan.manifest_path, using, one_line(exc))) from exc


def list_dump(dump: Manifest) -> str:
    """The text of ``restore_dump --list``: origin, migrations, models, files."""
    lines = [
        "Dump %s (format %d)" % (dump.directory, dump.format),
        "Taken %s from a %s database, by pyserializer %s on Django %s."
        % (dump.created, dump.database_vendor, dump.pyserializer_version, dump.django_version),
        "Migrations applied then (last of each app):",
    ]
    for app_label, names in sorted(dump.migration_state().items()):
        lines.append("  %-24s %s (%d applied)" % (app_label, sorted(names)[-1], len(names)))
    lines.append("Chunk files, in loading order:")
    width = max((len(entry.name) for entry in dump.files), default=0)
    model_width = max((len(entry.model) for entry in dump.files), default=0)
    for entry in dump.files:
        lines.append("  %-*s  %-*s %10s rows %12s bytes  sha256 %s" % (
            width, entry.name, model_width, entry.model, "{:,}".format(entry.rows),
            "{:,}".format(entry.size), entry.sha256[:16]))
    lines.append("%s (%s)." % (
        counted_files(dump.files),
        chunk_files(len(dump.files), sum(entry.size for entry in dump.files))))
    if dump.media:
        lines.append("Media files under %s/: %s." % (MEDIA_FOLDER, counted_media(dump.media_files())))
    for label, table, reason in dump.skipped:
        lines.append("SKIPPED when the dump was made: %s (model %s): %s" % (table, label, reason))
    lines.extend(describe_missing_media(dump))
    lines.extend(describe_left_out(dump.left_out))
    return "\n".join(lines)


def describe_missing_media(dump: Manifest) -> list[str]:
    """A line per media file missing in storage when the dump was made."""
    if not dump.missing_media:
        return []
    return ["WARNING: this dump is INCOMPLETE: %d media file(s) were missing in storage when "
            "it was made:" % len(dump.missing_media)] + [
        "  %s pk=%s: field %s: file %s" % (entry.model, json_value(entry.pk), entry.field,
                                           entry.name)
        for entry in dump.missing_media]


def list_dumps_in(folder: DumpsInFolder) -> str:
    """The text of ``restore_dump --list PARENT``: a line per dump, newest first
    (time, objects and models, chunk files, compression, media files,
    version), then a line per folder that looks like a dump but is not a
    complete one."""
    rows = [_dump_columns(dump) for dump in folder.dumps]
    aligned = min((len(row) for row in rows), default=1)  # the cells every line has
    widths = [max((len(row[column]) for row in rows), default=0) for column in range(aligned)]
    lines = ["Dumps in %s, newest first:" % folder.parent if rows
             else "No complete dump in %s." % folder.parent]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + row[aligned:]
        lines.append("  " + "  ".join(cells))
    if folder.damaged:
        lines.append("Folders that look like dumps but are not complete "
                     "(--keep never removes them):")
        lines.extend("  %s  %s" % (damaged.name.ljust(widths[0]), damaged.problem)
                     for damaged in folder.damaged)
    return "\n".join(line.rstrip() for line in lines)


def _dump_columns(dump: FoundDump) -> list[str]:
    """The cells of a dump's line; a last one when it is INCOMPLETE (--tolerate)."""
    files = dump.manifest.files
    media = dump.manifest.media_files()
    cells = [
        dump.name,
        dump.created.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        counted_files(files),
        chunk_files(len(files), sum(entry.size for entry in files)),
        compression_names(files),
        counted_media(media) if media else "no media",
        "pyserializer %s" % (dump.manifest.pyserializer_version or "(unknown version)"),
    ]
    lacks = []
    if dump.manifest.skipped:
        lacks.append("%d table(s) could not be read" % len(dump.manifest.skipped))
    if dump.manifest.missing_media:
        lacks.append("%d media file(s) were missing" % len(dump.manifest.missing_media))
    if lacks:
        cells.append("INCOMPLETE: %s" % ", ".join(lacks))
    return cells


def compression_names(files: Sequence[FileEntry]) -> str:
    """How the chunks are compressed, from their names: "gzip", "zstd", "none"
    (plain ``.py``), or e.g. "gzip+none" for a dump that mixes them."""
    return "+".join(sorted({compression_of(entry.name) or "none" for entry in files})) or "none"
