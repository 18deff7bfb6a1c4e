"""The objects a load yields: one ``DumpedObject`` per row of a dump.

Each knows the file and line it came from, so that a row the database
refuses is named there (with the field Django's own validation finds at
fault); with a ``BatchSaver`` its ``save()`` may join a multi-row INSERT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.serializers import base
from django.db import DEFAULT_DB_ALIAS, IntegrityError

from ..errors import DumpError, Kind

if TYPE_CHECKING:
    from .deserializer import Deserializer
    from .saving import BatchSaver


class DumpedObject(base.DeserializedObject):
    """A DeserializedObject that knows the file and line it came from.

    With a BatchSaver (when iterated by loaddata), save() may queue the row
    for a multi-row INSERT; the deserializer writes the queue before it
    moves to the next block and before it finishes.
    """

    def __init__(self, obj: Any, m2m_data: dict[str, Any], deferred_fields: dict[Any, Any],
                 path: str, line: int, saver: BatchSaver | None = None,
                 deserializer: Deserializer | None = None) -> None:
        super().__init__(obj, m2m_data, deferred_fields)
        self.path = path
        self.line = line
        self.saver = saver
        self.deserializer = deserializer

    def save(self, save_m2m: bool = True, using: str | None = None, **kwargs: Any) -> None:
        saver = self.saver
        if (
            saver is not None
            and save_m2m
            and not kwargs
            and not self.deferred_fields
            and self.object.pk is not None
            and (using or DEFAULT_DB_ALIAS) == saver.using
        ):
            self.saver = None
            saver.add(self)
        else:
            self.save_one(save_m2m=save_m2m, using=using, **kwargs)

    def save_one(self, save_m2m: bool = True, using: str | None = None, **kwargs: Any) -> None:
        """Save this row now, as Django's DeserializedObject does."""
        try:
            super().save(save_m2m=save_m2m, using=using, **kwargs)
        except Exception as exc:
            raise self.rejected(exc) from exc

    def rejected(self, exc: BaseException) -> DumpError:
        """The error for the database refusing this row with ``exc``."""
        older = ""
        if isinstance(exc, IntegrityError) and self.deserializer is not None:
            # Rows that newer migrations create clash with the dump's: say so.
            older = self.deserializer.older_state_hint()
        return DumpError(
            "the database rejected this row: %s%s%s" % (exc, _suspect_field(self.object), older),
            self.path,
            self.line,
            self.object._meta.label_lower,
            kind=Kind.ROW_REJECTED,
        )

    def save_deferred_fields(self, using: str | None = None) -> None:
        try:
            super().save_deferred_fields(using=using)
        except DumpError:
            raise
        except Exception as exc:
            raise DumpError(
                "a reference could not be resolved: %s" % exc,
                self.path,
                self.line,
                self.object._meta.label_lower,
                kind=Kind.DANGLING_REFERENCE,
            ) from exc


def _suspect_field(instance: Any) -> str:
    """Name the field that fails Django's own validation, if one does."""
    for field in instance._meta.concrete_fields:
        if field.is_relation:
            continue
        value = getattr(instance, field.attname)
        if hasattr(value, "resolve_expression"):
            continue
        try:
            if value is None:
                if not field.null:
                    raise ValidationError("NULL is not allowed here")
                continue
            field.run_validators(field.to_python(value))
        except ValidationError as exc:
            return " (field %s: %s)" % (field.name, reason_of(exc))
        except Exception:
            continue
    return ""


def reason_of(exc: BaseException) -> str:
    """What a validation error or another exception says, in one string."""
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__

