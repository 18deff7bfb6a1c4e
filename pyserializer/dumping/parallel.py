"""``dump2py --jobs N``: one dump written by N processes that read one snapshot.

Why processes: turning rows into text is CPU-bound Python, which threads
would run one at a time. Why chunks rather than tables: a site often keeps
most of its rows in one table, and the dump can go no faster than its
largest unit of work; a chunk (``--max-row-count`` rows of a model in
primary key order) is the unit, so that N processes share even that table.
Why PostgreSQL and MariaDB/MySQL only: a dump must show the database at one
moment, so every worker must read the snapshot the parent reads
(``snapshot.shared_snapshot``). PostgreSQL exports it and each worker imports
it, as ``pg_dump -j`` does. MariaDB cannot hand a snapshot over; for the
moment the workers start theirs, the parent holds a global read lock, under
which no write commits, as mydumper does. SQLite cannot (see
``reason_not_to_split``), and gets ``--jobs 1`` rather than an inconsistent
dump.

How: ``ParallelTables`` is the Serializer's way of writing the tables
(``Serializer(write_tables=ParallelTables(jobs))``); the Serializer does
everything else as for one process. Inside its snapshot (``read_snapshot``),
the parent shares it, forks the workers, and once each has opened the
snapshot (the lock, on MariaDB, ends then), finds the primary key that begins
each chunk of each model. Forked, the workers inherit the models and the
DumpOptions as they are, with nothing to pickle. A worker leaves the parent's
database connections alone, without ever closing them (that would end the
parent's session, and with it the snapshot), opens its own, opens the shared
snapshot, and writes whole chunk files for the chunks it is given with
``write_blocks``, the one-process code, and a writer of the dump started at
the chunk (``for_chunk``). The parent hands out the chunks, full ones first,
gathers the finished files, and publishes them with the manifest exactly as a
one-process dump would: same names, same bytes, same manifest entries in the
same order.
"""

import multiprocessing
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import IO, Any, NamedTuple

from django.db import DatabaseError, connections
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from tqdm import tqdm

from ..errors import DumpWriteError, one_line
from ..tables import key_attnames, keys_of, unused_name
from ..workers import start_worker
from .dumpoptions import DumpObserver, DumpOptions
from .rows import Block
from .serializer import UnreadableTable, UnwritableTable, Written, blocks_of, write_blocks
from .snapshot import SharedSnapshot, missing_lock_privilege, shared_snapshot
from .writer import ChunkWriter, SharedChunkWriter, WrittenChunk


