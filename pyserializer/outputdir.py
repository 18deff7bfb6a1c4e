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
import tempfile

from django.core.management.base import CommandError

from .grammar import MANIFEST_NAME
from .writer import PARTIAL_SUFFIX, create_private, fsync_directory

PRIVATE_DIRECTORY_MODE = 0o700
LOCK_NAME = ".dump2py.lock"


def check_target(path, overwrite, confirm):
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


def _refuse_to_replace_more_than_a_dump(path):
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

    def __init__(self, target):
        self.target = os.path.abspath(target)
        parent, name = os.path.split(self.target)
        make_private_parents(parent)
        self.removed = remove_abandoned_staging(parent)
        self.path = tempfile.mkdtemp(prefix=".%s." % name, suffix=PARTIAL_SUFFIX, dir=parent)
        self.manifest = None
        self._lock = None
        try:
            _make_private_directory(self.path)
            self._lock = _hold_lock(self.path)
        except BaseException:
            self.discard()
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            self.discard()

    def manifest_file(self):
        """The stream the Serializer writes ``restore.py`` to."""
        self.manifest = ManifestFile(os.path.join(self.path, MANIFEST_NAME))
        return self.manifest

    def discard(self):
        if self.manifest is not None:
            self.manifest.discard()
        shutil.rmtree(self.path, ignore_errors=True)
        self._release_lock()

    def _release_lock(self):
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def publish(self):
        """Make the finished dump ``target``; replace an older one only now.

        The lock file goes first, while its lock is still held: a dump never
        holds it, and no other dump2py takes the directory for abandoned.
        """
        self.manifest.commit()
        os.remove(os.path.join(self.path, LOCK_NAME))
        fsync_directory(self.path)
        parent = os.path.dirname(self.target)
        try:
            if not os.path.lexists(self.target):
                os.rename(self.path, self.target)
                fsync_directory(parent)
                return
            old_holder = tempfile.mkdtemp(prefix=".%s." % os.path.basename(self.target),
                                          suffix=".old", dir=parent)
            old = os.path.join(old_holder, "old")
            os.rename(self.target, old)
            try:
                os.rename(self.path, self.target)
            except BaseException:
                os.rename(old, self.target)
                raise
            fsync_directory(parent)
            shutil.rmtree(old_holder, ignore_errors=True)
        finally:
            self._release_lock()


def make_private_parents(directory):
    """Create the missing directories of ``directory``, each readable by its
    owner only whatever the umask; an existing one is left as it is."""
    missing = []
    while not os.path.lexists(directory):
        directory, name = os.path.split(directory)
        if not name:
            break
        missing.append(name)
    for name in reversed(missing):
        directory = os.path.join(directory, name)
        os.mkdir(directory, PRIVATE_DIRECTORY_MODE)
        _make_private_directory(directory)


def _make_private_directory(path):
    """chmod 0700 the directory just created, never through a link put in its place."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, PRIVATE_DIRECTORY_MODE)
    finally:
        os.close(fd)


def _hold_lock(directory):
    """Create the staging directory's lock file, locked before it gets its name."""
    temporary = os.path.join(directory, LOCK_NAME + PARTIAL_SUFFIX)
    fd = create_private(temporary)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(temporary, os.path.join(directory, LOCK_NAME))
    return fd


def remove_abandoned_staging(parent):
    """Remove the staging directories in ``parent`` that no running dump holds.

    One is recognised by its name (``.NAME.XXXX.partial``, a directory, not a
    link) and its lock file, whose lock is free once the dump that made it is
    gone. A directory without the lock file is not touched. Returns the paths
    removed.
    """
    removed = []
    for entry in os.scandir(parent):
        if not (entry.name.startswith(".") and entry.name.endswith(PARTIAL_SUFFIX)):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
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


class ManifestFile:
    """``restore.py`` written as ``.restore.py.partial`` and renamed when complete.

    Its ``name`` is the final path, which tells the Serializer to write a
    directory dump beside it.
    """

    created_private = True

    def __init__(self, name):
        self.name = name
        self.partial_path = os.path.join(
            os.path.dirname(name), ".%s%s" % (MANIFEST_NAME, PARTIAL_SUFFIX)
        )
        self._file = os.fdopen(create_private(self.partial_path), "wb")

    def write(self, data):
        return self._file.write(data)

    def flush(self):
        self._file.flush()

    def fileno(self):
        return self._file.fileno()

    def commit(self):
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial_path, self.name)

    def discard(self):
        self._file.close()
        if os.path.lexists(self.partial_path):
            os.remove(self.partial_path)


class NoOutput:
    """The writer of ``dump2py --simulate``: every row is read and encoded as
    for a real dump, and then dropped; only its size is counted."""

    def __init__(self):
        self.size = 0

    def start_model(self, label, table, columns):
        pass

    def write_rows(self, lines):
        self.size += sum(len(line.encode("utf-8")) for line in lines)

    def discard_model(self):
        pass

    def end_model(self):
        return []

    def abort(self):
        pass
