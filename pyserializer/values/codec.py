"""The value codec: one field's Python value <-> one JSON value in a row.

This is the only module that knows how each kind of field is written. Every
encoding is exact (microseconds, decimal digits, bytes, JSON null versus SQL
NULL) and readable enough to edit by hand. Built-in Django fields get direct
conversions; any other field (a project's own subclass, contrib fields) goes
through its own ``value_to_string`` and ``to_python``, as Django's serializers
do.

``None`` (SQL NULL) never reaches a codec: callers write and read it as
``null`` themselves, which keeps the per-value work of common fields at zero.
"""

import base64
import binascii
import datetime
import decimal
import json
import operator
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_duration
from django.utils.duration import duration_string


class JsonNull:
    """JSON ``null`` stored in a JSONField, as opposed to SQL NULL (``None``)."""

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL = JsonNull()


@dataclass(frozen=True)
class Codec:
    """How one column is written and read.

    ``encode`` turns a non-None Python value into a JSON value; ``None`` means
    the value is already one. ``decode`` turns a non-None JSON value back into
    the Python value for the model attribute; values whose type is in
    ``as_is`` are already right and skip it.
    """

    encode: Optional[Callable[[Any], Any]]
    decode: Callable[[Any], Any]
    as_is: tuple[type, ...] = ()


def codec_for(field: Any) -> Codec:
    """Return the Codec for a concrete model field or a many-to-many field."""
    if field.many_to_many:
        return _many_to_many_codec(field)
    if field.is_relation:
        return codec_for(field.target_field)
    make = _builtin_codec_maker(type(field))
    if make is None:
        return _own_conversion_codec(field)
    return make(field)


def _builtin_codec_maker(field_class: Any) -> Callable[[Any], Codec] | None:
    """The codec of the nearest built-in field class, if the field converts like it."""
    kind = builtin_kind(field_class)
    return None if kind is None else _MAKERS[kind]


def builtin_kind(field_class: Any) -> Any:
    """The built-in field class whose codec a field of ``field_class`` gets:
    its nearest built-in ancestor, or None when it converts on its own.

    A subclass that overrides ``to_python`` or ``value_to_string`` has its own
    text form, and gets the codec that uses them.
    """
    for cls in field_class.__mro__:
        if cls in _MAKERS:
            if (
                field_class.to_python is cls.to_python
                and field_class.value_to_string is cls.value_to_string
            ):
                return cls
            return None
    return None


def _checked_to_python(field: Any) -> Callable[[Any], Any]:
    """field.to_python, with a plain error for values of the wrong JSON type."""

    def decode(value: Any) -> Any:
        if isinstance(value, (list, dict)):
            raise ValidationError("%r is not a valid value for this field" % (value,))
        return field.to_python(value)

    return decode


def _plain(*json_types: type) -> Callable[[Any], Codec]:
    def make(field: Any) -> Codec:
        return Codec(None, _checked_to_python(field), json_types)

    return make


def _time_codec(field: Any) -> Codec:
    return Codec(_isoformat, _parse_or_to_python(datetime.time.fromisoformat, field))


# A C-level call per value, not a Python frame: dumps call it once per date.
_isoformat = operator.methodcaller("isoformat")


def _datetime_codec(field: Any) -> Codec:
    fallback = _checked_to_python(field)
    use_tz = settings.USE_TZ

    def decode(value: Any) -> Any:
        if type(value) is not str:
            return fallback(value)
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            return fallback(value)
        aware = parsed.utcoffset() is not None
        if use_tz and not aware:
            return fallback(parsed)
        if not use_tz and aware:
            return timezone.make_naive(parsed, timezone.get_default_timezone())
        return parsed

    return Codec(_isoformat, decode)


def _iso_date(text: str) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if len(text) == 10 else None


def _date_codec(field: Any) -> Codec:
    return Codec(_isoformat, _parse_or_to_python(_iso_date, field))


def _encode_decimal(value: Any) -> str:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


def _parse_or_to_python(parse: Callable[[str], Any], field: Any) -> Callable[[Any], Any]:
    """Decode text with ``parse``, anything else (or a failure) with to_python."""
    fallback = _checked_to_python(field)

    def decode(value: Any) -> Any:
        if type(value) is str:
            try:
                parsed = parse(value)
            except (ValueError, ArithmeticError):
                parsed = None
            if parsed is not None:
                return parsed
        return fallback(value)

    return decode


