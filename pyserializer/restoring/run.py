"""Replace a database's data by a directory dump: the one restore pipeline.

``python DIR/restore.py``, ``manage.py restore_dump`` and the tests all go
through ``plan_restore`` and ``run_restore``, in two steps as ``migrate``
does: first a plan, then its execution.

1. Read the manifest and decide the plan: the dump was taken at the code's
   migration state (an ordinary restore into the current models), or at
   another one (a restore through the project's migrations). A dump that
   cannot be restored is refused here, before the database is touched.
2. Bring the database to the dump's migration state (``migrate``).
3. In one transaction, empty the tables (``tables_to_replace`` is the one
   rule for which) and load every row of the dump.
4. Migrate forward to the code's state, when the dump was older.
5. Report what was done.
"""

import io
import time
from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, router, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from ..cli.progress import RestoreProgress, counted, counted_files
from ..cli.refusals import agreed
from ..dumping.wholesite import (
    REBUILT_BY_MIGRATE, complete_rebuilt_rows, is_excluded, matched_by_natural_key,
)
from ..errors import DumpError, Kind
from ..files import manifest
from ..loading.deserializer import Deserializer
from ..loading.transforms import configured_transforms
from . import hints, references
from .migrating import (
    LoadingModels, forward_plan, migrate_to, migration_ranges, natural_key_transforms, states,
)
from .migration_state import ProjectMigrations, read_dump_state
from .steps import Interrupted, RestoreFailed, Step, Steps  # noqa: F401 (raised from here)
from .unmigrated import create_missing_tables, models_without_table, unmigrated_apps


class NotRestorable(CommandError):
    """The dump cannot be restored as asked; the database was not touched."""


class Cancelled(CommandError):
    """The user answered no: nothing was changed."""

    def __init__(self):
        super().__init__("Cancelled; nothing was changed.")


@dataclass
class RestorePlan:
    """What restoring one dump will do."""

    manifest_path: str
    dump: manifest.Manifest
    changed: dict  # {app_label: (dump's last migration, code's last migration)}
    targets: list  # [(app_label, migration name, or None for zero)]: the dump's state
    excludes: frozenset = frozenset()  # app labels and model labels left out, lowercase
    # Models migrate fills whose rows are kept and matched by natural key (wholesite).
    natural_keyed: frozenset = frozenset()
    unmigrated: list = field(default_factory=list)  # labels of the apps without migrations

    @property
    def through_migrations(self):
        return bool(self.changed)

    @property
    def matched_by_target(self):
        """Labels of the models whose rows the target database keeps, the dump's
        being matched to them by natural key: those ``natural_keyed`` that are
        loaded into their current models (an app restored through migrations
        is loaded as it was then, by id)."""
        return frozenset(label for label in self.natural_keyed
                         if label.partition(".")[0] not in self.changed)

    def excluded(self, label):
        return is_excluded(label, self.excludes)

    def rows_to_load(self):
        return sum(entry.rows for entry in self.dump.files if not self.excluded(entry.model))

    def describe(self, connection):
        """What the user is asked to confirm."""
        dump = self.dump
        lines = [
            "This replaces ALL data of %s\nby the dump %s (%s, taken %s from a %s "
            "database)." % (describe_database(connection), dump.directory, counted_files(dump.files),
                            dump.created, dump.database_vendor)
        ]
        if dump.skipped:
            lines.append(
                "WARNING: this dump is INCOMPLETE: these tables could not be read when it "
                "was made and will be empty: %s" % ", ".join(table for _, table, _ in dump.skipped))
        if dump.left_out:
            lines.append("Not in the dump (see restore_dump --list for why): %s." % ", ".join(
                label for label, _ in dump.left_out))
        if self.excludes:
            lines.append("Left out (their tables will be empty): %s." % ", ".join(sorted(self.excludes)))
        if self.through_migrations:
            lines.append(
                "The dump was taken at %s; the code is at %s: the data is restored at the "
                "dump's state and then migrated forward." % (
                    states(self.changed, 0), states(self.changed, 1)))
        missing = models_without_table(connection, self.unmigrated)
        if missing:
            lines.append(
                "Tables of apps without migrations that this database lacks are created "
                "after the migrations, as migrate --run-syncdb does: %s."
                % ", ".join(model._meta.db_table for model in missing))
        return "\n".join(lines)


