"""``restore_dump --verify``: a trial restore, dumped again and compared with the dump.

The "double-dump test": a dump is good when restoring it and dumping the
result gives the same rows. In steps:

1. Plan the restore (``restoring.plan_restore``); refuse what cannot be
   restored before anything is made. Read every media file of the dump
   against its size and SHA-256; no file is put into any storage (the
   site's storages are live).
2. Make a scratch database: a SQLite file in a private temporary directory
   when the configured database is SQLite, else a new database on the same
   server, created and dropped as Django's test runner does it
   (``connection.creation``). It stands in for the configured database under
   the same alias, so that routers see the restore they would see; the
   configured connection is set aside, untouched. ``--verify-into ALIAS``
   uses a database of the settings instead, whose data it replaces.
3. Restore into it through the one pipeline (``run.run_restore``),
   migrating forward a dump taken at older migrations.
4. Dump it again with ``dump2py``'s Serializer and natural keys, into the
   private temporary directory.
5. Compare the two dumps model by model, row by row, field by field, both
   read with the reader and decoded with the codec; stop at the first
   difference. Models whose rows the restore changed on purpose (their app
   was migrated forward, or a transform rewrote them) are not compared, and
   the report says so.
6. Whatever happened, drop the scratch database and remove the directory,
   holding Ctrl-C and SIGTERM back until that is done.
"""

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import IO, Any

from django.apps import apps as global_apps
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.utils import load_backend

from ..cli.interrupts import interrupts_deferred
from ..cli.progress import counted
from ..dumping.serializer import Serializer
from ..dumping.snapshot import read_snapshot
from ..dumping.wholesite import REBUILT_BY_MIGRATE, models_to_dump, natural_key_labels, natural_keys_for
from ..errors import describe_place, shorten
from ..files import manifest as manifests
from ..files.grammar import MANIFEST_NAME
from ..files.reader import DumpReader
from ..files.safefiles import open_chunk, open_dump_file
from ..files.safefiles import AtomicFile
from ..loading.transforms import configured_transforms
from ..tables import every_row
from ..values.codec import codec_for
from .media import check_files, media_of
from .migrating import states
from .plan import RestorePlan, confirm, plan_restore
from .run import clear_content_type_cache, run_restore
from .steps import RestoreFailed

# Scratch databases on a server are named SCRATCH_PREFIX + random hex.
SCRATCH_PREFIX = "pyserializer_verify_"
# PostgreSQL's "insufficient privilege"; MariaDB/MySQL's "access denied to database".
_PERMISSION_DENIED_SQLSTATE = "42501"
_MYSQL_ACCESS_DENIED = {1044, 1045, 1227}


class VerifyFailed(CommandError):
    """The trial restore did not give back the dump; the message names the first difference."""

    def __init__(self, problem: str, path: str | None = None, line: int | None = None,
                 model: str | None = None, pk: Any = None, field: str | None = None) -> None:
        self.problem, self.path, self.line = problem, path, line
        self.model, self.pk, self.field = model, pk, field
        place = describe_place(path, line, model)
        if pk is not None:
            place += ", pk %s" % pk
        if field is not None:
            place += ", field %s" % field
        super().__init__("%s: %s" % (place, problem))


class CannotCreateDatabase(CommandError):
    """The database user may not create the scratch database."""


@dataclass
class VerifyReport:
    """What a verification compared, and what it could not."""

    directory: str
    objects: int
    models: list[str]  # the labels of the models with rows compared
    seconds: float
    scratch: str  # e.g. "a scratch database", "database 'scratch'"
    not_compared: dict[str, str] = field(default_factory=dict)  # {label or app: why}
    made_by_migrate: dict[str, int] = field(default_factory=dict)  # {label: rows only migrate made}
    media: str = ""  # e.g. "3 media files (1.2 MB)": the media files checked

    def describe(self) -> str:
        lines = ["Verified %s: restored into %s and dumped again, the same %s (%.1f seconds)." % (
            self.directory, self.scratch, counted(self.objects, len(self.models)), self.seconds)]
        if self.made_by_migrate:
            lines.append("Made by migrate in the scratch database, not in the dump: %s." % ", ".join(
                "%s of %s" % (_rows_text(rows), label)
                for label, rows in self.made_by_migrate.items()))
        if self.not_compared:
            lines.append("Not compared: %s." % "; ".join(
                "%s (%s)" % item for item in sorted(self.not_compared.items())))
        if self.media:
            lines.append("Checked %s: each has its size and SHA-256; a trial restore puts "
                         "no file into storage." % self.media)
        return "\n".join(lines)


