"""A restore's ``--jobs N``: chunks read ahead by N-1 worker processes.

Why: reading a chunk (checking each line as Python would read it, parsing
its values, the checksum) is the part of a restore that needs no database,
and it takes about a third of its time in one process. Writing stays with
one process: a restore is one transaction, and a transaction has one
connection. So the workers read and the parent writes, as ``pg_restore -j``
spreads its work over processes.

How: the workers are forked (they need nothing to be pickled to start) and
never touch a database connection. Worker ``k`` of ``n`` reads chunks
``k``, ``k + n``, ... of the loading order with the one-process reader,
``DumpReader.blocks``, and sends each block's names, its rows in batches,
and the chunk's size and checksum down its pipe. The parent takes the
chunks in the loading order, each from the worker that reads it, through a
``ChunkFromWorker``, which the deserializer reads as it reads a
``DumpReader``. So the rows, the order, the checks and the errors are those
of one process. A pipe holds little, so a worker is at most a batch or two
ahead of the parent, and memory stays bounded whatever the dump's size.

An error a worker finds comes to the parent at the place the one-process
reader would raise it, as the same DumpError. A worker that dies is named
with the chunk it was reading. When the parent stops for any reason (an
error, Ctrl-C, SIGTERM), ``ReadAhead`` ends the workers before the
restore's transaction rolls back.
"""

import fcntl
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ..errors import DumpError, Kind, one_line
from ..files.reader import DumpReader, Section
from ..files.safefiles import open_chunk
from ..workers import start_worker

# A batch of rows ends at this many rows or bytes of their lines, whichever comes first.
BATCH_ROWS = 1000
BATCH_BYTES = 1 << 19
# The kernel buffer asked for each pipe: a worker runs this far ahead of the parent.
PIPE_BYTES = 1 << 20

# The messages down a worker's pipe, by their first item.
BLOCK = "block"  # a block begins: its name, names, line, name lines
ROWS = "rows"  # whether decoded, whether texts sent, and a batch of rows: [(line, values), ...]
BLOCK_END = "block end"
CHUNK_END = "chunk end"  # the chunk's stored size and SHA-256
FAILED = "failed"  # the DumpError that ended the chunk


# How a worker decodes the rows of a block, given the reader and the block
# (or None: they are sent as read): a function that decodes a row in place,
# and one that puts what the database gets for the dumped texts of a batch
# of decoded rows after each row's values, and says whether it did (False:
# a text failed its check, and the rows are as they were), or None.
Decoder = Callable[[list[Any]], None]
TextsSender = Callable[[list[list[Any]]], bool]
DecoderOf = Callable[[Any, Section], tuple[Decoder, TextsSender | None] | None]


def chunk_readers(chunks: Sequence[tuple[str, str]], jobs: int, decoder_of: DecoderOf) -> Any:
    """A context manager that gives an iterator of readers of ``chunks``
    (path and model of each, in the loading order): read in this process
    when ``jobs`` is 1, else ahead of it by ``jobs - 1`` workers, which
    decode the rows with what ``decoder_of`` gives for each block."""
    workers = min(jobs - 1, len(chunks))
    if workers < 1:
        return _read_here(chunks)
    return ReadAhead(chunks, workers, decoder_of)


@contextmanager
def _read_here(chunks: Sequence[tuple[str, str]]) -> Iterator[Iterator[DumpReader]]:
    def readers() -> Iterator[DumpReader]:
        for path, _model in chunks:
            with open_chunk(path) as stream:
                yield DumpReader(stream, path)

    yield readers()


class ReadAhead:
    """``workers`` processes reading ``chunks`` for this one, which takes
    them in order; a context manager whose value iterates ChunkFromWorkers."""

    def __init__(self, chunks: Sequence[tuple[str, str]], workers: int,
                 decoder_of: DecoderOf) -> None:
        self.chunks = list(chunks)
        self.count = workers
        self.decoder_of = decoder_of
        self.workers: list[tuple[BaseProcess, Connection]] = []

    def __enter__(self) -> Iterator["ChunkFromWorker"]:
        context = multiprocessing.get_context("fork")
        try:
            for index in range(self.count):
                ours, theirs = context.Pipe(duplex=False)
                _enlarge(theirs)
                parent_ends = [pipe for _, pipe in self.workers] + [ours]
                process = context.Process(
                    target=_read_chunks, daemon=True,
                    args=(theirs, parent_ends, self.chunks[index::self.count], self.decoder_of),
                )
                process.start()
                theirs.close()
                self.workers.append((process, ours))
        except BaseException:
            self.stop()
            raise
        return self._in_order()

    def _in_order(self) -> Iterator["ChunkFromWorker"]:
        for index, (path, model) in enumerate(self.chunks):
            process, pipe = self.workers[index % self.count]
            yield ChunkFromWorker(path, model, process, pipe)

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """End the workers (done, failed or interrupted: none has more to say)."""
        for process, pipe in self.workers:
            if process.is_alive():
                process.terminate()
            process.join()
            pipe.close()
        self.workers = []


