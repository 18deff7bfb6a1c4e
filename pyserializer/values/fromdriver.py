"""A column's values as the driver returns them -> JSON values, in one step
where that is exact.

A dump reads a column through Django's converters (the driver's value -> the
Python value) and then the codec (the Python value -> a JSON value): two calls
of Python code per value. For some columns the two together are a known and
much cheaper function of what the driver returns: a boolean the driver gives
as 0 or 1, a JSONField's text, a UUID's hex digits, a naive datetime that
Django would make aware in UTC, a date or a time that SQLite's driver gives
already and Django's converter leaves as it is. ``direct_column`` returns
that function for a column, or None, and the dump then takes the general
path.

It recognises only Django's own converters, by name: a backend that overrides
one gets the general path. A batch of values that the direct function cannot
vouch for, value by value (a UUID that is not in the form the database
writes, an aware datetime), goes the general path as a whole. So the files
are byte for byte those of the general path; tests/test_direct_columns.py
compares the two for every column type.
"""

import collections
import datetime
import json
import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from django.db import models

from ..files.grammar import json_value, parse_json_value
from .codec import builtin_kind

ColumnFunction = Callable[[Sequence[Any]], Sequence[Any]]
"""The values of one column of a batch -> those values converted or encoded."""

_SQLITE = "django.db.backends.sqlite3.operations.DatabaseOperations."
_MYSQL = "django.db.backends.mysql.operations.DatabaseOperations."
_JSON_FROM_DB = "django.db.models.fields.json.JSONField.from_db_value"


def direct_column(
    field: Any, converters: Sequence[Callable[..., Any]], connection: Any, general: ColumnFunction,
    as_text: AbstractSet[type] = frozenset(),
) -> ColumnFunction | None:
    """The function from the driver's values of ``field``'s column to its JSON
    values, or None. ``converters`` are the functions Django applies to the
    column, in order; ``general`` is the general path (those converters, then
    the codec), taken by a batch the direct function cannot vouch for.
    ``as_text``: the field classes whose columns the driver gives as the
    database's text (``use_fastest_loaders``)."""
    target = field.target_field if field.is_relation else field
    kind = builtin_kind(type(target))
    if type(field) in as_text:
        return _database_texts(field, connection, general)
    names = tuple(map(_qualified_name, converters))
    if kind is models.BooleanField and names in _one_of("convert_booleanfield_value"):
        return _booleans
    if kind is models.UUIDField and names in _one_of("convert_uuidfield_value"):
        return lambda values: _uuid_texts(values, general)
    if kind is models.DateField and names == (_SQLITE + "convert_datefield_value",):
        return lambda values: _isoformats(values, datetime.date, general)
    if kind is models.TimeField and names == (_SQLITE + "convert_timefield_value",):
        return lambda values: _isoformats(values, datetime.time, general)
    if kind is models.DateTimeField and names in _one_of("convert_datetimefield_value"):
        offset = _offset_of(connection.timezone)
        if offset is not None:
            return lambda values: _naive_datetimes(values, offset, general)
    if (
        kind is models.JSONField
        and names == (_JSON_FROM_DB,)
        and target.decoder is None
        and target.encoder is None
    ):
        if connection.vendor == "postgresql":
            return lambda values: _jsonb_texts(values, general)
        return lambda values: _json_texts(values, general)
    return None


def joined_texts(values: Sequence[Any]) -> tuple[int, str] | None:
    """(how many, their text joined by line breaks) of the values that are not
    None, for one regular expression over a whole column; None when one of
    them is not text."""
    texts = [value for value in values if value is not None]
    try:
        return len(texts), "\n".join(texts)
    except TypeError:
        return None


def use_fastest_loaders(cursor: Any, connection: Any, fields: Sequence[Any] | None) -> frozenset[type]:
    """Have the driver load the rows of ``cursor`` (a Django cursor, not yet
    executed, that reads the columns of ``fields``, None when it reads
    anything else) in its fastest form that the dump writes the same; return
    the field classes whose columns it then gives as the database's text.

    On PostgreSQL with psycopg 3: a ``timestamptz`` by psycopg's own loader (in
    C with its binary package) rather than the Python subclass of it that
    Django installs to set the time zone, when the session reads in UTC. Both
    give the same moment at offset 0, and the codec writes it with
    ``+00:00``. And the columns of ``_TEXT_TYPES`` as text, which the dump
    writes as it is, or nearly (``_database_texts``), where psycopg would make
    a UUID, a Decimal, a date or a time for the codec to write back as that
    text. A loader serves every column of its type in the query, so a type
    is read as text only when each of its columns is a field of Django's own
    class there, not a key nor a relation (whose values the dump compares and
    looks up), and when every column is of a type Django's own fields use (an
    array or a range would load its elements with the same loader)."""
    raw: Any = getattr(cursor, "cursor", None)
    if connection.vendor != "postgresql" or not hasattr(raw, "adapters"):  # psycopg2
        return frozenset()
    import psycopg
    from psycopg.pq import Format

    if connection.timezone is datetime.timezone.utc:
        oid = psycopg.postgres.types["timestamptz"].oid
        raw.adapters.register_loader(oid, psycopg.adapters.get_loader(oid, Format.TEXT))
    as_text = _text_types(connection, fields)
    text_loader = psycopg.adapters.get_loader(psycopg.postgres.types["text"].oid, Format.TEXT)
    for kind in as_text:
        raw.adapters.register_loader(psycopg.postgres.types[_TEXT_TYPES[kind]].oid, text_loader)
    return frozenset(as_text)