def _rows_text(rows: int) -> str:
    return "{:,} row{}".format(rows, "" if rows == 1 else "s")


def verify(manifest_path: str | os.PathLike[str], using: str = DEFAULT_DB_ALIAS,
           into: str | None = None, excludes: Iterable[str] = (), ignorenonexistent: bool = False,
           interactive: bool = True, ask: Callable[[str], str] = input,
           stdout: IO[str] | None = None, verbosity: int = 1,
           signals: bool | None = None, jobs: int = 1) -> VerifyReport:
    """Restore the dump into a scratch database, dump that again, compare; return a VerifyReport.

    The database ``using`` is only read for its settings. With ``into`` (an
    alias of the settings) the trial restore replaces that database's data,
    after asking when ``interactive``. ``stdout`` gets the question, and
    with ``verbosity`` 2 or more the restore's steps. Raises VerifyFailed at
    the first difference, CannotCreateDatabase when the user may not create
    the scratch database, and DumpError or NotRestorable as a restore does.
    ``signals`` and ``jobs``: as for a restore (``run.load_dump``).
    """
    started = time.monotonic()
    plan = plan_restore(manifests.manifest_path_of(manifest_path), excludes)
    media = media_of(plan.dump, plan.excluded)
    check_files(media)
    if into is not None:
        _refuse_scratch_alias(into, using)
        confirm(plan, connections[into], interactive, verbosity - 1, stdout, ask)
    with interrupts_deferred():
        workdir = tempfile.mkdtemp(prefix="pyserializer-verify-")
    try:
        scratch = nullcontext(into) if into is not None else scratch_database(using, workdir)
        with scratch as alias:
            try:
                run_restore(plan, alias, ignorenonexistent, stdout if verbosity >= 2 else None,
                            verbosity, restore_media=False, signals=signals, jobs=jobs)
            except RestoreFailed as exc:  # its advice is about a database that is gone
                raise CommandError("Verify failed: the trial restore failed: %s" % (
                    exc.failure.partition("\n")[0])) from exc
            compared, not_compared = comparable_models(plan)
            second = dump_again(alias, compared, os.path.join(workdir, "dump"),
                                plan.natural_keyed)
            rows, made_by_migrate = compare_dumps(plan.dump, second, compared)
    finally:
        with interrupts_deferred():
            shutil.rmtree(workdir, ignore_errors=True)
    where = "a scratch database" if into is None else "database %r" % into
    return VerifyReport(plan.dump.directory, sum(rows.values()),
                        [label for label in compared if rows[label]],
                        time.monotonic() - started, where, not_compared, made_by_migrate,
                        media.counted() if media.files else "")


def _refuse_scratch_alias(into: str, using: str) -> None:
    """Before anything changes: ``into`` must be another database of the settings."""
    if into not in connections:
        raise CommandError("Unknown database alias for --verify-into: %s" % into)
    scratch, configured = connections[into].settings_dict, connections[using].settings_dict
    if into == using or all(scratch.get(key) == configured.get(key)
                            for key in ("ENGINE", "NAME", "HOST", "PORT")):
        raise CommandError(
            "--verify-into %s names the database being verified for (%s); name a scratch "
            "database whose data may be replaced." % (into, using))


