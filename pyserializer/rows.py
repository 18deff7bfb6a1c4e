"""Database rows: the first step of a dump.

Turns model instances (what ``dumpdata`` hands a serializer) or querysets
(what ``dump2py`` hands it, read as plain value tuples without building
instances) into blocks of rows: per model, the columns to write and batches of
Python values, one list per row. Everything a row needs from other tables is
fetched here once per batch, never once per row: many-to-many keys, natural
keys of related objects, and whether a JSONField's ``None`` is SQL NULL or
JSON ``null``.
"""

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain, groupby
from typing import Iterator

from django.db import connections, models

from .codec import JSON_NULL
from .errors import DumpWriteError

BATCH_SIZE = 1000


@dataclass
class Block:
    """The rows of one model, in batches."""

    model: type
    columns: list
    batches: Iterator[list]
    using: str
    natural_columns: frozenset = frozenset()

    @property
    def label(self):
        return self.model._meta.label_lower


def columns_of(model, selected_fields=None, natural_primary=False):
    """The fields a dump writes for ``model``: its key first, many-to-many last.

    Mirrors Django's serializers: a model's own concrete fields (parents of a
    multi-table model are dumped as their own model), auto-created
    many-to-many relations, and the primary key unless natural primary keys
    replace it.
    """
    opts = model._meta.concrete_model._meta
    pk = opts.pk
    columns = []
    if not (natural_primary and _has_natural_key(model)) or pk.remote_field:
        columns.append(pk)
    for field in opts.local_fields:
        if field.serialize and _selected(field, selected_fields):
            columns.append(field)
    for field in opts.local_many_to_many:
        if (
            field.serialize
            and field.remote_field.through._meta.auto_created
            and _selected(field, selected_fields)
        ):
            columns.append(field)
    return columns


def _selected(field, selected_fields):
    return selected_fields is None or field.name in selected_fields or (
        field.attname in selected_fields
    )


def _has_natural_key(model):
    return hasattr(model, "natural_key") and hasattr(
        model._default_manager, "get_by_natural_key"
    )


def blocks_from_objects(objects, selected_fields=None, natural_foreign=False, natural_primary=False):
    """Blocks from an iterable of model instances, grouped as they come."""
    for model, instances in groupby(objects, key=type):
        first = next(instances)
        columns = columns_of(model, selected_fields, natural_primary)
        natural = natural_columns_of(columns, natural_foreign)
        yield Block(
            model,
            columns,
            _instance_batches(model, columns, chain([first], instances), natural),
            first._state.db,
            natural,
        )


def blocks_from_queryset(queryset, selected_fields=None, natural_foreign=False, natural_primary=False):
    """One block read as value tuples, page by page in primary key order."""
    model = queryset.model
    columns = columns_of(model, selected_fields, natural_primary)
    natural = natural_columns_of(columns, natural_foreign)
    return Block(
        model,
        columns,
        _queryset_batches(queryset, columns, natural),
        queryset.db,
        natural,
    )


def natural_columns_of(columns, natural_foreign):
    """Indexes of the columns written as natural keys of related objects.

    ``natural_foreign`` is True (every relation to a model with natural
    keys, as ``dumpdata --natural-foreign``), False, or a set of model
    labels (only relations to those models: ``dump2py``).
    """
    if not natural_foreign:
        return frozenset()
    return frozenset(
        index
        for index, column in enumerate(columns)
        if column.is_relation
        and _has_natural_key(column.related_model)
        and (not isinstance(natural_foreign, AbstractSet) or _label(column.related_model) in natural_foreign)
    )


def _label(model):
    return model._meta.concrete_model._meta.label_lower


def _instance_batches(model, columns, instances, natural):
    attnames = [None if field.many_to_many else field.attname for field in columns]
    batch, pks = [], []
    for instance in instances:
        values = instance.__dict__
        try:
            row = [values[name] if name else None for name in attnames]
        except KeyError:
            row = [getattr(instance, name) if name else None for name in attnames]
        batch.append(row)
        pks.append(instance.pk)
        if len(batch) >= BATCH_SIZE:
            yield _complete(model, columns, batch, pks, instance._state.db, natural)
            batch, pks = [], []
    if batch:
        yield _complete(model, columns, batch, pks, instance._state.db, natural)


