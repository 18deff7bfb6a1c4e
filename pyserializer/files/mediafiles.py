"""A dump's media files on disk: where each one is, and its seal.

A media file is stored once at ``DIR/media/<storage name>``, and ``MEDIA``
lists its size and SHA-256 (``manifest.MediaEntry``). Every copy, on either
side, streams the bytes in blocks of ``BLOCK_SIZE`` through SHA-256
(``copy_hashed``), so that memory stays bounded however large a file is.
``check_sealed`` is the one check of a media file against its entry: a
restore, ``--check``, ``--verify`` and ``reseal_dump`` read it the same way,
never through a link (``safefiles.open_dump_member``).
"""

import hashlib
import os
from collections.abc import Callable
from typing import IO, Any

from ..errors import DumpError, Kind
from . import grammar
from .manifest import MediaEntry
from .safefiles import open_dump_member

BLOCK_SIZE = 1 << 20


def media_path(directory: str, name: str) -> str:
    """The path of the media file ``name`` in the dump directory ``directory``."""
    return os.path.join(directory, grammar.MEDIA_FOLDER, *name.split("/"))


def describe_storage(storage: Any) -> str:
    """E.g. "FileSystemStorage at /srv/media": a storage as messages name it."""
    location = getattr(storage, "location", None)
    name = storage.__class__.__name__
    return "%s at %s" % (name, location) if isinstance(location, str) and location else name


def copy_hashed(source: IO[bytes] | Any, write: Callable[[bytes], Any] | None = None
                ) -> tuple[int, str]:
    """Read ``source`` to its end in blocks, passing each to ``write`` when
    given; return (size, SHA-256 in hex) of what was read."""
    digest = hashlib.sha256()
    size = 0
    while True:
        block = source.read(BLOCK_SIZE)
        if not block:
            return size, digest.hexdigest()
        digest.update(block)
        size += len(block)
        if write is not None:
            write(block)


class HashingReader:
    """A binary stream read through SHA-256: what a storage's ``save`` reads
    from, so that the bytes it got are checked once it has them."""

    def __init__(self, source: IO[bytes] | Any) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.read_size = 0

    def read(self, size: int = -1) -> bytes:
        block = self.source.read(size)
        self.digest.update(block)
        self.read_size += len(block)
        return block

    def sha256(self) -> str:
        return self.digest.hexdigest()


def open_media(directory: str, entry: MediaEntry) -> IO[bytes]:
    """The dump's media file of ``entry``, opened as every dump file is."""
    try:
        return open_dump_member(os.path.join(directory, grammar.MEDIA_FOLDER), entry.name)
    except DumpError as exc:
        if exc.kind is Kind.MISSING_FILE:
            raise DumpError("this media file listed in restore.py is missing",
                            exc.path, model=entry.model, field=entry.field,
                            kind=Kind.MISSING_FILE) from exc
        raise DumpError(exc.problem, exc.path, model=entry.model, field=entry.field,
                        kind=exc.kind) from exc


def seal_of(directory: str, entry: MediaEntry) -> tuple[int, str]:
    """(size, SHA-256) of the dump's media file of ``entry`` as it is on disk."""
    with open_media(directory, entry) as source:
        return copy_hashed(source)


def check_sealed(directory: str, entry: MediaEntry, size: int, sha256: str) -> None:
    """Refuse the media file of ``entry`` read as ``size`` bytes of ``sha256``
    when its entry lists others."""
    if (size, sha256) == (entry.size, entry.sha256):
        return
    what = ("altered" if size == entry.size else "altered or truncated (%d bytes, "
            "restore.py lists %d)" % (size, entry.size))
    raise DumpError(
        "this media file was %s after the dump was written. After a deliberate edit, "
        "run manage.py reseal_dump %s to accept it; otherwise the dump is damaged: "
        "restore from another backup." % (what, directory),
        media_path(directory, entry.name), model=entry.model, field=entry.field,
        kind=Kind.ALTERED_FILE)


def check_media_file(directory: str, entry: MediaEntry) -> None:
    """Read the dump's media file of ``entry`` to its end and refuse it unless
    it has the size and SHA-256 restore.py lists."""
    check_sealed(directory, entry, *seal_of(directory, entry))