def _finite_decimal(text: str) -> decimal.Decimal | None:
    number = decimal.Decimal(text)
    return number if number.is_finite() else None


def _decimal_codec(field: Any) -> Codec:
    return Codec(_encode_decimal, _parse_or_to_python(_finite_decimal, field))


def _parse_duration_string(text: str) -> datetime.timedelta | None:
    """Read what duration_string writes ("[D ]HH:MM:SS[.ffffff]") without a regex."""
    days, _, clock = text.rpartition(" ")
    hours, minutes, seconds = clock.split(":")
    seconds, _, fraction = seconds.partition(".")
    if len(fraction) > 6 or not (len(minutes) == len(seconds) == 2):
        return parse_duration(text)
    return datetime.timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int(fraction.ljust(6, "0")) if fraction else 0,
    )


def _duration_codec(field: Any) -> Codec:
    return Codec(duration_string, _parse_or_to_python(_parse_duration_string, field))


def _uuid_codec(field: Any) -> Codec:
    return Codec(str, _parse_or_to_python(uuid.UUID, field))


def _encode_binary(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode_binary(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if type(value) is not str:
        raise ValidationError("binary data must be written as a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("%r is not valid base64" % value[:40])


def _binary_codec(field: Any) -> Codec:
    return Codec(_encode_binary, _decode_binary)


def _file_name(value: Any) -> str:
    return value if type(value) is str else value.name


def _file_codec(field: Any) -> Codec:
    return Codec(_file_name, _checked_to_python(field), (str,))


def _json_codec(field: Any) -> Codec:
    """JSONField values are stored as their JSON text, so JSON null is "null".

    JSON null loads as ``Value(None, JSONField())``, Django's way to store it.
    """
    encoder, decoder = field.encoder, field.decoder
    json_null = models.Value(None, output_field=field)
    # json.dumps builds a new encoder per call when given options; one per column
    # writes the same text.
    json_text = (encoder or json.JSONEncoder)(ensure_ascii=False).encode

    def encode(value: Any) -> str:
        if value is JSON_NULL:
            return "null"
        return json_text(value)

    def decode(value: Any) -> Any:
        if type(value) is not str:
            raise ValidationError("a JSONField value is written as its JSON text")
        try:
            loaded = json.loads(value, cls=decoder)
        except ValueError as exc:
            raise ValidationError("invalid JSON text: %s" % exc)
        return json_null if loaded is None else loaded

    return Codec(encode, decode)


class _ValueHolder:
    """Stands in for a model instance when calling field.value_to_string."""

    __slots__ = ("__dict__",)


def _own_conversion_codec(field: Any) -> Codec:
    """Any field we do not know: its own value_to_string and to_python."""
    holder = _ValueHolder()
    attname = field.attname

    def encode(value: Any) -> Any:
        holder.__dict__[attname] = value
        return field.value_to_string(holder)

    return Codec(encode, _checked_to_python(field))


def _many_to_many_codec(field: Any) -> Codec:
    target = codec_for(field.target_field)

    def encode(values: Any) -> list[Any]:
        if target.encode is None:
            return list(values)
        return [target.encode(value) for value in values]

    def decode(values: Any) -> list[Any]:
        if not isinstance(values, list):
            raise ValidationError("a many-to-many value is a list of keys")
        return [
            value if type(value) in target.as_is else target.decode(value)
            for value in values
        ]

    return Codec(encode, decode)


_MAKERS = {
    models.AutoField: _plain(int),
    models.BigAutoField: _plain(int),
    models.SmallAutoField: _plain(int),
    models.IntegerField: _plain(int),
    models.BooleanField: _plain(bool),
    models.FloatField: _plain(float, int),
    models.CharField: _plain(str),
    models.TextField: _plain(str),
    models.FilePathField: _plain(str),
    models.GenericIPAddressField: _plain(str),
    models.DecimalField: _decimal_codec,
    models.DateTimeField: _datetime_codec,
    models.DateField: _date_codec,
    models.TimeField: _time_codec,
    models.DurationField: _duration_codec,
    models.UUIDField: _uuid_codec,
    models.BinaryField: _binary_codec,
    models.FileField: _file_codec,
    models.JSONField: _json_codec,
}
