"""What a whole-site backup holds, and how it points at rows that ``migrate`` makes.

``dump2py`` dumps every model that has its own table in the database, managed
or not, so that the dump restores a site into a freshly migrated empty
database, and names every model it leaves out. ``migrate``
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
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections, router

from ..files.manifest import Manifest
from ..files.reader import DumpReader
from ..files.safefiles import open_chunk

# Models whose rows ``migrate`` creates, with ids that differ between databases.
REBUILT_BY_MIGRATE = ("contenttypes.contenttype", "auth.permission")


def natural_key_labels(dumped: Iterable[Any] | None = None) -> set[str]:
    """Labels of the models keyed naturally: those of the setting
    ``PYSERIALIZER_NATURAL_KEY_MODELS`` (default: none), and the models
    ``migrate`` rebuilds that are not among the models ``dumped``: a
    reference to a row the dump lacks can only be matched by what it names."""
    labels = {label.lower() for label in getattr(settings, "PYSERIALIZER_NATURAL_KEY_MODELS", ())}
    if dumped is not None:
        dumped_labels = {model._meta.label_lower for model in dumped}
        labels.update(label for label in REBUILT_BY_MIGRATE if label not in dumped_labels)
    return labels


def is_excluded(label: str, excludes: AbstractSet[str]) -> bool:
    """Whether ``-e`` leaves out the model ``label``: ``excludes`` holds app
    labels and lowercase model labels, and leaving out an app leaves out
    each of its models. The one rule for dumps, loads and restores."""
    return label in excludes or label.lower() in excludes or label.partition(".")[0] in excludes


def excluded_labels(excludes: Iterable[str]) -> Callable[[str], bool]:
    """The ``-e`` labels of ``dumpdata``/``dump2py`` as a test of a model label
    (``is_excluded``); an unknown label is a CommandError."""
    excluded_apps, excluded_models = _parse_excludes(excludes)
    labels = {config.label for config in excluded_apps} | {
        model._meta.label_lower for model in excluded_models}
    return lambda label: is_excluded(label, labels)


def models_to_dump(using: str, excludes: Iterable[str] = ()) -> list[Any]:
    """Every model whose rows database ``using`` holds in a table, by label."""
    return choose_models(using, excludes).models


@dataclass
class WholeSite:
    """The models a whole-site dump holds, and every model it leaves out."""

    models: list[Any]
    left_out: list[list[str]]  # [[label, why]], by label


def choose_models(using: str, excludes: Iterable[str] = ()) -> WholeSite:
    """Choose the models of a whole-site dump of database ``using``.

    Like ``dumpdata`` without app labels: every model with rows in a table
    of its own, unmanaged ones included (a table made by ``RunSQL`` or by
    another system holds rows that a restore must not lose). ``excludes``
    are ``app_label`` or ``app_label.ModelName``, as for ``dumpdata
    --exclude``. Every other model but proxies (their rows are those of
    their concrete model) is left out with the reason: excluded, not allowed
    on ``using`` by a router, a view, unmanaged without a table, or unmanaged
    on the table of a model that is dumped.
    """
    excluded_apps, excluded_models = _parse_excludes(excludes)
    table_type_of = _table_types(connections[using])
    candidates = [model for model in apps.get_models() if not model._meta.proxy]
    # A table's rows are dumped once: through its managed model when it has one.
    candidates.sort(key=lambda model: (not model._meta.managed, model._meta.label_lower))
    dumped_tables: dict[str, str] = {}  # db_table: the label of the model whose rows it dumps
    models: list[Any] = []
    left_out: list[list[str]] = []
    for model in candidates:
        opts = model._meta
        reason = _reason_to_leave_out(model, using, table_type_of, excluded_apps, excluded_models)
        if reason is None and opts.db_table in dumped_tables:
            reason = "its table %s holds the rows of %s, which are dumped" % (
                opts.db_table, dumped_tables[opts.db_table])
        if reason is None:
            models.append(model)
            dumped_tables[opts.db_table] = opts.label_lower
        else:
            left_out.append([opts.label_lower, reason])
    return WholeSite(sorted(models, key=lambda model: model._meta.label_lower), sorted(left_out))


def describe_left_out(left_out: Sequence[Sequence[str]]) -> list[str]:
    """The lines that name every model left out of a dump, and why."""
    if not left_out:
        return []
    lines = ["Left out %d model%s (no rows of %s are in the dump):" % (
        len(left_out), "" if len(left_out) == 1 else "s", "it" if len(left_out) == 1 else "them")]
    lines.extend("  %s: %s" % (label, reason) for label, reason in left_out)
    return lines


def _reason_to_leave_out(
    model: Any,
    using: str,
    table_type_of: Callable[[str], str | None],
    excluded_apps: set[Any],
    excluded_models: set[Any],
) -> str | None:
    opts = model._meta
    if opts.app_config in excluded_apps:
        return "excluded with -e %s" % opts.app_label
    if model in excluded_models:
        return "excluded with -e %s" % opts.label
    if not router.allow_migrate_model(using, model):
        return "a database router does not allow it on database %r" % using
    if opts.managed:
        return None
    table_type = table_type_of(opts.db_table)
    if table_type == "v":
        return "backed by the view %s, not a table: its rows are those of the tables it reads" % (
            opts.db_table)
    if table_type is None:
        return "unmanaged, and database %r has no table %s" % (using, opts.db_table)
    return None


def _table_types(connection: Any) -> Callable[[str], str | None]:
    """A function: table name -> "t" (a table), "v" (a view) or None (neither)."""
    introspection = connection.introspection
    with connection.cursor() as cursor:
        types = {info.name: info.type for info in introspection.get_table_list(cursor)}
    return lambda table: types.get(introspection.identifier_converter(table))


def _parse_excludes(excludes: Iterable[str]) -> tuple[set[Any], set[Any]]:
    excluded_apps: set[Any] = set()
    excluded_models: set[Any] = set()
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


def natural_keys_for(
    model: Any, labels: AbstractSet[str] | None = None
) -> tuple[frozenset[str], bool]:
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


def matched_by_natural_key(dump: Manifest) -> frozenset[str]:
    """Labels of the models whose rows ``migrate`` (or the project) makes that
    a restore of ``dump`` keeps, matching the dump's references to them by
    natural key: those the dump writes without their primary key (content
    types and permissions in a dump of an earlier release, a model of
    ``PYSERIALIZER_NATURAL_KEY_MODELS``) and those it does not hold. Decided
    by what the dump holds, so that dumps of either kind restore; the others
    are replaced, ids and all."""
    labels = set(REBUILT_BY_MIGRATE) | natural_key_labels()
    return frozenset(label for label in labels if not _dumped_with_ids(dump, label))


def _dumped_with_ids(dump: Manifest, label: str) -> bool:
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


def complete_rebuilt_rows(using: str) -> None:
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
