"""Database rows: the first step of a dump.

Turns model instances (what ``dumpdata`` hands a serializer) or querysets
(what ``dump2py`` hands it) into blocks of rows: per model, the columns to
write and batches of rows of JSON values, ready for the writer. A queryset is
read with one cursor per table, without building instances, a column straight
from the driver's values to JSON values where ``values.fromdriver`` knows an
exact way, else through Django's converters where it has some. Both sources
then go through the one encoder (``_Encoder``), a column at a time:
everything a row needs from other tables is fetched once per batch, never
once per row (many-to-many keys, natural keys of related objects, and for
instances whether a JSONField's ``None`` is SQL NULL or JSON ``null``), then
each column is encoded by its codec.
"""

from collections.abc import Callable, Collection, Container, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import groupby, islice
from typing import Any, Iterator, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models.expressions import Col
from django.db.models.sql.constants import CURSOR

from ..errors import DumpWriteError
from ..tables import every_row, key_attnames, keys_of
from ..values.codec import JSON_NULL, codec_for
from ..values.fromdriver import ColumnFunction, direct_column, use_fastest_loaders

BATCH_SIZE = 1000

Row = tuple[Any, ...]
"""One row of JSON values, a value per column."""
Records = Iterator[tuple[Any, list[Any], AbstractSet[type]]]
"""(compiler, records, the field classes whose columns come as the database's
text: ``use_fastest_loaders``) for each batch of records the driver returns."""


@dataclass
class Block:
    """The rows of one model, in batches of rows of JSON values. ``queryset``
    is the whole table the rows are read from; None for instances."""

    model: type[models.Model]
    columns: list[Any]  # Django fields
    batches: Iterator[list[Row]]
    using: str
    queryset: Any = None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def columns_of(
    model: Any, selected_fields: Container[str] | None = None, natural_primary: bool = False
) -> list[Any]:
    """The fields a dump writes for ``model``: its key first, many-to-many last.

    Mirrors Django's serializers: a model's own concrete fields (parents of a
    multi-table model are dumped as their own model), auto-created
    many-to-many relations, and the primary key unless natural primary keys
    replace it. A composite primary key is no column: its fields are written
    as the ordinary fields they are, and so are those of a ForeignObject.
    """
    opts = model._meta.concrete_model._meta
    pk = opts.pk
    columns = []
    if pk.concrete and (not (natural_primary and _has_natural_key(model)) or pk.remote_field):
        columns.append(pk)
    for field in opts.local_fields:
        if field.serialize and field.concrete and _selected(field, selected_fields):
            columns.append(field)
    for field in opts.local_many_to_many:
        if (
            field.serialize
            and field.remote_field.through._meta.auto_created
            and _selected(field, selected_fields)
        ):
            columns.append(field)
    return columns


def _selected(field: Any, selected_fields: Container[str] | None) -> bool:
    return selected_fields is None or field.name in selected_fields or (
        field.attname in selected_fields
    )


def _has_natural_key(model: Any) -> bool:
    return hasattr(model, "natural_key") and hasattr(
        model._default_manager, "get_by_natural_key"
    )


def blocks_from_objects(
    objects: Iterable[Any],
    selected_fields: Container[str] | None = None,
    natural_foreign: bool | AbstractSet[str] = False,
    natural_primary: bool = False,
) -> Iterator[Block]:
    """Blocks from an iterable of model instances, grouped as they come."""
    for model, instances in groupby(objects, key=type):
        first = next(instances)
        columns = columns_of(model, selected_fields, natural_primary)
        yield Block(
            model,
            columns,
            _instance_batches(model, columns, first, instances, natural_foreign),
            first._state.db,
        )


def blocks_from_queryset(
    queryset: Any,
    selected_fields: Container[str] | None = None,
    natural_foreign: bool | AbstractSet[str] = False,
    natural_primary: bool = False,
) -> Block:
    """One block read straight from the driver in primary key order."""
    columns = columns_of(queryset.model, selected_fields, natural_primary)
    return Block(
        queryset.model,
        columns,
        _queryset_batches(queryset, columns, natural_foreign),
        queryset.db,
        queryset,
    )


def natural_columns_of(
    columns: list[Any], natural_foreign: bool | AbstractSet[str]
) -> frozenset[int]:
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


def _label(model: Any) -> str:
    return model._meta.concrete_model._meta.label_lower


