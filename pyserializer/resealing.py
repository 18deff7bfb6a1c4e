"""Resealing a directory dump after a hand edit: ``manage.py reseal_dump``.

An edited chunk no longer matches the size, SHA-256 and row count that
``restore.py`` lists for it, so the loader refuses it, on purpose. Resealing
reads every chunk with the loader's own reader (compressed ones through
their decompressor). It refuses what the reader refuses, a block that is not
``MODEL``, ``FIELDS``, ``ROWS`` with rows of the width of ``FIELDS``, and a
chunk without a block (cut short), naming file and line; only then does it
write a new ``restore.py`` with the new counts. Everything else in it
(origin, migrations, skipped tables) is kept. Whether the models and fields
exist in the current code is left to the restore (and ``restore_dump --check``).
"""

import os

from . import grammar, manifest
from .reader import DumpReader, open_chunk, open_dump_file
from .safefiles import AtomicFile


def reseal(manifest_path):
    """Rewrite ``restore.py`` to match its chunks as they are now; return the
    names of the chunks whose entry changed (``restore.py`` is left as it is
    when none did, and when any chunk is refused)."""
    manifest_path = os.path.abspath(str(manifest_path))
    with open_dump_file(manifest_path) as stream:
        dump = manifest.read(stream, manifest_path)
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
        rows = _count_rows(reader, entry.model)
    return manifest.FileEntry(entry.name, entry.model, rows, reader.size, reader.sha256())


def _count_rows(reader, model):
    """Read every row of a chunk of ``model``; return how many there are."""
    rows = 0
    blocks = 0
    for blocks, section in enumerate(reader.sections(), start=1):
        names = section.names
        _check_format(reader, names, section.line_of("FORMAT"))
        fields = names.get("FIELDS")
        if section.name != "ROWS" or "MODEL" not in names or fields is None:
            raise reader.error(
                "a block of rows must be ROWS = [ after MODEL = and FIELDS = lines",
                section.line,
            )
        if names["MODEL"] != model:
            raise reader.error(
                "restore.py lists this chunk for model %s" % model,
                section.line_of("MODEL"),
                model=names["MODEL"],
            )
        for line, values in section.rows:
            if type(values) is not list or len(values) != len(fields):
                raise reader.error(
                    "expected a list of %d values (%s)" % (len(fields), ", ".join(fields)),
                    line,
                    model,
                )
            rows += 1
    _check_format(reader, reader.names)
    if not blocks:
        raise reader.error(
            "no ROWS block: a chunk written by pyserializer always has one (even "
            "without rows), so this one is truncated",
            model=model,
        )
    return rows


def _check_format(reader, names, line=None):
    problem = grammar.format_problem(names)
    if problem:
        raise reader.error(problem, line)


def _write(manifest_path, text):
    """Replace ``restore.py`` by a new file, created private and renamed into place."""
    new = AtomicFile(manifest_path)
    try:
        new.write(text.encode("utf-8"))
        new.commit()
    except BaseException:
        new.discard()
        raise