@contextmanager
def scratch_database(using: str, directory: str) -> Iterator[str]:
    """A new, empty database standing in for ``using`` inside the block; gone afterwards.

    SQLite: a file in ``directory``. Other backends: a database on the same
    server, made as Django's test runner makes its test database. Yields
    the alias, ``using``, under which the scratch database is reached.
    """
    configured = connections[using]
    name = (os.path.join(directory, "scratch.sqlite3") if configured.vendor == "sqlite"
            else SCRATCH_PREFIX + secrets.token_hex(6))
    scratch = load_backend(configured.settings_dict["ENGINE"]).DatabaseWrapper(
        dict(configured.settings_dict, NAME=name), using)
    created = False
    try:
        if configured.vendor != "sqlite":
            with interrupts_deferred():
                _create_database(scratch, using)
                created = True
        connections[using] = scratch
        try:
            yield using
        finally:
            with interrupts_deferred():
                connections[using] = configured
                clear_content_type_cache()
    finally:
        with interrupts_deferred():
            scratch.close()
            if created:
                scratch.creation._destroy_test_db(name, verbosity=0)


def _create_database(scratch: Any, using: str) -> None:
    """CREATE DATABASE as the test runner does (its charset and collation from
    the settings' TEST), but with an error of ours: one line if the user may not.
    (The backends' own ``_execute_create_test_db`` exits the process on errors.)"""
    statement = "CREATE DATABASE %s %s" % (
        scratch.ops.quote_name(scratch.settings_dict["NAME"]),
        scratch.creation.sql_table_creation_suffix())
    try:
        with scratch._nodb_cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError as exc:
        if not _permission_denied(exc):
            raise
        raise CannotCreateDatabase(
            "Cannot verify: the user %r of database %r may not create databases; give it "
            "that right, or verify into a scratch database of the settings whose data may be "
            "replaced with --verify-into ALIAS." % (scratch.settings_dict.get("USER"), using)
        ) from exc


