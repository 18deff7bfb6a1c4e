"""The "py" Serializer: database rows -> value codec -> chunk writer.

Given model instances (as ``dumpdata`` passes them) or querysets (read as
plain value tuples, as ``dump2py`` passes them), it writes either one file
(a stream, or a string it returns) or, when the stream is a file named
``restore.py``, a directory dump: chunk files beside it and ``restore.py``
as the manifest, written last.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import replace
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any, NamedTuple

import django
from django.core.serializers import base
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.query import QuerySet

from .. import __version__
from ..collecting import fewer_collections
from ..errors import DumpWriteError, shorten
from ..files import manifest
from ..files.grammar import json_value
from ..files.safefiles import make_private
from .dumpoptions import DumpObserver, DumpOptions
from .media import DumpedMedia, MediaFolder, dump_media
from .ordering import loading_order
from .rows import Block, Row, blocks_from_objects, blocks_from_queryset
from .writer import ChunkWriter, DirectoryWriter, SingleFileWriter, WrittenChunk, utf8_writer

WriteTables = Callable[[Iterable[Block], ChunkWriter, DumpOptions], "Written"]


class Serializer(base.Serializer):
    """Serialize to Python dumps (format "py").

    ``write_tables(blocks, writer, options)`` is how the blocks reach the
    writer, returning what was ``Written``: ``write_blocks`` (one table after
    another, in this process) unless another way is given, such as
    ``parallel.ParallelTables`` (``dump2py --jobs``).
    """

    internal_use_only = False

    def __init__(self, write_tables: WriteTables | None = None) -> None:
        self.write_tables = write_tables or write_blocks
        self.media = DumpedMedia()  # what the dump's media files were (options.media)

    def serialize(
        self,
        queryset: Any,
        *,
        stream: Any = None,
        fields: Any = None,
        use_natural_foreign_keys: Any = False,
        use_natural_primary_keys: bool = False,
        progress_output: Any = None,
        object_count: int = 0,
        dump_options: DumpOptions | None = None,
        **options: Any,
    ) -> Any:
        """Write ``queryset`` (instances, a queryset, or an iterable of querysets).

        ``dump_options`` (DumpOptions) says how; without it, the options are
        built from the keyword options (``max_row_count``, ``compress``,
        ``natural_keys``, ``observer``, ... as DumpOptions names them) and
        Django's own.
        """
        self.options = options
        self.stream = stream if stream is not None else self.stream_class()
        self.use_natural_foreign_keys = use_natural_foreign_keys
        self.use_natural_primary_keys = use_natural_primary_keys
        self.progress = self.progress_class(progress_output, object_count)
        directory = manifest.is_manifest_path(getattr(self.stream, "name", None))
        if dump_options is None:
            dump_options = DumpOptions.from_keywords(
                dict(options, fields=fields, natural_foreign=use_natural_foreign_keys,
                     natural_primary=use_natural_primary_keys),
                directory,
            )
        if progress_output is not None:
            dump_options = replace(
                dump_options, observer=_ProgressBar(self.progress, dump_options.observer)
            )
        blocks = blocks_of(queryset, dump_options)
        if dump_options.writer is not None:
            written = self.write_tables(blocks, dump_options.writer, dump_options)
            if dump_options.media:
                self.media = dump_media(written.models, written.using, MediaFolder(None),
                                        dump_options)
        elif directory:
            self._write_directory(blocks, dump_options)
        else:
            self.write_tables(
                blocks, SingleFileWriter(self.stream), replace(dump_options, on_block_error=None)
            )
        return self.getvalue()

    def _write_directory(self, blocks: Iterable[Block], options: DumpOptions) -> None:
        directory = os.path.dirname(os.path.abspath(self.stream.name))
        make_private(self.stream, own_file=True)
        writer = DirectoryWriter(directory, options.max_row_count, options.compress)
        media_folder = MediaFolder(directory)
        try:
            written = self.write_tables(blocks, writer, options)
            order = [model._meta.label_lower for model in loading_order(written.models)]
            files = writer.publish(order)
            if options.media:
                self.media = dump_media(written.models, written.using, media_folder, options)
                media_folder.publish()
            self.manifest = dump_origin(written.using)
            self.manifest.files = files
            self.manifest.media = self.media.entries
            self.manifest.missing_media = self.media.missing
            self.manifest.skipped = written.skipped
            self.manifest.left_out = [list(entry) for entry in options.left_out]
            write = utf8_writer(self.stream)
            write(manifest.render(self.manifest))
            self.stream.flush()
            _fsync(self.stream)
        except BaseException:
            writer.abort()
            media_folder.abort()
            raise

    def getvalue(self) -> Any:
        if callable(getattr(self.stream, "getvalue", None)):
            return self.stream.getvalue()


class Written(NamedTuple):
    """What a dump wrote: the models, in the order met; the models skipped
    (``on_block_error``) as [label, table, reason]; the database read last."""

    models: list[Any]
    skipped: list[list[str]]
    using: str | None


class TableError(Exception):
    """A table that stopped the dump, named by the dump itself: ``block`` is
    the block of its model."""

    def __init__(self, block: Block, message: str) -> None:
        super().__init__(message)
        self.block = block

    @property
    def table(self) -> str:
        """E.g. "table shop_order (model shop.order)"."""
        return "table %s (model %s)" % (self.block.model._meta.db_table, self.block.label)


class UnreadableTable(TableError, DatabaseError):
    """The database refused the rows of a table; the message is its own."""


class UnwritableTable(TableError):
    """The rows of a table could not be written (``dump2py --jobs``: by a worker)."""


def blocks_of(source: Any, options: DumpOptions) -> Iterator[Block]:
    """The blocks of instances, a queryset, or an iterable of querysets. A
    sliced queryset holds chosen rows in its own order: it is read as the
    objects it holds, as ``json`` reads it."""

    def of_queryset(queryset: Any) -> Iterable[Block]:
        natural = options.natural_for(queryset.model)
        if queryset.query.is_sliced:
            return blocks_from_objects(queryset, options.fields, *natural)
        return [blocks_from_queryset(queryset, options.fields, *natural)]

    if isinstance(source, QuerySet) and not source.query.is_sliced:
        return iter(of_queryset(source))
    items = iter(source)
    first = next(items, None)
    if isinstance(first, QuerySet):
        return chain.from_iterable(of_queryset(queryset) for queryset in chain([first], items))
    if first is None:
        return iter([])
    return blocks_from_objects(
        chain([first], items), options.fields, options.natural_foreign, options.natural_primary
    )


@fewer_collections()
def write_blocks(blocks: Iterable[Block], writer: ChunkWriter, options: DumpOptions) -> Written:
    """Write every block through ``writer``, one after another; return what
    was Written. A table the database refuses stops the dump as an
    UnreadableTable, unless ``options.on_block_error`` skips it."""
    models: list[Any] = []
    skipped: list[list[str]] = []
    using: str | None = None
    observer = options.observer
    for block in blocks:
        using = block.using
        if block.model not in models:
            models.append(block.model)
        observer.start_block(block)
        writer.start_model(block.label, block.model._meta.db_table, [c.name for c in block.columns])
        try:
            for rows in block.batches:
                lines = _lines(block, rows)
                observer.rows_read(block, len(lines))
                writer.write_rows(lines)
        except Exception as exc:
            if options.on_block_error is not None and options.on_block_error(block, exc):
                writer.discard_model()
                models.remove(block.model)
                skipped.append([block.label, block.model._meta.db_table, str(exc)])
                continue
            if isinstance(exc, DatabaseError) and not isinstance(exc, TableError):
                raise UnreadableTable(block, str(exc)) from exc
            raise
        observer.end_block(block, writer.end_model())
    return Written(models, skipped, using)


def _lines(block: Block, rows: list[Row]) -> list[str]:
    """Rows of JSON values -> the lines of a chunk."""
    try:
        return [json_value(row) + ",\n" for row in rows]
    except Exception:
        for row in rows:
            try:
                json_value(row)
            except Exception as exc:
                raise DumpWriteError(
                    "%s: cannot write the row %s: %s" % (block.label, shorten(repr(row), 200), exc)
                ) from exc
        raise


class _ProgressBar(DumpObserver):
    """Django's progress bar (``dumpdata`` on a terminal), moved on as the rows
    are read, ahead of the dump's own ``observer``."""

    def __init__(self, bar: Any, observer: DumpObserver) -> None:
        self.bar = bar
        self.observer = observer
        self.count = 0

    def start_block(self, block: Block) -> None:
        self.observer.start_block(block)

    def rows_read(self, block: Block, count: int) -> None:
        self.count += count
        self.bar.update(self.count)
        self.observer.rows_read(block, count)

    def end_block(self, block: Block, files: list[WrittenChunk]) -> None:
        self.observer.end_block(block, files)


def _fsync(stream: Any) -> None:
    try:
        os.fsync(stream.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def dump_origin(using: str | None) -> manifest.Manifest:
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