def _instance_batches(
    model: Any,
    columns: list[Any],
    first: Any,
    instances: Iterator[Any],
    natural_foreign: bool | AbstractSet[str],
) -> Iterator[list[Row]]:
    attnames = [None if field.many_to_many else field.attname for field in columns]
    encode = _Encoder(model, columns, natural_foreign)
    batch = [first]
    while batch:
        batch.extend(islice(instances, BATCH_SIZE - len(batch)))
        by_column = [_attribute_values(batch, name) if name else None for name in attnames]
        yield encode(by_column, [instance.pk for instance in batch], batch[-1]._state.db)
        batch = list(islice(instances, BATCH_SIZE))


def _attribute_values(instances: list[Any], attname: str) -> list[Any]:
    try:
        return [instance.__dict__[attname] for instance in instances]
    except KeyError:  # a deferred field
        return [getattr(instance, attname) for instance in instances]


def _queryset_batches(
    queryset: Any, columns: list[Any], natural_foreign: bool | AbstractSet[str]
) -> Iterator[list[Row]]:
    """Batches of rows as the driver returns them, each column turned into
    JSON values straight from the driver's values where that is exact
    (``values.fromdriver``), else read through Django's converters where it
    has some (see _column_reader) and then encoded."""
    model, using = queryset.model, queryset.db
    key_names = key_attnames(model)
    names = [field.attname for field in columns if not field.many_to_many]
    width = len(names)
    names += [name for name in key_names if name not in names]
    key_positions = [names.index(name) for name in key_names]
    padding = [None] * (len(columns) - width)
    values = queryset.order_by(*key_names).values_list(*names)
    natural = natural_columns_of(columns, natural_foreign)
    encode = None
    for compiler, records, as_text in _reader_for(connections[using])(values, using, key_positions):
        if encode is None:
            read_keys = _key_reader(compiler, key_positions)
            readers = _column_readers(compiler, columns[:width], natural, as_text)
            encode = _Encoder(model, columns, natural_foreign,
                              already_json=frozenset(readers.direct))
        by_column: list[Any] = list(zip(*records))
        pks = read_keys(by_column)
        for index, read in readers.functions:
            by_column[index] = _each_column(model, columns[index], read, by_column[index], pks)
        yield encode(by_column[:width] + padding, pks, using, json_nulls_known=True)


class _Readers(NamedTuple):
    """What a batch's columns go through before the encoder: (index, function)
    for each column that needs it, and the indexes of the columns that come out
    as JSON values already (``direct``)."""

    functions: list[tuple[int, ColumnFunction]]
    direct: list[int]


def _column_readers(
    compiler: Any, columns: list[Any], natural: AbstractSet[int], as_text: AbstractSet[type],
) -> _Readers:
    """Each column straight to JSON values where ``direct_column`` knows how
    (``as_text``: the field classes whose columns come as the database's
    text); else through Django's converters, if it has some. A column written
    as natural keys keeps the converted value: its natural key is looked up by it."""
    readers = _Readers([], [])
    for index, column in enumerate(columns):
        read = _column_reader(compiler, index, column)
        if index not in natural:
            encode = codec_for(column).encode
            general = _then(read, encode and _column_encoder(encode))
            direct = direct_column(
                column, _converter_functions(compiler, index), compiler.connection, general,
                as_text)
            if direct is not None:
                readers.functions.append((index, direct))
                readers.direct.append(index)
                continue
        if read is not None:
            readers.functions.append((index, read))
    return readers


def _then(first: ColumnFunction | None, second: ColumnFunction | None) -> ColumnFunction:
    """``first``, then ``second``; either may be None (nothing to do)."""
    if first is None:
        return second or list
    if second is None:
        return first
    return lambda values: second(first(values))


def _reader_for(connection: Any) -> Callable[[Any, str, list[int]], Records]:
    """One cursor over the table where the driver streams it while other
    queries run on the connection (PostgreSQL's server-side cursors, SQLite);
    pages of keys elsewhere: MySQL's unbuffered cursors block every other query
    until the last row is read."""
    if connection.vendor == "sqlite" or (
        connection.vendor == "postgresql"
        and not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    ):
        return _stream
    return _pages


def _key_reader(
    compiler: Any, key_positions: list[int]
) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """Columns of records -> the primary key of each record, as ``instance.pk``
    gives it: the value of its one key column, or a tuple of several."""
    readers = [(position, _converter(compiler, position) or list) for position in key_positions]
    if len(readers) == 1:
        [(position, read)] = readers
        return lambda by_column: read(by_column[position])
    return lambda by_column: list(zip(*[read(by_column[position]) for position, read in readers]))


