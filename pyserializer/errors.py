"""Errors that say where in a dump something went wrong."""

from django.core.serializers.base import DeserializationError, SerializationError


def describe_place(path=None, line=None, model=None, field=None):
    """Return "file, line N, model app.model, field name" for the parts known."""
    parts = []
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

    def __init__(self, problem, path=None, line=None, model=None, field=None):
        self.problem = problem
        self.path = path
        self.line = line
        self.model = model
        self.field = field
        place = describe_place(path, line, model, field)
        super().__init__("%s: %s" % (place, problem) if place else problem)


class DumpWriteError(SerializationError):
    """A value could not be written to a dump."""
