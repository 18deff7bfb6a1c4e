"""The steps of a restore through the project's own migrations.

A dump records the migrations that were applied when it was taken. To restore
it into newer code (``pyserializer.restoring.run`` runs these steps), the
database is migrated to exactly the dump's migration state (``migrate_to``),
the rows are loaded into the models as they were at that state (Django's
historical models, ``LoadingModels``), and the database is migrated forward,
so that every schema change and ``RunPython`` in between is applied to the
restored data.

Apps whose migrations did not change since the dump (often ``auth`` and
``contenttypes``) are loaded into their current models: historical models
have no ``natural_key()`` and their managers can lack what a natural key
lookup needs (a historical User has no ``USERNAME_FIELD``). For the same
reason, natural keys that rows of changed apps hold for rows of unchanged
apps are resolved through the current models.
"""

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import transaction
from django.db.migrations.executor import MigrationExecutor

from ..loading.transforms import Transform, configured_transforms
from ..values.codec import codec_for


def migrate_to(
    connection: Any, targets: list[tuple[str, str | None]], empty: Callable[[], Any],
) -> None:
    """Migrate the database to exactly ``targets``, backwards or forwards.

    Before going backwards ``empty()`` empties the tables: their rows are
    replaced anyway, and reverse migrations are safer and faster on empty tables.
    """
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(targets)
    backwards = [step for step in plan if step[1]]
    if backwards:
        with transaction.atomic(using=connection.alias):
            empty()
        if len(backwards) < len(plan):
            # Django runs a plan in one direction only: first go back, then forward.
            executor.migrate(targets, plan=backwards)
            executor = MigrationExecutor(connection)
    executor.migrate(targets)


def forward_plan(connection: Any) -> list[Any]:
    """The migrations ``migrate`` would apply now, in order."""
    executor = MigrationExecutor(connection)
    return [migration for migration, backwards in
            executor.migration_plan(executor.loader.graph.leaf_nodes()) if not backwards]


class LoadingModels:
    """The models rows are loaded into: as they were at the dump's migration
    state for the apps whose migrations changed since, current ones for the rest."""

    def __init__(self, historical: Any, changed: Iterable[str]) -> None:
        self.historical = historical
        self.changed = set(changed)

    def get_model(self, app_label: str, model_name: str | None = None) -> Any:
        if model_name is None:
            app_label, model_name = app_label.split(".")
        registry = self.historical if app_label in self.changed else global_apps
        return registry.get_model(app_label, model_name)

    def get_models(self, include_auto_created: bool = False) -> list[Any]:
        return [
            model for model in self.historical.get_models(include_auto_created=include_auto_created)
            if model._meta.app_label in self.changed
        ] + [
            model for model in global_apps.get_models(include_auto_created=include_auto_created)
            if model._meta.app_label not in self.changed
        ]


def natural_key_transforms(registry: LoadingModels, using: str) -> dict[str, Transform] | None:
    """Row transforms (see pyserializer.loading.transforms) that replace, in rows of the
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

    def transform(label: str, row: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        produced = projects[label](label, row) if label in projects else [(label, row)]
        for new_label, new_row in produced:
            for name, (current, field) in resolvers.get(new_label.lower(), {}).items():
                if new_row.get(name) is not None:
                    new_row[name] = _resolved(current, field, new_row[name], using)
            yield new_label, new_row

    return {label: transform for label in set(resolvers) | set(projects)}


def _natural_key_fields(model: Any, changed: Collection[str]) -> dict[str, tuple[Any, Any]]:
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


def _resolved(current: Any, field: Any, value: Any, using: str) -> Any:
    """``value`` with each natural key (a list) replaced by the key it stands for."""
    codec = codec_for(field.target_field)
    manager = current._default_manager.db_manager(using)

    def key_of(natural_key: Sequence[Any]) -> Any:
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


def states(changed: Mapping[str, tuple[str, str]], which: int) -> str:
    """E.g. "migrapp 0003, shop zero" from {app: (dump's last, code's last)}."""
    return ", ".join("%s %s" % (app_label, _short(names[which]))
                     for app_label, names in sorted(changed.items()))


def migration_ranges(migrations: Iterable[Any]) -> str:
    """E.g. "migrapp 0004-0005, shop 0001" for migrations in plan order."""
    by_app: dict[str, Any] = {}
    for migration in migrations:
        by_app.setdefault(migration.app_label, []).append(_short(migration.name))
    if not by_app:
        return "no migration"
    return ", ".join(
        "%s %s" % (app_label, names[0] if len(names) == 1 else "%s-%s" % (names[0], names[-1]))
        for app_label, names in by_app.items()
    )


def _short(name: str) -> str:
    """A migration's number when it has one ("0003_split_name" -> "0003",
    "0001_squashed_0021_file_hash" -> "0001_squashed_0021")."""
    match = re.match(r"(\d+_squashed_\d+|\d+)_", name)
    return match.group(1) if match else name
