"""What a whole-site backup holds, and how it points at rows that ``migrate`` makes.

``dump2py`` dumps every model that has its own table in the database, so that
the dump restores a site into a freshly migrated empty database. ``migrate``
has already filled two tables there: content types and permissions, with ids
of its own choosing. Rows of those models are therefore written with natural
primary keys (they are matched by what they are, not by id), and every
reference to them with natural foreign keys, as Django's documentation
recommends for ``dumpdata``. All other rows and references keep their ids, so
that plain ids (a GenericForeignKey's object id, a session's user id, an audit
log's id of a deleted row) stay right.
"""

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import router

# Models whose rows ``migrate`` creates, with ids that differ between databases.
REBUILT_BY_MIGRATE = ("contenttypes.contenttype", "auth.permission")


def natural_key_labels():
    """Labels of the models keyed naturally (setting ``PYSERIALIZER_NATURAL_KEY_MODELS``)."""
    labels = getattr(settings, "PYSERIALIZER_NATURAL_KEY_MODELS", REBUILT_BY_MIGRATE)
    return {label.lower() for label in labels}


def kept_by_target(label, changed=()):
    """Whether a restore keeps the target database's rows of model ``label`` and
    matches the dump's to them by natural key, rather than replacing them.
    ``changed`` are the apps restored through migrations: their models are
    loaded as they were then, by id."""
    return label in natural_key_labels() and label.partition(".")[0] not in changed


def excluded_labels(excludes):
    """The ``-e`` labels of ``dumpdata``/``dump2py`` as a test of a lowercase model
    label, as ``RestorePlan.excluded`` tests it; an unknown label is a CommandError."""
    excluded_apps, excluded_models = _parse_excludes(excludes)
    labels = {config.label for config in excluded_apps} | {
        model._meta.label_lower for model in excluded_models}
    return lambda label: label in labels or label.partition(".")[0] in labels


def models_to_dump(using, excludes=()):
    """Every model with a table of its own in database ``using``, by label.

    Like ``dumpdata`` without app labels, but without proxy and unmanaged
    models (``migrate`` creates no table for them, so nothing could be
    restored into one). ``excludes`` are ``app_label`` or
    ``app_label.ModelName``, as for ``dumpdata --exclude``.
    """
    excluded_apps, excluded_models = _parse_excludes(excludes)
    found = []
    for app_config in apps.get_app_configs():
        if app_config in excluded_apps:
            continue
        for model in app_config.get_models():
            opts = model._meta
            if (
                model in excluded_models
                or opts.proxy
                or not opts.managed
                or not router.allow_migrate_model(using, model)
            ):
                continue
            found.append(model)
    return sorted(found, key=lambda model: model._meta.label_lower)


def _parse_excludes(excludes):
    excluded_apps, excluded_models = set(), set()
    for exclude in excludes:
        if "." in exclude:
            try:
                excluded_models.add(apps.get_model(exclude))
            except (LookupError, ValueError):
                raise CommandError("Unknown model in excludes: %s" % exclude)
        else:
            try:
                excluded_apps.add(apps.get_app_config(exclude))
            except LookupError:
                raise CommandError("Unknown app in excludes: %s" % exclude)
    return excluded_apps, excluded_models


def natural_keys_for(model, labels=None):
    """(natural_foreign, natural_primary) for the rows of ``model``.

    ``natural_foreign`` is the set of labels of the models in ``labels``
    that ``model`` refers to: only references to rows that ``migrate``
    rebuilds are written as natural keys. Every other reference keeps its
    id, even one to a row that no longer exists (an audit log's
    ``db_constraint=False`` key to a deleted page): it has no natural key,
    and the id restores it exactly. ``natural_primary`` says whether the
    rows of ``model`` are themselves keyed naturally.
    """
    labels = natural_key_labels() if labels is None else labels
    opts = model._meta.concrete_model._meta
    primary = opts.label_lower in labels
    foreign = frozenset(
        related_label
        for field in opts.local_fields + opts.local_many_to_many
        if field.is_relation and field.related_model is not None
        for related_label in [field.related_model._meta.concrete_model._meta.label_lower]
        if related_label in labels
    )
    return foreign, primary
