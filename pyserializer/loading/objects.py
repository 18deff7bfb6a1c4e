"""The objects a load yields: one ``DumpedObject`` per row of a dump.

Each knows the file and line it came from, so that a row the database
refuses is named there (with the field Django's own validation finds at
fault); with a ``BatchSaver`` its ``save()`` may join a multi-row INSERT.
A ``DumpedRow`` is a row that nothing needs a model instance of (the
instance-free lane of a restore): it goes to that INSERT as its values alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.serializers import base
from django.db import DEFAULT_DB_ALIAS, IntegrityError, router

from ..errors import DumpError, Kind
from .saving import save_without_signals

if TYPE_CHECKING:
    from .deserializer import Deserializer, RowPlan
    from .saving import BatchSaver


class DumpedObject(base.DeserializedObject):
    """A DeserializedObject that knows the file and line it came from.

    With a BatchSaver (when iterated by loaddata), save() may queue the row
    for a multi-row INSERT; the deserializer writes the queue before it
    moves to the next block and before it finishes.
    """

    has_instance = True
    # (plan, texts, decoded values) of the columns whose dumped text the database may
    # take instead of the instance's value (``RowPlan.texts_kept``).
    dumped_texts: tuple[RowPlan, list[Any], list[Any]] | None = None

    def __init__(self, obj: Any, m2m_data: dict[str, Any], deferred_fields: dict[Any, Any],
                 path: str, line: int, saver: BatchSaver | None = None,
                 deserializer: Deserializer | None = None) -> None:
        super().__init__(obj, m2m_data, deferred_fields)
        self.path = path
        self.line = line
        self.saver = saver
        self.deserializer = deserializer

    @property
    def model(self) -> Any:
        return type(self.object)

    @property
    def key(self) -> Any:
        return self.object.pk

    def save(self, save_m2m: bool = True, using: str | None = None, **kwargs: Any) -> None:
        saver = self.saver
        if (
            saver is not None
            and save_m2m
            and not kwargs
            and not self.deferred_fields
            and self.key is not None
            and (using or DEFAULT_DB_ALIAS) == saver.using
        ):
            self.saver = None
            saver.add(self)
        else:
            self.save_one(save_m2m=save_m2m, using=using, **kwargs)

    def save_one(self, save_m2m: bool = True, using: str | None = None, **kwargs: Any) -> None:
        """Save this row now, as Django's DeserializedObject does (without
        signals when the restore sends none)."""
        try:
            if self.deserializer is None or self.deserializer.signals:
                super().save(save_m2m=save_m2m, using=using, **kwargs)
            else:  # as save_base chooses the database
                save_without_signals(
                    self, using or router.db_for_write(self.model, instance=self.object))
        except DumpError:  # about an earlier row: its batch, completed by this row's query
            raise
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


class DumpedRow(DumpedObject):
    """A row saved without a model instance: nobody receives its signals
    (or none are sent) and its model builds instances by storing values, so
    the decoded values are all an INSERT needs (``RowPlan.lane``): ``row``
    holds them in the order of the table's fields. An instance is made only
    when a fallback asks for ``object``: a row already in the table, a batch
    the database rejected, an error to name."""

    has_instance = False
    # Plain attributes here, where DumpedObject reads them from the instance.
    model: Any = None
    key: Any = None

    def __init__(self, plan: RowPlan, values: list[Any], row: Sequence[Any], key: Any,
                 m2m_data: dict[str, Any], line: int, texts_sent: bool = False) -> None:
        self.plan = plan
        self.texts_sent = texts_sent
        self.values = values
        self.row = row
        self.key = key
        self.m2m_data = m2m_data
        self.deferred_fields: dict[Any, Any] = {}
        self.path = plan.reader.path
        self.line = line
        self.saver = plan.saver
        self.deserializer = plan.deserializer
        self.model = plan.model

    as_dumped_decoded = False

    @cached_property
    def object(self) -> Any:
        self.decode_as_dumped()
        return self.plan.instance(self.values, self.line)

    def decode_as_dumped(self) -> None:
        """Decode the values kept as dumped for the database (``RowPlan.as_dumped``),
        in ``values`` and ``row``: the row needs its instance, or its batch
        has a value the database cannot take as it is."""
        lane = self.plan.lane
        if self.plan.as_dumped and lane is not None and not self.as_dumped_decoded:
            self.plan.decode_as_dumped(self.values, self.line)
            self.row = lane[0](self.values)
            self.as_dumped_decoded = True
            self.texts_sent = False


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

