"""The media files of a directory dump (``dump2py --media``): rows -> files.

Every ``FileField`` (and ``ImageField``) value of a dumped row names a file in
that field's own storage. After the chunks are published and before
``restore.py`` is written, the Serializer collects these names with one query
per model (in the dump's snapshot, in this process, also with ``--jobs``),
reads each file through ``field.storage`` in blocks and stores it once under
``DIR/media/<storage name>``: a new private file under a hidden temporary
name, renamed into place when every file is written (``MediaFolder``). A
name whose file is missing in storage stops the dump, naming model, key,
field and name, unless the dump tolerates it: then it is listed in
``MISSING_MEDIA`` and the dump is incomplete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from ..errors import DumpWriteError
from ..files import grammar, safefiles
from ..files.manifest import MediaEntry, MissingMedia, media_name_problem
from ..files.mediafiles import copy_hashed, describe_storage
from ..tables import every_row, key_fields
from ..values.codec import codec_for
from .dumpoptions import DumpOptions
from .rows import columns_of


class MissingMediaFile(DumpWriteError):
    """A row names a file that its field's storage does not have."""


class UnusableMediaName(DumpWriteError):
    """A row names a file the dump cannot hold: a name that would leave
    ``media/``, or one two storages hold with different content."""


@dataclass
class DumpedMedia:
    """The media of a dump: the MEDIA and MISSING_MEDIA entries."""

    entries: list[MediaEntry] = field(default_factory=list)
    missing: list[MissingMedia] = field(default_factory=list)

    @property
    def files(self) -> dict[str, MediaEntry]:
        """{storage name: its first entry}: each file once."""
        files: dict[str, MediaEntry] = {}
        for entry in self.entries:
            files.setdefault(entry.name, entry)
        return files

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.files.values())


class MediaFolder:
    """``DIR/media``: each file written under a hidden temporary name in its
    final folder, renamed into place by ``publish``; ``abort`` removes the
    temporary files and the folders made. Without a directory
    (``dump2py --simulate``), files are read and counted, not written."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.pending: list[tuple[list[str], str]] = []  # (name's parts, temporary name)
        self.created: list[str] = []

    def write(self, name: str, source: Any) -> tuple[int, str]:
        """Copy ``source`` to media file ``name``; return its (size, SHA-256)."""
        if self.directory is None:
            return copy_hashed(source)
        parts = [grammar.MEDIA_FOLDER] + name.split("/")
        folder = safefiles.open_folders(self.directory, parts[:-1], self.created)
        try:
            temporary, fd = safefiles.create_private_temporary(folder)
            self.pending.append((parts, temporary))
            with os.fdopen(fd, "wb") as out:
                sealed = copy_hashed(source, out.write)
                out.flush()
                os.fsync(out.fileno())
        finally:
            os.close(folder)
        return sealed

    def publish(self) -> None:
        """Rename every file into place, and sync the folders."""
        folders: set[str] = set()
        for parts, temporary in self.pending:
            folder = safefiles.open_folders(self.directory or "", parts[:-1])
            try:
                os.replace(temporary, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
                os.fsync(folder)
            finally:
                os.close(folder)
            folders.add(os.path.join(self.directory or "", *parts[:-1]))
        self.pending = []
        for folder_path in folders:
            safefiles.fsync_directory(os.path.dirname(folder_path))

    def abort(self) -> None:
        """Remove the temporary files not published, and the folders made."""
        for parts, temporary in self.pending:
            try:
                folder = safefiles.open_folders(self.directory or "", parts[:-1])
            except OSError:
                continue
            try:
                os.unlink(temporary, dir_fd=folder)
            except OSError:
                pass
            finally:
                os.close(folder)
        self.pending = []
        for path in reversed(self.created):
            try:
                os.rmdir(path)
            except OSError:
                pass


def dump_media(dumped_models: Iterable[Any], using: str | None, folder: MediaFolder,
               options: DumpOptions) -> DumpedMedia:
    """Store the file of every file field value of the rows of ``dumped_models``
    in ``folder``; return what was stored (and, when the options tolerate it,
    what was missing). Raises MissingMediaFile or UnusableMediaName."""
    media = DumpedMedia()
    stored: dict[str, tuple[Any, int, str]] = {}  # name: (storage, size, sha256)
    listed: set[tuple[str, str, str]] = set()
    for model, key, field_, name in _named_files(dumped_models, using or "default", options):
        label = model._meta.label_lower
        storage = field_.storage
        problem = media_name_problem(name)
        if problem:
            raise UnusableMediaName("%s pk=%s: field %s: the dump cannot hold this file: %s"
                                    % (label, grammar.json_value(key), field_.name, problem))
        if (name, label, field_.name) in listed:
            continue
        sealed: tuple[int, str] | None
        if name not in stored:
            sealed = _store(storage, name, folder)
        elif stored[name][0] is storage:
            sealed = stored[name][1:]
        else:  # stored once: another storage's file of that name is only read, to compare
            sealed = _store(storage, name, MediaFolder(None))
        if sealed is None:
            if not options.tolerate_missing_media:
                raise MissingMediaFile(
                    "%s pk=%s: field %s: file %s is missing in storage %s. Dump without it "
                    "(dump2py --tolerate lists it in restore.py), or fix the row"
                    % (label, grammar.json_value(key), field_.name, name,
                       describe_storage(storage)))
            media.missing.append(MissingMedia(label, key, field_.name, name))
            continue
        if name in stored and stored[name][1:] != sealed:
            raise UnusableMediaName(
                "%s pk=%s: field %s: storage %s holds another file at %s than storage %s, "
                "where other rows find it; a dump stores one file per name"
                % (label, grammar.json_value(key), field_.name, describe_storage(storage), name,
                   describe_storage(stored[name][0])))
        stored.setdefault(name, (storage, *sealed))
        listed.add((name, label, field_.name))
        media.entries.append(MediaEntry(name, label, field_.name, *sealed))
    return media


def _store(storage: Any, name: str, folder: MediaFolder) -> tuple[int, str] | None:
    """Copy ``name`` from ``storage`` into ``folder``; None when it is missing there."""
    try:
        source = storage.open(name, "rb")
    except FileNotFoundError:
        return None
    except OSError:
        if not storage.exists(name):
            return None
        raise
    with source:
        return folder.write(name, source)


def _named_files(dumped_models: Iterable[Any], using: str, options: DumpOptions
                 ) -> Iterator[tuple[Any, Any, Any, str]]:
    """(model, key as the dump writes it, field, name) of every file named by
    the rows of ``dumped_models``, one query per model with file fields."""
    for model in dumped_models:
        fields = [column for column in columns_of(model, options.fields)
                  if isinstance(column, models.FileField)]
        if not fields:
            continue
        keys = key_fields(model)
        encoders = [codec_for(key).encode for key in keys]
        rows = every_row(model, using).order_by(*[key.attname for key in keys]).values_list(
            *[key.attname for key in keys], *[field_.attname for field_ in fields])
        for row in rows.iterator():
            written = [value if encode is None or value is None else encode(value)
                       for encode, value in zip(encoders, row)]
            key = written[0] if len(keys) == 1 else written
            for field_, name in zip(fields, row[len(keys):]):
                if name:
                    yield model, key, field_, name
