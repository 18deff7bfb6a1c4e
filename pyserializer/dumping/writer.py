"""The chunk writer: rows already turned into text -> files on disk.

It knows files, not fields: where each model's rows go, when a chunk is full,
and what each file's size and checksum are. Its files are made by
``safefiles`` (private, never through a link); chunks are written under a
temporary name and renamed once the whole dump is written, and the manifest
(``restore.py``) is written last, so that an interrupted dump never looks
complete. Every writer is a ``ChunkWriter``, the interface the Serializer
writes to.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import DumpWriteError
from ..files import grammar, safefiles
from ..files.compression import SUFFIXES, Counted, compressing_writer
from ..files.manifest import FileEntry

MANIFEST_STEM = os.path.splitext(grammar.MANIFEST_NAME)[0]


class ChunkWriter(Protocol):
    """What the Serializer calls on the writer it writes a dump to:
    SingleFileWriter, DirectoryWriter, or NoOutput (``dump2py --simulate``)."""

    def start_model(self, label: str, table: str, columns: list[str]) -> None:
        """Begin the rows of model ``label`` (table ``table``, fields ``columns``)."""

    def write_rows(self, lines: list[str]) -> None:
        """Write rows already encoded, one line each."""

    def discard_model(self) -> None:
        """Leave out the model begun, whose rows could not be read (``--tolerate``)."""

    def end_model(self) -> list[WrittenChunk]:
        """End the model begun; return the chunk files it went to (WrittenChunk)."""

    def abort(self) -> None:
        """Remove whatever the dump wrote that was not published."""


@runtime_checkable
class SharedChunkWriter(ChunkWriter, Protocol):
    """A ChunkWriter whose chunks other processes may write (``dump2py --jobs``):
    each writes its chunks with a writer of its own (``for_chunk``), and this
    one ``adopt``s and publishes them."""

    max_row_count: int

    def stem_of(self, label: str, table: str) -> str:
        """The file stem of ``label``'s chunks."""

    def for_chunk(self, label: str, stem: str, part: int, first_row: int) -> SharedChunkWriter:
        """A new writer of the same dump whose next model begins at chunk ``part``."""

    def written(self) -> list[WrittenChunk]:
        """Every chunk closed so far, as WrittenChunks."""

    def adopt(self, chunks: Iterable[WrittenChunk]) -> None:
        """Take the WrittenChunks another writer of this dump wrote."""


def _model_header(
    label: str, table: str, columns: list[str], part: int | None, first_row: int
) -> str:
    comment = "# %s (table %s)" % (label, table)
    if part:
        comment += ", part %d, from row %d" % (part, first_row)
    return (
        comment
        + "\n"
        + grammar.assignment("MODEL", label)
        + grammar.assignment("FIELDS", columns)
        + grammar.block_start("ROWS")
    )


def _file_header() -> str:
    return "%s\n%s\n%s" % (
        grammar.data_only_note(),
        grammar.IMPORT_LINE,
        grammar.assignment("FORMAT", grammar.FORMAT_VERSION),
    )


def _block_end(rows: int) -> str:
    return "%s# %d row(s)\n" % (grammar.BLOCK_END, rows)


class SingleFileWriter:
    """All models, one block after another, into one text or binary stream."""

    def __init__(self, stream: Any) -> None:
        safefiles.make_private(stream)
        self._write = utf8_writer(stream)
        self._write(_file_header())
        self._rows = 0

    def start_model(self, label: str, table: str, columns: list[str]) -> None:
        self._rows = 0
        self._write("\n" + _model_header(label, table, columns, None, 1))

    def write_rows(self, lines: list[str]) -> None:
        self._rows += len(lines)
        self._write("".join(lines))

    def end_model(self) -> list[WrittenChunk]:
        """End the model's block; no file of its own: return no files."""
        self._write(_block_end(self._rows))
        return []

    def discard_model(self) -> None:
        """A stream cannot take back the rows it was given: refuse."""
        raise DumpWriteError(
            "a dump to one file cannot leave out a model whose rows it has begun "
            "to write; dump to a directory (restore.py) to skip tables"
        )

    def abort(self) -> None:
        pass


