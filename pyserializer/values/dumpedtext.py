"""A column of dumped values -> what the database gets, without decoding
them, where that is exact.

The row path decodes each value of a row into its Python value (a UUID, a
datetime, a Decimal) and converts it for the database
(``get_db_prep_save``); the driver then writes it as text for PostgreSQL's
COPY, or as an SQL literal in MySQL's INSERT, or hands SQLite the string
Django's adapter made. For some columns that text is the dumped text
itself, or a few string operations away from it: a canonical UUID, an ISO
date, time or datetime, a plain decimal number, a duration as Django writes
it, a dotted IPv4 address. The database gets the same string as from the
row path, or (PostgreSQL, MySQL) one it reads as the same value.
``dumped_text_column`` returns, for a column of a batch, what the database
gets for its dumped texts, or None when one of them fails the column's
check (a regular expression over the joined texts, and the date parsers in
C). Such a batch takes the row path, which decodes each value and names the
line of one it refuses.

Only Django's own field classes (a subclass may prepare its values its own
way), on PostgreSQL through psycopg 3 (COPY), MySQL/MariaDB and SQLite, and
never a primary key or a relation, whose decoded values a restore compares.
A JSONField's text goes as it is to PostgreSQL when its numbers are written
as the row path writes them. MySQL and SQLite keep a JSON value's text as
Django writes it (``json.dumps``, with ``ensure_ascii``): they get that
text of the loaded value, without the codec's and the field's steps.
tests/test_dumped_text.py loads every column type both ways and compares.
"""

import datetime
import decimal
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import models

from .fromdriver import TextsCheck, json_numbers_as_python_writes, texts_check

# The database's values of a batch's column of dumped texts, or None when a
# text fails the column's check.
SentTexts = Callable[[Sequence[Any]], Sequence[Any] | None]

