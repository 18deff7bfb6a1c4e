"""Replace a database's data by a directory dump: the one restore pipeline.

``python DIR/restore.py``, ``manage.py restore_dump`` and the tests all go
through ``plan_restore`` (``pyserializer.restoring.plan``) and ``run_restore``,
in two steps as ``migrate`` does: first a plan, then its execution.

1. Read the manifest and decide the plan: the dump was taken at the code's
   migration state (an ordinary restore into the current models), or at
   another one (a restore through the project's migrations). A dump that
   cannot be restored is refused there, before the database is touched.
2. Bring the database to the dump's migration state (``migrate``).
3. In one transaction, empty the tables (``tables_to_replace`` is the one
   rule for which) and load every row of the dump; large tables without
   their secondary indexes and foreign keys, built again before the commit
   (``postdata.py``). Before anything changes, the dump's media files are
   checked, and those bound for a FileSystemStorage are staged beside their
   place; once the rows have committed, they are put into storage
   (``restoring.media``).
4. Migrate forward to the code's state, when the dump was older.
5. Report what was done.
"""

import io
import os
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.apps import apps as global_apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, router, transaction
from django.db.models import Model
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from ..cli.progress import RestoreProgress, counted
from ..dumping.wholesite import complete_rebuilt_rows
from ..errors import DumpError, Kind
from ..files import manifest
from ..loading.deserializer import Deserializer
from ..loading.saving import restore_signals_setting
from ..loading.transforms import Transform
from . import hints, references
from .media import StagedMedia, check_media
from .migrating import forward_plan, migrate_to, migration_ranges, states
from .plan import (
    RestorePlan, confirm, describe_database, loading_models, plan_restore, refuse_missing_tables,
    refuse_unknown_models, refuse_unreachable_targets,
)
from .postdata import PostData, tables_worth_deferring
from .steps import Interrupted, RestoreFailed, Step, Steps  # noqa: F401 (raised from here)
from .unmigrated import create_missing_tables, models_without_table


@dataclass
class RestoreReport:
    """What a restore did."""

    objects: int
    models: list[type[Model]]
    text: str  # e.g. "dump taken at migrapp 0001, restored 6 objects of 3 models, ..."
    seconds: float = 0.0
    forward: list[Any] = field(default_factory=list)  # the Migrations migrated forward through


