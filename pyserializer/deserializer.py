"""The "py" Deserializer: safe reader -> value codec -> DeserializedObjects.

It reads a single dump file, or a directory dump through its ``restore.py``
(checking that every listed chunk is there, whole and unaltered), and yields
one DeserializedObject per row. Like Django's own deserializers it saves
nothing itself: ``loaddata`` (or the caller) decides, inside its transaction.
"""

import os

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.serializers import base
from django.db import DEFAULT_DB_ALIAS, models

from . import grammar, manifest
from .codec import JSON_NULL, codec_for
from .errors import DumpError
from .reader import DumpReader

_VALUE, _FOREIGN_KEY, _MANY_TO_MANY, _IGNORED = range(4)


class Deserializer(base.Deserializer):
    """Deserialize a Python dump: a single file, or a directory via restore.py."""

    def __init__(
        self,
        stream_or_string,
        *,
        using=DEFAULT_DB_ALIAS,
        ignorenonexistent=False,
        handle_forward_references=False,
        **options,
    ):
        super().__init__(stream_or_string, **options)
        self.using = using
        self.ignorenonexistent = ignorenonexistent
        self.handle_forward_references = handle_forward_references
        self._iterator = None

    def __iter__(self):
        path = getattr(self.stream, "name", None)
        if manifest.is_manifest_path(path):
            yield from self._load_directory(manifest.read(self.stream, path))
        else:
            yield from self._load_file(DumpReader(self.stream, path or "<string>"))

    def __next__(self):
        if self._iterator is None:
            self._iterator = iter(self)
        return next(self._iterator)

    def _load_directory(self, dump):
        paths = [_check_present(dump.directory, entry) for entry in dump.files]
        for path, entry in zip(paths, dump.files):
            with open(path, "rb") as chunk:
                reader = DumpReader(chunk, path)
                rows = yield from self._load_file(reader, entry.model)
            if reader.size != entry.size or reader.sha256() != entry.sha256:
                raise reader.error(
                    "this chunk was altered or truncated after the dump was written "
                    "(its size or SHA-256 differs from restore.py)",
                    model=entry.model,
                )
            if rows != entry.rows:
                raise reader.error(
                    "restore.py lists %d rows but the chunk holds %d" % (entry.rows, rows),
                    model=entry.model,
                )

    def _load_file(self, reader, expected_model=None):
        """Yield the objects of one file; return how many rows it held."""
        rows = 0
        for section in reader.sections():
            plan = self._plan(reader, section, expected_model)
            for line, values in section.rows:
                rows += 1
                if plan is not None:
                    yield plan.build(values, line)
        if rows == 0 and "FORMAT" not in reader.names:
            raise reader.error("this is not a pyserializer dump (no FORMAT line)")
        return rows

    def _plan(self, reader, section, expected_model):
        names = section.names
        if names.get("FORMAT") != grammar.FORMAT_VERSION:
            raise reader.error(
                "unsupported dump format %r (this pyserializer reads format %d)"
                % (names.get("FORMAT"), grammar.FORMAT_VERSION),
                section.line,
            )
        label, field_names = names.get("MODEL"), names.get("FIELDS")
        if section.name != "ROWS" or not isinstance(label, str) or not isinstance(field_names, list):
            raise reader.error(
                "a block of rows must be ROWS = [ after MODEL = and FIELDS = lines",
                section.line,
            )
        if expected_model is not None and label != expected_model:
            raise reader.error(
                "restore.py lists this chunk for model %s" % expected_model,
                section.line,
                model=label,
            )
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            if self.ignorenonexistent:
                return None
            raise reader.error("unknown model", section.line, model=label)
        return RowPlan(self, reader, model, field_names, section.line)


def _check_present(directory, entry):
    path = os.path.join(directory, entry.name)
    try:
        size = os.path.getsize(path)
    except OSError:
        raise DumpError(
            "this chunk listed in restore.py is missing", path, model=entry.model
        )
    if size != entry.size:
        raise DumpError(
            "this chunk has %d bytes, restore.py lists %d: it was truncated or altered"
            % (size, entry.size),
            path,
            model=entry.model,
        )
    return path


