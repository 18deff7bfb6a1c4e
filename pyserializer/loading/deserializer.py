"""The "py" Deserializer: safe reader -> value codec -> DeserializedObjects.

It reads a single dump file, or a directory dump through its ``restore.py``
(checking that every listed chunk is there, whole and unaltered), and yields
one DeserializedObject per row. Like Django's own deserializers it saves
nothing itself: ``loaddata`` (or the caller) decides, inside its transaction.
"""

import functools
import os
import warnings
from operator import itemgetter
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.core.serializers import base
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.db.models.fields.files import FileDescriptor, ImageFileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute

from ..collecting import fewer_collections
from ..dumping.wholesite import is_excluded
from ..errors import DumpError, Kind, shorten
from ..files import grammar, manifest, resealing
from ..files.reader import DumpReader, Section
from ..restoring import hints
from ..restoring.migration_state import migration_differences
from ..tables import key_attnames
from ..values.codec import builtin_kind, codec_for
from ..values.dumpedtext import SentTexts, dumped_text_column, sends_dumped_text
from .objects import DumpedObject, DumpedRow, reason_of
from .readahead import ChunkReader, chunk_readers
from .saving import (
    BatchSaver, batchable, receives_signals, takes_values_alone, write_negative_zero,
)
from .transforms import Transform, apply_transform, configured_transforms


