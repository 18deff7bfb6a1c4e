"""Loading order: models that others refer to come before those referring to them."""

from collections.abc import Iterable
from typing import Any


def dependencies(model: Any) -> list[Any]:
    """Models whose rows ``model``'s rows point to (parents, foreign keys, m2m)."""
    opts = model._meta.concrete_model._meta
    found = []
    for field in opts.local_fields + opts.local_many_to_many:
        if field.is_relation and field.related_model is not None:
            related = field.related_model._meta.concrete_model
            if related is not opts.concrete_model and related not in found:
                found.append(related)
    return found


def loading_order(models: Iterable[Any]) -> list[Any]:
    """Sort ``models`` so that every model comes after the models it refers to.

    Only models that refer to each other in a cycle (a strongly connected
    component of the graph) can break that rule, and only among themselves:
    inside a cycle, the first model in the given order whose references are
    not yet placed goes first (its references become forward references,
    which loaddata supports). Deterministic: ties keep the given order.
    """
    models = list(models)
    position = {model: index for index, model in enumerate(models)}
    by_concrete: dict[Any, list[Any]] = {}
    for model in models:
        by_concrete.setdefault(model._meta.concrete_model, []).append(model)
    refers_to = {
        model: sorted(
            {other for dep in dependencies(model) for other in by_concrete.get(dep, ())
             if other is not model},
            key=position.get,  # type: ignore[arg-type]  # every model has a position
        )
        for model in models
    }
    ordered = []
    for component in _components_in_dependency_order(models, refers_to, position):
        ordered.extend(_order_inside_cycle(component, refers_to))
    return ordered


def _components_in_dependency_order(
    models: list[Any], refers_to: dict[Any, list[Any]], position: dict[Any, int]
) -> list[list[Any]]:
    """Strongly connected components, each after the components it refers to."""
    component_of: dict[Any, int] = {}
    components: list[list[Any]] = []
    for component in _strongly_connected_components(models, refers_to):
        # Every model has a position.
        component = sorted(component, key=position.get)  # type: ignore[arg-type]
        for model in component:
            component_of[model] = len(components)
        components.append(component)
    waiting_for = [
        {component_of[dep] for model in component for dep in refers_to[model]} - {index}
        for index, component in enumerate(components)
    ]
    ordered: list[list[Any]] = []
    done: set[int] = set()
    while len(done) < len(components):
        ready = min(
            (index for index in range(len(components))
             if index not in done and waiting_for[index] <= done),
            key=lambda index: position[components[index][0]],
        )
        done.add(ready)
        ordered.append(components[ready])
    return ordered


def _strongly_connected_components(
    models: list[Any], refers_to: dict[Any, list[Any]]
) -> list[list[Any]]:
    """Tarjan's algorithm, without recursion (a long chain of models is fine)."""
    index_of: dict[Any, int] = {}
    low: dict[Any, int] = {}
    on_stack: set[Any] = set()
    stack: list[Any] = []
    found: list[list[Any]] = []
    for root in models:
        if root in index_of:
            continue
        work = [(root, iter(refers_to[root]))]
        index_of[root] = low[root] = len(index_of)
        stack.append(root)
        on_stack.add(root)
        while work:
            model, pending = work[-1]
            for dep in pending:
                if dep not in index_of:
                    index_of[dep] = low[dep] = len(index_of)
                    stack.append(dep)
                    on_stack.add(dep)
                    work.append((dep, iter(refers_to[dep])))
                    break
                if dep in on_stack:
                    low[model] = min(low[model], index_of[dep])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[model])
                if low[model] == index_of[model]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member is model:
                            break
                    found.append(component)
    return found


def _order_inside_cycle(component: list[Any], refers_to: dict[Any, list[Any]]) -> list[Any]:
    """Members of one cycle: those whose references are placed first, where possible."""
    members = set(component)
    remaining = list(component)
    placed = set()
    ordered = []
    while remaining:
        model = next(
            (model for model in remaining
             if all(dep in placed or dep not in members for dep in refers_to[model])),
            remaining[0],
        )
        remaining.remove(model)
        placed.add(model)
        ordered.append(model)
    return ordered
