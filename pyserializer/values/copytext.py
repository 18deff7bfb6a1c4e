"""A column of dumped values -> what PostgreSQL's COPY takes, without decoding
them, where that is exact.

The row path decodes each value of a row into its Python value (a UUID, a
datetime, a Decimal), converts it for the database (``get_db_prep_save``)
and psycopg writes it back as text for COPY. For some columns that text is
the dumped text itself: a canonical UUID, an ISO date, time or datetime, a
plain decimal number, a duration as Django writes it, a dotted IPv4 address.
PostgreSQL reads it as the same value the row path would have sent, since
the database parses the text either way. ``copy_text_column`` returns the
check of a column of a batch at once (a regular expression over the joined
texts, and the date parsers in C). A batch with a value it cannot vouch for
takes the row path, which decodes each value and names the line of one it
refuses.

Only Django's own field classes (a subclass may prepare its values its own
way), on PostgreSQL through psycopg 3 (COPY), and never a primary key or a
relation, whose decoded values a restore compares. A JSONField's text goes
as it is when its numbers are written as the row path writes them.
tests/test_copy_text.py loads every column type both ways and compares.
"""

import datetime
import decimal
from typing import Any

from django.conf import settings
from django.db import models

from .fromdriver import TextsCheck, json_numbers_as_python_writes, texts_check


_DATE = r"\d{4}-\d\d-\d\d"
_TIME = r"\d\d:\d\d:\d\d(?:\.\d{6})?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


def copies(connection: Any) -> bool:
    """Whether rows go to ``connection`` by COPY (PostgreSQL through psycopg 3)."""
    return connection.vendor == "postgresql" and hasattr(connection.connection, "adapters")


def copy_text_column(field: Any, connection: Any) -> TextsCheck | None:
    """The check that lets the dumped values of ``field`` go to COPY as they
    are, or None when they must be decoded, on a ``connection`` that
    ``copies``."""
    if field.primary_key or field.is_relation or connection.vendor != "postgresql":
        return None
    kind = type(field)
    if kind is models.UUIDField and connection.features.has_native_uuid_field:
        return texts_check(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    if kind is models.DateTimeField:
        offset = r"[+-]\d\d:\d\d" if settings.USE_TZ else ""
        return texts_check(_DATE + "T" + _TIME + offset, datetime.datetime.fromisoformat)
    if kind is models.DateField:
        return texts_check(_DATE, datetime.date.fromisoformat)
    if kind is models.TimeField:
        return texts_check(_TIME, datetime.time.fromisoformat)
    if kind is models.DurationField and connection.features.has_native_duration_field:
        # Days, when there are any, as duration_string writes them; not negative,
        # whose sign PostgreSQL reads as the days' alone.
        return texts_check(r"(?:\d{1,9} )?(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{6})?")
    if kind is models.DecimalField and _decimals_sent_as_they_are(connection):
        return texts_check(r"-?\d+(?:\.\d+)?")
    if kind is models.GenericIPAddressField:
        return texts_check(r"(?:%s\.){3}%s" % (_OCTET, _OCTET))
    if kind is models.JSONField and field.encoder is None and field.decoder is None:
        # jsonb keeps a number's digits: 1.50 is not the 1.5 the row path sends.
        return json_numbers_as_python_writes
    return None


def _decimals_sent_as_they_are(connection: Any) -> bool:
    """Whether the backend sends a Decimal as it is, whatever its digits (so
    that PostgreSQL rounds it to the column's scale, as it does the text);
    Django 4.2 formats it to the field's digits first."""
    probe = decimal.Decimal("-0.125")
    return connection.ops.adapt_decimalfield_value(probe, 2, 1) is probe
