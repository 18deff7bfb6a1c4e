"""The migration state a dump was taken at, compared with the project's.

Both are read as ``migrate`` reads them: Django's ``MigrationLoader`` builds
the graph with squashed migrations standing for the migrations they replace
(on a new database every squash is used). A dump records the rows of
``django_migrations``: a squash counts as applied when all the migrations it
replaces are recorded (``migrate`` records them all when it applies it), and
a recorded squash stands for all of them, as in ``MigrationLoader.build_graph``.
So a squash that an app ships beside the migrations it replaces, or one whose
replaced migrations were deleted since, reads the same as the unsquashed
history did.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.migrations.loader import MigrationLoader

from ..files.manifest import Manifest


@dataclass
class ProjectMigrations:
    """The project's migration graph, as ``migrate`` uses it for a new database."""

    graph: Any  # django.db.migrations.graph.MigrationGraph
    squashes: dict[tuple[str, str], set[tuple[str, str]]]  # {squash key: set of the keys it replaces}
    on_disk: set[tuple[str, str]]  # every migration file's key, replaced ones included

    @classmethod
    def load(cls) -> "ProjectMigrations":
        loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=True)
        squashes = {
            key: set(migration.replaces)
            for key, migration in loader.replacements.items()
            if key in loader.graph.nodes
        }
        return cls(loader.graph, squashes, set(loader.disk_migrations))

    def current_state(self) -> dict[str, set[str]]:
        """{app_label: set of migration names} the current code is at."""
        return _by_app(self.graph.nodes)

    def leaf(self, app_label: str, names: Iterable[str]) -> tuple[str, str] | None:
        """The last of ``names`` (migrations of ``app_label`` in the graph): the
        one no other of them comes after; None when there is none."""
        keys = {(app_label, name) for name in names if (app_label, name) in self.graph.nodes}
        leaves = [
            key for key in keys
            if not any(child in keys for child in self.graph.node_map[key].children)
        ]
        if not leaves:
            return None
        return max(leaves, key=lambda key: (len(self.graph.forwards_plan(key)), key))


@dataclass
class DumpState:
    """A dump's recorded migrations, read against the project's graph."""

    applied: dict[str, set[str]]  # {app_label: set of names}: graph nodes applied when it was taken
    # recorded, but no migration file has them
    missing: list[tuple[str, str]] = field(default_factory=list)
    # {squash: recorded part of what it replaces}
    inside_squashes: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def targets(self, project: ProjectMigrations) -> list[tuple[str, str]]:
        """[(app_label, last migration applied)] per app of the dump, sorted by app."""
        return [
            leaf for leaf in (
                project.leaf(app_label, names) for app_label, names in sorted(self.applied.items())
            ) if leaf is not None
        ]

    def differing_apps(self, project: ProjectMigrations) -> dict[str, tuple[str, str]]:
        """{app_label: (dump's last migration, code's last migration)} where they differ."""
        current = project.current_state()
        differing = {}
        for app_label in sorted(set(self.applied) | set(current)):
            dumped, now = self.applied.get(app_label, set()), current.get(app_label, set())
            if dumped != now:
                differing[app_label] = (_last_name(project, app_label, dumped),
                                        _last_name(project, app_label, now))
        return differing


def read_dump_state(dump: Manifest, project: ProjectMigrations) -> DumpState:
    """Where the dump's recorded migrations stand in the project's graph.

    Apps the dump records migrations of but that have no migrations in the
    project and no rows in the dump (an app removed from the project, whose
    rows in django_migrations stayed behind) say nothing about its data and
    are left out.
    """
    with_rows = {entry.model.partition(".")[0] for entry in dump.files}
    in_project = {app_label for app_label, _ in project.on_disk}
    recorded = {
        (app_label, name) for app_label, name in dump.migrations
        if app_label in in_project or app_label in with_rows
    }
    for squash, replaced in project.squashes.items():
        if squash in recorded:
            recorded |= replaced
    applied = {key for key in recorded if key in project.graph.nodes}
    inside_squashes = {}
    for squash, replaced in project.squashes.items():
        if replaced <= recorded:
            applied.add(squash)
        elif replaced & recorded:
            inside_squashes[squash] = sorted(replaced & recorded)
    placed = applied | {key for squash in applied for key in project.squashes.get(squash, ())}
    inside = {key for keys in inside_squashes.values() for key in keys}
    missing = sorted(key for key in recorded - placed - inside if key not in project.on_disk)
    return DumpState(_by_app(applied), missing, inside_squashes)


def migration_differences(dump: Manifest) -> tuple[str, list[tuple[str, str]]]:
    """(A short text of how the dump's migration state differs, or ''; the
    migrations it records that the project's graph cannot bring a database
    to: missing ones, or part of what a squash replaces). When the second is
    not empty, the dump cannot be restored through the project's migrations."""
    project = ProjectMigrations.load()
    state = read_dump_state(dump, project)
    text = "; ".join(
        "%s: dump at %s, code at %s" % (app_label, dumped, current)
        for app_label, (dumped, current) in state.differing_apps(project).items()
    )
    unreachable = state.missing + sorted(
        key for keys in state.inside_squashes.values() for key in keys)
    return text, unreachable


def _by_app(keys: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    state: dict[str, set[str]] = {}
    for app_label, name in keys:
        state.setdefault(app_label, set()).add(name)
    return state


def _last_name(project: ProjectMigrations, app_label: str, names: set[str]) -> str:
    if not names:
        return "zero"
    leaf = project.leaf(app_label, names)
    return leaf[1] if leaf else sorted(names)[-1]