@dataclass
class RestoreReport:
    """What a restore did."""

    objects: int
    models: list
    text: str  # e.g. "dump taken at migrapp 0001, restored 6 objects of 3 models, ..."
    seconds: float = 0.0
    forward: list = field(default_factory=list)


def plan_restore(manifest_path, excludes=()):
    """Read the dump's manifest and decide how to restore it.

    Raises NotRestorable, naming what is missing, when the dump was taken at
    migrations the project cannot bring a database to.
    """
    manifest_path = str(manifest_path)
    dump = manifest.read_file(manifest_path)
    excluded = parse_excludes(excludes, dump)
    natural_keyed = matched_by_natural_key(dump)
    if not dump.migrations:
        return refuse_dangling_excludes(_refuse_leaving_out_rows_kept_by_id(RestorePlan(
            manifest_path, dump, {}, [], excluded, natural_keyed, unmigrated_apps())))
    project = ProjectMigrations.load()
    state = read_dump_state(dump, project)
    if state.missing:
        raise NotRestorable(_missing_message(manifest_path, state.missing, project))
    if state.inside_squashes:
        raise NotRestorable(_inside_squash_message(manifest_path, state.inside_squashes))
    unknown_then = sorted(set(project.current_state()) - set(state.applied))
    targets = state.targets(project) + [(app_label, None) for app_label in unknown_then]
    return refuse_dangling_excludes(_refuse_leaving_out_rows_kept_by_id(RestorePlan(
        manifest_path, dump, state.differing_apps(project), targets, excluded, natural_keyed,
        unmigrated_apps())))


def parse_excludes(excludes, dump):
    """``app_label`` or ``app_label.ModelName`` labels, as for ``loaddata -e``.

    A label may name an app or model of the project, or one the dump holds
    (a backend-specific model that this project does not have here).
    """
    in_dump = {entry.model for entry in dump.files}
    known = {model._meta.label_lower for model in global_apps.get_models()} | in_dump
    known_apps = {config.label for config in global_apps.get_app_configs()} | {
        label.partition(".")[0] for label in in_dump}
    parsed = set()
    for exclude in excludes:
        label = exclude.lower() if "." in exclude else exclude
        if label not in (known if "." in exclude else known_apps):
            raise CommandError("Unknown %s in excludes: %s" % (
                "model" if "." in exclude else "app", exclude))
        parsed.add(label)
    return frozenset(parsed)


def _refuse_leaving_out_rows_kept_by_id(plan):
    """``plan``, unless it leaves out content types or permissions that the dump
    holds with their ids: rows refer to them by id, and the ones created in
    their place would be numbered otherwise."""
    for label in REBUILT_BY_MIGRATE:
        if plan.excluded(label) and label not in plan.natural_keyed:
            raise NotRestorable(
                "Cannot leave out %s: the dump %s holds its rows with their ids, and other "
                "rows refer to them by id. Nothing was changed. Restore without -e %s."
                % (label, plan.manifest_path,
                   label if label in plan.excludes else label.partition(".")[0]))
    return plan


def refuse_dangling_excludes(plan):
    """Return ``plan``, unless a model it leaves out is one that rows it loads
    refer to (see pyserializer.restoring.references): then raise DanglingReferences."""
    if plan.excludes:
        references.refuse_loading_without(
            plan.dump, plan.excluded, models_at_dump_state(plan),
            plan.matched_by_target)
    return plan


def models_at_dump_state(plan):
    """The registry the rows of the dump are loaded into: the current models, or
    for a dump taken at other migrations the models as they were at its state."""
    if not plan.through_migrations:
        return global_apps
    loader = MigrationLoader(None, ignore_no_migrations=True)
    historical = loader.project_state(
        [target for target in plan.targets if target[1] is not None]).apps
    return LoadingModels(historical, plan.changed)


def loading_models(plan, using):
    """(registry, row transforms) that the rows of the dump are loaded into."""
    registry = models_at_dump_state(plan)
    if registry is global_apps:
        return global_apps, None
    return registry, natural_key_transforms(registry, using)


