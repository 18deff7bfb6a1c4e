"""Decide how to restore a dump, and refuse, before anything changes, what
cannot be restored as asked.

A plan (``plan_restore``) says whether the dump was taken at the code's
migration state (restored into the current models) or at another one
(restored through the project's migrations), and what is left out. Every
refusal here leaves the database as it was; ``pyserializer.restoring.run``
carries the plan out.
"""

import os
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable
from typing import IO, Any

from django.apps import apps as global_apps
from django.core.management.base import CommandError
from django.db import router
from django.db.migrations.loader import MigrationLoader

from ..cli.progress import counted_files, counted_media
from ..cli.refusals import agreed
from ..dumping.wholesite import REBUILT_BY_MIGRATE, is_excluded, matched_by_natural_key
from ..errors import DumpError, Kind
from ..files import manifest
from ..loading.transforms import Transform, configured_transforms
from . import hints, references
from .migrating import LoadingModels, natural_key_transforms, states
from .migration_state import ProjectMigrations, read_dump_state
from .unmigrated import models_without_table, unmigrated_apps


class NotRestorable(CommandError):
    """The dump cannot be restored as asked; the database was not touched."""


class Cancelled(CommandError):
    """The user answered no: nothing was changed."""

    def __init__(self) -> None:
        super().__init__("Cancelled; nothing was changed.")


@dataclass
class RestorePlan:
    """What restoring one dump will do."""

    manifest_path: str
    dump: manifest.Manifest
    # {app_label: (dump's last migration, code's last migration)}
    changed: dict[str, tuple[str, str]]
    # [(app_label, migration name, or None for zero)]: the dump's state
    targets: list[tuple[str, str | None]]
    excludes: frozenset[str] = frozenset()  # app labels and model labels left out, lowercase
    # Models migrate fills whose rows are kept and matched by natural key (wholesite).
    natural_keyed: frozenset[str] = frozenset()
    unmigrated: list[str] = field(default_factory=list)  # labels of the apps without migrations

    @property
    def through_migrations(self) -> bool:
        return bool(self.changed)

    @property
    def matched_by_target(self) -> frozenset[str]:
        """Labels of the models whose rows the target database keeps, the dump's
        being matched to them by natural key: those ``natural_keyed`` that are
        loaded into their current models (an app restored through migrations
        is loaded as it was then, by id)."""
        return frozenset(label for label in self.natural_keyed
                         if label.partition(".")[0] not in self.changed)

    def excluded(self, label: str) -> bool:
        return is_excluded(label, self.excludes)

    def rows_to_load(self) -> int:
        return sum(entry.rows for entry in self.dump.files if not self.excluded(entry.model))

    def describe(self, connection: Any) -> str:
        """What the user is asked to confirm."""
        dump = self.dump
        lines = [
            "This replaces ALL data of %s\nby the dump %s (%s, taken %s from a %s "
            "database)." % (describe_database(connection), dump.directory, counted_files(dump.files),
                            dump.created, dump.database_vendor)
        ]
        media = dump.media_files(self.excluded)
        if media:
            lines.append("Its %s go into the storages of their fields, once the rows are "
                         "restored." % counted_media(media))
        if dump.skipped:
            lines.append(
                "WARNING: this dump is INCOMPLETE: these tables could not be read when it "
                "was made and will be empty: %s" % ", ".join(table for _, table, _ in dump.skipped))
        if dump.missing_media:
            lines.append(
                "WARNING: this dump is INCOMPLETE: %d media file(s) were missing in storage "
                "when it was made (see restore_dump --list)." % len(dump.missing_media))
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


def plan_restore(manifest_path: str | os.PathLike[str], excludes: Iterable[str] = ()) -> RestorePlan:
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
    targets: list[tuple[str, str | None]] = state.targets(project) + [
        (app_label, None) for app_label in unknown_then]
    return refuse_dangling_excludes(_refuse_leaving_out_rows_kept_by_id(RestorePlan(
        manifest_path, dump, state.differing_apps(project), targets, excluded, natural_keyed,
        unmigrated_apps())))


def parse_excludes(excludes: Iterable[str], dump: manifest.Manifest) -> frozenset[str]:
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


def _refuse_leaving_out_rows_kept_by_id(plan: RestorePlan) -> RestorePlan:
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


def refuse_dangling_excludes(plan: RestorePlan) -> RestorePlan:
    """Return ``plan``, unless a model it leaves out is one that rows it loads
    refer to (see pyserializer.restoring.references): then raise DanglingReferences."""
    if plan.excludes:
        references.refuse_loading_without(
            plan.dump, plan.excluded, models_at_dump_state(plan),
            plan.matched_by_target)
    return plan


def models_at_dump_state(plan: RestorePlan) -> Any:
    """The registry the rows of the dump are loaded into: the current models, or
    for a dump taken at other migrations the models as they were at its state."""
    if not plan.through_migrations:
        return global_apps
    loader = MigrationLoader(None, ignore_no_migrations=True)
    historical = loader.project_state(
        [target for target in plan.targets if target[1] is not None]).apps
    return LoadingModels(historical, plan.changed)


def loading_models(plan: RestorePlan, using: str) -> tuple[Any, dict[str, Transform] | None]:
    """(registry, row transforms) that the rows of the dump are loaded into."""
    registry = models_at_dump_state(plan)
    if registry is global_apps:
        return global_apps, None
    return registry, natural_key_transforms(registry, using)


def refuse_unknown_models(plan: RestorePlan, registry: Any, ignorenonexistent: bool = False) -> None:
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


def refuse_missing_tables(
    plan: RestorePlan, connection: Any, registry: Any, nothing_changed: str = "",
) -> None:
    """Every model with rows in the dump (but those left out) must have its
    table in the database. ``migrate`` makes the tables of managed models;
    an unmanaged model's table is made by a migration's SQL or by another
    system, and may be missing on a new server."""
    existing = set(connection.introspection.table_names(include_views=False))
    transformed = configured_transforms()
    rows: dict[Any, Any] = {}
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


def confirm(
    plan: RestorePlan, connection: Any, interactive: bool = True, verbosity: int = 1,
    stdout: IO[str] | None = None, ask: Callable[[str], str] = input,
) -> None:
    """Say what carrying out ``plan`` on ``connection`` replaces and, when
    ``interactive``, ask; raise Cancelled unless the answer is yes."""
    if stdout is not None and (interactive or verbosity >= 1):
        stdout.write(plan.describe(connection) + "\n")
    if interactive and not agreed(ask):
        raise Cancelled()


def refuse_unreachable_targets(plan: RestorePlan, executor: Any) -> None:
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


def _missing_message(
    manifest_path: str, missing: list[tuple[str, str]], project: ProjectMigrations,
) -> str:
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


def _inside_squash_message(
    manifest_path: str, inside_squashes: dict[tuple[str, str], list[tuple[str, str]]],
) -> str:
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


def describe_database(connection: Any) -> str:
    """E.g. "database 'default' (postgresql: shop on db.example.org:5432)"."""
    settings_dict = connection.settings_dict
    where = str(settings_dict.get("NAME") or "")
    host = settings_dict.get("HOST")
    if host:
        port = settings_dict.get("PORT")
        where += " on %s%s" % (host, ":%s" % port if port else "")
    return "database %r (%s: %s)" % (connection.alias, connection.vendor, where)
