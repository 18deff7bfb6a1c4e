"""Loading order: models that others refer to come before those referring to them."""


def dependencies(model):
    """Models whose rows ``model``'s rows point to (parents, foreign keys, m2m)."""
    opts = model._meta.concrete_model._meta
    found = []
    for field in opts.local_fields + opts.local_many_to_many:
        if field.is_relation and field.related_model is not None:
            related = field.related_model._meta.concrete_model
            if related is not opts.concrete_model and related not in found:
                found.append(related)
    return found


def loading_order(models):
    """Sort ``models`` so that referenced models come first where the graph allows.

    Deterministic: ties keep the given order, and a cycle is broken at the
    first model of the cycle in that order (its references become forward
    references, which loaddata supports).
    """
    remaining = list(models)
    concrete = {model: model._meta.concrete_model for model in remaining}
    ordered = []
    placed = set()
    while remaining:
        for model in remaining:
            pending = [
                dep
                for dep in dependencies(model)
                if dep not in placed and any(concrete[m] is dep for m in remaining if m is not model)
            ]
            if not pending:
                break
        else:
            model = remaining[0]
        remaining.remove(model)
        ordered.append(model)
        placed.add(concrete[model])
    return ordered