class RowPlan:
    """How the rows of one block become model instances."""

    def __init__(self, deserializer, reader, model, field_names, line):
        self.deserializer = deserializer
        self.reader = reader
        self.model = model
        self.label = model._meta.label_lower
        self.using = deserializer.using
        self.forward = deserializer.handle_forward_references
        self.width = len(field_names)
        self.field_names = field_names
        self.columns = [self._column(name, line) for name in field_names]
        pk = model._meta.pk
        self.has_pk = any(column[1] is pk for column in self.columns)

    def _column(self, name, line):
        try:
            field = self.model._meta.get_field(name)
        except (FieldDoesNotExist, TypeError):
            if self.deserializer.ignorenonexistent:
                return (_IGNORED, None, None)
            raise self.reader.error(
                "this field does not exist in the current model "
                "(use loaddata --ignorenonexistent to skip it)",
                line,
                self.label,
                name,
            )
        if field.many_to_many:
            return (_MANY_TO_MANY, field, codec_for(field))
        if not field.concrete:
            raise self.reader.error("not a concrete field", line, self.label, name)
        if field.is_relation:
            return (_FOREIGN_KEY, field, codec_for(field))
        return (_VALUE, field, codec_for(field))

    def error(self, problem, line, field=None):
        return self.reader.error(problem, line, self.label, field)

    def build(self, values, line):
        if type(values) is not list or len(values) != self.width:
            raise self.error(
                "expected a list of %d values (%s), found %s"
                % (self.width, ", ".join(self.field_names), _short(values)),
                line,
            )
        data, m2m_data, deferred = {}, {}, {}
        for value, (kind, field, codec) in zip(values, self.columns):
            written = value
            if kind == _IGNORED:
                continue
            try:
                if kind == _VALUE:
                    if value is not None and type(value) not in codec.as_is:
                        value = codec.decode(value)
                        if value is JSON_NULL:
                            value = models.Value(None, output_field=field)
                    data[field.attname] = value
                elif kind == _FOREIGN_KEY:
                    value = self._foreign_key(field, codec, value)
                    if value is base.DEFER_FIELD:
                        deferred[field] = written
                    else:
                        data[field.attname] = value
                else:
                    keys = self._many_to_many(field, codec, value)
                    if keys is base.DEFER_FIELD:
                        deferred[field] = written
                    else:
                        m2m_data[field.name] = keys
            except DumpError:
                raise
            except Exception as exc:
                raise self.error(
                    "invalid value %s: %s" % (_short(written), _reason(exc)), line, field.name
                ) from exc
        if self.has_pk:
            instance = self.model(**data)
        else:
            instance = base.build_instance(self.model, data, self.using)
        return DumpedObject(instance, m2m_data, deferred, self.reader.path, line)

    def _foreign_key(self, field, codec, value):
        if value is None:
            return None
        if isinstance(value, list):
            return base.deserialize_fk_value(field, value, self.using, self.forward)
        if type(value) in codec.as_is:
            return value
        return codec.decode(value)

    def _many_to_many(self, field, codec, value):
        if not isinstance(value, list):
            raise ValidationError("a many-to-many value is a list of keys")
        if any(isinstance(key, list) for key in value):
            return base.deserialize_m2m_values(field, value, self.using, self.forward)
        return codec.decode(value)


class DumpedObject(base.DeserializedObject):
    """A DeserializedObject that knows the file and line it came from."""

    def __init__(self, obj, m2m_data, deferred_fields, path, line):
        super().__init__(obj, m2m_data, deferred_fields)
        self.path = path
        self.line = line

    def save(self, save_m2m=True, using=None, **kwargs):
        try:
            super().save(save_m2m=save_m2m, using=using, **kwargs)
        except Exception as exc:
            raise DumpError(
                "the database rejected this row: %s%s" % (exc, _suspect_field(self.object)),
                self.path,
                self.line,
                self.object._meta.label_lower,
            ) from exc

    def save_deferred_fields(self, using=None):
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
            ) from exc


def _suspect_field(instance):
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
            return " (field %s: %s)" % (field.name, _reason(exc))
        except Exception:
            continue
    return ""


def _reason(exc):
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
