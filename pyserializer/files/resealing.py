"""A chunk's seal, the size, SHA-256 and row count ``restore.py`` lists for
it: checked here for the loader, and rewritten after a hand edit by
``manage.py reseal_dump``.

An edited chunk no longer matches the size, SHA-256 and row count that
``restore.py`` lists for it, so the loader refuses it, on purpose. Resealing
reads every chunk with the loader's own reader (compressed ones through
their decompressor), which checks the blocks as it yields them: it refuses
every chunk the loader would refuse for its grammar, with the same message,
file and line; only then does it write a new ``restore.py`` with the new
counts. The media files are hashed again and their MEDIA entries rewritten
(a file that is gone is refused). Everything else in it (origin,
migrations, skipped tables) is kept.
Whether the models and fields exist in the current code is left to the
restore (and ``restore_dump --check``).
"""

import os
from dataclasses import replace
from typing import Any

from ..errors import DumpError, Kind
from . import grammar, manifest
from .mediafiles import seal_of
from .reader import DumpReader
from .safefiles import open_chunk
from .safefiles import AtomicFile


def reseal(manifest_path: Any) -> list[str]:
    """Rewrite ``restore.py`` to match its chunks and media files as they are
    now; return the names of the chunks, and of the media files (as
    ``media/<name>``), whose entries changed (``restore.py`` is left as it is
    when none did, and when any file is refused)."""
    manifest_path = os.path.abspath(str(manifest_path))
    dump = manifest.read_file(manifest_path)
    sealed = [_sealed(dump.directory, entry) for entry in dump.files]
    changed = [new.name for old, new in zip(dump.files, sealed) if new != old]
    media_seals = {name: seal_of(dump.directory, entry)
                   for name, entry in dump.media_files().items()}
    media = [replace(entry, size=media_seals[entry.name][0], sha256=media_seals[entry.name][1])
             for entry in dump.media]
    changed += ["%s/%s" % (grammar.MEDIA_FOLDER, name) for name, entry in dump.media_files().items()
                if media_seals[name] != (entry.size, entry.sha256)]
    if changed:
        dump.files = sealed
        dump.media = media
        _write(manifest_path, manifest.render(dump))
    return changed


def _sealed(directory: str, entry: manifest.FileEntry) -> manifest.FileEntry:
    """The FILES entry of one chunk as it is on disk."""
    path = os.path.join(directory, entry.name)
    with open_chunk(path) as chunk:
        reader = DumpReader(chunk, path)
        rows = sum(1 for block in reader.blocks(entry.model) for _row in block.rows)
    return manifest.FileEntry(entry.name, entry.model, rows, reader.size, reader.sha256())


def check_present(directory: str, entry: manifest.FileEntry) -> str:
    """The path of the chunk of FILES ``entry``, once it is there with its size."""
    path = os.path.join(directory, entry.name)
    try:
        size = os.path.getsize(path)
    except OSError:
        raise DumpError(
            "this chunk listed in restore.py is missing", path, model=entry.model,
            kind=Kind.MISSING_FILE)
    if size != entry.size:
        raise DumpError(_altered(
            "this chunk has %d bytes, restore.py lists %d: it was truncated or altered"
            % (size, entry.size), directory),
            path,
            model=entry.model,
            kind=Kind.ALTERED_FILE,
        )
    return path


def check_sealed(reader: DumpReader, rows: int, entry: manifest.FileEntry, directory: str) -> None:
    """Refuse a chunk read to its end (``rows`` rows) that its FILES ``entry`` does not match."""
    if reader.size != entry.size or reader.sha256() != entry.sha256:
        raise reader.error(_altered(
            "this chunk was altered or truncated after the dump was written "
            "(its size or SHA-256 differs from restore.py)", directory),
            model=entry.model, kind=Kind.ALTERED_FILE,
        )
    if rows != entry.rows:
        raise reader.error(_altered(
            "restore.py lists %d rows but the chunk holds %d" % (entry.rows, rows),
            directory), model=entry.model, kind=Kind.ALTERED_FILE,
        )


def _altered(problem: str, directory: str) -> str:
    """``problem`` of a chunk that no longer matches restore.py, with the two ways on."""
    return ("%s. After a deliberate edit, run manage.py reseal_dump %s to accept it; "
            "otherwise the dump is damaged: restore from another backup." % (problem, directory))


def _write(manifest_path: str, text: str) -> None:
    """Replace ``restore.py`` by a new file, created private and renamed into place."""
    new = AtomicFile(manifest_path)
    try:
        new.write(text.encode("utf-8"))
        new.commit()
    except BaseException:
        new.discard()
        raise
