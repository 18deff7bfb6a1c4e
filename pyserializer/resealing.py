"""Resealing a directory dump after a hand edit: ``manage.py reseal_dump``.

An edited chunk no longer matches the size, SHA-256 and row count that
``restore.py`` lists for it, so the loader refuses it, on purpose. Resealing
reads every chunk with the loader's own reader (compressed ones through
their decompressor), which checks the blocks as it yields them: it refuses
every chunk the loader would refuse for its grammar, with the same message,
file and line; only then does it write a new ``restore.py`` with the new
counts. Everything else in it (origin, migrations, skipped tables) is kept.
Whether the models and fields exist in the current code is left to the
restore (and ``restore_dump --check``).
"""

import os

from . import manifest
from .outputdir import ManifestFile
from .reader import DumpReader, open_chunk
from .writer import FileEntry


def reseal(manifest_path):
    """Rewrite ``restore.py`` to match its chunks as they are now; return the
    names of the chunks whose entry changed (``restore.py`` is left as it is
    when none did, and when any chunk is refused)."""
    manifest_path = os.path.abspath(str(manifest_path))
    dump = manifest.read_file(manifest_path)
    sealed = [_sealed(dump.directory, entry) for entry in dump.files]
    changed = [new.name for old, new in zip(dump.files, sealed) if new != old]
    if changed:
        dump.files = sealed
        _write(manifest_path, manifest.render(dump))
    return changed


def _sealed(directory, entry):
    """The FILES entry of one chunk as it is on disk."""
    path = os.path.join(directory, entry.name)
    with open_chunk(path) as chunk:
        reader = DumpReader(chunk, path)
        rows = sum(1 for block in reader.blocks(entry.model) for _row in block.rows)
    return FileEntry(entry.name, entry.model, rows, reader.size, reader.sha256())


def _write(manifest_path, text):
    """Replace ``restore.py`` by a new file, created private and renamed into place."""
    new = ManifestFile(manifest_path)
    try:
        new.write(text.encode("utf-8"))
        new.commit()
    except BaseException:
        new.discard()
        raise
