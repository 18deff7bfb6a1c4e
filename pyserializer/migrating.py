"""Restore a dump taken at older migrations, through the project's own migrations.

A dump records the migrations that were applied when it was taken. To restore
it into newer code, ``restore_through_migrations``:

1. checks that the project still has every one of those migrations, and fails
   before touching the database if not;
2. migrates the database to exactly the dump's migration state;
3. replaces the rows of every table by the dump's, loaded into the models as
   they were at that state (Django's historical models), in one transaction;
4. migrates forward to the code's state, so that every schema change and
   ``RunPython`` in between is applied to the restored data;

and returns a report of what it did. When the dump's state is the code's,
steps 2 and 4 have nothing to do and the rows are loaded into the current
models: an ordinary restore.

Apps whose migrations did not change since the dump (often ``auth`` and
``contenttypes``) are loaded into their current models: historical models
have no ``natural_key()`` and their managers can lack what a natural key
lookup needs (a historical User has no ``USERNAME_FIELD``). For the same
reason, natural keys that rows of changed apps hold for rows of unchanged
apps are resolved through the current models.
"""

import io
import re
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from . import manifest
from .codec import codec_for
from .deserializer import Deserializer
from .restore import clear_content_type_cache, describe_database
from .migration_state import differing_apps, dump_targets, missing_migrations, project_graph
from .transforms import configured_transforms


class NotRestorable(CommandError):
    """The dump cannot be restored through migrations; the database was not touched."""


class RestoreFailed(CommandError):
    """A step after the database was changed failed; the message says where it stands."""


@dataclass
class RestorePlan:
    """What restoring one dump through migrations will do."""

    manifest_path: str
    dump: manifest.Manifest
    changed: dict  # {app_label: (dump's last migration, code's last migration)}
    targets: list  # [(app_label, migration name or None for zero)]

    def describe(self):
        """One line for the user before they confirm."""
        if not self.changed:
            return "The dump was taken at the code's migration state."
        return "The dump was taken at %s; the code is at %s: the data is restored at the " \
            "dump's state and then migrated forward." % (
                _states(self.changed, 0), _states(self.changed, 1))


def plan_restore(manifest_path):
    """Read the dump's manifest and check that its migrations can be replayed.

    Raises NotRestorable, naming the migrations the project lacks.
    """
    with open(manifest_path, "rb") as stream:
        dump = manifest.read(stream, manifest_path)
    if not dump.migrations:
        raise NotRestorable(
            "Cannot restore %s through migrations: it records no applied migrations "
            "(the database it was taken from had no migration history). Nothing was "
            "changed. Load it with python manage.py loaddata %s" % (manifest_path, manifest_path))
    graph = project_graph()
    missing = missing_migrations(dump, graph)
    if missing:
        raise NotRestorable(_missing_message(manifest_path, missing, graph))
    recorded_apps = {app_label for app_label, _ in dump.migrations}
    unknown_then = sorted({app_label for app_label, _ in graph.nodes} - recorded_apps)
    targets = dump_targets(dump, graph) + [(app_label, None) for app_label in unknown_then]
    return RestorePlan(str(manifest_path), dump, differing_apps(dump, graph), targets)


def _missing_message(manifest_path, missing, graph):
    known_apps = {app_label for app_label, _ in graph.nodes}
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


def restore_through_migrations(manifest_path, using=DEFAULT_DB_ALIAS, stdout=None):
    """Replace the data of database ``using`` by the dump; return the report text.

    ``stdout`` (optional) is told about each step as it starts.
    """
    plan = plan_restore(manifest_path)
    connection = connections[using]
    executor = MigrationExecutor(connection)
    _check_targets(plan, executor)

    def say(text):
        if stdout is not None:
            stdout.write(text + "\n")

    try:
        if not plan.changed:
            say("Loading the dump into the current models.")
            _step("migrating the database to the code's state", _migrate_to,
                  connection, plan.targets)
            objects, models = _step("loading the rows into the current models", _replace_rows,
                                    plan, connection)
            emit_post_migrate_signal(0, False, using)
            report = "dump taken at the code's migration state, restored %s" % (
                _counted(objects, models))
        else:
            say("Migrating %s to the dump's state (%s)." % (
                describe_database(connection), _states(plan.changed, 0)))
            _step("migrating the database to the dump's state", _migrate_to,
                  connection, plan.targets)
            say("Loading the dump into the models as they were then.")
            state = executor.loader.project_state([t for t in plan.targets if t[1] is not None])
            registry = LoadingModels(state.apps, plan.changed)
            transforms = natural_key_transforms(registry, using)
            objects, models = _step("loading the rows", _replace_rows, plan, connection,
                                    registry, transforms)
            forward = _forward_plan(connection)
            say("Migrating forward through %s." % _migration_ranges(forward))
            _step("migrating forward", call_command, "migrate", database=using,
                  interactive=False, verbosity=0, stdout=io.StringIO())
            report = "dump taken at %s, restored %s, migrated forward through %s" % (
                _states(plan.changed, 0), _counted(objects, models), _migration_ranges(forward))
    finally:
        clear_content_type_cache()
    say(report[0].upper() + report[1:] + ".")
    return report


