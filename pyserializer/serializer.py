"""The "py" Serializer: database rows -> value codec -> chunk writer.

Given model instances (as ``dumpdata`` passes them) or querysets (read as
plain value tuples, as ``dump2py`` passes them), it writes either one file
(a stream, or a string it returns) or, when the stream is a file named
``restore.py``, a directory dump: chunk files beside it and ``restore.py``
as the manifest, written last.
"""

import datetime
import os
from itertools import chain

import django
from django.conf import settings
from django.core.serializers import base
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.query import QuerySet

from . import __version__, manifest
from .codec import codec_for
from .compression import check_available
from .errors import DumpError, DumpWriteError
from .grammar import json_value
from .ordering import loading_order
from .rows import blocks_from_objects, blocks_from_queryset
from .safefiles import make_private
from .writer import DirectoryWriter, SingleFileWriter, utf8_writer

DEFAULT_MAX_ROW_COUNT = 50000


def max_row_count_setting():
    return getattr(settings, "PYSERIALIZER_MAX_ROW_COUNT", DEFAULT_MAX_ROW_COUNT)


def chosen_compression(compress=None):
    """The compression of a directory dump's chunks ("gzip", "zstd" or None):
    ``compress``, else the PYSERIALIZER_COMPRESS setting; "none" says none."""
    if compress is None:
        compress = getattr(settings, "PYSERIALIZER_COMPRESS", None)
    return None if compress == "none" else compress