def reason_not_to_split(using: str) -> str | None:
    """Why database ``using`` cannot be dumped by several processes, or None."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "mysql"):
        return (
            "%s cannot share one snapshot between processes, so parallel workers "
            "would each see the database at a different moment; only PostgreSQL and "
            "MariaDB/MySQL can" % connection.display_name
        )
    if connection.in_atomic_block:
        return (
            "the connection is inside a transaction, whose uncommitted rows other "
            "connections cannot see"
        )
    if connection.vendor == "mysql":
        user = missing_lock_privilege(using)
        if user is not None:
            return (
                "the database user %s lacks the RELOAD privilege, which the brief global "
                "read lock (FLUSH TABLES WITH READ LOCK) that gives every worker the same "
                "snapshot needs (GRANT RELOAD ON *.* TO ...)" % user
            )
    return None


class Chunk(NamedTuple):
    """One chunk file to write: the rows of ``blocks[model_index]``'s queryset
    from primary key ``start`` (included) to ``end`` (excluded); None is open."""

    model_index: int
    stem: str
    part: int
    first_row: int
    start: Any
    end: Any


class ParallelTables:
    """How ``dump2py --jobs N`` writes the tables of a directory dump: ``jobs``
    worker processes write their chunks; whole querysets of one PostgreSQL or
    MariaDB/MySQL database only. A Serializer's ``write_tables``."""

    def __init__(self, jobs: int, bar_stream: IO[str] | None = None) -> None:
        self.jobs = jobs
        self.bar_stream = bar_stream

    def __call__(
        self, blocks: Iterable[Block], writer: ChunkWriter, options: DumpOptions
    ) -> Written:
        """Plan the chunks, have the workers write them, adopt their files."""
        if not isinstance(writer, SharedChunkWriter):
            raise ValueError("a parallel dump writes a directory dump")
        blocks = list(blocks)
        if any(block.queryset is None for block in blocks):
            raise ValueError("a parallel dump reads whole querysets, not slices")
        if len({block.using for block in blocks}) > 1:
            raise ValueError("a parallel dump reads one database")
        if not blocks:
            return Written([], [], None)
        using = blocks[0].using
        with shared_snapshot(using) as snapshot:
            self._run_workers(blocks, writer, options, snapshot)
        written = writer.written()
        for block in blocks:
            files = [chunk for chunk in written if chunk.label == block.label]
            options.observer.end_block(block, files)
        return Written([block.model for block in blocks], [], using)

    def _plan(self, blocks: list[Block], writer: SharedChunkWriter) -> list[Chunk]:
        """Every chunk of every model, full ones first: no worker should be
        left alone with a long chunk at the end."""
        size = writer.max_row_count
        chunks: list[Chunk] = []
        for index, block in enumerate(blocks):
            stem = writer.stem_of(block.label, block.model._meta.db_table)
            starts = chunk_starts(block.queryset, size)
            bounds = zip([None] + starts, starts + [None])
            for part, (start, end) in enumerate(bounds, start=1):
                chunks.append(Chunk(index, stem, part, (part - 1) * size + 1, start, end))
        chunks.sort(key=lambda chunk: chunk.end is None)
        return chunks

    def _run_workers(
        self,
        blocks: list[Block],
        writer: SharedChunkWriter,
        options: DumpOptions,
        snapshot: SharedSnapshot,
    ) -> None:
        """Start the workers; once each has opened the snapshot, plan the
        chunks and hand them out, a chunk at a time, until all are written."""
        context = multiprocessing.get_context("fork")
        busy: dict[Any, Any] = {}  # a worker's end of its pipe -> (its process, the chunk it writes)
        workers: list[Any] = []
        pipe: Any  # a Connection: wait() returns the objects it was given
        finished = False
        bar = None
        try:
            for _ in range(self.jobs):
                ours, theirs = context.Pipe()
                parent_ends = [pipe for _, pipe in workers] + [ours]
                process = context.Process(
                    target=_work, daemon=True,
                    args=(theirs, parent_ends, blocks, options, snapshot, writer),
                )
                process.start()
                theirs.close()
                workers.append((process, ours))
            for process, pipe in workers:
                _opened(pipe, process)
            snapshot.all_opened()
            chunks = self._plan(blocks, writer)
            for block in blocks:
                options.observer.start_block(block)
            if self.bar_stream is not None:
                bar = tqdm(total=len(chunks), desc="Dumping", unit=" files",
                           file=self.bar_stream, dynamic_ncols=True)
            to_do = deque(chunks)
            for process, pipe in workers:
                next_chunk = to_do.popleft() if to_do else None
                pipe.send(next_chunk)
                if next_chunk is not None:
                    busy[pipe] = (process, next_chunk)
            while busy:
                for pipe in wait(list(busy)):
                    process, chunk = busy.pop(pipe)
                    block = blocks[chunk.model_index]
                    written = _result(pipe, process, block)
                    writer.adopt(written)
                    options.observer.rows_read(block, sum(file.rows for file in written))
                    if bar is not None:
                        bar.update(1)
                    next_chunk = to_do.popleft() if to_do else None
                    pipe.send(next_chunk)
                    if next_chunk is not None:
                        busy[pipe] = (process, next_chunk)
            finished = True
        finally:
            for process, pipe in workers:
                if not finished:  # a failure, Ctrl-C or SIGTERM: the others stop too
                    process.terminate()
                process.join()
                pipe.close()
            if bar is not None:
                bar.close()
        _check_chunks_join_up(writer, blocks, chunks)