def _check_targets(plan, executor):
    """The migration states to go to must be nodes of the graph migrate uses."""
    graph = executor.loader.graph
    unknown = [target for target in plan.targets
               if target[1] is not None and target not in graph.nodes]
    if unknown:
        raise NotRestorable(
            "Cannot restore %s through migrations: it was taken at %s, which this "
            "project has replaced by squashed migrations, so the database cannot be "
            "migrated to exactly that state. Nothing was changed. Keep the original "
            "migrations (without their squashed replacement) until the dump is restored, "
            "or use loaddata --ignorenonexistent." % (
                plan.manifest_path, ", ".join("%s.%s" % target for target in unknown)))


def _step(what, function, *args, **kwargs):
    """Run one step that changes the database; say where things stand if it fails."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        raise RestoreFailed(
            "Restoring through migrations failed while %s: %s\n%s"
            % (what, exc, _AFTER_FAILURE[what])
        ) from exc


_AFTER_FAILURE = {
    "migrating the database to the code's state":
        "The data of the database was not replaced; see python manage.py showmigrations.",
    "migrating the database to the dump's state":
        "The dump was not loaded. The tables may already be empty (they are emptied "
        "before migrating backwards), and the migration state may lie between the old "
        "one and the dump's (see python manage.py showmigrations).",
    "loading the rows into the current models":
        "The load was rolled back: the data of the database is as it was before.",
    "loading the rows":
        "The load was rolled back; the database is at the dump's migration state. "
        "Fix the cause and restore again, or run python manage.py migrate to go back "
        "to the code's state.",
    "migrating forward":
        "The rows were restored at the dump's migration state and migrated forward as "
        "far as the migrations succeeded (see python manage.py showmigrations). Fix the "
        "failing migration, then run python manage.py migrate.",
}


def _migrate_to(connection, targets):
    """Migrate the database to exactly ``targets``, backwards or forwards.

    Before going backwards the tables are emptied: their rows are replaced
    anyway, and reverse migrations are safer and faster on empty tables.
    """
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(targets)
    backwards = [step for step in plan if step[1]]
    if backwards:
        with transaction.atomic(using=connection.alias):
            _empty(connection, connection.introspection.django_table_names(
                only_existing=True, include_views=False))
        if len(backwards) < len(plan):
            # Django runs a plan in one direction only: first go back, then forward.
            executor.migrate(targets, plan=backwards)
            executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _forward_plan(connection):
    executor = MigrationExecutor(connection)
    return [migration for migration, backwards in
            executor.migration_plan(executor.loader.graph.leaf_nodes()) if not backwards]


def _replace_rows(plan, connection, registry=None, transforms=None):
    """Empty every table and load the dump, in one transaction; return (objects, models)."""
    registry = registry or global_apps
    with transaction.atomic(using=connection.alias):
        _empty(connection, _tables_of(connection, registry))
        clear_content_type_cache()
        return load_dump(plan.manifest_path, connection, registry, transforms)


def _tables_of(connection, registry):
    """The existing tables of the models in ``registry`` (and the current ones)."""
    existing = set(connection.introspection.table_names(include_views=False))
    tables = []
    models = registry.get_models(include_auto_created=True)
    if registry is not global_apps:
        models += global_apps.get_models(include_auto_created=True)
    for model in models:
        opts = model._meta
        if (
            opts.managed
            and not opts.proxy
            and opts.db_table in existing
            and opts.db_table not in tables
            and router.allow_migrate_model(connection.alias, model)
        ):
            tables.append(opts.db_table)
    return tables


def _empty(connection, tables):
    """Delete every row of ``tables`` but the migration history, inside the
    caller's transaction (MariaDB's TRUNCATE would end it: rows are deleted there)."""
    keep = MigrationRecorder.Migration._meta.db_table
    tables = [table for table in tables if table != keep]
    if not tables:
        return
    statements = connection.ops.sql_flush(
        no_style(), tables, reset_sequences=connection.vendor != "mysql")
    connection.ops.execute_sql_flush(statements)


def load_dump(manifest_path, connection, registry=None, transforms=None):
    """Save every row of the dump as ``loaddata`` does; return (objects, models).

    Call it inside a transaction: rows are saved with constraint checks off,
    forward references are filled in at the end, then the constraints of the
    loaded tables are checked and their sequences reset.
    """
    using = connection.alias
    allowed = {}  # model: whether the router lets its rows into this database
    objects = 0
    with open(manifest_path, "rb") as stream, connection.constraint_checks_disabled():
        deserializer = Deserializer(
            stream, using=using, handle_forward_references=True, apps=registry,
            transforms=transforms,
        )
        waiting = []
        for dumped in deserializer:
            model = type(dumped.object)
            if model not in allowed:
                allowed[model] = router.allow_migrate_model(using, model)
            if not allowed[model]:
                continue
            objects += 1
            dumped.save(using=using)
            if dumped.deferred_fields:
                waiting.append(dumped)
        for dumped in waiting:
            dumped.save_deferred_fields(using=using)
    models = [model for model, ok in allowed.items() if ok]
    connection.check_constraints(table_names=[model._meta.db_table for model in models])
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return objects, models


class LoadingModels:
    """The models rows are loaded into: as they were at the dump's migration
    state for the apps whose migrations changed since, current ones for the rest."""

    def __init__(self, historical, changed):
        self.historical = historical
        self.changed = set(changed)

    def get_model(self, app_label, model_name=None):
        if model_name is None:
            app_label, model_name = app_label.split(".")
        registry = self.historical if app_label in self.changed else global_apps
        return registry.get_model(app_label, model_name)

    def get_models(self, include_auto_created=False):
        return [
            model for model in self.historical.get_models(include_auto_created=include_auto_created)
            if model._meta.app_label in self.changed
        ] + [
            model for model in global_apps.get_models(include_auto_created=include_auto_created)
            if model._meta.app_label not in self.changed
        ]


def natural_key_transforms(registry, using):
    """Row transforms (see pyserializer.transforms) that replace, in rows of the
    historical models, natural keys of rows of unchanged apps by primary keys,
    looked up with the current models. The project's own transforms run first."""
    resolvers = {}
    for model in registry.historical.get_models():
        if model._meta.app_label not in registry.changed:
            continue
        fields = _natural_key_fields(model, registry.changed)
        if fields:
            resolvers[model._meta.label_lower] = fields
    if not resolvers:
        return None
    projects = configured_transforms()

    def transform(label, row):
        produced = projects[label](label, row) if label in projects else [(label, row)]
        for new_label, new_row in produced:
            for name, (current, field) in resolvers.get(new_label.lower(), {}).items():
                if new_row.get(name) is not None:
                    new_row[name] = _resolved(current, field, new_row[name], using)
            yield new_label, new_row

    return {label: transform for label in set(resolvers) | set(projects)}