# Django's fields whose PostgreSQL type a dump reads as text: the database's
# text of these is what the codec writes (a time's fraction aside).
_TEXT_TYPES = {
    models.UUIDField: "uuid",
    models.DecimalField: "numeric",
    models.DateField: "date",
    models.TimeField: "time",
}


def _text_types(connection: Any, fields: Sequence[Any] | None) -> set[type]:
    """The classes of ``_TEXT_TYPES`` whose columns a query of ``fields`` may
    read as text (see ``use_fastest_loaders``)."""
    if fields is None:
        return set()
    scalar_types = {
        _type_name(db_type) for db_type in connection.data_types.values() if isinstance(db_type, str)
    }
    found: set[type] = set()
    refused: set[str] = set()
    for field in fields:
        type_name = _type_name(field.db_type(connection) or "")
        if type_name not in scalar_types:
            return set()
        kind = type(field)
        if _TEXT_TYPES.get(kind) == type_name and not field.primary_key and not field.is_relation:
            found.add(kind)
        else:
            refused.add(type_name)
    return {kind for kind in found if _TEXT_TYPES[kind] not in refused}


def _type_name(db_type: str) -> str:
    """``numeric(20, 6)`` -> ``numeric``."""
    return db_type.partition("(")[0].strip().lower()


def _qualified_name(function: Callable[..., Any]) -> str:
    function = getattr(function, "__func__", function)  # a bound method
    return "%s.%s" % (getattr(function, "__module__", ""), getattr(function, "__qualname__", ""))


def _one_of(converter: str) -> tuple[tuple[str], ...]:
    """The names of Django's own converter ``converter``, on SQLite and MySQL."""
    return ((_SQLITE + converter,), (_MYSQL + converter,))


def _offset_of(timezone: Any) -> str | None:
    """The text isoformat gives a naive datetime made aware in ``timezone``
    (None: the connection's datetimes stay naive), or None when it depends on
    the date."""
    if timezone is None:
        return ""
    if timezone is datetime.timezone.utc:
        return "+00:00"
    return None


_BOOLEANS = {0: False, 1: True}


def _booleans(values: Sequence[Any]) -> list[Any]:
    """``bool(value) if value in (1, 0) else value``, without a call per value."""
    get = _BOOLEANS.get
    return [get(value, value) for value in values]


_HEX_UUIDS = re.compile(r"(?:[0-9a-f]{32}\n)*[0-9a-f]{32}")
_CANONICAL_UUIDS = re.compile(
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n)*"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def _uuid_texts(values: Sequence[Any], general: ColumnFunction) -> Sequence[Any]:
    """``str(uuid.UUID(value))``: the 32 lower-case hex digits that SQLite and
    MySQL store, hyphenated; MariaDB's UUID type gives the canonical text
    already. Any other text (upper case, braces) takes the general path."""
    texts = joined_texts(values)
    if texts is None:
        return general(values)
    count, joined = texts
    if not count:
        return values
    if _CANONICAL_UUIDS.fullmatch(joined):
        return values
    if not _HEX_UUIDS.fullmatch(joined):
        return general(values)
    return [
        value if value is None
        else "%s-%s-%s-%s-%s" % (value[:8], value[8:12], value[12:16], value[16:20], value[20:])
        for value in values
    ]


_NOT_MINE = object()
"""Stands for a value the direct function leaves to the general path."""


def _isoformats(values: Sequence[Any], kind: type[Any], general: ColumnFunction) -> Sequence[Any]:
    """The codec's isoformat of the dates (or times) that SQLite's driver
    gives already, which Django's converter leaves as they are."""
    texts = [
        value if value is None else value.isoformat() if isinstance(value, kind) else _NOT_MINE
        for value in values
    ]
    return general(values) if _NOT_MINE in texts else texts


def _naive_datetimes(values: Sequence[Any], offset: str, general: ColumnFunction) -> Sequence[Any]:
    """``make_aware(value, UTC).isoformat()`` (or, without time zones, the
    value's own isoformat) of the naive datetimes the driver gives."""
    try:
        texts = [
            value if value is None
            else value.isoformat() + offset if value.tzinfo is None
            else _NOT_MINE
            for value in values
        ]
    except AttributeError:  # not a datetime
        return general(values)
    return general(values) if _NOT_MINE in texts else texts