class Serializer(base.Serializer):
    """Serialize to Python dumps (format "py")."""

    internal_use_only = False

    def serialize(
        self,
        queryset,
        *,
        stream=None,
        fields=None,
        use_natural_foreign_keys=False,
        use_natural_primary_keys=False,
        progress_output=None,
        object_count=0,
        max_row_count=None,
        compress=None,
        on_block_error=None,
        observer=None,
        natural_keys=None,
        writer=None,
        left_out=(),
        **options,
    ):
        """Write ``queryset`` (instances, a queryset, or an iterable of querysets).

        ``max_row_count`` caps the rows per chunk file of a directory dump;
        ``compress`` ("gzip", "zstd" or "none") is how its chunks are
        compressed (default: the PYSERIALIZER_COMPRESS setting).
        ``on_block_error(block, exc)`` may return True to skip a model whose
        rows cannot be read (``dump2py --tolerate``); it is then listed in
        the manifest's SKIPPED. The last three options are for ``dump2py``:
        ``observer`` is told about each block (see DumpObserver);
        ``natural_keys(model)`` returns (natural_foreign, natural_primary) per
        queryset, overriding the two flags; ``writer`` replaces the writer
        chosen from the stream (``--simulate`` passes one that writes nothing);
        ``left_out`` lists the models not dumped as [label, reason], for the
        manifest's LEFT_OUT.
        """
        self.options = options
        self.stream = stream if stream is not None else self.stream_class()
        self.use_natural_foreign_keys = use_natural_foreign_keys
        self.use_natural_primary_keys = use_natural_primary_keys
        self.progress = self.progress_class(progress_output, object_count)
        self.written = 0
        self.skipped = []
        self.observer = observer or DumpObserver()
        self.natural_keys = natural_keys
        self.left_out = [list(entry) for entry in left_out]
        blocks = self._blocks(queryset, fields)
        if writer is not None:
            self._write_all(blocks, writer, on_block_error)
        elif manifest.is_manifest_path(getattr(self.stream, "name", None)):
            if max_row_count is None:
                max_row_count = max_row_count_setting()
            compress = chosen_compression(compress)
            self._write_directory(blocks, max_row_count, compress, on_block_error)
        else:
            self._write_all(blocks, SingleFileWriter(self.stream), on_block_error=None)
        return self.getvalue()

    def _blocks(self, source, fields):
        natural = {
            "natural_foreign": self.use_natural_foreign_keys,
            "natural_primary": self.use_natural_primary_keys,
        }

        def of_queryset(queryset):
            """The blocks of one queryset. A sliced one holds chosen rows in its
            own order: it is read as the objects it holds, as ``json`` reads it."""
            options = natural
            if self.natural_keys is not None:
                foreign, primary = self.natural_keys(queryset.model)
                options = {"natural_foreign": foreign, "natural_primary": primary}
            if queryset.query.is_sliced:
                return blocks_from_objects(queryset, fields, **options)
            return [blocks_from_queryset(queryset, fields, **options)]

        if isinstance(source, QuerySet) and not source.query.is_sliced:
            return iter(of_queryset(source))
        items = iter(source)
        first = next(items, None)
        if isinstance(first, QuerySet):
            return chain.from_iterable(of_queryset(queryset) for queryset in chain([first], items))
        if first is None:
            return iter([])
        return blocks_from_objects(chain([first], items), fields, **natural)

    def _write_all(self, blocks, writer, on_block_error):
        """Write every block; return the models written and the last database used."""
        written_models = []
        using = None
        for block in blocks:
            using = block.using
            if block.model not in written_models:
                written_models.append(block.model)
            self.observer.start_block(block)
            writer.start_model(block.label, block.model._meta.db_table, [c.name for c in block.columns])
            try:
                for lines in self._encoded_batches(block):
                    writer.write_rows(lines)
            except Exception as exc:
                if on_block_error is None or not on_block_error(block, exc):
                    raise
                writer.discard_model()
                written_models.remove(block.model)
                self.skipped.append([block.label, block.model._meta.db_table, str(exc)])
                continue
            self.observer.end_block(block, writer.end_model())
        return written_models, using

    def _encoded_batches(self, block):
        encoders = [
            (index, codec.encode)
            for index, codec in enumerate(map(codec_for, block.columns))
            if codec.encode is not None and index not in block.ready_columns
        ]
        for batch in block.batches:
            lines = []
            for row in batch:
                try:
                    for index, encode in encoders:
                        value = row[index]
                        if value is not None:
                            row[index] = encode(value)
                    lines.append(json_value(row) + ",\n")
                except Exception as exc:
                    raise DumpWriteError(
                        "%s: cannot write the row %s: %s" % (block.label, _short_row(row), exc)
                    ) from exc
            self.written += len(lines)
            self.progress.update(self.written)
            self.observer.rows_read(block, len(lines))
            yield lines

    def _write_directory(self, blocks, max_row_count, compress, on_block_error):
        try:
            check_available(compress)
        except (ValueError, DumpError) as exc:
            raise DumpWriteError("cannot compress the dump: %s" % exc) from exc
        directory = os.path.dirname(os.path.abspath(self.stream.name))
        make_private(self.stream, own_file=True)
        writer = DirectoryWriter(directory, max_row_count, compress)
        try:
            written_models, using = self._write_all(blocks, writer, on_block_error)
            order = [model._meta.label_lower for model in loading_order(written_models)]
            files = writer.publish(order)
            self.manifest = dump_origin(using)
            self.manifest.files = files
            self.manifest.skipped = self.skipped
            self.manifest.left_out = self.left_out
            write = utf8_writer(self.stream)
            write(manifest.render(self.manifest))
            self.stream.flush()
            _fsync(self.stream)
        except BaseException:
            writer.abort()
            raise

    def getvalue(self):
        if callable(getattr(self.stream, "getvalue", None)):
            return self.stream.getvalue()


class DumpObserver:
    """What a dump tells its observer (``dump2py``: progress bars, savepoints).

    ``start_block`` comes before a model's first row is read, ``rows_read``
    after each batch is encoded, ``end_block`` once its rows are all written,
    with the chunk files they went to (``writer.WrittenChunk``; none when the
    dump is one file or nothing is written); a model skipped through
    ``on_block_error`` gets no ``end_block``.
    """

    def start_block(self, block):
        pass

    def rows_read(self, block, count):
        pass

    def end_block(self, block, files):
        pass


def _fsync(stream):
    try:
        os.fsync(stream.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def _short_row(row, limit=200):
    text = repr(row)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dump_origin(using):
    """A Manifest saying where and when the data was taken, without files yet."""
    connection = connections[using or "default"]
    recorder = MigrationRecorder(connection)
    migrations = sorted(recorder.applied_migrations()) if recorder.has_table() else []
    return manifest.Manifest(
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        pyserializer_version=__version__,
        django_version=django.get_version(),
        database_vendor=connection.vendor,
        migrations=[list(key) for key in migrations],
    )