def _stream(values: Any, using: str, key_positions: list[int]) -> Records:
    compiler = values.query.get_compiler(using=using)
    opened = _streaming_cursor(compiler)
    if opened is None:
        return
    cursor, as_text = opened
    # Closed before an error leaves, so that a savepoint rollback (dump2py
    # --tolerate) never meets a cursor it has already dropped. Not when the
    # reader is abandoned (the dump failed elsewhere): that may run at garbage
    # collection, inside another query on the connection; the cursor then goes
    # with the transaction.
    try:
        while records := cursor.fetchmany(BATCH_SIZE):
            yield compiler, records, as_text
    except GeneratorExit:
        raise
    except BaseException:
        cursor.close()
        raise
    cursor.close()


def _streaming_cursor(compiler: Any) -> tuple[Any, AbstractSet[type]] | None:
    """``compiler.execute_sql(CURSOR, chunked_fetch=True)``, with the driver's
    fastest loaders (``use_fastest_loaders``) set before the query runs, and
    the field classes whose columns it gives as text; None when the query can
    have no rows."""
    try:
        sql, params = compiler.as_sql()
        if not sql:
            raise EmptyResultSet
    except EmptyResultSet:
        return None
    cursor = compiler.connection.chunked_cursor()
    try:
        as_text = use_fastest_loaders(cursor, compiler.connection, _selected_fields(compiler))
        cursor.execute(sql, params)
    except BaseException:
        cursor.close()
        raise
    return cursor, as_text


def _selected_fields(compiler: Any) -> list[Any] | None:
    """The field of each column the query selects, or None when it selects
    something other than a table's columns."""
    expressions = [expression for expression, _, _ in compiler.select]
    if not all(isinstance(expression, Col) for expression in expressions):
        return None
    return [expression.target for expression in expressions]


def _pages(values: Any, using: str, key_positions: list[int]) -> Records:
    page = values
    while True:
        compiler = page[:BATCH_SIZE].query.get_compiler(using=using)
        cursor = compiler.execute_sql(CURSOR)
        if cursor is None:
            return
        try:
            records = cursor.fetchall()
        finally:
            cursor.close()
        if not records:
            return
        yield compiler, records, frozenset()
        if len(records) < BATCH_SIZE:
            return
        [last] = _key_reader(compiler, key_positions)(list(zip(records[-1])))
        page = values.filter(pk__gt=last)


def _converter_functions(compiler: Any, position: int) -> list[Callable[..., Any]]:
    """The functions Django applies to the driver's values of one column, in order."""
    converters = compiler.get_converters([compiler.select[position][0]])
    return list(converters[0][0]) if converters else []


def _converter(compiler: Any, position: int) -> ColumnFunction | None:
    """The driver's values of one column -> what values_list returns, or None
    when Django has no converter for it and takes them as they come."""
    functions = _converter_functions(compiler, position)
    if not functions:
        return None
    expression = compiler.select[position][0]
    connection = compiler.connection
    if len(functions) == 1:
        convert = functions[0]
        return lambda values: [convert(value, expression, connection) for value in values]

    def read(values: Sequence[Any]) -> Sequence[Any]:
        for convert in functions:
            values = [convert(value, expression, connection) for value in values]
        return values

    return read


def _column_reader(compiler: Any, position: int, field: Any) -> ColumnFunction | None:
    """``_converter``, telling JSON null from SQL NULL in a JSONField: SQL NULL
    reads as None, JSON null as the text "null" that converts to None."""
    read = _converter(compiler, position)
    if read is None or not isinstance(field, models.JSONField):
        return read
    return lambda values: [
        JSON_NULL if value is None and raw is not None else value
        for raw, value in zip(values, read(values))
    ]


class _Encoder:
    """Rows of one model's Python values, a list per column -> rows of JSON
    values: the one encoding of both sources. ``natural_foreign`` says which
    relations are written as natural keys (see ``natural_columns_of``)."""

    def __init__(
        self, model: Any, columns: list[Any], natural_foreign: bool | AbstractSet[str],
        already_json: AbstractSet[int] = frozenset(),
    ) -> None:
        """``already_json``: the indexes of the columns whose values come
        as JSON values already (``values.fromdriver``)."""
        self.model = model
        self.columns = columns
        self.natural = natural_columns_of(columns, natural_foreign)
        self.encoders = [
            (index, _column_encoder(codec.encode))
            for index, codec in enumerate(map(codec_for, columns))
            if codec.encode is not None and index not in self.natural
            and index not in already_json
        ]

    def __call__(
        self, by_column: list[Any], pks: Sequence[Any], using: str, json_nulls_known: bool = False
    ) -> list[Row]:
        """``json_nulls_known`` says that the values already tell JSON null from
        SQL NULL (the driver's values do, model instances do not)."""
        _complete(self.model, self.columns, by_column, pks, using, self.natural, json_nulls_known)
        for index, encode in self.encoders:
            by_column[index] = _each_column(
                self.model, self.columns[index], encode, by_column[index], pks
            )
        if not by_column:
            return [()] * len(pks)
        return list(zip(*by_column))