def _pending_migrations(connection: Any) -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def run_restore(plan: RestorePlan, using: str = DEFAULT_DB_ALIAS, ignorenonexistent: bool = False,
                stdout: IO[str] | None = None, verbosity: int = 1,
                progress: RestoreProgress | None = None, replace_media: bool = False,
                restore_media: bool = True, signals: bool | None = None,
                jobs: int = 1) -> RestoreReport:
    """Carry out ``plan`` on database ``using``; return a RestoreReport.

    ``stdout`` (optional) is told about each step as it starts; ``progress``
    (a RestoreProgress) counts the rows as they are loaded. The dump's media
    files are checked before anything changes and put into storage once the
    rows have committed (``restoring.media``), unless ``restore_media`` is
    false (a trial restore); ``replace_media`` overwrites a different file
    a storage holds at a name. ``signals`` and ``jobs``: see ``load_dump``.
    """
    started = time.monotonic()
    connection = connections[using]

    def say(text: str) -> None:
        if stdout is not None and verbosity >= 1:
            stdout.write(text + "\n")

    registry, transforms = loading_models(plan, using)
    refuse_unknown_models(plan, registry, ignorenonexistent)
    migrate_first = not plan.through_migrations and _pending_migrations(connection)
    if not plan.through_migrations and not migrate_first:
        refuse_missing_tables(plan, connection, registry, "Nothing was changed. ")
    media = StagedMedia(check_media(plan.dump, plan.excluded, replace_media)
                        if restore_media and plan.dump.media else None)
    step = Steps()
    try:
        media.stage()
        if not plan.through_migrations:
            if migrate_first:
                step(Step.TO_CODE, _migrate_to_code, connection, verbosity, stdout)
            if models_without_table(connection, plan.unmigrated):
                step(Step.TO_CODE, _create_unmigrated_tables, connection, plan.unmigrated, say)
            objects, models = step(Step.INTO_CURRENT, replace_rows, plan, connection,
                                   ignorenonexistent=ignorenonexistent, progress=progress,
                                   signals=signals, jobs=jobs)
            text = "dump taken at the code's migration state, restored %s" % counted(objects, len(models))
            text += _and(step(Step.MEDIA, media.publish))
            forward = []
        else:
            executor = MigrationExecutor(connection)
            refuse_unreachable_targets(plan, executor)
            say("Migrating %s to the dump's state (%s)." % (
                describe_database(connection), states(plan.changed, 0)))
            step(Step.TO_DUMP, migrate_to,
                 connection, plan.targets, lambda: _empty(connection, _existing_tables(connection)))
            step(Step.TO_DUMP, _create_unmigrated_tables, connection, plan.unmigrated, say)
            say("Loading the dump into the models as they were then.")
            objects, models = step(
                Step.AT_DUMP_STATE, replace_rows, plan, connection, registry, transforms,
                ignorenonexistent, progress, signals, jobs)
            put = _and(step(Step.MEDIA, media.publish))
            forward = step(Step.FORWARD, _migrate_forward, connection, plan.unmigrated, say)
            text = "dump taken at %s, restored %s%s, migrated forward through %s" % (
                states(plan.changed, 0), counted(objects, len(models)), put,
                migration_ranges(forward))
        report = RestoreReport(objects, models, text, time.monotonic() - started, forward)
        say("%s.\nRestored into %s in %.1f seconds." % (
            text[0].upper() + text[1:], describe_database(connection), report.seconds))
    except KeyboardInterrupt as exc:
        raise step.interrupted(exc) from exc
    finally:
        media.discard()
        clear_content_type_cache()
    return report


def _and(done: str) -> str:
    """", and <done>" of a step that says what it did, or nothing."""
    return ", and %s" % done if done else ""


def restore(manifest_path: str | os.PathLike[str], using: str = DEFAULT_DB_ALIAS,
            interactive: bool = True, verbosity: int = 1, ignorenonexistent: bool = False,
            excludes: Iterable[str] = (),
            stdout: IO[str] | None = None, ask: Callable[[str], str] = input,
            bar_stream: IO[str] | None = None, replace_media: bool = False,
            signals: bool | None = None, jobs: int = 1) -> RestoreReport:
    """Plan, ask (unless ``interactive`` is false), run; return the RestoreReport.

    The core of ``python DIR/restore.py`` and ``manage.py restore_dump``.
    Raises Cancelled when the answer is not yes. ``bar_stream`` (a terminal)
    gets a progress bar of the rows restored. ``replace_media``: see
    ``run_restore``; ``signals`` and ``jobs``: see ``load_dump``.
    """
    plan = plan_restore(manifest_path, excludes)
    confirm(plan, connections[using], interactive, verbosity, stdout, ask)
    with RestoreProgress(plan.rows_to_load(), bar_stream) as progress:
        return run_restore(plan, using, ignorenonexistent, stdout, verbosity, progress,
                           replace_media, signals=signals, jobs=jobs)


def tables_to_replace(connection: Any, registry: Any, matched: Collection[str] = frozenset(),
                      dumped: Collection[str] = frozenset()) -> list[str]:
    """The tables a restore empties before it loads: every existing table
    (never a view) of the models rows are loaded into (and of the current
    models), but the migration history, and the tables of the models
    ``matched`` (labels: content types and permissions of a dump that holds
    them by natural key, see ``RestorePlan.matched_by_target``): the dump's
    rows of these are matched to the rows there by natural key.
    An unmanaged model's table is emptied only when the dump holds the
    model (``dumped``, labels): a dump that never had its rows (an older
    one, or one made with -e) leaves the table as it is."""
    existing = set(connection.introspection.table_names(include_views=False))
    kept = {MigrationRecorder.Migration._meta.db_table} | {
        model._meta.db_table for model in global_apps.get_models()
        if model._meta.label_lower in matched
    }
    models = registry.get_models(include_auto_created=True)
    if registry is not global_apps:
        models += global_apps.get_models(include_auto_created=True)
    tables = []
    for model in models:
        opts = model._meta
        if (
            not opts.proxy
            and (opts.managed or opts.label_lower in dumped)
            and opts.db_table in existing
            and opts.db_table not in kept
            and opts.db_table not in tables
            and router.allow_migrate_model(connection.alias, model)
        ):
            tables.append(opts.db_table)
    return tables


