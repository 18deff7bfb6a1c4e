"""The output directory of ``dump2py``: created whole, or not at all.

A dump is written into a private staging directory beside ``OUTPUT_DIR``
(``.NAME.XXXX.partial``). Its ``restore.py`` is written under a temporary
name and renamed when complete; only then does the staging directory take
the place of ``OUTPUT_DIR``. So an interrupted dump (an error, Ctrl-C, a full
disk) never leaves a directory that looks complete, an older dump being
replaced stays intact until the new one is ready, and no file of the old dump
is left beside the new ``restore.py``.

While it is written, the staging directory holds a lock file
(``.dump2py.lock``) locked with ``flock`` by the running dump. A dump killed
outright (SIGKILL, a power cut) leaves its staging directory behind with the
lock free: the next ``dump2py`` into the same parent removes it.
"""

import fcntl
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from django.core.management.base import CommandError

from ..files import safefiles
from ..files.grammar import MANIFEST_NAME

LOCK_NAME = ".dump2py.lock"


def check_target(path: str, overwrite: bool, confirm: Callable[[str], bool] | None) -> None:
    """Refuse an existing ``path`` unless ``overwrite``; ask ``confirm`` before
    replacing a non-empty directory (``confirm`` is None with --noinput)."""
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise CommandError(
            "%s already exists; nothing was changed. Choose another directory, "
            "or use --overwrite to replace it." % path
        )
    if not os.path.isdir(path):
        raise CommandError("%s exists and is not a directory; nothing was changed." % path)
    _refuse_to_replace_more_than_a_dump(path)
    if os.listdir(path) and confirm is not None:
        if not confirm(
            "The directory %s is not empty. Its content will be replaced by the new "
            "dump when that is complete." % path
        ):
            raise CommandError("Cancelled; nothing was changed.")


def _refuse_to_replace_more_than_a_dump(path: str) -> None:
    """--overwrite replaces the whole directory: make sure it is not the project."""
    real = os.path.realpath(path)
    here = os.path.realpath(os.getcwd())
    if here == real or here.startswith(real.rstrip(os.sep) + os.sep):
        raise CommandError(
            "%s holds the current directory; --overwrite would replace it. "
            "Nothing was changed." % path
        )
    subdirectories = [name for name in os.listdir(path) if os.path.isdir(os.path.join(path, name))]
    if subdirectories:
        raise CommandError(
            "%s holds directories (%s), so it is not a dump; --overwrite replaces only "
            "dumps. Nothing was changed." % (path, ", ".join(sorted(subdirectories)))
        )


class StagingDirectory:
    """Where a dump is written before it becomes ``target``.

    Use as a context manager: leaving it by an exception removes everything
    written so far; ``publish()`` moves the finished dump into place.
    """

    def __init__(self, target: str) -> None:
        self.target = os.path.abspath(target)
        parent = os.path.dirname(self.target)
        safefiles.make_private_parents(parent)
        self.removed = remove_abandoned_staging(parent)
        self.path = safefiles.make_staging_directory(self.target)
        self.manifest: Any = None
        self._lock: int | None = None
        try:
            self._lock = _hold_lock(self.path)
        except BaseException:
            self.discard()
            raise

    def __enter__(self) -> "StagingDirectory":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()

    def manifest_file(self) -> safefiles.AtomicFile:
        """The stream the Serializer writes ``restore.py`` to."""
        self.manifest = safefiles.AtomicFile(os.path.join(self.path, MANIFEST_NAME))
        return self.manifest

    def discard(self) -> None:
        if self.manifest is not None:
            self.manifest.discard()
        shutil.rmtree(self.path, ignore_errors=True)
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def publish(self, names: Iterable[str] | None = None) -> str:
        """Make the finished dump ``target``; replace an older one only now.
        With ``names`` (``dump2py --timestamped``), the dump takes instead the
        first of them that is free beside ``target``, and replaces nothing.
        Returns the path of the dump.

        The lock file goes first, while its lock is still held: a dump never
        holds it, and no other dump2py takes the directory for abandoned.
        """
        self.manifest.commit()
        os.remove(os.path.join(self.path, LOCK_NAME))
        safefiles.fsync_directory(self.path)
        try:
            if names is None:
                safefiles.replace_directory(self.path, self.target)
            else:
                self.target = safefiles.rename_to_new_name(
                    self.path, os.path.dirname(self.target), names)
        finally:
            self._release_lock()
        return self.target


def _hold_lock(directory: str) -> int:
    """Create the staging directory's lock file, locked before it gets its name."""
    temporary = safefiles.partial_path(os.path.join(directory, LOCK_NAME))
    fd = safefiles.create_private(temporary)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(temporary, os.path.join(directory, LOCK_NAME))
    return fd


def remove_abandoned_staging(parent: str) -> list[str]:
    """Remove the staging directories in ``parent`` that no running dump holds.

    One is recognised by its name (``.NAME.XXXX.partial``, a directory, not a
    link) and its lock file, whose lock is free once the dump that made it is
    gone. A directory without the lock file is not touched. Returns the paths
    removed.
    """
    removed: list[str] = []
    for entry in safefiles.staging_directories(parent):
        try:
            fd = os.open(os.path.join(entry.path, LOCK_NAME), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue
        finally:
            os.close(fd)
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed
