"""Compressed chunk files: ``<table>.py.gz`` (gzip) and ``<table>.py.zst`` (zstd).

The chunk writer compresses through ``compressing_writer`` and the loader
reads through ``DecompressingReader``; both see the stored (compressed)
bytes, so a chunk's size and SHA-256 in ``restore.py`` are those of the file
on disk, as ``sha256sum`` gives them. gzip is the standard library's; zstd
needs the ``zstandard`` package (``pip install django-pyserializer[zstd]``).
"""

import gzip
import hashlib
import zlib
from typing import Any

from ..errors import DumpError, Kind

SUFFIXES = {"gzip": ".gz", "zstd": ".zst"}
CHOICES = tuple(SUFFIXES)
# Compressed bytes fed to the decompressor at a time. Each step decompresses to
# at most its size times the format's largest ratio (deflate: 1032, zstd:
# about 32000), which is what bounds the memory of a load, even for a dump
# made to expand without end.
_INPUT_STEP = {"gzip": 16 << 10, "zstd": 1 << 10}


def compression_of(name: Any) -> str | None:
    """The compression a chunk file's name says it has (None for ``.py``)."""
    for kind, suffix in SUFFIXES.items():
        if str(name).endswith(".py" + suffix):
            return kind
    return None


def check_available(kind: str | None) -> None:
    """Refuse an unknown compression, or zstd without its package, before a byte is written."""
    if kind is not None and kind not in SUFFIXES:
        raise ValueError(
            "unknown compression %r; choose one of: %s" % (kind, ", ".join(CHOICES))
        )
    if kind == "zstd":
        _zstandard()


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise DumpError(
            "zstd compression needs the zstandard package: pip install django-pyserializer[zstd]"
        )
    return zstandard


class Counted:
    """A binary file that counts and hashes every byte written to it or read from
    it: the size and SHA-256 of a chunk as stored."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.size = 0
        self.digest = hashlib.sha256()

    def _seen(self, data: bytes) -> bytes:
        self.size += len(data)
        self.digest.update(data)
        return data

    def write(self, data: bytes) -> int:
        self.file.write(self._seen(data))
        return len(data)

    def read(self, size: int) -> bytes:
        return self._seen(self.file.read(size))

    def flush(self) -> None:
        self.file.flush()


def compressing_writer(kind: str, file: Any) -> tuple[Any, Counted]:
    """(writer, stored): a writer that compresses into ``file`` (a binary
    file, left open; ``close()`` ends the compressed stream), and what counts
    and hashes the bytes that reach ``file`` (``size``, ``digest``). The
    output depends on the rows only (no time or name in a gzip header), so
    dumping the same rows twice gives the same bytes."""
    stored = Counted(file)
    if kind == "gzip":
        writer = gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=stored, mtime=0)
    else:
        compressor = _zstandard().ZstdCompressor(level=3, write_checksum=True)
        writer = compressor.stream_writer(stored, closefd=False)
    return writer, stored


class DecompressingReader:
    """Reads the text of a compressed chunk from its opened file, in bounded steps.

    A truncated or damaged file is a DumpError naming it. ``stored_size`` and
    ``stored_sha256()`` are those of the bytes on disk, all read once the
    text has been read to its end. Several gzip members or zstd frames one
    after another are read as one text, as ``zcat`` and ``zstdcat`` do.
    """

    def __init__(self, file: Any, kind: str, path: str) -> None:
        self.path = path
        self.kind = kind
        self._file = file
        self._stored = Counted(file)
        self._step = _INPUT_STEP[kind]
        self._decompressor = self._new_decompressor()
        self._errors: tuple[type[BaseException], ...] = (EOFError, OSError, ValueError, zlib.error)
        if kind == "zstd":
            self._errors += (_zstandard().ZstdError,)

    def _new_decompressor(self) -> Any:
        if self.kind == "gzip":
            return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        return _zstandard().ZstdDecompressor().decompressobj()

    @property
    def stored_size(self) -> int:
        return self._stored.size

    def stored_sha256(self) -> str:
        return self._stored.digest.hexdigest()

    def read(self, size: int) -> bytes:
        """At least ``size`` bytes of text (unless at its end), b"" at the end."""
        pieces: list[bytes] = []
        length = 0
        while length < size:
            data = self._stored.read(self._step)
            if not data:
                if not self._decompressor.eof:
                    raise self._damaged("it ends inside the compressed data: it is truncated")
                break
            piece = self._decompress(data)
            pieces.append(piece)
            length += len(piece)
        return b"".join(pieces)

    def _decompress(self, data: bytes) -> bytes:
        pieces: list[bytes] = []
        try:
            while data:
                if self._decompressor.eof:
                    self._decompressor = self._new_decompressor()
                pieces.append(self._decompressor.decompress(data))
                data = self._decompressor.unused_data if self._decompressor.eof else b""
        except self._errors as exc:
            raise self._damaged("it is damaged or was altered (%s)" % exc)
        return b"".join(pieces)

    def _damaged(self, problem: str) -> DumpError:
        return DumpError(
            "this %s-compressed chunk cannot be read: %s" % (self.kind, problem), self.path,
            kind=Kind.UNREADABLE)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "DecompressingReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