def _json_texts(values: Sequence[Any], general: ColumnFunction) -> Sequence[Any]:
    """A JSONField's stored text -> the JSON text the codec writes: what
    ``JSONField.from_db_value`` and the codec do (text that is no JSON stays
    that text, JSON null is "null"), with json's C parser and encoder called
    directly. The codec's encoder has the options of ``json_value``, and a
    parsed value never needs its ``default``."""
    try:
        return [value if value is None else json_value(_parsed(value)) for value in values]
    except TypeError:  # not text (from_db_value would parse bytes)
        return general(values)


def _parsed(text: str) -> Any:
    try:
        return parse_json_value(text)
    except json.JSONDecodeError:
        return text


TextsCheck = Callable[[Sequence[Any]], bool]
"""Whether the values of one column of a batch are all None or text of one form."""


def texts_check(pattern: str, parse: Callable[[str], Any] | None = None) -> TextsCheck:
    """A check that every value is None or text that matches ``pattern`` (and
    that ``parse`` accepts: the calendar and the clock)."""
    joined_pattern = re.compile("(?:%s\n)*%s" % (pattern, pattern))

    def check(values: Sequence[Any]) -> bool:
        texts = joined_texts(values)
        if texts is None:
            return False
        count, joined = texts
        if not count:
            return True
        if joined.count("\n") != count - 1 or not joined_pattern.fullmatch(joined):
            return False
        if parse is not None:
            try:
                collections.deque(map(parse, joined.split("\n")), maxlen=0)
            except ValueError:
                return False
        return True

    return check


_NUMERIC_TEXTS = texts_check(r"-?\d+(?:\.\d+)?")
_DATE_TEXTS = texts_check(r"\d{4}-\d\d-\d\d")
_TIME_TEXTS = texts_check(r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?")


def _database_texts(field: Any, connection: Any, general: ColumnFunction) -> ColumnFunction:
    """PostgreSQL's text of a column of ``_TEXT_TYPES`` -> the codec's text
    of the value psycopg would have made of it: the same text for a
    canonical UUID, a plain decimal number (``format(value, "f")`` of the
    Decimal read from it) and an ISO date; a time with its fraction written
    out to six digits, as ``isoformat`` writes it (PostgreSQL leaves off the
    trailing zeros). A batch with any other text (a date style other than
    ISO, a year past 9999, ``NaN``) gets psycopg's own values from it, then
    the general path."""
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.postgres.types[_TEXT_TYPES[type(field)]].oid
    loader: Any = psycopg.adapters.get_loader(oid, Format.TEXT)  # psycopg's own, never None
    load = loader(oid, connection.connection).load

    def general_from_text(values: Sequence[Any]) -> Sequence[Any]:
        return general([value if value is None else load(value.encode()) for value in values])

    kind = type(field)
    if kind is models.UUIDField:
        return lambda values: _uuid_texts(values, general_from_text)
    if kind is models.TimeField:
        return lambda values: _times(values, general_from_text)
    pattern = _NUMERIC_TEXTS if kind is models.DecimalField else _DATE_TEXTS
    return lambda values: _matching(values, pattern, general_from_text)


def _matching(values: Sequence[Any], check: TextsCheck, general: ColumnFunction) -> Sequence[Any]:
    """The values as they are when ``check`` vouches for them."""
    return values if check(values) else general(values)


def _times(values: Sequence[Any], general: ColumnFunction) -> Sequence[Any]:
    """PostgreSQL's ``HH:MM:SS[.f]`` -> ``time.isoformat()``: ``HH:MM:SS``, or
    the fraction to six digits."""
    if not _TIME_TEXTS(values):
        return general(values)
    return [value if value is None or len(value) == 8 else value.ljust(15, "0") for value in values]


def _jsonb_texts(values: Sequence[Any], general: ColumnFunction) -> Sequence[Any]:
    """PostgreSQL's jsonb text -> the JSON text the codec writes: the same
    text when its numbers are written as Python writes them. jsonb writes its
    values as ``json_value`` does (``", "`` and ``": "`` between them, keys
    in its order, which parsing keeps, text unescaped but for the quote, the
    backslash and the control characters, escaped as json escapes them), but
    a number with its own digits (``1.50``, ``0.0000001``), which Python would
    write as the float it reads (``1.5``, ``1e-07``)."""
    if json_numbers_as_python_writes(values):
        return values
    return _json_texts(values, general)


# A JSON string, or a number with a fraction or an exponent (captured). The
# string's loop unrolled, and character classes rather than \d: the search
# runs over every JSON value of a column.
_STRING_OR_FLOAT = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"'
    r"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+))")


def json_numbers_as_python_writes(values: Sequence[Any]) -> bool:
    """Whether the values are JSON texts, or None, whose numbers with a
    fraction or an exponent are each written as ``repr`` writes that float:
    then ``json.dumps(json.loads(text))`` writes the numbers as the text
    does."""
    texts = joined_texts(values)
    if texts is None:
        return False
    floats = [number for number in _STRING_OR_FLOAT.findall(texts[1]) if number]
    return list(map(repr, map(float, floats))) == floats