class Deserializer(base.Deserializer):
    """Deserialize a Python dump: a single file, or a directory via restore.py."""

    def __init__(
        self,
        stream_or_string: Any,
        *,
        using: str = DEFAULT_DB_ALIAS,
        ignorenonexistent: bool = False,
        handle_forward_references: bool = False,
        apps: Any = None,
        transforms: Mapping[str, Transform] | None = None,
        excludes: Collection[str] = (),
        empty_tables: Collection[str] = (),
        resolve_natural_keys: bool = True,
        signals: bool = True,
        instance_free: bool = False,
        jobs: int = 1,
        **options: Any,
    ) -> None:
        """``stream_or_string`` is a dump file, a directory dump's ``restore.py``
        (a stream named by its path), or the Manifest a restore's plan has
        already read from it, so that it is parsed once. ``apps`` is the model
        registry rows are loaded into (historical models when restoring
        through migrations); ``transforms`` maps model labels to row
        transforms (see pyserializer.loading.transforms), added to those of the
        PYSERIALIZER_TRANSFORMS setting. ``excludes`` are app labels
        and lowercase model labels whose rows are skipped unread, even of
        models the code does not have (a restore's ``-e``). ``empty_tables``
        names the tables the caller emptied in this transaction: saving rows
        into them needs no query for rows already there. Without
        ``resolve_natural_keys`` no natural key is looked up in the database
        (``restore_dump --check`` reads rows without touching one). Without
        ``signals`` the saves send no ``pre_save``, ``post_save`` or
        ``m2m_changed`` (a restore's ``--no-signals``). With ``instance_free``
        (a restore, whose caller saves what it is given; loaddata reads
        instances) a row that needs no model instance is yielded as a
        ``DumpedRow`` (see ``RowPlan.lane``). With ``jobs`` above 1, a
        directory dump's chunks are read by ``jobs - 1`` worker processes
        (``loading.readahead``); the rows come in the same order."""
        super().__init__(stream_or_string, **options)
        self.using = using
        self.ignorenonexistent = ignorenonexistent
        self.handle_forward_references = handle_forward_references
        self.apps = apps or global_apps
        self.transforms = configured_transforms(transforms)
        self.excludes = frozenset(excludes)
        self.resolve_natural_keys = resolve_natural_keys
        self.signals = signals
        self.instance_free = instance_free
        self.jobs = jobs
        self.saver = (BatchSaver(using, empty_tables, signals) if handle_forward_references
                      else None)
        self.sends_texts = False  # whether dumped texts go to the database undecoded, once connected
        self.dump: manifest.Manifest | None = None
        self.natural_keys: dict[tuple[Any, tuple[Any, ...]], Any] = {}
        self._plans: dict[tuple[str, str, tuple[str, ...]], RowPlan | None] = {}
        self._iterator: Iterator[DumpedObject] | None = None

    def __iter__(self) -> Generator["DumpedObject", None, None]:
        write_negative_zero(connections[self.using])
        self.sends_texts = sends_dumped_text(connections[self.using])
        path = getattr(self.stream, "name", None)
        with fewer_collections():
            try:
                if isinstance(self.stream, manifest.Manifest):
                    self.dump = self.stream
                elif manifest.is_manifest_path(path):
                    self.dump = manifest.read(self.stream, path)
                else:
                    yield from self._load_file(DumpReader(self.stream, path or "<string>"))
                    return
                yield from self._load_directory(self.dump)
            except BaseException:  # an error, an interruption, or the loader let go
                if self.saver is not None:
                    self.saver.abandon()
                raise

    def __next__(self) -> "DumpedObject":
        if self._iterator is None:
            self._iterator = iter(self)
        return next(self._iterator)

    def _load_directory(self, dump: manifest.Manifest) -> Iterator["DumpedObject"]:
        paths = [resealing.check_present(dump.directory, entry) for entry in dump.files]
        if dump.skipped:
            warnings.warn(
                "%s is an incomplete dump: these tables could not be read when it "
                "was taken: %s" % (dump.directory, ", ".join(row[1] for row in dump.skipped)),
                RuntimeWarning,
            )
        wanted = [(path, entry) for path, entry in zip(paths, dump.files)
                  if not self._excluded(entry.model)]
        chunks = [(path, entry.model) for path, entry in wanted]
        with chunk_readers(chunks, self.jobs, self._decoder_for_worker) as readers:
            for (path, entry), reader in zip(wanted, readers):
                rows = yield from self._load_file(reader, entry.model)
                resealing.check_sealed(reader, rows, entry, dump.directory)

    def _load_file(
        self, reader: ChunkReader, expected_model: str | None = None,
    ) -> Generator["DumpedObject", None, int]:
        """Yield the objects of one file; return how many rows it held."""
        rows = 0
        for block in reader.blocks(expected_model):
            transform = self.transforms.get(block.model)
            plan = self._plan(reader, block) if transform is None else None
            for line, values in block.rows:
                rows += 1
                if transform is not None:
                    yield from self._transformed(transform, reader, block, line, values)
                elif plan is not None:
                    yield plan.build(values, line, block.decoded, block.texts_sent)
            if self.saver is not None:
                self.saver.flush()
        return rows

    def _decoder_for_worker(
        self, reader: ChunkReader, block: Section,
    ) -> tuple[Callable[[list[Any]], None], Callable[[list[list[Any]]], bool] | None] | None:
        """How a read-ahead worker decodes the rows of a block before it sends
        them (``RowPlan.decode``), and what it sends the database gets for
        their dumped texts (``RowPlan.send_texts``), or None: the rows of a
        transform's model, and of a block this process will refuse, come as
        they were read."""
        if self.transforms.get(block.model) is not None:
            return None
        try:
            plan = self._plan(reader, block)
        except Exception:  # refused here, at the same place, when this process plans it
            return None
        if plan is None:
            return None
        return (functools.partial(plan.decode, decoders=plan.in_workers),
                plan.send_texts if plan.as_dumped else None)

    def _transformed(
        self, transform: Transform, reader: ChunkReader, block: Section, line: int,
        values: list[Any],
    ) -> Iterator["DumpedObject"]:
        """Objects for what a project's row transform makes of one row."""
        for new_label, row in apply_transform(transform, block.model, block.fields, values, reader, line):
            plan = self._model_plan(reader, new_label, list(row), line)
            if plan is not None:
                yield plan.build(list(row.values()), line)

    def _model_plan(
        self, reader: ChunkReader, label: str, field_names: list[str], line: int,
    ) -> "RowPlan | None":
        key = (reader.path, label, tuple(field_names))
        if key not in self._plans:
            self._plans[key] = self._new_plan(reader, label, field_names, line)
        return self._plans[key]

    def _plan(self, reader: ChunkReader, block: Section) -> "RowPlan | None":
        return self._new_plan(
            reader, block.model, block.fields, block.line_of("MODEL"), block.line_of("FIELDS"))

    def _excluded(self, label: str) -> bool:
        return is_excluded(label, self.excludes)

    def _new_plan(
        self, reader: ChunkReader, label: str, field_names: Sequence[str], model_line: int | None,
        fields_line: int | None = None,
    ) -> "RowPlan | None":
        if self._excluded(label):
            return None
        try:
            model = self.apps.get_model(label)
        except (LookupError, ValueError):
            if self.ignorenonexistent:
                return None
            raise reader.error("unknown model%s." % self.older_state_hint(), model_line,
                               model=label, kind=Kind.UNKNOWN_MODEL).advise(hints.leave_out(label), " ")
        return RowPlan(self, reader, model, field_names, fields_line or model_line)

    def older_state_hint(self) -> str:
        """Explain a mismatch when the dump was taken at other migrations: how
        to restore it through them, when the project has them all."""
        if self.dump is None or self.apps is not global_apps:
            return ""
        differences, unreachable = migration_differences(self.dump)
        if not differences:
            return ""
        if unreachable:
            return (
                ". The dump was taken at migrations that this project cannot migrate a "
                "database to (%s): it comes from another project, from newer code, or "
                "from before a squash, and cannot be restored through this project's "
                "migrations" % ", ".join("%s.%s" % key for key in unreachable)
            )
        manifest_path = os.path.join(self.dump.directory, grammar.MANIFEST_NAME)
        return (
            ". The dump was taken at an older migration state (%s); restore it "
            "through the project's migrations instead: python %s (or manage.py "
            "restore_dump %s), see docs/upgrading" % (differences, manifest_path, manifest_path)
        )