def utf8_writer(stream: Any) -> Callable[[str], Any]:
    """Write text as UTF-8 whatever the stream's own encoding is."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        return lambda text: buffer.write(text.encode("utf-8"))
    try:
        stream.write("")
    except TypeError:
        return lambda text: stream.write(text.encode("utf-8"))
    return stream.write


@dataclass
class WrittenChunk:
    """A finished chunk waiting under its temporary name to be published: what
    a worker of ``dump2py --jobs`` hands back to the writer that publishes it."""

    directory: str
    stem: str
    label: str
    part: int
    first_row: int
    compress: str | None
    rows: int
    size: int
    sha256: str
    partial_path: str
    seconds: float  # the time its rows took to read, encode and write

    def publish(self, name: str) -> FileEntry:
        """Give the chunk its final name and return its entry."""
        os.replace(self.partial_path, os.path.join(self.directory, name))
        return FileEntry(name, self.label, self.rows, self.size, self.sha256)

    def discard(self) -> None:
        if os.path.lexists(self.partial_path):
            os.remove(self.partial_path)


class _ChunkFile:
    """One chunk being written, plain or through a compressor; its size and
    SHA-256 are those of the bytes stored on disk."""

    def __init__(self, directory: str, stem: str, label: str, table: str, columns: list[str],
                 part: int, first_row: int, compress: str | None = None,
                 started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.directory = directory
        self.stem = stem
        self.part = part
        self.first_row = first_row
        self.label = label
        self.compress = compress
        self.rows = 0
        self.partial_path = safefiles.partial_path(
            os.path.join(directory, "%s_%d.py" % (stem, part))
        )
        self._file = os.fdopen(safefiles.create_private(self.partial_path), "wb")
        if compress is None:
            self._out = self._stored = Counted(self._file)
        else:
            self._out, self._stored = compressing_writer(compress, self._file)
        self.write(_file_header() + _model_header(label, table, columns, part, first_row))

    @property
    def size(self) -> int:
        return self._stored.size

    def write(self, text: str) -> None:
        self._out.write(text.encode("utf-8"))

    def close(self) -> WrittenChunk:
        """Finish the file; return it as a WrittenChunk."""
        self.write(_block_end(self.rows))
        self._end_compression()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return WrittenChunk(
            self.directory, self.stem, self.label, self.part, self.first_row, self.compress,
            self.rows, self.size, self._stored.digest.hexdigest(), self.partial_path,
            time.monotonic() - self.started,
        )

    def _end_compression(self) -> None:
        """Finish the compressed stream and let the compressor go: a dump keeps
        every chunk until it publishes them, but not their compressors' memory."""
        if self._out is not self._stored:
            out, self._out = self._out, self._stored
            out.close()  # type: ignore[attr-defined]  # a compressor, never Counted

    def discard(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._end_compression()
        self._file.close()
        if os.path.lexists(self.partial_path):
            os.remove(self.partial_path)


def _unique_name(  # type: ignore[return]  # _stems_to_try never ends
    chunk: WrittenChunk, only_part: bool, label: str, taken: AbstractSet[str]
) -> str:
    """``<stem>.py`` or ``<stem>_N.py`` (then ``.gz`` or ``.zst`` when compressed),
    made unique when another table's chunk has taken it: ``<stem>_<label>``,
    then that with a number."""
    suffix = ".py" + SUFFIXES.get(chunk.compress, "")  # type: ignore[arg-type]  # None: ""

    def named(stem: str) -> str:
        return stem + suffix if only_part else "%s_%d%s" % (stem, chunk.part, suffix)

    labelled = grammar.safe_file_stem("%s_%s" % (chunk.stem, label))
    for stem in _stems_to_try(chunk.stem, labelled):
        if named(stem) not in taken:
            return named(stem)


def _stems_to_try(stem: str, fallback: str) -> Iterator[str]:
    """``stem``, then ``fallback``, then ``fallback_2``, ``fallback_3``...: the
    stems a model's files may take, in order, until one is free."""
    yield stem
    yield fallback
    for number in itertools.count(2):
        yield "%s_%d" % (fallback, number)


class DirectoryWriter:
    """Each model into ``<db_table>.py`` or ``<db_table>_N.py`` chunks, compressed
    with ``compress`` ("gzip" or "zstd") when it is given.

    A model's chunks are ``_ChunkFile`` while written, ``WrittenChunk`` once
    closed. ``dump2py --jobs`` splits a model between writers in other
    processes (``for_chunk``) and gathers their chunks in one (``adopt``):
    a DirectoryWriter is a SharedChunkWriter.
    """

    def __init__(self, directory: str, max_row_count: int, compress: str | None = None) -> None:
        if max_row_count < 1:
            raise ValueError("the chunk size must be at least one row")
        self.directory = directory
        self.max_row_count = max_row_count
        self.compress = compress
        self._chunks: dict[str, list[_ChunkFile | WrittenChunk]] = {}
        self._stems: dict[str, str | None] = {MANIFEST_STEM: None}  # stem -> the label whose chunks have it
        self._first_chunk: dict[str, tuple[str, int, int]] = {}
        self._current = None
        self._model: Any = None
        self._open: Any = None
        self._clock: float | None = None  # when the rows of the next chunk began to be read

    def start_model(self, label: str, table: str, columns: list[str]) -> None:
        self._model = (label, table, columns)
        self._chunks.setdefault(label, [])
        self._open = None
        self._clock = time.monotonic()

    def stem_of(self, label: str, table: str) -> str:  # type: ignore[return]  # never ends
        """The file stem of ``label``'s chunks: its table's name, unless another
        model took that first; then ``<table>_<label>``, numbered if need be.
        No two models share a stem, so their chunks' temporary names differ,
        and none has the manifest's: ``loaddata DIR/restore.py`` takes
        ``restore.py.gz`` for another copy of the manifest."""
        labelled = grammar.safe_file_stem("%s_%s" % (table, label))
        for stem in _stems_to_try(grammar.safe_file_stem(table), labelled):
            if self._stems.setdefault(stem, label) == label:
                return stem

    def for_chunk(self, label: str, stem: str, part: int, first_row: int) -> DirectoryWriter:
        """A new writer of this dump whose next model ``label`` begins with
        chunk ``part``, holding its row ``first_row``, named after ``stem``:
        one chunk of a model whose other chunks other writers write."""
        writer = DirectoryWriter(self.directory, self.max_row_count, self.compress)
        writer._first_chunk[label] = (stem, part, first_row)
        return writer

    def _new_chunk(self) -> _ChunkFile:
        label, table, columns = self._model
        chunks = self._chunks[label]
        if chunks:
            last = chunks[-1]
            stem, part, first_row = last.stem, last.part + 1, last.first_row + last.rows
        else:
            stem, part, first_row = self._first_chunk.pop(label, None) or (  # type: ignore[arg-type]
                self.stem_of(label, table), 1, 1)
        chunk = _ChunkFile(
            self.directory, stem, label, table, columns, part, first_row, self.compress,
            self._clock,
        )
        chunks.append(chunk)
        return chunk

    def _close_open_chunk(self) -> None:
        chunks = self._chunks[self._model[0]]
        chunks[-1] = self._open.close()  # the open chunk is always its model's last
        self._open = None
        self._clock = time.monotonic()

    def write_rows(self, lines: list[str]) -> None:
        start = 0
        while start < len(lines):
            chunk = self._open
            if chunk is None or chunk.rows >= self.max_row_count:
                if chunk is not None:
                    self._close_open_chunk()
                chunk = self._open = self._new_chunk()
            room = self.max_row_count - chunk.rows
            part = lines[start : start + room]
            chunk.write("".join(part))
            chunk.rows += len(part)
            start += len(part)

    def discard_model(self) -> None:
        """Forget the chunks of the model being written (its rows could not be read)."""
        label = self._model[0]
        for chunk in self._chunks.pop(label, []):
            chunk.discard()
        self._open = None

    def end_model(self) -> list[WrittenChunk]:
        """Close the model's last chunk; return its chunks written here (WrittenChunks)."""
        label = self._model[0]
        if self._open is None and not self._chunks[label]:
            self._open = self._new_chunk()
        if self._open is not None:
            self._close_open_chunk()
        return list(self._chunks[label])  # type: ignore[arg-type]  # every chunk is closed now

    def written(self) -> list[WrittenChunk]:
        """Every chunk closed so far, as WrittenChunks to ``adopt`` elsewhere."""
        return [chunk for chunks in self._chunks.values() for chunk in chunks
                if isinstance(chunk, WrittenChunk)]

    def adopt(self, chunks: Iterable[WrittenChunk]) -> None:
        """Publish with this dump's chunks written by other writers (``dump2py
        --jobs``), in whatever order they finished."""
        for chunk in chunks:
            self._chunks.setdefault(chunk.label, []).append(chunk)
        for model_chunks in self._chunks.values():
            model_chunks.sort(key=lambda written: written.part)

    def publish(self, order: Iterable[str]) -> list[FileEntry]:
        """Rename every finished chunk to its final name; return manifest entries.

        ``order`` lists model labels in the order the loader should read them.
        """
        entries: list[FileEntry] = []
        taken: set[str] = set()
        for label in order:
            chunks = self._chunks.get(label, [])
            for chunk in chunks:
                # Published after end_model: every chunk is a WrittenChunk.
                name = _unique_name(chunk, len(chunks) == 1, label, taken)  # type: ignore[arg-type]
                taken.add(name)
                entries.append(chunk.publish(name))  # type: ignore[union-attr]
        safefiles.fsync_directory(self.directory)
        return entries

    def abort(self) -> None:
        """Remove every chunk of this dump that was not published."""
        for chunks in self._chunks.values():
            for chunk in chunks:
                chunk.discard()


class NoOutput:
    """The writer of ``dump2py --simulate``: every row is read and encoded as
    for a real dump, and then dropped; only its size is counted."""

    def __init__(self) -> None:
        self.size = 0

    def start_model(self, label: str, table: str, columns: list[str]) -> None:
        pass

    def write_rows(self, lines: list[str]) -> None:
        self.size += sum(len(line.encode("utf-8")) for line in lines)

    def discard_model(self) -> None:
        pass

    def end_model(self) -> list[WrittenChunk]:
        return []

    def abort(self) -> None:
        pass
