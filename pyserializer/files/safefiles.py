"""Safe files: every file and folder a dump writes is made here, and every
file a loader reads is opened here.

The model is ``tempfile.mkstemp``: a file is created new (``O_EXCL``), never
through a link (``O_NOFOLLOW``), readable by its owner only whatever the
umask. A file is written under a hidden temporary name (``.NAME.partial``)
and renamed into place when complete, after an ``fsync``, so that a file
with its final name is always whole. A dump is written into a staging
folder (``.NAME.XXXX.partial``) that takes the place of ``NAME`` only when
finished; a folder named so is never a dump, whatever it holds. A file is
read only when it is a regular file, opened without following a link and
checked on the open descriptor, never by its name alone.
"""

import contextlib
import io
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from ..errors import DumpError, DumpWriteError, Kind
from .compression import DecompressingReader, compression_of

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700
PARTIAL_SUFFIX = ".partial"
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def create_private(path: str) -> int:
    """Create ``path`` as a new file readable by its owner only, whatever the
    umask, and return its descriptor. An entry already there (a file, or a link
    planted to make the dump write elsewhere) is an error, and is left alone."""
    try:
        fd = os.open(path, _CREATE_FLAGS, PRIVATE_FILE_MODE)
    except FileExistsError:
        raise DumpWriteError(
            "cannot create %s: a file or link of that name is already there (left by "
            "an interrupted dump, or put there by someone else); nothing was written "
            "to it. Remove it and dump again." % path
        )
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def partial_path(path: str) -> str:
    """The temporary name of ``path`` while it is written: hidden, in the same
    folder (a rename never crosses file systems), ending in ``.partial``."""
    directory, name = os.path.split(path)
    hidden = name if name.startswith(".") else "." + name
    return os.path.join(directory, hidden + PARTIAL_SUFFIX)


class AtomicFile:
    """A binary file that appears as ``name`` only when complete.

    It is written as a new private file under ``partial_path(name)``;
    ``commit()`` flushes it to disk and renames it into place (replacing
    an older ``name``), ``discard()`` removes it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.partial_path = partial_path(name)
        self._file = os.fdopen(create_private(self.partial_path), "wb")

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial_path, self.name)

    def discard(self) -> None:
        self._file.close()
        if os.path.lexists(self.partial_path):
            os.remove(self.partial_path)


def make_private(stream: IO[Any] | AtomicFile, own_file: bool = False) -> None:
    """Restrict the file a stream was opened on by name to its owner.

    Only a regular file the caller named (``dumpdata -o``), never a terminal,
    whatever standard output was redirected to, nor the target of a link.
    With ``own_file`` (the ``restore.py`` of a directory dump), a name that
    is a link or another file than the stream's is an error. An AtomicFile
    is private from the start, and gets its name only when complete.
    """
    name = getattr(stream, "name", None)
    if not isinstance(name, str) or isinstance(stream, AtomicFile):
        return
    try:
        opened = os.fstat(stream.fileno())
        named = os.lstat(name)
    except (AttributeError, OSError, ValueError):
        return
    if stat.S_ISREG(named.st_mode) and os.path.samestat(opened, named):
        os.fchmod(stream.fileno(), PRIVATE_FILE_MODE)
    elif own_file:
        raise DumpWriteError(
            "%s is a symbolic link or not the file being written; a directory dump "
            "never writes through a link. Remove it and dump again." % name
        )


def fsync_directory(directory: str) -> None:
    """Make the renames done in ``directory`` durable (before what follows them)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_private_parents(directory: str) -> None:
    """Create the missing directories of ``directory``, each readable by its
    owner only whatever the umask; an existing one is left as it is."""
    missing: list[str] = []
    while not os.path.lexists(directory):
        directory, name = os.path.split(directory)
        if not name:
            break
        missing.append(name)
    for name in reversed(missing):
        directory = os.path.join(directory, name)
        os.mkdir(directory, PRIVATE_DIRECTORY_MODE)
        make_private_directory(directory)