def _enlarge(pipe: Connection) -> None:
    """Ask for a larger kernel buffer (Linux), so that fewer sends wait."""
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # above the system's limit: the default buffer works too
            pass


class ChunkFromWorker:
    """A chunk a worker reads, seen as the DumpReader that reads it there:
    ``path``, ``blocks``, ``error``, and once read, ``size`` and ``sha256``."""

    def __init__(self, path: str, model: str, process: BaseProcess, pipe: Connection) -> None:
        self.path = path
        self.model = model
        self.process = process
        self.pipe = pipe
        self.size = 0
        self._sha256 = ""
        self._ended = False

    def error(self, problem: str, line: int | None = None, model: Any = None,
              field: Any = None, kind: Kind = Kind.INVALID) -> DumpError:
        return DumpError(problem, self.path, line, model, field, kind)

    def sha256(self) -> str:
        return self._sha256

    def blocks(self, model: str | None = None) -> Iterator[Section]:
        """The chunk's blocks, as ``DumpReader.blocks`` yields them (the
        worker checked them with it); each block's rows must be read before
        the next block."""
        while True:
            message = self._receive()
            if message[0] == CHUNK_END:
                self.size, self._sha256 = message[1:]
                self._ended = True
                return
            _, name, names, line, name_lines = message
            section = Section(name, names, line, None, name_lines)
            section.rows = self._rows(section)
            yield section

    def _rows(self, section: Section) -> Iterator[tuple[int, Any]]:
        while True:
            message = self._receive()
            if message[0] == BLOCK_END:
                return
            _, section.decoded, section.texts_sent, batch = message
            yield from batch

    def _receive(self) -> Any:
        if self._ended:
            raise self.error("the chunk was read to its end already")
        try:
            message = self.pipe.recv()
        except EOFError:
            self.process.join()
            raise self.error(
                "the worker process reading this chunk ended unexpectedly (exit code %s)"
                % self.process.exitcode, model=self.model, kind=Kind.UNREADABLE) from None
        if message[0] == FAILED:
            self._ended = True
            raise message[1]
        return message


def _read_chunks(pipe: Connection, parent_ends: list[Connection],
                 chunks: Sequence[tuple[str, str]], decoder_of: DecoderOf) -> None:
    """A worker process: read ``chunks`` in order, sending what each holds."""
    start_worker(parent_ends)
    try:
        for path, model in chunks:
            if not _send_chunk(pipe, path, model, decoder_of):
                break
    except BrokenPipeError:
        pass  # the parent is gone, and with it the restore


def _send_rows(pipe: Connection, reader: DumpReader, block: Section,
               decoding: tuple[Decoder, TextsSender | None] | None) -> None:
    """Send the rows of a block in batches, decoded (by ``decoding``) or as
    read: a row that does not decode is sent as read, for the parent to
    refuse as one process does. A batch of decoded rows goes with what the
    database gets for their dumped texts, when they pass their checks."""
    decode, send_texts = decoding if decoding is not None else (None, None)
    batch: list[tuple[int, Any]] = []
    decoded = decode is not None

    def send() -> None:
        sent = decoded and send_texts is not None and send_texts([row for _, row in batch])
        pipe.send((ROWS, decoded, sent, batch))

    start = reader.size
    for line, values in block.rows:
        if decode is not None:
            row = values.copy()
            try:
                decode(row)
            except Exception:
                row = values
            if (row is not values) is not decoded and batch:
                send()
                batch = []
            decoded = row is not values
            values = row
        batch.append((line, values))
        if len(batch) >= BATCH_ROWS or reader.size - start >= BATCH_BYTES:
            send()
            batch = []
            start = reader.size
    if batch:
        send()


def _send_chunk(pipe: Connection, path: str, model: str, decoder_of: DecoderOf) -> bool:
    """Send one chunk's blocks, rows and seal; False after sending its error."""
    try:
        with open_chunk(path) as stream:
            reader = DumpReader(stream, path)
            for block in reader.blocks(model):
                pipe.send((BLOCK, block.name, block.names, block.line, block.name_lines))
                _send_rows(pipe, reader, block, decoder_of(reader, block))
                pipe.send((BLOCK_END,))
            pipe.send((CHUNK_END, reader.size, reader.sha256()))
            return True
    except BrokenPipeError:
        raise
    except DumpError as exc:
        pipe.send((FAILED, exc))
    except Exception as exc:
        pipe.send((FAILED, DumpError("cannot read this chunk: %s" % one_line(exc), path,
                                     model=model, kind=Kind.UNREADABLE)))
    return False


# What the deserializer reads a chunk through.
ChunkReader = DumpReader | ChunkFromWorker