def _column_encoder(encode: Callable[[Any], Any]) -> ColumnFunction:
    """A codec's encode for a whole column; the codec never sees None."""
    return lambda values: [None if value is None else encode(value) for value in values]


def _each_column(
    model: Any, field: Any, function: ColumnFunction, values: Sequence[Any], pks: Sequence[Any]
) -> Sequence[Any]:
    """One column of a batch through ``function``; a failure names its row."""
    try:
        return function(values)
    except Exception:
        for pk, value in zip(pks, values):
            try:
                function((value,))
            except Exception as exc:
                raise DumpWriteError(
                    "%s pk=%r: cannot write field %s: %s"
                    % (model._meta.label_lower, pk, field.name, exc)
                ) from exc
        raise


def _complete(
    model: Any,
    columns: list[Any],
    by_column: list[Any],
    pks: Sequence[Any],
    using: str,
    natural: AbstractSet[int],
    json_nulls_known: bool,
) -> None:
    """Fill in, for one batch, what its columns need from other queries.
    ``natural`` holds the indexes of the columns written as natural keys."""
    for index, column in enumerate(columns):
        if column.many_to_many:
            by_column[index] = _many_to_many_keys(column, pks, using, index in natural)
        elif isinstance(column, models.JSONField) and not json_nulls_known:
            by_column[index] = _with_json_nulls(model, column, by_column[index], pks, using)
        elif index in natural:
            by_column[index] = _natural_foreign_keys(model, column, by_column[index], pks, using)


def _many_to_many_keys(
    field: Any, pks: Sequence[Any], using: str, natural: bool | dict[Any, list[Any]]
) -> list[list[Any]]:
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    target = through._meta.get_field(field.m2m_reverse_field_name()).attname
    pairs = (
        every_row(through, using)
        .filter(**{source + "__in": pks})
        .order_by(source, target)
        .values_list(source, target)
    )
    keys_by_source: dict[Any, Any] = {}
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
    return [keys_by_source.get(pk, []) for pk in pks]


def _with_json_nulls(
    model: Any, field: Any, values: Sequence[Any], pks: Sequence[Any], using: str
) -> Sequence[Any]:
    """An instance's None in a JSONField is SQL NULL or JSON null: ask the table."""
    missing = [pk for value, pk in zip(values, pks) if value is None]
    if not missing:
        return values
    if field.null:
        json_nulls = set(keys_of(
            every_row(model, using).filter(pk__in=missing, **{field.attname + "__isnull": False})
        ))
    else:
        json_nulls = set(missing)
    return [JSON_NULL if pk in json_nulls else value for value, pk in zip(values, pks)]


def _natural_foreign_keys(
    model: Any, field: Any, values: Sequence[Any], pks: Sequence[Any], using: str
) -> list[Any]:
    natural = _natural_keys(
        field.related_model, field.target_field.name, {v for v in values if v is not None}, using
    )
    keys: list[Any] = []
    for value, pk in zip(values, pks):
        if value is None:
            keys.append(None)
            continue
        try:
            keys.append(natural[value])
        except KeyError:
            raise DumpWriteError(
                "%s pk=%r: field %s refers to %s %r, which does not exist"
                % (model._meta.label_lower, pk, field.name, field.related_model._meta.label_lower, value)
            )
    return keys


def _natural_keys(
    model: Any, key_name: str, keys: Collection[Any], using: str
) -> dict[Any, list[Any]]:
    """{key value: natural key} for the objects of ``model`` with those keys."""
    if not keys:
        return {}
    attname = model._meta.get_field(key_name).attname
    max_params = connections[using].features.max_query_params or BATCH_SIZE
    keys = sorted(keys, key=repr)
    found: dict[Any, list[Any]] = {}
    for start in range(0, len(keys), max_params):
        for obj in every_row(model, using).filter(
            **{key_name + "__in": keys[start : start + max_params]}
        ):
            found[getattr(obj, attname)] = list(obj.natural_key())
    return found