def make_private_directory(path: str) -> None:
    """chmod 0700 the directory just created, never through a link put in its place."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, PRIVATE_DIRECTORY_MODE)
    finally:
        os.close(fd)


def make_staging_directory(target: str) -> str:
    """Create the private staging directory of ``target`` beside it
    (``.NAME.XXXX.partial``) and return its path."""
    parent, name = os.path.split(target)
    path = tempfile.mkdtemp(prefix=".%s." % name, suffix=PARTIAL_SUFFIX, dir=parent)
    try:
        make_private_directory(path)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def is_staging_directory(path: str) -> bool:
    """Whether ``path`` is named as a staging directory (whatever it holds)."""
    name = os.path.basename(path)
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def staging_directories(parent: str) -> Iterator[os.DirEntry[str]]:
    """The staging directories in ``parent`` (directories, not links), as
    ``os.DirEntry``."""
    for entry in os.scandir(parent):
        if is_staging_directory(entry.name) and entry.is_dir(follow_symlinks=False):
            yield entry


def replace_directory(source: str, target: str) -> None:
    """Rename the directory ``source`` to ``target``. An older ``target`` stays
    whole until the rename, and is removed only after it (if the rename fails,
    it is put back)."""
    parent = os.path.dirname(target)
    if not os.path.lexists(target):
        os.rename(source, target)
        fsync_directory(parent)
        return
    old_holder = tempfile.mkdtemp(prefix=".%s." % os.path.basename(target), suffix=".old",
                                  dir=parent)
    old = os.path.join(old_holder, "old")
    os.rename(target, old)
    try:
        os.rename(source, target)
    except BaseException:
        os.rename(old, target)
        raise
    fsync_directory(parent)
    shutil.rmtree(old_holder, ignore_errors=True)


def rename_to_new_name(source: str, parent: str, names: Iterable[str]) -> str:
    """Rename the directory ``source`` to the first of ``names`` that nothing in
    ``parent`` has yet, and return its path. The name is taken with ``mkdir``,
    which fails on anything there (a dump of the same second, a file, a link),
    so nothing is ever replaced; ``names`` must not end before a free one."""
    for name in names:
        target = os.path.join(parent, name)
        try:
            os.mkdir(target, PRIVATE_DIRECTORY_MODE)
        except FileExistsError:
            continue
        try:
            os.rename(source, target)  # replaces the empty directory just made
        except BaseException:
            with contextlib.suppress(OSError):
                os.rmdir(target)
            raise
        fsync_directory(parent)
        return target
    raise ValueError("no name left for %s in %s" % (source, parent))


def open_dump_file(path: Any, dir_fd: int | None = None) -> io.BufferedReader:
    """Open a file of a dump for reading without following a link, and without
    blocking on a FIFO; refuse anything but a regular file before reading it.

    With ``dir_fd``, the folder the file is in, opened already (without
    following a link), the file is opened by its name in that folder, never
    through ``path``'s folders again; the stream is still named by ``path``.
    """
    name = os.path.basename(str(path)) if dir_fd is not None else path
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if _is_link(name, dir_fd):
            raise _not_regular(path, "a symbolic link")
        raise DumpError("cannot open this file: %s" % (exc.strerror or exc), path,
                        kind=Kind.UNREADABLE)
    return _regular_file_stream(fd, path)


# Never through a link, never blocking on a FIFO.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _regular_file_stream(fd: int, path: Any) -> io.BufferedReader:
    """A stream of the file open at ``fd``, refused (and closed) unless it is a
    regular file; named by ``path``."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _not_regular(path, _NOT_REGULAR)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    # Opened again through the descriptor, so that the stream is named by its path.
    return open(str(path), "rb", opener=lambda _name, _flags: fd)


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def open_folders(directory: str, parts: Sequence[str], created: list[str] | None = None) -> int:
    """A descriptor of the folder ``directory/parts[0]/parts[1]/...``, each part
    opened inside the one before without following a link: a part that is a
    link or no folder is refused (OSError). With ``created`` (a list), a
    missing part is made private (``0700``) and its path appended to it."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    path = directory
    try:
        for part in parts:
            path = os.path.join(path, part)
            if created is not None:
                try:
                    os.mkdir(part, PRIVATE_DIRECTORY_MODE, dir_fd=fd)
                    created.append(path)
                except FileExistsError:
                    pass
            inner = os.open(part, _FOLDER_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
            if created and created[-1] == path:
                os.fchmod(fd, PRIVATE_DIRECTORY_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private_temporary(folder_fd: int) -> tuple[str, int]:
    """A new private file with a hidden random name (``.pyserializer-XXXX.partial``)
    in the folder open as ``folder_fd``, never through a link; return (its name
    in the folder, its descriptor)."""
    while True:
        name = ".pyserializer-%s%s" % (secrets.token_hex(8), PARTIAL_SUFFIX)
        try:
            fd = os.open(name, _CREATE_FLAGS, PRIVATE_FILE_MODE, dir_fd=folder_fd)
        except FileExistsError:
            continue
        os.fchmod(fd, PRIVATE_FILE_MODE)
        return name, fd


def open_dump_member(directory: str, name: str) -> io.BufferedReader:
    """Open the file at ``name`` ("/"-separated) inside ``directory`` as
    ``open_dump_file`` opens a file: no part of ``name`` may be a link, and the
    file must be a regular one."""
    parts = name.split("/")
    path = os.path.join(directory, *parts)
    try:
        folder = open_folders(directory, parts[:-1])
        try:
            fd = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
        finally:
            os.close(folder)
    except OSError as exc:
        for end in range(1, len(parts) + 1):
            if os.path.islink(os.path.join(directory, *parts[:end])):
                raise _not_regular(path, "a symbolic link" if end == len(parts) else
                                   "reached through a symbolic link (%s)"
                                   % os.path.join(directory, *parts[:end]))
        raise DumpError("cannot open this file: %s" % (exc.strerror or exc), path,
                        kind=Kind.MISSING_FILE if isinstance(exc, FileNotFoundError)
                        else Kind.UNREADABLE)
    return _regular_file_stream(fd, path)


def open_chunk(path: Any) -> io.BufferedReader | DecompressingReader:
    """Open a chunk file as ``open_dump_file`` does; a ``.py.gz`` or ``.py.zst``
    one is read through its decompressor."""
    file = open_dump_file(path)
    kind = compression_of(path)
    if kind is None:
        return file
    try:
        return DecompressingReader(file, kind, path)
    except BaseException:
        file.close()
        raise


def _is_link(name: Any, dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def check_regular_file(source: Any, path: Any) -> None:
    """Refuse a dump file that is a link, FIFO, device or directory, looking at
    the open file, before a byte is read. A stream that is no file of the file
    system (a string, standard input) is read as it is."""
    name: Any = getattr(source, "name", None)
    try:
        opened = os.fstat(source.fileno())
        named = os.lstat(name)
    except (AttributeError, TypeError, ValueError, OSError, io.UnsupportedOperation):
        return
    if stat.S_ISLNK(named.st_mode):
        raise _not_regular(path, "a symbolic link")
    if not stat.S_ISREG(opened.st_mode):
        raise _not_regular(path, _NOT_REGULAR)


_NOT_REGULAR = "not a regular file (a FIFO, a device or a directory)"


def _not_regular(path: Any, what: str) -> DumpError:
    return DumpError(
        "this file is %s; pyserializer reads only regular files, never through a link"
        % what,
        path,
        kind=Kind.UNREADABLE,
    )