def _opened(pipe: Connection, process: BaseProcess) -> None:
    """Wait until a worker has opened the snapshot; its failure to, as a DatabaseError."""
    try:
        outcome, *details = pipe.recv()
    except EOFError:
        process.join()
        raise DatabaseError(
            "a worker process ended before it opened the snapshot (exit code %s)"
            % process.exitcode)
    if outcome == "failed":
        raise DatabaseError("a worker process could not open the snapshot: %s" % details[0])


def _result(pipe: Connection, process: BaseProcess, block: Block) -> list[WrittenChunk]:
    """The files a worker wrote for its chunk; its failure as a TableError."""
    try:
        outcome, *details = pipe.recv()
    except EOFError:
        process.join()
        raise UnwritableTable(block, "its worker process ended (exit code %s)" % process.exitcode)
    if outcome == "failed":
        message, reading = details
        raise (UnreadableTable if reading else UnwritableTable)(block, message)
    return details[0]


def _work(
    pipe: Connection,
    parent_ends: list[Connection],
    blocks: list[Block],
    options: DumpOptions,
    snapshot: SharedSnapshot,
    parent_writer: SharedChunkWriter,
) -> None:
    """A worker process: write the chunks the parent sends, until None. It
    tells nobody but the parent of its rows: the observer is the parent's."""
    start_worker(parent_ends)
    options = replace(options, observer=DumpObserver(), on_block_error=None)
    try:
        with snapshot.opened():
            pipe.send(("opened",))
            while (chunk := pipe.recv()) is not None:
                pipe.send(("written", _write_chunk(chunk, blocks, options, parent_writer)))
    except (EOFError, BrokenPipeError):
        pass  # the parent is gone, and with it the dump
    except Exception as exc:
        pipe.send(("failed", one_line(exc),
                   isinstance(exc, DatabaseError)))
    finally:
        connections.close_all()


def _write_chunk(
    chunk: Chunk, blocks: list[Block], options: DumpOptions, parent_writer: SharedChunkWriter
) -> list[WrittenChunk]:
    """Write one chunk file with the one-process code, ``write_blocks``, and
    a writer of the dump started at the chunk's part."""
    queryset = blocks[chunk.model_index].queryset
    if chunk.start is not None:
        queryset = queryset.filter(pk__gte=chunk.start)
    if chunk.end is not None:
        queryset = queryset.filter(pk__lt=chunk.end)
    writer = parent_writer.for_chunk(
        queryset.model._meta.label_lower, chunk.stem, chunk.part, chunk.first_row
    )
    try:
        write_blocks(blocks_of([queryset], options), writer, options)
    except BaseException:
        writer.abort()
        raise
    return writer.written()


def chunk_starts(queryset: Any, size: int) -> list[Any]:
    """The primary keys that begin the 2nd, 3rd... chunk of ``size`` rows of
    ``queryset`` in primary key order: one pass over the table's key. The
    row number and its phase get names that no field of the model has."""
    key_names = key_attnames(queryset.model)
    position = unused_name(queryset, "position")
    phase = unused_name(queryset, "phase", taken=[position])
    return list(keys_of(
        queryset.order_by()
        .alias(**{position: Window(RowNumber(), order_by=[F(name).asc() for name in key_names])})
        .alias(**{phase: (F(position) - 1) % size})
        .filter(**{phase: 0, position + "__gt": 1})
        .order_by(*key_names)
    ))


def _check_chunks_join_up(
    writer: SharedChunkWriter, blocks: list[Block], chunks: list[Chunk]
) -> None:
    """Each model's chunks must follow one another with every one but the last
    full, as a one-process dump writes them; in one snapshot they always do."""
    planned: dict[str, int] = {}
    for chunk in chunks:
        label = blocks[chunk.model_index].label
        planned[label] = planned.get(label, 0) + 1
    for label, count in planned.items():
        written = [file for file in writer.written() if file.label == label]
        parts = [file.part for file in written]
        rows = [file.rows for file in written[:-1]]
        if parts != list(range(1, count + 1)) or any(n != writer.max_row_count for n in rows):
            raise DumpWriteError(
                "%s: the chunks written in parallel do not follow one another "
                "(parts %s, rows %s)" % (label, parts, [file.rows for file in written])
            )

