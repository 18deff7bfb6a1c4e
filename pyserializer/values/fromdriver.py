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

import datetime
import json
import re
from collections.abc import Callable, Sequence
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
    field: Any, converters: Sequence[Callable[..., Any]], connection: Any, general: ColumnFunction
) -> ColumnFunction | None:
    """The function from the driver's values of ``field``'s column to its JSON
    values, or None. ``converters`` are the functions Django applies to the
    column, in order; ``general`` is the general path (those converters, then
    the codec), taken by a batch the direct function cannot vouch for."""
    target = field.target_field if field.is_relation else field
    kind = builtin_kind(type(target))
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


def use_fastest_loaders(cursor: Any, connection: Any) -> None:
    """Have the driver load the rows of ``cursor`` (a Django cursor, not yet
    executed) in its fastest form that the dump writes the same: on
    PostgreSQL with psycopg 3, a ``timestamptz`` by psycopg's own loader (in C
    with its binary package) rather than the Python subclass of it that
    Django installs to set the time zone, when the session reads in UTC. Both
    give the same moment at offset 0, and the codec writes it with
    ``+00:00``."""
    raw: Any = getattr(cursor, "cursor", None)
    if (
        connection.vendor != "postgresql"
        or connection.timezone is not datetime.timezone.utc
        or not hasattr(raw, "adapters")  # psycopg2
    ):
        return
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.postgres.types["timestamptz"].oid
    raw.adapters.register_loader(oid, psycopg.adapters.get_loader(oid, Format.TEXT))


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