_DATE = r"\d{4}-\d\d-\d\d"
_TIME = r"\d\d:\d\d:\d\d(?:\.\d{6})?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_DATE_TEXTS = texts_check(_DATE, datetime.date.fromisoformat)
_TIME_TEXTS = texts_check(_TIME, datetime.time.fromisoformat)
_UUID_TEXTS = texts_check(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IPV4_TEXTS = texts_check(r"(?:%s\.){3}%s" % (_OCTET, _OCTET))


def copies(connection: Any) -> bool:
    """Whether rows go to ``connection`` by COPY (PostgreSQL through psycopg 3)."""
    return connection.vendor == "postgresql" and hasattr(connection.connection, "adapters")


def sends_dumped_text(connection: Any) -> bool:
    """Whether some dumped texts go to ``connection`` undecoded: by COPY, or
    as the strings Django's MySQL and SQLite adapters write."""
    return copies(connection) or connection.vendor in ("mysql", "sqlite")


def dumped_text_column(field: Any, connection: Any) -> SentTexts | None:
    """What ``connection`` (one that ``sends_dumped_text``) gets for a column
    of dumped values of ``field`` without decoding them, or None when the
    field's values must be decoded."""
    if field.primary_key or field.is_relation:
        return None
    if connection.vendor == "postgresql":
        check = _copy_text_check(field, connection)
        return None if check is None else _as_they_are(check)
    if connection.vendor in ("mysql", "sqlite"):
        return _adapters_strings(field, connection)
    return None


def _as_they_are(check: TextsCheck) -> SentTexts:
    def sent(texts: Sequence[Any]) -> Sequence[Any] | None:
        return texts if check(texts) else None

    return sent


def _changed(check: TextsCheck, change: Callable[[str], str]) -> SentTexts:
    def sent(texts: Sequence[Any]) -> Sequence[Any] | None:
        if not check(texts):
            return None
        return [None if text is None else change(text) for text in texts]

    return sent


def _copy_text_check(field: Any, connection: Any) -> TextsCheck | None:
    """The check that lets the dumped values of ``field`` go to COPY as they are."""
    kind = type(field)
    if kind is models.UUIDField and connection.features.has_native_uuid_field:
        return _UUID_TEXTS
    if kind is models.DateTimeField:
        offset = r"[+-]\d\d:\d\d" if settings.USE_TZ else ""
        return texts_check(_DATE + "T" + _TIME + offset, datetime.datetime.fromisoformat)
    if kind is models.DateField:
        return _DATE_TEXTS
    if kind is models.TimeField:
        return _TIME_TEXTS
    if kind is models.DurationField and connection.features.has_native_duration_field:
        # Days, when there are any, as duration_string writes them; not negative,
        # whose sign PostgreSQL reads as the days' alone.
        return texts_check(r"(?:\d{1,9} )?(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{6})?")
    if kind is models.DecimalField and _decimals_sent_as_they_are(connection):
        return texts_check(r"-?\d+(?:\.\d+)?")
    if kind is models.GenericIPAddressField:
        return _IPV4_TEXTS
    if kind is models.JSONField and field.encoder is None and field.decoder is None:
        # jsonb keeps a number's digits: 1.50 is not the 1.5 the row path sends.
        return json_numbers_as_python_writes
    return None


def _adapters_strings(field: Any, connection: Any) -> SentTexts | None:
    """The strings that Django's MySQL and SQLite adapters write for the
    decoded values of dumped texts of ``field``: ``str`` of the value (SQLite
    keeps a date's or a time's text as it is). A datetime is in the
    connection's time zone without its offset, with a space for the "T"; a
    UUID without hyphens in a ``char(32)`` column. A JSON value, as
    ``json.dumps`` writes it (``_json_as_django_writes``). A decimal is the text
    ``str`` writes of the Decimal read from it; on MySQL, one that fits the
    column, so that MySQL need not round it (the row path sends a number)."""
    kind = type(field)
    if kind is models.DateTimeField:
        if settings.USE_TZ and connection.timezone_name != "UTC":
            return None
        offset, change = ((r"\+00:00", _utc_without_offset) if settings.USE_TZ
                          else ("", _space_for_t))
        return _changed(texts_check(_DATE + "T" + _STR_TIME + offset,
                                    datetime.datetime.fromisoformat), change)
    if kind is models.DateField:
        return _as_they_are(_DATE_TEXTS)
    if kind is models.TimeField:
        return _as_they_are(_STR_TIME_TEXTS)
    if kind is models.UUIDField:
        if connection.features.has_native_uuid_field:
            return _as_they_are(_UUID_TEXTS)
        return _changed(_UUID_TEXTS, _without_hyphens)
    if kind is models.DecimalField and _decimals_sent_as_they_are(connection):
        if connection.vendor == "sqlite":
            return _as_they_are(texts_check(_str_decimal()))
        if field.max_digits is not None and field.decimal_places is not None:
            return _as_they_are(texts_check(_str_decimal(field.max_digits, field.decimal_places)))
        return None
    if kind is models.GenericIPAddressField:
        return _as_they_are(_IPV4_TEXTS)
    if kind is models.JSONField and field.encoder is None and field.decoder is None:
        return _json_as_django_writes
    return None


def _json_as_django_writes(texts: Sequence[Any]) -> Sequence[Any] | None:
    """The text Django's JSONField writes (``json.dumps``) of each JSON text
    loaded; JSON null stays "null", which Django writes for it too."""
    if not all(type(text) is str or text is None for text in texts):
        return None
    try:
        return [None if text is None else json.dumps(json.loads(text)) for text in texts]
    except Exception:  # not JSON, or nested too deep: decoded, to be named
        return None


# A time as str() writes it: no fraction when it is 0.
_STR_TIME = r"\d\d:\d\d:\d\d(?:\.(?!000000)\d{6})?"
_STR_TIME_TEXTS = texts_check(_STR_TIME, datetime.time.fromisoformat)


def _str_decimal(max_digits: int | None = None, places: int | None = None) -> str:
    """A plain decimal number that str(Decimal(text)) writes as text (no
    leading zeros; not below 10**-6, which it writes with an exponent), of
    at most ``max_digits`` digits, ``places`` of them after the point, when
    given."""
    if max_digits is None or places is None:
        integer, fraction = r"(?:0|[1-9]\d*)", r"(?:\.\d+)?"
    else:
        whole = max_digits - places
        integer = r"(?:0|[1-9]\d{0,%d})" % (whole - 1) if whole > 0 else "0"
        fraction = r"(?:\.\d{1,%d})?" % places if places > 0 else ""
    return r"(?!-?0\.0{6}\d)-?" + integer + fraction


def _space_for_t(text: str) -> str:
    return text[:10] + " " + text[11:]


def _utc_without_offset(text: str) -> str:
    return text[:10] + " " + text[11:-6]


def _without_hyphens(text: str) -> str:
    return text.replace("-", "")


def _decimals_sent_as_they_are(connection: Any) -> bool:
    """Whether the backend sends a Decimal as it is, whatever its digits (so
    that the database rounds it to the column's scale, as it does the text);
    Django 4.2 formats it to the field's digits first."""
    probe = decimal.Decimal("-0.125")
    return connection.ops.adapt_decimalfield_value(probe, 2, 1) is probe