# Descriptor setters that, on a new instance, only store the value in __dict__.
_STORING_SETTERS = {
    None,
    ForeignKeyDeferredAttribute.__set__,
    FileDescriptor.__set__,
    ImageFileDescriptor.__set__,
}


class RowPlan:
    """How the rows of one block become model instances.

    Built once per block, so that the per-row work is only what each value
    needs: most values are already of the right type and are taken as they are.
    """

    def __init__(
        self, deserializer: Deserializer, reader: ChunkReader, model: Any,
        field_names: Sequence[str], line: int | None,
    ) -> None:
        self.deserializer = deserializer
        self.reader = reader
        self.model = model
        self.label = model._meta.label_lower
        self.using = deserializer.using
        self.forward = deserializer.handle_forward_references
        self.lookups = deserializer.resolve_natural_keys
        self.ignorenonexistent = deserializer.ignorenonexistent
        self.field_names = field_names
        self.decoders: list[tuple[int, Any, Any, Callable[[Any], Any]]] = []
        self.relations: list[tuple[int, Any, Any]] = []
        self.many_to_many: list[tuple[int, Any, Any]] = []
        self.attributes: list[Any] = []
        for index, name in enumerate(field_names):
            self._add_column(index, name, line)
        self.positions = self._positional_order()
        self.has_pk = set(key_attnames(model)) <= {attname for attname, _ in self.attributes}
        self.saver = (deserializer.saver if not deserializer.signals or batchable(model)
                      else None)
        self.plain_attnames = self._plain_construction()
        self.lane = self._lane()
        self.sent_texts = self._sent_texts()
        copied = [decoder for decoder in self.decoders if decoder[1].attname in self.sent_texts]
        # A lane's rows keep these values undecoded. Rows with instances keep
        # their text beside the decoded value, which the database gets if no receiver
        # replaced it; not a JSON value, which a receiver may change in place.
        self.as_dumped = copied if self.lane is not None else []
        self.texts_kept = [] if self.lane is not None else [
            decoder for decoder in copied if type(decoder[1]) is not models.JSONField]
        self.kept_positions = {decoder[1].attname: position
                               for position, decoder in enumerate(self.texts_kept)}
        self.decoders = [decoder for decoder in self.decoders if decoder not in self.as_dumped]
        self.lane_with_texts_sent = self._lane_with_texts_sent()
        self.in_workers = [decoder for decoder in self.decoders if _plain_data(decoder[1])]
        self.after_workers = [decoder for decoder in self.decoders if not _plain_data(decoder[1])]

    def _add_column(self, index: int, name: str, line: int | None) -> None:
        try:
            field = self.model._meta.get_field(name)
        except (FieldDoesNotExist, TypeError):
            if self.ignorenonexistent:
                return
            raise self.reader.error(
                "this field does not exist in the current model (%s); use "
                "loaddata --ignorenonexistent to skip it%s"
                % (self._differences(), self.deserializer.older_state_hint()),
                line,
                self.label,
                name,
                kind=Kind.UNKNOWN_FIELD,
            )
        codec = codec_for(field)
        if field.many_to_many:
            self.many_to_many.append((index, field, codec))
            return
        if not field.concrete:
            raise self.reader.error("not a concrete field", line, self.label, name)
        if field.is_relation and hasattr(field.related_model._default_manager, "get_by_natural_key"):
            self.relations.append((index, field, codec))
        else:
            self.decoders.append((index, field, codec.as_is, codec.decode))
        self.attributes.append((field.attname, index))

    def _differences(self) -> str:
        """Which dumped fields the model lacks, and which model fields the dump lacks."""
        opts = self.model._meta
        known = {f.name for f in opts.get_fields()} | {opts.pk.name}
        written = set(self.field_names)
        dumped_only = sorted(written - known)
        model_only = sorted(
            f.name
            for f in opts.concrete_model._meta.local_fields + opts.local_many_to_many
            if f.name not in written and not (f.primary_key and not f.remote_field)
        )
        return "in the dump only: %s; in the model only: %s" % (
            ", ".join(dumped_only) or "none",
            ", ".join(model_only) or "none",
        )

    def _plain_construction(self) -> list[str] | None:
        """Attribute names to fill an instance's __dict__ with, when that is all
        Model.__init__ would do: every field dumped, and ``_init_only_stores``."""
        if self.positions is None or not self._init_only_stores():
            return None
        return [field.attname for field in self.model._meta.concrete_fields]

    def _init_only_stores(self) -> bool:
        """Whether Model.__init__ only stores each value in the instance's
        __dict__: no ``__init__`` of the model's own (loaddata runs it),
        nobody listening to the model's init signals, and no field descriptor
        that does more than store."""
        if self.model.__init__ is not Model.__init__:
            return False
        if signals.pre_init.has_listeners(self.model) or signals.post_init.has_listeners(self.model):
            return False
        for field in self.model._meta.concrete_fields:
            descriptor = self.model.__dict__.get(field.attname)
            if descriptor is None:
                for cls in self.model.__mro__:
                    if field.attname in cls.__dict__:
                        descriptor = cls.__dict__[field.attname]
                        break
            setter = getattr(type(descriptor), "__set__", None)
            if setter not in _STORING_SETTERS:
                return False
        return True

    def _lane(self) -> tuple[Callable[[list[Any]], Sequence[Any]], int] | None:
        """How the rows of this block go without model instances, as
        ``DumpedRow``s: a function giving a row's values of the fields of the
        table's INSERT, in order, and the column index of the primary key.
        That is when no instance is needed:
        a restore (``instance_free``) that saves them in batches, no signal
        any receiver gets (none sent, or none received: ``receives_signals``),
        an instance that would only hold the values (``_init_only_stores``), a
        value for each of the table's fields, one of them the primary key, and
        no field that wants SQL of its own (``takes_values_alone``).
        Otherwise None, and the rows are instances as in loaddata."""
        deserializer = self.deserializer
        if not deserializer.instance_free or self.saver is None:
            return None
        if deserializer.signals and receives_signals(self.model):
            return None
        concrete = self.model._meta.concrete_model
        if not self._init_only_stores() or not takes_values_alone(concrete, self.using):
            return None
        columns = dict(self.attributes)
        fields = concrete._meta.local_concrete_fields
        if any(field.attname not in columns for field in fields):
            return None
        indexes = [columns[field.attname] for field in fields]
        return _values_at(indexes), columns[concrete._meta.pk.attname]

    def _sent_texts(self) -> dict[str, SentTexts]:
        """{attname: what the database gets for a column of dumped texts} of
        the columns whose dumped text may go to the database undecoded
        (``values.dumpedtext``), when the rows are saved in batches. A
        lane's rows keep those values undecoded (``as_dumped``;
        ``decode_as_dumped`` decodes them when a row needs an instance after
        all, and the saver when a check fails); rows with instances keep the
        text of some (``texts_kept``)."""
        if self.saver is None or not self.deserializer.sends_texts:
            return {}
        connection = connections[self.using]
        texts = {}
        for _, field, _, _ in self.decoders:
            sent = dumped_text_column(field, connection)
            if sent is not None:
                texts[field.attname] = sent
        return texts

    def _lane_with_texts_sent(self) -> Callable[[list[Any]], Sequence[Any]] | None:
        """A lane's row of values followed by what the database gets for its
        dumped texts (``send_texts``): the row with those in place of the texts."""
        if self.lane is None or not self.as_dumped:
            return None
        count = len(self.field_names)
        sent_at = {decoder[0]: count + position for position, decoder in enumerate(self.as_dumped)}
        indexes = [sent_at.get(index, index) for index in self.lane[0](list(range(count)))]
        return _values_at(indexes)

    def send_texts(self, rows: list[list[Any]]) -> bool:
        """Put what the database gets for the dumped texts of a lane's rows
        (``as_dumped``) after each row's values, for the columns' checks to
        run in a read-ahead worker; whether they passed (else the rows are
        left as they were, for the restoring process to decode and name)."""
        columns = []
        try:
            for index, field, _, _ in self.as_dumped:
                sent = self.sent_texts[field.attname]([values[index] for values in rows])
                if sent is None:
                    return False
                columns.append(sent)
        except Exception:
            return False
        for values, sent_values in zip(rows, zip(*columns)):
            values.extend(sent_values)
        return True

    def _positional_order(self) -> list[int] | None:
        """Column indexes in the order of Model(*args), if every field is dumped."""
        by_attname = dict(self.attributes)
        concrete = [field.attname for field in self.model._meta.concrete_fields]
        if sorted(concrete) != sorted(by_attname):
            return None
        return [by_attname[attname] for attname in concrete]

    def error(self, problem: str, line: int | None, field: str | None = None) -> DumpError:
        return self.reader.error(problem, line, self.label, field)

    def decode(self, values: list[Any], decoders: Sequence[Any]) -> None:
        """Decode, in place, the values of the fields of ``decoders``: all
        whose values need no database to decode (``decoders``: all but natural
        keys, many-to-many keys and those kept ``as_dumped``), or part of them
        (``in_workers``: what a read-ahead worker decodes; ``after_workers``:
        the rest)."""
        field: Any = None
        value = None
        try:
            for index, field, as_is, decode in decoders:
                value = values[index]
                if value is not None and type(value) not in as_is:
                    values[index] = decode(value)
        except Exception as exc:
            raise _Undecodable(field, value) from exc

    def build(self, values: list[Any], line: int, decoded: bool = False,
              texts_sent: bool = False) -> "DumpedObject":
        """The object of one row: a list of one value per field (the reader
        checked), with the ``in_workers`` values ``decoded`` already or not,
        and followed by what the database gets for its dumped texts when a
        worker ``texts_sent`` them."""
        field: Any = None
        value = None
        kept = ([values[decoder[0]] for decoder in self.texts_kept]
                if self.texts_kept and not decoded else None)
        try:
            decoders = self.after_workers if decoded else self.decoders
            if decoders:
                self.decode(values, decoders)
            deferred = {}
            for index, field, codec in self.relations:
                value = values[index]
                resolved = self._foreign_key(field, codec, value)
                if resolved is base.DEFER_FIELD:
                    deferred[field] = value
                    resolved = None
                values[index] = resolved
            m2m_data = {}
            for index, field, codec in self.many_to_many:
                value = values[index]
                keys = self._many_to_many(field, codec, value)
                if keys is base.DEFER_FIELD:
                    deferred[field] = value
                else:
                    m2m_data[field.name] = keys
        except _Undecodable as exc:
            raise self.invalid(exc.value, exc.__cause__, line, exc.field) from exc.__cause__
        except DumpError:  # about an earlier row: its batch, completed by a lookup's query
            raise
        except Exception as exc:
            raise self.invalid(value, exc, line, field) from exc
        if self.lane is not None and not deferred:
            row_of, key = self.lane
            if values[key] is not None:
                if texts_sent and self.lane_with_texts_sent is not None:
                    return DumpedRow(self, values, self.lane_with_texts_sent(values), values[key],
                                     m2m_data, line, texts_sent=True)
                return DumpedRow(self, values, row_of(values), values[key], m2m_data, line)
        if self.as_dumped:
            self.decode_as_dumped(values, line)
        dumped = DumpedObject(self.instance(values, line), m2m_data, deferred, self.reader.path,
                              line, self.saver, self.deserializer)
        if kept is not None:
            dumped.dumped_texts = (self, kept, [values[decoder[0]] for decoder in self.texts_kept])
        return dumped

    def decode_as_dumped(self, values: list[Any], line: int) -> None:
        """Decode, in place, the values a lane's row keeps as dumped
        (``as_dumped``), for a row that needs its instance after all."""
        try:
            self.decode(values, self.as_dumped)
        except _Undecodable as exc:
            raise self.invalid(exc.value, exc.__cause__, line, exc.field) from exc.__cause__

    def invalid(self, value: Any, exc: Any, line: int, field: Any) -> DumpError:
        return self.error("invalid value %s: %s" % (shorten(repr(value)), reason_of(exc)), line,
                          field.name)

    def instance(self, values: list[Any], line: int) -> Any:
        """The model instance of a row of decoded values, as loaddata makes it."""
        if self.plain_attnames is not None:
            instance = self.model.__new__(self.model)
            instance._state = ModelState()
            instance.__dict__.update(zip(
                self.plain_attnames,
                # positions is set whenever plain_attnames is
                [values[index] for index in self.positions],  # type: ignore[union-attr]
            ))
        elif self.positions is not None:
            instance = self.model(*[values[index] for index in self.positions])
        else:
            data = {attname: values[index] for attname, index in self.attributes}
            if self.has_pk or not self.lookups:
                instance = self.model(**data)
            else:
                try:
                    instance = base.build_instance(self.model, data, self.using)
                except Exception as exc:  # natural_key() needs a field the row lacks
                    raise self.error(
                        "cannot make this row's natural key: %s" % reason_of(exc), line
                    ) from exc
        return instance

    def _foreign_key(self, field: Any, codec: Any, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return self._natural_key(field, value, base.deserialize_fk_value)
        if type(value) in codec.as_is:
            return value
        return codec.decode(value)

    def _many_to_many(self, field: Any, codec: Any, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError("a many-to-many value is a list of keys")
        if not any(isinstance(key, list) for key in value):
            return codec.decode(value)
        keys = []
        for key in value:
            if isinstance(key, list):
                key = self._natural_key(field, key, _natural_m2m_key)
                if key is base.DEFER_FIELD:
                    return base.DEFER_FIELD
                keys.append(key)
            else:
                keys.extend(codec.decode([key]))
        return keys

    def _natural_key(
        self, field: Any, natural_key: list[Any], resolve: Callable[[Any, Any, str, bool], Any],
    ) -> Any:
        """Resolve a natural key once per load: a site's rows repeat the same few."""
        if not self.lookups:
            return base.DEFER_FIELD
        try:
            cache_key = (field, tuple(natural_key))
            return self.deserializer.natural_keys[cache_key]
        except TypeError:
            return resolve(field, natural_key, self.using, self.forward)
        except KeyError:
            pass
        resolved = resolve(field, natural_key, self.using, self.forward)
        if resolved is not base.DEFER_FIELD:
            self.deserializer.natural_keys[cache_key] = resolved
        return resolved


def _values_at(indexes: Sequence[int]) -> Callable[[list[Any]], Sequence[Any]]:
    """A function giving the tuple of a list's values at ``indexes``."""
    if len(indexes) > 1:
        return itemgetter(*indexes)
    return lambda values: (values[indexes[0]],)


def _plain_data(field: Any) -> bool:
    """Whether the decoded values of ``field`` are plain data that a worker
    can send as they are: those of Django's own field classes (numbers, text,
    dates and times, decimals, UUIDs, bytes), not a JSONField's (its decoder
    may be the project's, and JSON null is an expression) nor a field's own
    ``to_python`` (any object)."""
    target = field.target_field if field.is_relation else field
    return builtin_kind(type(target)) not in (None, models.JSONField)


class _Undecodable(Exception):
    """A value of ``field`` that its codec refuses (the cause)."""

    def __init__(self, field: Any, value: Any) -> None:
        self.field = field
        self.value = value


def _natural_m2m_key(field: Any, natural_key: Sequence[Any], using: str, forward: bool) -> Any:
    """The key of the object a many-to-many natural key names."""
    manager = field.remote_field.model._default_manager.db_manager(using)
    try:
        return manager.get_by_natural_key(*natural_key).pk
    except ObjectDoesNotExist:
        if forward:
            return base.DEFER_FIELD
        raise
