"""What the database gets for each value of a row: one converter per column.

``save(raw=True)`` passes every value through its field's
``get_db_prep_save``, a chain of three or four calls per value that, for
Django's own fields and the value types the codec produces, ends in one
backend adapter or in the value itself. The converter of a column is chosen
once per batch: for Django's own field classes (exactly those classes, not
subclasses, which may prepare values their own way) and a value of the type
the field holds, it calls that adapter directly; any other field, or any
other value, goes through the field's ``get_db_prep_save`` as ``save`` does.
"""

import datetime
import decimal
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.duration import duration_microseconds

# Fields whose database value is the Python value itself when it has this type.
_PLAIN_TYPES = {
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.BooleanField: bool,
    models.FloatField: float,
    models.CharField: str,
    models.TextField: str,
    models.SlugField: str,
    models.EmailField: str,
    models.URLField: str,
    models.FilePathField: str,
    models.FileField: str,
    models.ImageField: str,
}

# Fields whose get_db_prep_save gives None for None.
_NULL_KEEPING = frozenset(_PLAIN_TYPES) | {
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
    models.DateField,
    models.TimeField,
    models.DateTimeField,
    models.DecimalField,
    models.UUIDField,
    models.DurationField,
    models.GenericIPAddressField,
    models.BinaryField,
    models.JSONField,
    models.ForeignKey,
    models.OneToOneField,
}


def db_values(field: models.Field, connection: Any, values: Sequence[Any]) -> Sequence[Any]:
    """What ``connection`` gets for a column of attribute values of ``field``:
    the values themselves when all are of the type the field stores as it is
    (one pass in C over their types), else each one's conversion."""
    plain = _PLAIN_TYPES.get(type(field))
    if plain is not None and set(map(type, values)) <= {plain, type(None)}:
        return values
    return list(map(db_value(field, connection), values))


def db_value(field: models.Field, connection: Any) -> Callable[[Any], Any]:
    """A function giving what ``connection`` gets for an attribute value of ``field``."""
    prepare = field.get_db_prep_save

    def as_save_does(value: Any) -> Any:
        return prepare(value, connection)

    kind = type(field)
    if kind not in _NULL_KEEPING:
        return as_save_does
    plain = _PLAIN_TYPES.get(kind)
    if plain is not None:
        return lambda value: value if type(value) is plain or value is None else prepare(value, connection)
    held, adapt = _adapter(field, connection)
    if held is None:
        return lambda value: None if value is None else prepare(value, connection)

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is held:
            converted = adapt(value)  # type: ignore[misc]  # held is not None: adapt is set
            if converted is not _UNKNOWN:
                return converted
        return prepare(value, connection)

    return convert


_UNKNOWN = object()


def _adapter(field: models.Field, connection: Any) -> tuple[type | None, Callable[[Any], Any] | None]:
    """(type, adapter): what get_db_prep_save amounts to for a value of that type.

    The adapter may return _UNKNOWN for a value it has no shortcut for.
    (None, None) when there is no shortcut for the field.
    """
    ops, features = connection.ops, connection.features
    kind = type(field)
    if kind in (models.AutoField, models.BigAutoField, models.SmallAutoField):
        return int, ops.validate_autopk_value
    if kind is models.DateField:
        return datetime.date, ops.adapt_datefield_value
    if kind is models.TimeField:
        return datetime.time, ops.adapt_timefield_value
    if kind is models.DateTimeField:
        return datetime.datetime, _datetime_adapter(ops)
    if kind is models.DecimalField:
        return decimal.Decimal, _decimal_adapter(field, ops)
    if kind is models.UUIDField:
        return uuid.UUID, (lambda value: value) if features.has_native_uuid_field else _hex
    if kind is models.DurationField:
        if features.has_native_duration_field:
            return datetime.timedelta, lambda value: value
        return datetime.timedelta, duration_microseconds
    if kind is models.GenericIPAddressField:
        return str, _ip_address_adapter(ops)
    if kind in (models.ForeignKey, models.OneToOneField):
        return _foreign_key_adapter(field, connection)
    return None, None


def _hex(value: uuid.UUID) -> str:
    return value.hex


def _datetime_adapter(ops: Any) -> Callable[[datetime.datetime], Any]:
    """Aware datetimes with USE_TZ, naive ones without: get_prep_value keeps them."""
    adapt = ops.adapt_datetimefield_value
    use_tz = settings.USE_TZ

    def datetime_value(value: datetime.datetime) -> Any:
        if (value.utcoffset() is not None) is not use_tz:
            return _UNKNOWN
        return adapt(value)

    return datetime_value


def _decimal_adapter(field: models.Field, ops: Any) -> Callable[[decimal.Decimal], Any]:
    adapt = ops.adapt_decimalfield_value
    max_digits, decimal_places = field.max_digits, field.decimal_places

    def decimal_value(value: decimal.Decimal) -> Any:
        if not value.is_finite():
            return _UNKNOWN
        return adapt(value, max_digits, decimal_places)

    return decimal_value


def _ip_address_adapter(ops: Any) -> Callable[[str], Any]:
    """IPv4 text is kept as it is; IPv6 is cleaned by the field itself."""
    adapt = ops.adapt_ipaddressfield_value

    def ip_address_value(value: str) -> Any:
        if ":" in value:
            return _UNKNOWN
        return adapt(value)

    return ip_address_value


def _foreign_key_adapter(field: models.Field, connection: Any) -> tuple[type | None, Callable[[Any], Any] | None]:
    """A key is saved as its target field saves it; "" may mean NULL, left to the field."""
    target = field.target_field
    held, adapt = _PLAIN_TYPES.get(type(target)), None
    if held is None:
        held, adapt = _adapter(target, connection)
        if held is None or held is str:
            return None, None
        return held, adapt
    if held is str:
        return None, None
    return held, lambda value: value
