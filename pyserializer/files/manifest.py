"""``restore.py``: the manifest that makes a directory of chunks one dump.

It lists every chunk file in loading order with its model, row count, size
and SHA-256, so that a missing, truncated, altered or stale file is never
loaded by mistake; the media files (``dump2py --media``) likewise, each with
the model and field that name it (``MEDIA``), and those missing in storage
at dump time (``MISSING_MEDIA``). It records where the data came from (versions,
database vendor, time, applied migrations). It is also a script: running it
restores the dump (see ``pyserializer.restore``). The loader reads it with
the same safe reader as the chunks, stricter still (JSON values only, no
import line), and checks that the script part is exactly the one written
here. Running it is running Python: its header says so, and how to restore
a dump from elsewhere without running it.
"""

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from . import grammar
from .compression import compression_of
from .reader import DumpReader
from .safefiles import is_staging_directory, open_dump_file

# The largest row count or size a FILES entry may give (a signed 64-bit integer).
MAX_COUNT = (1 << 63) - 1
# The longest storage name a MEDIA entry may give.
MAX_MEDIA_NAME = 1024

# Run as a script, Python puts the dump's directory first on sys.path: take it
# off before importing anything, so that no chunk file can pass for a module.
_RUN_AS_SCRIPT = (
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
# Imported (by another app's "py" loader, which runs fixtures), it stops that
# loader with a message instead of loading nothing (pyserializer.foreign).
_REFUSE_IMPORT = (
    "else:\n"
    + "    from pyserializer.foreign import refuse_import\n"
    + "\n"
    + "    refuse_import(__name__, __file__)\n"
)
# {format: its script part}: each format has exactly one, and format 2 differs
# from format 1 only by the "else:" part.
SCRIPT_TRAILERS = {1: _RUN_AS_SCRIPT, 2: _RUN_AS_SCRIPT + _REFUSE_IMPORT}


def manifest_path_of(path: Any) -> str:
    """The ``restore.py`` of a dump named by its directory or by that file itself:
    every command takes either, as ``dump2py`` reports the directory."""
    path = str(path)
    return os.path.join(path, grammar.MANIFEST_NAME) if os.path.isdir(path) else path


@dataclass
class FileEntry:
    """One chunk file as the manifest lists it (a row of FILES)."""

    name: str
    model: str
    rows: int
    size: int
    sha256: str


@dataclass
class MediaEntry:
    """One media file as the manifest lists it (a row of MEDIA): stored once
    at ``DIR/media/<name>``, named by ``field`` of rows of ``model``."""

    name: str
    model: str
    field: str
    size: int
    sha256: str


@dataclass
class MissingMedia:
    """A file a row named that its storage did not have at dump time (a row
    of MISSING_MEDIA, ``dump2py --media --tolerate``); ``pk`` as the dump
    writes the row's key."""

    model: str
    pk: Any
    field: str
    name: str


@dataclass
class Manifest:
    """What ``restore.py`` says about a dump."""

    format: int = grammar.FORMAT_VERSION
    created: str = ""
    pyserializer_version: str = ""
    django_version: str = ""
    database_vendor: str = ""
    migrations: list[Sequence[str]] = field(default_factory=list)
    skipped: list[list[str]] = field(default_factory=list)
    left_out: list[Sequence[str]] = field(default_factory=list)  # [(model, why)]: the models not dumped
    files: list[FileEntry] = field(default_factory=list)
    media: list[MediaEntry] = field(default_factory=list)
    missing_media: list[MissingMedia] = field(default_factory=list)
    directory: str = ""

    @property
    def total_rows(self) -> int:
        return sum(entry.rows for entry in self.files)

    def media_files(self, excluded: Any = None) -> dict[str, MediaEntry]:
        """{storage name: its first MEDIA entry}: each file once. ``excluded``
        (a function of a model label) leaves out a file whose every row is
        of a model left out."""
        files: dict[str, MediaEntry] = {}
        for entry in self.media:
            if excluded is None or not excluded(entry.model):
                files.setdefault(entry.name, entry)
        return files

    def migration_state(self) -> dict[str, Any]:
        """{app_label: [migration names]} of the migrations applied at dump time."""
        state: dict[str, Any] = {}
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


def render(manifest: Manifest) -> str:
    """The full text of ``restore.py``."""
    lines = [
        "#!/usr/bin/env python3\n",
        grammar.data_only_note(manifest.format) + "\n",
        "# This file lists the chunk files of the dump; the dump is complete only\n",
        "# when this file exists. Restore with one of:\n",
        "#     python manage.py restore_dump path/to/restore.py\n",
        "#     python manage.py loaddata path/to/restore.py\n",
        "#     python path/to/restore.py [--noinput] [--settings=...]\n",
        "# The last one RUNS THIS FILE AS PYTHON: use it only for a dump you made.\n",
        "# Restore a dump from anyone else with manage.py, which never runs it.\n",
        grammar.assignment("FORMAT", manifest.format),
    ]
    for name, attribute in _NAMES.items():
        lines.append(grammar.assignment(name, getattr(manifest, attribute)))
    if manifest.left_out:
        lines += _block(
            "LEFT_OUT", "Models whose rows are not in the dump, and why: [model, reason]",
            [list(entry) for entry in manifest.left_out])
    lines += _block(
        "MIGRATIONS", "Migrations applied to the database at dump time: [app, migration]",
        [list(pair) for pair in manifest.migrations])
    lines += _block("FILES", "Chunk files in loading order: [file, model, rows, bytes, sha256]",
                    [[e.name, e.model, e.rows, e.size, e.sha256] for e in manifest.files])
    if manifest.media:
        lines += _block(
            "MEDIA", "Media files, each stored once under %s/: [storage name, model, field, "
            "bytes, sha256]" % grammar.MEDIA_FOLDER,
            [[e.name, e.model, e.field, e.size, e.sha256] for e in manifest.media])
    if manifest.missing_media:
        lines += _block(
            "MISSING_MEDIA", "Media files missing in storage at dump time: [model, pk, field, "
            "storage name]", [[e.model, e.pk, e.field, e.name] for e in manifest.missing_media])
    lines.append(SCRIPT_TRAILERS[manifest.format])
    return "".join(lines)


def _block(name: str, comment: str, rows: list[list[Any]]) -> list[str]:
    """The lines of block ``name``: its comment, then one JSON row per line."""
    return (["# %s\n" % comment, grammar.block_start(name)]
            + [grammar.json_value(row) + ",\n" for row in rows] + [grammar.BLOCK_END])


def is_manifest_path(path: Any) -> bool:
    return os.path.basename(str(path or "")) == grammar.MANIFEST_NAME


def read_file(path: Any, dir_fd: int | None = None) -> Manifest:
    """The Manifest of the ``restore.py`` at ``path``, opened as every dump file is
    (by its name in ``dir_fd``, the dump's folder opened already, when given)."""
    with open_dump_file(path, dir_fd) as stream:
        return read(stream, path)


def read(source: IO[Any] | str, path: Any) -> Manifest:
    """Parse ``restore.py`` (a stream or text) into a Manifest."""
    reader = DumpReader(source, path, manifest=True)
    directory = os.path.dirname(os.path.abspath(str(path)))
    if is_staging_directory(directory):
        raise reader.error(
            "this is the staging directory of a dump2py that has not finished (or "
            "was killed); it is not a dump"
        )
    blocks: dict[str, list[tuple[int, Any]]] = {}
    for section in reader.sections():
        if section.name in blocks:
            raise reader.error("%s is given twice" % section.name, section.line)
        blocks[section.name] = list(section.rows)
    reader.check_format()
    names = reader.names
    if "FILES" not in blocks or reader.trailer is None:
        raise reader.error(
            "the manifest is incomplete (no FILES list or no script part): "
            "the dump was interrupted or the file was cut"
        )
    if reader.trailer != SCRIPT_TRAILERS[names["FORMAT"]]:
        raise reader.error(
            "the script part of %s was changed; only the part written by "
            "pyserializer is accepted" % grammar.MANIFEST_NAME
        )
    manifest = Manifest(format=names["FORMAT"], directory=directory)
    for name, attribute in _NAMES.items():
        if name in names:
            setattr(manifest, attribute, _checked(reader, name, names[name]))
    manifest.migrations = [_migration(reader, *row) for row in blocks.get("MIGRATIONS", [])]
    manifest.left_out = [_left_out(reader, *row) for row in blocks.get("LEFT_OUT", [])]
    manifest.files = [_file_entry(reader, *row) for row in blocks["FILES"]]
    _refuse_repeated_files(reader, blocks["FILES"])
    manifest.media = _media_entries(reader, blocks.get("MEDIA", []))
    manifest.missing_media = _missing_media(reader, blocks.get("MISSING_MEDIA", []))
    return manifest


def _checked(reader: DumpReader, name: str, value: Any) -> Any:
    """SKIPPED is a list of [model, table, message]; the other names are text."""
    if name == "SKIPPED":
        valid = isinstance(value, list) and all(_strings(entry, 3) for entry in value)
        expected = "a list of [model, table, error message]"
    else:
        valid = isinstance(value, str)
        expected = "a string"
    if not valid:
        raise reader.error("%s must be %s" % (name, expected), reader.name_lines[name])
    return value


def _strings(value: Any, length: int) -> bool:
    return isinstance(value, list) and len(value) == length and all(isinstance(v, str) for v in value)


def _migration(reader: DumpReader, line: int, value: Any) -> tuple[str, ...]:
    if not _strings(value, 2):
        raise reader.error("a migration is written as [app_label, name]", line)
    return tuple(value)


def _left_out(reader: DumpReader, line: int, value: Any) -> tuple[str, ...]:
    if not _strings(value, 2):
        raise reader.error("a model left out is written as [model, reason]", line)
    return tuple(value)


def _file_entry(reader: DumpReader, line: int, value: Any) -> FileEntry:
    shape = (str, str, int, int, str)
    if not (
        isinstance(value, list)
        and len(value) == len(shape)
        and all(type(v) is t for v, t in zip(value, shape))
    ):
        raise reader.error("a file is written as [name, model, rows, bytes, sha256]", line)
    name = value[0]
    if os.path.basename(name) != name or name.startswith(".") or not is_chunk_name(name):
        raise reader.error("%r is not a chunk file name of this directory" % name, line)
    if name == grammar.MANIFEST_NAME:
        raise reader.error("%s cannot list itself as a chunk" % name, line)
    if not all(0 <= count <= MAX_COUNT for count in value[2:4]):
        raise reader.error("the row count and the size must be between 0 and 2**63 - 1", line)
    return FileEntry(*value)


def is_chunk_name(name: str) -> bool:
    """``NAME.py``, or ``NAME.py.gz`` or ``NAME.py.zst`` when compressed."""
    return name.endswith(".py") or compression_of(name) is not None


def _refuse_repeated_files(reader: DumpReader, rows: list[tuple[int, Any]]) -> None:
    seen: set[str] = set()
    for line, value in rows:
        if value[0] in seen:
            raise reader.error("%s is listed twice in FILES" % value[0], line)
        seen.add(value[0])


def media_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a storage name of a dump's media file, or None.

    A name is a relative path of "/"-separated components, none of them
    empty, "." or "..", without backslashes or control characters, at most
    MAX_MEDIA_NAME characters: stricter than Django's ``validate_file_name``,
    so that ``DIR/media/<name>`` never leaves ``DIR/media``.
    """
    if not name:
        return "a media file's name is empty"
    if len(name) > MAX_MEDIA_NAME:
        return "a media file's name is longer than %d characters" % MAX_MEDIA_NAME
    if name.startswith("/"):
        return "%r is an absolute path, not a storage name" % name
    if "\\" in name:
        return "%r holds a backslash" % name
    if any(unicodedata.category(character) == "Cc" for character in name):
        return "%r holds a control character" % name
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "%r has an empty, \".\" or \"..\" component" % name
    return None


def _media_entries(reader: DumpReader, rows: list[tuple[int, Any]]) -> list[MediaEntry]:
    """The rows of MEDIA, checked: one per (name, model, field), one size and
    checksum per name, and no name that is a folder of another."""
    entries: list[MediaEntry] = []
    seen: set[tuple[str, str, str]] = set()
    first: dict[str, MediaEntry] = {}
    for line, value in rows:
        shape = (str, str, str, int, str)
        if not (isinstance(value, list) and len(value) == len(shape)
                and all(type(v) is t for v, t in zip(value, shape))):
            raise reader.error(
                "a media file is written as [storage name, model, field, bytes, sha256]", line)
        entry = MediaEntry(*value)
        problem = media_name_problem(entry.name)
        if problem:
            raise reader.error(problem, line)
        if not 0 <= entry.size <= MAX_COUNT:
            raise reader.error("the size must be between 0 and 2**63 - 1", line)
        key = (entry.name, entry.model, entry.field)
        if key in seen:
            raise reader.error("%s of %s.%s is listed twice in MEDIA" % key, line)
        seen.add(key)
        other = first.setdefault(entry.name, entry)
        if (other.size, other.sha256) != (entry.size, entry.sha256):
            raise reader.error(
                "%s is listed with two sizes or checksums: a dump stores one file per name"
                % entry.name, line)
        entries.append(entry)
    for line, value in rows:
        parts = value[0].split("/")
        for end in range(1, len(parts)):
            if "/".join(parts[:end]) in first:
                raise reader.error(
                    "%s cannot be stored: MEDIA lists %s, one of its folders, as a file"
                    % (value[0], "/".join(parts[:end])), line)
    return entries


def _missing_media(reader: DumpReader, rows: list[tuple[int, Any]]) -> list[MissingMedia]:
    """The rows of MISSING_MEDIA, checked, none listed twice."""
    entries: list[MissingMedia] = []
    seen: set[str] = set()
    for line, value in rows:
        if not (isinstance(value, list) and len(value) == 4
                and all(isinstance(value[i], str) for i in (0, 2, 3))
                and value[1] is not None and not isinstance(value[1], dict)):
            raise reader.error(
                "a missing media file is written as [model, pk, field, storage name]", line)
        problem = media_name_problem(value[3])
        if problem:
            raise reader.error(problem, line)
        key = grammar.json_value(value)
        if key in seen:
            raise reader.error("this row is listed twice in MISSING_MEDIA", line)
        seen.add(key)
        entries.append(MissingMedia(*value))
    return entries