def refuse_unknown_models(plan, registry, ignorenonexistent=False):
    """Before anything changes: every model the dump holds (but those left
    out) must be one the rows can be loaded into, or the load would fail
    after the migrations."""
    if ignorenonexistent:
        return
    transformed = configured_transforms()
    for entry in plan.dump.files:
        if plan.excluded(entry.model) or entry.model in transformed:
            continue
        try:
            registry.get_model(entry.model)
        except (LookupError, ValueError):
            raise DumpError(
                "unknown model: the dump holds rows of %s, which %s. Nothing was changed."
                % (entry.model, "the code does not have" if not plan.through_migrations
                   else "the project's models at the dump's migration state do not have"),
                plan.manifest_path, model=entry.model, kind=Kind.UNKNOWN_MODEL,
            ).advise(hints.leave_out(entry.model, plan.manifest_path), " ")


def refuse_missing_tables(plan, connection, registry, nothing_changed=""):
    """Every model with rows in the dump (but those left out) must have its
    table in the database. ``migrate`` makes the tables of managed models;
    an unmanaged model's table is made by a migration's SQL or by another
    system, and may be missing on a new server."""
    existing = set(connection.introspection.table_names(include_views=False))
    transformed = configured_transforms()
    rows = {}
    for entry in plan.dump.files:
        if entry.rows and not plan.excluded(entry.model) and entry.model not in transformed:
            rows[entry.model] = rows.get(entry.model, 0) + entry.rows
    for label, count in rows.items():
        try:
            model = registry.get_model(label)
        except (LookupError, ValueError):
            continue  # refuse_unknown_models speaks for it, or it is ignored
        table = model._meta.db_table
        if table not in existing and router.allow_migrate_model(connection.alias, model):
            raise NotRestorable(
                "Cannot restore %s: %s has no table %s for the %s rows of %s%s. %s"
                "Create the table first. %s" % (
                    plan.manifest_path, describe_database(connection), table,
                    "{:,}".format(count), label,
                    "" if model._meta.managed else
                    " (an unmanaged model: migrate does not create its table)",
                    nothing_changed, hints.leave_out(label, plan.manifest_path)))


def _pending_migrations(connection):
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def run_restore(plan, using=DEFAULT_DB_ALIAS, ignorenonexistent=False, stdout=None, verbosity=1,
                progress=None):
    """Carry out ``plan`` on database ``using``; return a RestoreReport.

    ``stdout`` (optional) is told about each step as it starts; ``progress``
    (a RestoreProgress) counts the rows as they are loaded.
    """
    started = time.monotonic()
    connection = connections[using]

    def say(text):
        if stdout is not None and verbosity >= 1:
            stdout.write(text + "\n")

    registry, transforms = loading_models(plan, using)
    refuse_unknown_models(plan, registry, ignorenonexistent)
    migrate_first = not plan.through_migrations and _pending_migrations(connection)
    if not plan.through_migrations and not migrate_first:
        refuse_missing_tables(plan, connection, registry, "Nothing was changed. ")
    step = Steps()
    try:
        if not plan.through_migrations:
            if migrate_first:
                step(Step.TO_CODE, _migrate_to_code, connection, verbosity, stdout)
            if models_without_table(connection, plan.unmigrated):
                step(Step.TO_CODE, _create_unmigrated_tables, connection, plan.unmigrated, say)
            objects, models = step(Step.INTO_CURRENT, replace_rows, plan, connection,
                                   ignorenonexistent=ignorenonexistent, progress=progress)
            text = "dump taken at the code's migration state, restored %s" % counted(objects, len(models))
            forward = []
        else:
            executor = MigrationExecutor(connection)
            _check_targets(plan, executor)
            say("Migrating %s to the dump's state (%s)." % (
                describe_database(connection), states(plan.changed, 0)))
            step(Step.TO_DUMP, migrate_to,
                 connection, plan.targets, lambda: _empty(connection, _existing_tables(connection)))
            step(Step.TO_DUMP, _create_unmigrated_tables, connection, plan.unmigrated, say)
            say("Loading the dump into the models as they were then.")
            objects, models = step(
                Step.AT_DUMP_STATE, replace_rows, plan, connection, registry, transforms,
                ignorenonexistent, progress)
            forward = step(Step.FORWARD, _migrate_forward, connection, plan.unmigrated, say)
            text = "dump taken at %s, restored %s, migrated forward through %s" % (
                states(plan.changed, 0), counted(objects, len(models)), migration_ranges(forward))
        report = RestoreReport(objects, models, text, time.monotonic() - started, forward)
        say("%s.\nRestored into %s in %.1f seconds." % (
            text[0].upper() + text[1:], describe_database(connection), report.seconds))
    except KeyboardInterrupt as exc:
        raise step.interrupted(exc) from exc
    finally:
        clear_content_type_cache()
    return report