def replace_rows(plan: RestorePlan, connection: Any, registry: Any = None,
                 transforms: dict[str, Transform] | None = None, ignorenonexistent: bool = False,
                 progress: RestoreProgress | None = None, signals: bool | None = None,
                 jobs: int = 1) -> tuple[int, list[type[Model]]]:
    """Empty the tables and load the dump, in one transaction; return (objects, models).

    Into the current models, the content types and permissions the dump lacks
    are then created; into older ones, the forward ``migrate`` creates them.
    """
    registry = registry or global_apps
    tables = tables_to_replace(connection, registry, plan.matched_by_target,
                               {entry.model for entry in plan.dump.files})
    refuse_missing_tables(plan, connection, registry)
    with transaction.atomic(using=connection.alias):
        _empty(connection, tables)
        clear_content_type_cache()
        loaded = load_dump(plan.manifest_path, connection, registry, transforms,
                           ignorenonexistent=ignorenonexistent, excludes=plan.excludes,
                           progress=progress, empty_tables=tables, dump=plan.dump,
                           signals=signals, jobs=jobs)
        if registry is global_apps:
            complete_rebuilt_rows(connection.alias)
        return loaded


def load_dump(manifest_path: str, connection: Any, registry: Any = None,
              transforms: dict[str, Transform] | None = None, ignorenonexistent: bool = False,
              excludes: Collection[str] = (), progress: RestoreProgress | None = None,
              empty_tables: Collection[str] = (), dump: manifest.Manifest | None = None,
              signals: bool | None = None, jobs: int = 1) -> tuple[int, list[type[Model]]]:
    """Save every row of the dump as ``loaddata`` does; return (objects, models).

    Call it inside a transaction: rows are saved with constraint checks off,
    forward references are filled in at the end, then the constraints of the
    loaded tables are checked and their sequences reset. ``empty_tables`` are
    the tables the caller has just emptied in the same transaction; ``dump``
    the Manifest of ``manifest_path`` when the caller has read it (a plan).
    ``signals`` false (``--no-signals``) sends no ``pre_save``, ``post_save``
    or ``m2m_changed``, as ``pg_restore`` runs no code of the site's; None
    takes the setting ``PYSERIALIZER_RESTORE_SIGNALS`` (true unless set).
    Rows of a model that gets no signal are saved without model instances.
    ``jobs`` above 1 has ``jobs - 1`` worker processes read the chunks ahead
    of this one, which saves the rows (``loading.readahead``).
    """
    using = connection.alias
    progress = progress if progress is not None else RestoreProgress(0)
    allowed = {}  # model: whether the router lets its rows into this database
    objects = 0
    if dump is None:
        dump = manifest.read_file(manifest_path)
    if signals is None:
        signals = restore_signals_setting()
    post_data = PostData.drop(
        connection, tables_worth_deferring(dump, registry or global_apps, empty_tables, excludes))
    with connection.constraint_checks_disabled():
        deserializer = Deserializer(
            dump, using=using, handle_forward_references=True, apps=registry,
            transforms=transforms, ignorenonexistent=ignorenonexistent, excludes=excludes,
            empty_tables=empty_tables, signals=signals, instance_free=True, jobs=jobs,
        )
        waiting = []
        rows = iter(deserializer)
        try:
            for dumped in rows:
                model = dumped.model
                if model not in allowed:
                    allowed[model] = router.allow_migrate_model(using, model)
                if not allowed[model]:
                    continue
                objects += 1
                progress.loaded(objects)
                dumped.save(using=using)
                if dumped.deferred_fields:
                    waiting.append(dumped)
            for dumped in waiting:
                dumped.save_deferred_fields(using=using)
            progress.finished(objects)
        except DumpError as exc:
            raise hints.with_restore_hint(exc, manifest_path) from exc
        finally:
            rows.close()  # the worker processes end before the transaction does
    models = [model for model, ok in allowed.items() if ok]
    check_references(connection, models, manifest_path, post_data)
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return objects, models