def _queryset_batches(queryset, columns, natural):
    pk_name = queryset.model._meta.pk.attname
    value_names = [pk_name] + [
        field.attname for field in columns if not field.many_to_many
    ]
    positions = []
    position = 1
    for field in columns:
        if field.many_to_many:
            positions.append(None)
        else:
            positions.append(position)
            position += 1
    page = queryset.order_by(pk_name).values_list(*value_names)
    last_pk = None
    while True:
        current = page if last_pk is None else page.filter(pk__gt=last_pk)
        records = list(current[:BATCH_SIZE])
        if not records:
            return
        pks = [record[0] for record in records]
        batch = [
            [record[p] if p is not None else None for p in positions]
            for record in records
        ]
        yield _complete(queryset.model, columns, batch, pks, queryset.db, natural)
        if len(records) < BATCH_SIZE:
            return
        last_pk = pks[-1]


def _complete(model, columns, batch, pks, using, natural):
    """Fill in, for one batch, what the rows need from other queries.

    ``natural`` holds the indexes of the columns written as natural keys.
    """
    for index, column in enumerate(columns):
        if column.many_to_many:
            _fill_many_to_many(column, index, batch, pks, using, index in natural)
        elif isinstance(column, models.JSONField):
            _mark_json_nulls(model, column, index, batch, pks, using)
        elif index in natural:
            _fill_natural_foreign_keys(model, column, index, batch, pks, using)
    return batch


def _fill_many_to_many(field, index, batch, pks, using, natural):
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    target = through._meta.get_field(field.m2m_reverse_field_name()).attname
    pairs = (
        through._base_manager.using(using)
        .filter(**{source + "__in": pks})
        .order_by(source, target)
        .values_list(source, target)
    )
    keys_by_source = {}
    for source_key, target_key in pairs:
        keys_by_source.setdefault(source_key, []).append(target_key)
    related = field.related_model
    if natural:
        targets = {key for keys in keys_by_source.values() for key in keys}
        natural = _natural_keys(related, related._meta.pk.name, targets, using)
        keys_by_source = {
            source_key: [natural[key] for key in keys]
            for source_key, keys in keys_by_source.items()
        }
    for row, pk in zip(batch, pks):
        row[index] = keys_by_source.get(pk, [])


def _mark_json_nulls(model, field, index, batch, pks, using):
    missing = [pk for row, pk in zip(batch, pks) if row[index] is None]
    if not missing:
        return
    if field.null:
        json_nulls = set(
            model._base_manager.using(using)
            .filter(pk__in=missing, **{field.attname + "__isnull": False})
            .values_list("pk", flat=True)
        )
    else:
        json_nulls = set(missing)
    for row, pk in zip(batch, pks):
        if pk in json_nulls:
            row[index] = JSON_NULL


def _fill_natural_foreign_keys(model, field, index, batch, pks, using):
    values = {row[index] for row in batch if row[index] is not None}
    natural = _natural_keys(field.related_model, field.target_field.name, values, using)
    for row, pk in zip(batch, pks):
        value = row[index]
        if value is None:
            continue
        try:
            row[index] = natural[value]
        except KeyError:
            raise DumpWriteError(
                "%s pk=%r: field %s refers to %s %r, which does not exist"
                % (model._meta.label_lower, pk, field.name, field.related_model._meta.label_lower, value)
            )


def _natural_keys(model, key_name, keys, using):
    """{key value: natural key} for the objects of ``model`` with those keys."""
    if not keys:
        return {}
    attname = model._meta.get_field(key_name).attname
    max_params = connections[using].features.max_query_params or BATCH_SIZE
    keys = sorted(keys, key=repr)
    found = {}
    for start in range(0, len(keys), max_params):
        for obj in model._base_manager.using(using).filter(
            **{key_name + "__in": keys[start : start + max_params]}
        ):
            found[getattr(obj, attname)] = list(obj.natural_key())
    return found