def restore(manifest_path, using=DEFAULT_DB_ALIAS, interactive=True, verbosity=1,
            ignorenonexistent=False, excludes=(), stdout=None, ask=input, bar_stream=None):
    """Plan, ask (unless ``interactive`` is false), run; return the RestoreReport.

    The core of ``python DIR/restore.py`` and ``manage.py restore_dump``.
    Raises Cancelled when the answer is not yes. ``bar_stream`` (a terminal)
    gets a progress bar of the rows restored.
    """
    plan = plan_restore(manifest_path, excludes)
    confirm(plan, connections[using], interactive, verbosity, stdout, ask)
    with RestoreProgress(plan.rows_to_load(), bar_stream) as progress:
        return run_restore(plan, using, ignorenonexistent, stdout, verbosity, progress)


def confirm(plan, connection, interactive=True, verbosity=1, stdout=None, ask=input):
    """Say what carrying out ``plan`` on ``connection`` replaces and, when
    ``interactive``, ask; raise Cancelled unless the answer is yes."""
    if stdout is not None and (interactive or verbosity >= 1):
        stdout.write(plan.describe(connection) + "\n")
    if interactive and not agreed(ask):
        raise Cancelled()


def tables_to_replace(connection, registry, matched=frozenset(), dumped=frozenset()):
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


def replace_rows(plan, connection, registry=None, transforms=None, ignorenonexistent=False,
                 progress=None):
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
                           progress=progress, empty_tables=tables, dump=plan.dump)
        if registry is global_apps:
            complete_rebuilt_rows(connection.alias)
        return loaded


def load_dump(manifest_path, connection, registry=None, transforms=None,
              ignorenonexistent=False, excludes=(), progress=None, empty_tables=(), dump=None):
    """Save every row of the dump as ``loaddata`` does; return (objects, models).

    Call it inside a transaction: rows are saved with constraint checks off,
    forward references are filled in at the end, then the constraints of the
    loaded tables are checked and their sequences reset. ``empty_tables`` are
    the tables the caller has just emptied in the same transaction; ``dump``
    the Manifest of ``manifest_path`` when the caller has read it (a plan).
    """
    using = connection.alias
    progress = progress if progress is not None else RestoreProgress(0)
    allowed = {}  # model: whether the router lets its rows into this database
    objects = 0
    if dump is None:
        dump = manifest.read_file(manifest_path)
    with connection.constraint_checks_disabled():
        deserializer = Deserializer(
            dump, using=using, handle_forward_references=True, apps=registry,
            transforms=transforms, ignorenonexistent=ignorenonexistent, excludes=excludes,
            empty_tables=empty_tables,
        )
        waiting = []
        try:
            for dumped in deserializer:
                model = type(dumped.object)
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
    models = [model for model, ok in allowed.items() if ok]
    check_references(connection, models, manifest_path)
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return objects, models


def check_references(connection, models, manifest_path):
    """Check the constraints of the loaded tables and of their many-to-many tables
    before the transaction commits. A reference the database rejects is named by
    model, primary key, field and value, found with a query while the
    transaction is still open (PostgreSQL's message names only the value, and
    SQLite's, at commit, nothing)."""
    tables = [model._meta.db_table for model in models] + [
        field.remote_field.through._meta.db_table
        for model in models for field in model._meta.local_many_to_many
        if field.remote_field.through._meta.auto_created
    ]
    try:
        with transaction.atomic(using=connection.alias):
            connection.check_constraints(table_names=tables)
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