def check_references(connection: Any, models: list[type[Model]], manifest_path: str,
                     post_data: PostData | None = None) -> None:
    """Check the constraints of the loaded tables and of their many-to-many tables
    before the transaction commits, then build the indexes and foreign keys
    ``post_data`` dropped for the load (adding a key checks every row). A
    reference the database rejects is named by model, primary key, field and
    value, found with a query while the transaction is still open
    (PostgreSQL's message names only the value, and SQLite's, at commit,
    nothing)."""
    tables = [model._meta.db_table for model in models] + [
        field.remote_field.through._meta.db_table
        for model in models for field in model._meta.local_many_to_many
        if field.remote_field.through._meta.auto_created
    ]
    try:
        with transaction.atomic(using=connection.alias):
            connection.check_constraints(table_names=tables)
            if post_data is not None:
                post_data.rebuild()
    except IntegrityError as exc:
        found = references.first_invalid_reference(models, connection.alias)
        if found is None:
            raise
        raise DumpError(
            "the database rejected a reference: %s. Fix the row (edit its chunk, then "
            "manage.py reseal_dump %s), leave %s out with -e, or run manage.py restore_dump "
            "%s --check first to find every such reference." % (
                found, manifest_path, found.model.lower(), manifest_path),
            manifest_path, kind=Kind.DANGLING_REFERENCE) from exc


def _empty(connection: Any, tables: list[str]) -> None:
    """Delete every row of ``tables`` inside the caller's transaction.

    MariaDB/MySQL's TRUNCATE would commit the transaction, so there the rows
    are deleted (with foreign key checks off) and sequences are not reset.
    """
    if not tables:
        return
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with deferred constraint checks pending from
        # earlier writes of the same transaction: run those checks now.
        connection.check_constraints()
    statements = connection.ops.sql_flush(
        no_style(), tables, reset_sequences=connection.vendor != "mysql")
    connection.ops.execute_sql_flush(statements)


def _existing_tables(connection: Any) -> list[str]:
    """Every table of the project but the migration history (before going backwards)."""
    keep = MigrationRecorder.Migration._meta.db_table
    return [table for table in connection.introspection.django_table_names(
        only_existing=True, include_views=False) if table != keep]


def _migrate_to_code(connection: Any, verbosity: int, stdout: IO[str] | None) -> None:
    """Migrate a new (or older) database; DDL stays outside the load's transaction."""
    call_command("migrate", database=connection.alias, interactive=False,
                 verbosity=verbosity if stdout is not None else 0,
                 stdout=stdout or io.StringIO())


def _migrate_forward(connection: Any, unmigrated: list[str], say: Callable[[str], None]) -> list[Any]:
    """From the dump's state to the code's; return the migrations applied."""
    forward = forward_plan(connection)
    say("Migrating forward through %s." % migration_ranges(forward))
    call_command("migrate", database=connection.alias, interactive=False, verbosity=0,
                 stdout=io.StringIO())
    _create_unmigrated_tables(connection, unmigrated, say)
    return forward


def _create_unmigrated_tables(
    connection: Any, unmigrated: list[str], say: Callable[[str], None],
) -> None:
    """After the migrations: the foreign keys of these tables need the migrated ones."""
    created = create_missing_tables(connection, unmigrated)
    if created:
        say("Created the tables of apps without migrations (as migrate --run-syncdb "
            "does): %s." % ", ".join(created))


def clear_content_type_cache() -> None:
    """Content type ids cached before the restore (or a rollback) are wrong after it."""
    if global_apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