def _permission_denied(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate == _PERMISSION_DENIED_SQLSTATE:
        return True
    args = getattr(cause, "args", None) or exc.args
    return bool(args) and args[0] in _MYSQL_ACCESS_DENIED


def comparable_models(plan: RestorePlan) -> tuple[list[str], dict[str, str]]:
    """(labels to compare, {label or app: why not}) of the models of the dump.

    The rows of an app migrated forward, of a transformed model, or of a
    model the code does not have are not the dump's any more: they are left
    out of the comparison, and said so.
    """
    transformed = configured_transforms()
    compared, not_compared = [], {}
    for entry in plan.dump.files:
        label = entry.model
        app_label = label.partition(".")[0]
        if plan.excluded(label) or label in compared:
            continue
        if app_label in plan.changed:
            then, now = (states({app_label: plan.changed[app_label]}, which).partition(" ")[2]
                         for which in (0, 1))
            not_compared["app " + app_label] = "migrated forward from %s to %s" % (then, now)
        elif label in transformed:
            not_compared[label] = "rewritten by PYSERIALIZER_TRANSFORMS"
        elif _model(label) is None:
            not_compared[label] = "not a model of the code, not restored"
        else:
            compared.append(label)
    return compared, not_compared


def _model(label: str) -> Any:
    try:
        return global_apps.get_model(label)
    except (LookupError, ValueError):
        return None


def dump_again(alias: str, labels: Iterable[str], directory: str,
               natural_keyed: frozenset[str] = frozenset()) -> manifests.Manifest:
    """Dump the models ``labels`` of database ``alias`` as ``dump2py`` does; return
    its Manifest. The models ``natural_keyed`` (labels) are written by natural key,
    as the dump wrote them."""
    os.mkdir(directory, 0o700)
    wanted = set(labels)
    models = [model for model in models_to_dump(alias) if model._meta.label_lower in wanted]
    natural = natural_key_labels(models) | natural_keyed
    manifest_file = AtomicFile(os.path.join(directory, MANIFEST_NAME))
    with read_snapshot(alias):
        Serializer().serialize(
            [every_row(model, alias) for model in models], stream=manifest_file,
            natural_keys=lambda model: natural_keys_for(model, natural), compress="none",
            media=False,
        )
    manifest_file.commit()
    with open_dump_file(manifest_file.name) as stream:
        return manifests.read(stream, manifest_file.name)


def compare_dumps(
    dump: manifests.Manifest, second: manifests.Manifest, labels: Iterable[str],
) -> tuple[dict[str, int], dict[str, int]]:
    """Compare the rows of ``labels`` in two Manifests; return ({label: rows
    compared}, {label: rows found only in the second dump} for the models
    ``migrate`` fills).

    Rows are matched by primary key (or, for rows written without one, by
    their whole content). Both dumps are in primary key order, so a row
    usually meets its match at once and memory stays small; rows that come
    in another order wait for their match.
    """
    compared, made_by_migrate = {}, {}
    for label in labels:
        model = global_apps.get_model(label)
        compared[label] = 0
        in_dump: dict[Any, Any] = {}
        in_second: dict[Any, Any] = {}
        for one, two in zip_longest(_rows(dump, label), _rows(second, label)):
            for row, here, there in ((one, in_dump, in_second), (two, in_second, in_dump)):
                if row is None:
                    continue
                match = there.pop(row.key, None)
                if match is None:
                    here[row.key] = row
                else:
                    _compare_rows(model, *((row, match) if here is in_dump else (match, row)))
                    compared[label] += 1
        if in_dump:
            row = next(iter(in_dump.values()))
            raise VerifyFailed("this row of the dump is missing after the trial restore",
                               row.path, row.line, label, row.shown_key)
        if in_second and label not in REBUILT_BY_MIGRATE:
            row = next(iter(in_second.values()))
            raise VerifyFailed(
                "the trial restore has this row, which the dump does not have: %s"
                % _short(row.values), dump.directory, None, label, row.shown_key)
        if in_second:
            made_by_migrate[label] = len(in_second)
    return compared, made_by_migrate


@dataclass
class _Row:
    path: str
    line: int
    values: dict[str, Any]  # {field name: JSON value}
    key: str  # the primary key, or the whole row, as canonical JSON
    shown_key: object  # the primary key as the message shows it, or None


def _rows(dump: manifests.Manifest, label: str) -> Iterator[_Row]:
    """Every row of model ``label`` in a Manifest's chunks, read by the reader."""
    pk_name = global_apps.get_model(label)._meta.pk.name
    for entry in dump.files:
        if entry.model != label:
            continue
        path = os.path.join(dump.directory, entry.name)
        with open_chunk(path) as chunk:
            for block in DumpReader(chunk, path).blocks(label):
                names = block.fields
                for line, values in block.rows:
                    row = dict(zip(names, values))
                    if pk_name in row:
                        yield _Row(path, line, row, _canonical(row[pk_name]), row[pk_name])
                    else:
                        yield _Row(path, line, row, _canonical(row), None)


def _compare_rows(model: Any, dumped: _Row, restored: _Row) -> None:
    for name in list(dumped.values) + [n for n in restored.values if n not in dumped.values]:
        if name not in dumped.values or name not in restored.values:
            raise VerifyFailed(
                "the field is in only one of the dump and the dump of the trial restore",
                dumped.path, dumped.line, model._meta.label_lower, dumped.shown_key, name)
        one, two = dumped.values[name], restored.values[name]
        if not _same_value(model, name, one, two):
            raise VerifyFailed(
                "the dump has %s, the trial restore gives %s" % (_short(one), _short(two)),
                dumped.path, dumped.line, model._meta.label_lower, dumped.shown_key, name)


def _same_value(model: Any, name: str, one: Any, two: Any) -> bool:
    """The same JSON value, or two texts the field's codec decodes to the same value."""
    if _canonical(one) == _canonical(two):
        return True
    if one is None or two is None:
        return False
    try:
        decode = codec_for(model._meta.get_field(name)).decode
        return decode(one) == decode(two)
    except Exception:
        return False


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _short(value: Any) -> str:
    return shorten(_canonical(value))