def _empty(connection, tables):
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


def _existing_tables(connection):
    """Every table of the project but the migration history (before going backwards)."""
    keep = MigrationRecorder.Migration._meta.db_table
    return [table for table in connection.introspection.django_table_names(
        only_existing=True, include_views=False) if table != keep]


def _migrate_to_code(connection, verbosity, stdout):
    """Migrate a new (or older) database; DDL stays outside the load's transaction."""
    call_command("migrate", database=connection.alias, interactive=False,
                 verbosity=verbosity if stdout is not None else 0,
                 stdout=stdout or io.StringIO())


def _migrate_forward(connection, unmigrated, say):
    """From the dump's state to the code's; return the migrations applied."""
    forward = forward_plan(connection)
    say("Migrating forward through %s." % migration_ranges(forward))
    call_command("migrate", database=connection.alias, interactive=False, verbosity=0,
                 stdout=io.StringIO())
    _create_unmigrated_tables(connection, unmigrated, say)
    return forward


def _create_unmigrated_tables(connection, unmigrated, say):
    """After the migrations: the foreign keys of these tables need the migrated ones."""
    created = create_missing_tables(connection, unmigrated)
    if created:
        say("Created the tables of apps without migrations (as migrate --run-syncdb "
            "does): %s." % ", ".join(created))


def _check_targets(plan, executor):
    """The dump's state must be one this database's migration graph can reach."""
    graph = executor.loader.graph
    unknown = [target for target in plan.targets
               if target[1] is not None and target not in graph.nodes]
    if unknown:
        raise NotRestorable(
            "Cannot restore %s through migrations: it was taken at %s, which the migration "
            "history of this database cannot reach (it applied part of the migrations that "
            "a squashed migration replaces). Nothing was changed. Restore into a new "
            "database, or load it with python manage.py loaddata --ignorenonexistent %s."
            % (plan.manifest_path, ", ".join("%s.%s" % target for target in unknown),
               plan.manifest_path))


def _missing_message(manifest_path, missing, project):
    known_apps = {app_label for app_label, _ in project.on_disk}
    names = []
    for app_label, name in missing:
        absent = "" if app_label in known_apps else " (no app %r has migrations here)" % app_label
        names.append("%s.%s%s" % (app_label, name, absent))
    return (
        "Cannot restore %s through migrations: it was taken at migrations that this "
        "project does not have: %s. Nothing was changed.\n"
        "What you can do:\n"
        "- keep (or bring back) these migration files until the dump is restored, "
        "then restore it again;\n"
        "- or load it into the current models, skipping the fields and models they "
        "no longer have: python manage.py migrate && python manage.py loaddata "
        "--ignorenonexistent %s" % (manifest_path, ", ".join(names), manifest_path)
    )


def _inside_squash_message(manifest_path, inside_squashes):
    parts = [
        "%s.%s, of whose replaced migrations the dump records only %s" % (
            squash[0], squash[1], ", ".join(name for _, name in recorded))
        for squash, recorded in sorted(inside_squashes.items())
    ]
    return (
        "Cannot restore %s through migrations: it was taken part-way through migrations "
        "that a squashed migration replaces (%s), and a database is migrated through the "
        "squashed migration as a whole. Nothing was changed. Restore it with the code "
        "from before the squash, or load it into the current models with python "
        "manage.py loaddata --ignorenonexistent %s" % (manifest_path, "; ".join(parts), manifest_path)
    )


def describe_database(connection):
    """E.g. "database 'default' (postgresql: shop on db.example.org:5432)"."""
    settings_dict = connection.settings_dict
    where = str(settings_dict.get("NAME") or "")
    host = settings_dict.get("HOST")
    if host:
        port = settings_dict.get("PORT")
        where += " on %s%s" % (host, ":%s" % port if port else "")
    return "database %r (%s: %s)" % (connection.alias, connection.vendor, where)


def clear_content_type_cache():
    """Content type ids cached before the restore (or a rollback) are wrong after it."""
    if global_apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
