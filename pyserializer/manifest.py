"""``restore.py``: the manifest that makes a directory of chunks one dump.

It lists every chunk file in loading order with its model, row count, size
and SHA-256, so that a missing, truncated, altered or stale file is never
loaded by mistake, and it records where the data came from (versions,
database vendor, time, applied migrations). It is also a script: running it
restores the dump (see ``pyserializer.restore``). The loader reads it with
the same safe reader as the chunks and checks that the script part is
exactly the one written here.
"""

import os
from dataclasses import dataclass, field

from . import grammar
from .reader import DumpReader
from .writer import FileEntry

# Run as a script, Python puts the dump's directory first on sys.path: take it
# off before importing anything, so that no chunk file can pass for a module.
SCRIPT_TRAILER = (
    grammar.SCRIPT_TRAILER_START
    + "\n"
    + "    import os, sys\n"
    + "\n"
    + "    here = os.path.dirname(os.path.abspath(__file__))\n"
    + "    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]\n"
    + "    from pyserializer.restore import main\n"
    + "\n"
    + "    main(__file__)\n"
)


@dataclass
class Manifest:
    """What ``restore.py`` says about a dump."""

    format: int = grammar.FORMAT_VERSION
    created: str = ""
    pyserializer_version: str = ""
    django_version: str = ""
    database_vendor: str = ""
    migrations: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    files: list = field(default_factory=list)
    directory: str = ""

    @property
    def total_rows(self):
        return sum(entry.rows for entry in self.files)

    def migration_state(self):
        """{app_label: [migration names]} of the migrations applied at dump time."""
        state = {}
        for app_label, name in self.migrations:
            state.setdefault(app_label, []).append(name)
        return state


_NAMES = {
    "CREATED": "created",
    "PYSERIALIZER_VERSION": "pyserializer_version",
    "DJANGO_VERSION": "django_version",
    "DATABASE_VENDOR": "database_vendor",
    "SKIPPED": "skipped",
}


def render(manifest):
    """The full text of ``restore.py``."""
    lines = [
        "#!/usr/bin/env python3\n",
        grammar.DATA_ONLY_NOTE + "\n",
        "# This file lists the chunk files of the dump; the dump is complete only\n",
        "# when this file exists. Restore with one of:\n",
        "#     python manage.py loaddata path/to/restore.py\n",
        "#     python path/to/restore.py [--noinput] [--settings=...]\n",
        grammar.assignment("FORMAT", manifest.format),
    ]
    for name, attribute in _NAMES.items():
        lines.append(grammar.assignment(name, getattr(manifest, attribute)))
    lines.append("# Migrations applied to the database at dump time: [app, migration]\n")
    lines.append(grammar.block_start("MIGRATIONS"))
    lines.extend(grammar.json_value(list(pair)) + ",\n" for pair in manifest.migrations)
    lines.append(grammar.BLOCK_END)
    lines.append("# Chunk files in loading order: [file, model, rows, bytes, sha256]\n")
    lines.append(grammar.block_start("FILES"))
    lines.extend(
        grammar.json_value([e.name, e.model, e.rows, e.size, e.sha256]) + ",\n"
        for e in manifest.files
    )
    lines.append(grammar.BLOCK_END)
    lines.append(SCRIPT_TRAILER)
    return "".join(lines)


def is_manifest_path(path):
    return os.path.basename(str(path or "")) == grammar.MANIFEST_NAME


def read(source, path):
    """Parse ``restore.py`` (a stream or text) into a Manifest."""
    reader = DumpReader(source, path, allow_script_trailer=True)
    blocks = {}
    for section in reader.sections():
        blocks[section.name] = list(section.rows)
    names = reader.names
    if names.get("FORMAT") != grammar.FORMAT_VERSION:
        raise reader.error(
            "this is not a pyserializer %s of format %d (FORMAT = %r)"
            % (grammar.MANIFEST_NAME, grammar.FORMAT_VERSION, names.get("FORMAT"))
        )
    if "FILES" not in blocks or reader.trailer is None:
        raise reader.error(
            "the manifest is incomplete (no FILES list or no script part): "
            "the dump was interrupted or the file was cut"
        )
    if reader.trailer != SCRIPT_TRAILER:
        raise reader.error(
            "the script part of %s was changed; only the part written by "
            "pyserializer is accepted" % grammar.MANIFEST_NAME
        )
    manifest = Manifest(directory=os.path.dirname(os.path.abspath(str(path))))
    for name, attribute in _NAMES.items():
        setattr(manifest, attribute, names.get(name, getattr(manifest, attribute)))
    manifest.migrations = [_migration(reader, *row) for row in blocks.get("MIGRATIONS", [])]
    manifest.files = [_file_entry(reader, *row) for row in blocks["FILES"]]
    return manifest


def _migration(reader, line, value):
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise reader.error("a migration is written as [app_label, name]", line)
    return tuple(value)


def _file_entry(reader, line, value):
    shape = (str, str, int, int, str)
    if not (
        isinstance(value, list)
        and len(value) == len(shape)
        and all(type(v) is t for v, t in zip(value, shape))
    ):
        raise reader.error("a file is written as [name, model, rows, bytes, sha256]", line)
    name = value[0]
    if os.path.basename(name) != name or name.startswith(".") or not name.endswith(".py"):
        raise reader.error("%r is not a chunk file name of this directory" % name, line)
    return FileEntry(*value)