def _natural_key_fields(model, changed):
    """{field name: (current related model, field)} for the relations of a
    historical model to models of unchanged apps that have natural keys."""
    fields = {}
    opts = model._meta
    for field in opts.local_fields + opts.local_many_to_many:
        related = field.related_model if field.is_relation else None
        if related is None or related._meta.app_label in changed:
            continue
        try:
            current = global_apps.get_model(related._meta.label)
        except LookupError:
            continue
        if hasattr(current._default_manager, "get_by_natural_key"):
            fields[field.name] = (current, field)
    return fields


def _resolved(current, field, value, using):
    """``value`` with each natural key (a list) replaced by the key it stands for."""
    codec = codec_for(field.target_field)
    manager = current._default_manager.db_manager(using)

    def key_of(natural_key):
        obj = manager.get_by_natural_key(*natural_key)
        key = getattr(obj, field.target_field.attname if field.many_to_many
                      else field.remote_field.field_name)
        if current._meta.pk.remote_field and not field.many_to_many:
            key = key.pk
        return codec.encode(key) if codec.encode is not None else key

    if field.many_to_many:
        if not isinstance(value, list):
            return value
        return [key_of(key) if isinstance(key, list) else key for key in value]
    return key_of(value) if isinstance(value, list) else value


def _states(changed, which):
    """E.g. "migrapp 0003, shop zero" from {app: (dump's last, code's last)}."""
    return ", ".join("%s %s" % (app_label, _short(names[which]))
                     for app_label, names in sorted(changed.items()))


def _migration_ranges(migrations):
    """E.g. "migrapp 0004-0005, shop 0001" for migrations in plan order."""
    by_app = {}
    for migration in migrations:
        by_app.setdefault(migration.app_label, []).append(_short(migration.name))
    if not by_app:
        return "no migration"
    return ", ".join(
        "%s %s" % (app_label, names[0] if len(names) == 1 else "%s-%s" % (names[0], names[-1]))
        for app_label, names in by_app.items()
    )


def _short(name):
    """A migration's number when it has one ("0003_split_name" -> "0003")."""
    match = re.match(r"(\d+)_", name)
    return match.group(1) if match else name


def _counted(objects, models):
    return "%s object%s of %d model%s" % (
        "{:,}".format(objects), "" if objects == 1 else "s", len(models),
        "" if len(models) == 1 else "s")
