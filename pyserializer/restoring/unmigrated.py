"""Tables of apps without migrations, created as ``migrate --run-syncdb`` does.

Many older and internal Django apps (all of Lino's) have no migrations:
``migrate`` leaves them alone, and only ``migrate --run-syncdb`` creates their
tables. A restore into a new database creates them too, where they are
missing, once the migrations have run: their foreign keys to the tables of
migrated apps then find these tables (``--run-syncdb`` creates them before
migrating, which PostgreSQL and MariaDB refuse for such a key).
"""

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import router
from django.db.models import Model
from django.db.migrations.loader import MigrationLoader


def unmigrated_apps() -> list[str]:
    """Labels of the installed apps that have models but no migrations, sorted."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(
        config.label for config in apps.get_app_configs()
        if config.label in loader.unmigrated_apps and list(config.get_models())
    )


def models_without_table(connection: Any, app_labels: Iterable[str]) -> list[type[Model]]:
    """The models of ``app_labels`` whose table ``migrate --run-syncdb`` would
    create in ``connection``'s database: it lets them in, and they have none yet."""
    existing = _tables(connection)
    return [model for model in _models(connection, app_labels)
            if model._meta.db_table not in existing]


def create_missing_tables(connection: Any, app_labels: Iterable[str]) -> list[str]:
    """Create the missing tables of ``app_labels`` (with their many-to-many
    tables) whose foreign keys find the tables they refer to; return their names.

    At a dump's older migration state, a table that such a model refers to can
    be missing still: that model's table is created by a later call, after
    the migrations have made it."""
    ready = _with_their_targets(connection, models_without_table(connection, app_labels))
    if ready:
        with connection.schema_editor() as editor:
            for model in ready:
                editor.create_model(model)
    return [model._meta.db_table for model in ready]


def _models(connection: Any, app_labels: Iterable[str]) -> list[type[Model]]:
    """The models of ``app_labels`` that ``migrate`` would give a table in this database."""
    return [
        model
        for label in app_labels
        for model in router.get_migratable_models(apps.get_app_config(label), connection.alias)
        if model._meta.can_migrate(connection)
    ]


def _tables(connection: Any) -> set[str]:
    return set(connection.introspection.table_names())


def _with_their_targets(
    connection: Any, models: Iterable[type[Model]],
) -> list[type[Model]]:
    """The ``models`` whose foreign keys and many-to-many fields refer to
    tables that exist or are among them (and can be created)."""
    existing = _tables(connection)
    ready = list(models)
    while True:
        tables = existing | {model._meta.db_table for model in ready}
        keep = [
            model for model in ready
            if all(field.related_model._meta.db_table in tables
                   for field in model._meta.local_fields + model._meta.local_many_to_many
                   if field.is_relation and field.related_model is not None)
        ]
        if len(keep) == len(ready):
            return ready
        ready = keep
