"""Errors that say where in a dump something went wrong, and of what kind.

A message is prose for the user and may be reworded; code that decides
what to add to it (a hint, advice) looks at its ``kind`` instead.
"""

import enum
from typing import Any

from django.core.serializers.base import DeserializationError, SerializationError


class Kind(enum.Enum):
    """What went wrong with a dump."""

    INVALID = "a file breaks a rule of the format"
    UNREADABLE = "a file cannot be opened or decompressed"
    MISSING_FILE = "a chunk listed in restore.py is missing"
    ALTERED_FILE = "a chunk differs from what restore.py lists"
    UNKNOWN_MODEL = "the dump holds rows of a model the code does not have"
    UNKNOWN_FIELD = "the dump holds a field the model does not have"
    ROW_REJECTED = "the database rejected a row"
    DANGLING_REFERENCE = "a row refers to one that is not there"


def describe_place(path: Any = None, line: int | None = None, model: Any = None,
                   field: Any = None) -> str:
    """Return "file, line N, model app.model, field name" for the parts known."""
    parts: list[str] = []
    if path:
        parts.append(str(path))
    if line:
        parts.append("line %d" % line)
    if model:
        parts.append("model %s" % model)
    if field:
        parts.append("field %s" % field)
    return ", ".join(parts)


class DumpError(DeserializationError):
    """A dump could not be loaded; the message names file, line, model and field."""

    def __init__(self, problem: str, path: Any = None, line: int | None = None, model: Any = None,
                 field: Any = None, kind: Kind = Kind.INVALID) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.model = model
        self.field = field
        self.kind = kind
        self.advised = False  # whether the message says already what the user can do
        place = describe_place(path, line, model, field)
        super().__init__("%s: %s" % (place, problem) if place else problem)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole, message and all (a restore's worker process sends it)."""
        return _rebuilt, (type(self), self.args, self.__dict__)

    def advise(self, advice: str, separator: str = "\n") -> "DumpError":
        """Add what the user can do to the message; return the error."""
        self.args = ("%s%s%s" % (self.args[0], separator, advice),)  # type: ignore[has-type]
        self.advised = True
        return self


def _rebuilt(cls: type[DumpError], args: tuple[Any, ...], state: dict[str, Any]) -> DumpError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class DumpWriteError(SerializationError):
    """A value could not be written to a dump."""


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, "..." marking the cut: a value
    quoted in a message stays readable."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (its class name when it has none),
    for a report that gives one line to each failure."""
    return " ".join(str(exc).split()) or type(exc).__name__
