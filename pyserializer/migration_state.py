"""The migration state a dump was taken at, compared with the project's."""

from django.db.migrations.loader import MigrationLoader


def project_graph():
    """The project's migration graph, as the migration files on disk describe it."""
    return MigrationLoader(None, ignore_no_migrations=True, replace_migrations=False).graph


def current_state(graph):
    """{app_label: set of migration names} the current code is at."""
    state = {}
    for leaf in graph.leaf_nodes():
        for app_label, name in graph.forwards_plan(leaf):
            state.setdefault(app_label, set()).add(name)
    return state


def recorded_state(dump):
    """{app_label: set of migration names} applied when the dump was taken."""
    state = {}
    for app_label, name in dump.migrations:
        state.setdefault(app_label, set()).add(name)
    return state


def departed_apps(dump, graph):
    """Apps the dump records migrations of, but that have no migrations in the
    project and no rows in the dump: typically an app removed from the project,
    whose rows in django_migrations stayed behind. They say nothing about the
    dump's data and are left out of the comparisons below."""
    in_graph = {app_label for app_label, _ in graph.nodes}
    with_rows = {entry.model.partition(".")[0] for entry in dump.files}
    return {
        app_label for app_label, _ in dump.migrations
        if app_label not in in_graph and app_label not in with_rows
    }


def missing_migrations(dump, graph):
    """Migrations the dump records that the project's graph does not have."""
    departed = departed_apps(dump, graph)
    return sorted(
        key for key in dump.migrations if key not in graph.nodes and key[0] not in departed
    )


def dump_targets(dump, graph):
    """[(app_label, last migration applied)] for each app of the dump, in graph order."""
    targets = []
    for app_label, names in sorted(recorded_state(dump).items()):
        nodes = [key for key in graph.nodes if key[0] == app_label and key[1] in names]
        if not nodes:
            continue
        last = max(nodes, key=lambda key: len(graph.forwards_plan(key)))
        targets.append(last)
    return targets


def differing_apps(dump, graph):
    """{app_label: (dump's last migration, code's last migration)} where they differ."""
    departed = departed_apps(dump, graph)
    dumped = {
        app_label: names for app_label, names in recorded_state(dump).items()
        if app_label not in departed
    }
    current = current_state(graph)
    differing = {}
    for app_label in sorted(set(dumped) | set(current)):
        if dumped.get(app_label, set()) == current.get(app_label, set()):
            continue
        differing[app_label] = (
            _last(graph, app_label, dumped.get(app_label, set())),
            _last(graph, app_label, current.get(app_label, set())),
        )
    return differing


def _last(graph, app_label, names):
    nodes = [(app_label, name) for name in names if (app_label, name) in graph.nodes]
    if not nodes:
        return "zero" if not names else sorted(names)[-1]
    return max(nodes, key=lambda key: len(graph.forwards_plan(key)))[1]


def migration_differences(dump):
    """A short text of how the dump's migration state differs, or ''."""
    differing = differing_apps(dump, project_graph())
    return "; ".join(
        "%s: dump at %s, code at %s" % (app_label, dumped, current)
        for app_label, (dumped, current) in differing.items()
    )
