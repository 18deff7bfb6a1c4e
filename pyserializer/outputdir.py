"""The output directory of ``dump2py``: created whole, or not at all.

A dump is written into a private staging directory beside ``OUTPUT_DIR``
(``.NAME.XXXX.partial``). Its ``restore.py`` is written under a temporary
name and renamed when complete; only then does the staging directory take
the place of ``OUTPUT_DIR``. So an interrupted dump (an error, Ctrl-C, a full
disk) never leaves a directory that looks complete, an older dump being
replaced stays intact until the new one is ready, and no file of the old dump
is left beside the new ``restore.py``.
"""

import os
import shutil
import tempfile

from django.core.management.base import CommandError

from .grammar import MANIFEST_NAME
from .writer import PRIVATE_FILE_MODE, fsync_directory


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
        os.makedirs(parent, exist_ok=True)
        # mkdtemp creates the directory readable by its owner only (0o700).
        self.path = tempfile.mkdtemp(prefix=".%s." % name, suffix=".partial", dir=parent)
        self.manifest = None

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

    def publish(self):
        """Make the finished dump ``target``; replace an older one only now."""
        self.manifest.commit()
        fsync_directory(self.path)
        parent = os.path.dirname(self.target)
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


class ManifestFile:
    """``restore.py`` written as ``.restore.py.partial`` and renamed when complete.

    Its ``name`` is the final path, which tells the Serializer to write a
    directory dump beside it.
    """

    def __init__(self, name):
        self.name = name
        self.partial_path = os.path.join(os.path.dirname(name), ".%s.partial" % MANIFEST_NAME)
        fd = os.open(self.partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        self._file = os.fdopen(fd, "wb")

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
        if os.path.exists(self.partial_path):
            os.remove(self.partial_path)


def size_of_dump(directory, manifest):
    """(files, bytes) of the dump published in ``directory``, ``restore.py`` included."""
    size = sum(entry.size for entry in manifest.files)
    size += os.path.getsize(os.path.join(directory, MANIFEST_NAME))
    return len(manifest.files) + 1, size


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
        pass

    def abort(self):
        pass
