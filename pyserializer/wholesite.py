"""What a whole-site backup holds, and how it points at rows that ``migrate`` makes.

``dump2py`` dumps every model that has its own table in the database, so that
the dump restores a site into a freshly migrated empty database. ``migrate``
has already filled two tables there: content types and permissions, with ids
of its own choosing. Ids of these rows are kept in places no foreign key
describes (a Wagtail revision's JSON content, a django-reversion version, an
audit log's text), so a dump writes them with their ids like every other row,
and the restore replaces what ``migrate`` made by them; content types and
permissions that the code has and the dump lacks are created afterwards, as
``migrate`` would (``complete_rebuilt_rows``). Only a model that the dump
leaves out, or that a project lists in ``PYSERIALIZER_NATURAL_KEY_MODELS``, is
written by natural key and matched on restore to the rows that are there.
"""

import os

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import router

from .reader import DumpReader, open_chunk

# Models whose rows ``migrate`` creates, with ids that differ between databases.
REBUILT_BY_MIGRATE = ("contenttypes.contenttype", "auth.permission")


def natural_key_labels(dumped=None):
    """Labels of the models keyed naturally: those of the setting
    ``PYSERIALIZER_NATURAL_KEY_MODELS`` (default: none), and the models
    ``migrate`` rebuilds that are not among the models ``dumped``: a
    reference to a row the dump lacks can only be matched by what it names."""
    labels = {label.lower() for label in getattr(settings, "PYSERIALIZER_NATURAL_KEY_MODELS", ())}
    if dumped is not None:
        dumped_labels = {model._meta.label_lower for model in dumped}
        labels.update(label for label in REBUILT_BY_MIGRATE if label not in dumped_labels)
    return labels


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


def matched_by_natural_key(dump):
    """Labels of the models whose rows ``migrate`` (or the project) makes that
    a restore of ``dump`` keeps, matching the dump's references to them by
    natural key: those the dump writes without their primary key (content
    types and permissions in a dump of an earlier release, a model of
    ``PYSERIALIZER_NATURAL_KEY_MODELS``) and those it does not hold. Decided by what the dump holds, so that dumps of
    either kind restore; the others are replaced, ids and all."""
    labels = set(REBUILT_BY_MIGRATE) | natural_key_labels()
    return frozenset(label for label in labels if not _dumped_with_ids(dump, label))


def _dumped_with_ids(dump, label):
    """Whether the first block of ``label`` in ``dump`` writes the model's primary key."""
    entry = next((entry for entry in dump.files if entry.model == label and entry.rows), None)
    if entry is None:
        return False
    try:
        pk_name = apps.get_model(label)._meta.pk.name
    except LookupError:
        return False
    path = os.path.join(dump.directory, entry.name)
    with open_chunk(path) as chunk:
        for section in DumpReader(chunk, path).sections():
            return pk_name in (section.names.get("FIELDS") or ())
    return False


def complete_rebuilt_rows(using):
    """Create the content types and permissions that the code has and the
    restored rows lack, as ``migrate``'s post_migrate handlers do: for the
    models added since the dump, or left out of it."""
    if apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.management import create_contenttypes

        for app_config in apps.get_app_configs():
            create_contenttypes(app_config, verbosity=0, using=using)
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0, using=using)
