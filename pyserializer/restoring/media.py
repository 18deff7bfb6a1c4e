"""Put a dump's media files back through their fields' storages.

A restore (and ``--check``) first checks, before anything changes
(``check_media``): every media file of the dump is a regular file, reached
through no link, with the size and SHA-256 ``restore.py`` lists; and where a
storage already holds a file at its name, that file has the same content
(it is kept) or ``--replace-media`` allows overwriting it. Each file goes
to the storage of every current model field that names it, or to
``default_storage`` when the code no longer has that model or field.

Then, as far as a storage allows, all or nothing (``StagedMedia``): on a
``FileSystemStorage`` each file is copied, checked again as it is copied,
to a hidden temporary file in its final folder before the rows'
transaction, and moved into place (``os.replace``) only once the rows have
committed; on a failure or a signal before that, the temporary files and the
folders made for them are removed, and the storage is as it was. Another
storage cannot hold a file unseen: its files are written after the rows have
committed, and a failure names the files already written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import FieldDoesNotExist
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

from ..cli.progress import media_files
from ..files import safefiles
from ..files.manifest import Manifest, MediaEntry
from ..files.mediafiles import (
    HashingReader, check_media_file, check_sealed, copy_hashed, describe_storage, open_media,
)
from .plan import NotRestorable


class MediaNotWritten(Exception):
    """Writing media files into a storage failed after the rows were restored;
    the message names the files already written."""


@dataclass
class MediaFile:
    """One file of the dump to restore: its entry, the labels of the fields
    naming it, and the storages it goes to."""

    entry: MediaEntry
    fields: list[str] = field(default_factory=list)  # "app.model.field"
    storages: list[Any] = field(default_factory=list)


@dataclass
class MediaPlan:
    """What a restore does with the dump's media files, once checked."""

    directory: str
    files: list[MediaFile]
    to_write: list[tuple[MediaFile, Any]] = field(default_factory=list)  # (file, storage)
    kept: int = 0  # (file, storage) pairs already there with the same content
    unknown_fields: list[str] = field(default_factory=list)  # resolved to default_storage

    @property
    def size(self) -> int:
        return sum(file.entry.size for file in self.files)

    def counted(self) -> str:
        """E.g. "3 media files (1.2 MB)"."""
        return media_files(len(self.files), self.size)

    def describe(self) -> str:
        """What a check found about the files and the storages."""
        text = "%s, each with its size and SHA-256" % self.counted()
        if self.kept:
            text += "; %d already in storage with the same content" % self.kept
        lines = [text[0].upper() + text[1:] + "."]
        if self.unknown_fields:
            lines.append("Not fields of the code, so their files go to default_storage "
                         "(%s): %s." % (describe_storage(default_storage),
                                        ", ".join(self.unknown_fields)))
        return "\n".join(lines)


def media_of(dump: Manifest, excluded: Callable[[str], bool]) -> MediaPlan:
    """The dump's media files but those every row naming them leaves out,
    each with the storages of the fields naming it."""
    files: dict[str, MediaFile] = {}
    unknown: list[str] = []
    for entry in dump.media:
        if excluded(entry.model):
            continue
        file = files.setdefault(entry.name, MediaFile(entry))
        storage = _storage_of(entry.model, entry.field)
        label = "%s.%s" % (entry.model, entry.field)
        if storage is None:
            storage = default_storage
            if label not in unknown:
                unknown.append(label)
        file.fields.append(label)
        if all(storage is not other for other in file.storages):
            file.storages.append(storage)
    return MediaPlan(dump.directory, list(files.values()), unknown_fields=unknown)


def _storage_of(label: str, field_name: str) -> Any:
    try:
        return global_apps.get_model(label)._meta.get_field(field_name).storage
    except (LookupError, ValueError, FieldDoesNotExist, AttributeError):
        return None


def check_files(media: MediaPlan) -> None:
    """Read every media file of the dump: each must be there, reached through
    no link, with its size and SHA-256 (DumpError otherwise)."""
    for file in media.files:
        check_media_file(media.directory, file.entry)


def check_media(dump: Manifest, excluded: Callable[[str], bool], replace: bool = False
                ) -> MediaPlan:
    """Before anything changes: check the dump's files and what the storages
    hold at their names; return the MediaPlan of what to write. A storage
    holding another file at a name is refused (NotRestorable) unless ``replace``."""
    media = media_of(dump, excluded)
    check_files(media)
    for file in media.files:
        for storage in file.storages:
            held = _held(storage, file.entry)
            if held == "same":
                media.kept += 1
                continue
            if held == "different" and not replace:
                raise NotRestorable(
                    "Cannot restore %s: storage %s already holds a different file at %s "
                    "(named by %s); --replace-media to overwrite it, nothing was changed."
                    % (dump.directory, describe_storage(storage), file.entry.name,
                       ", ".join(file.fields)))
            media.to_write.append((file, storage))
    return media


def _held(storage: Any, entry: MediaEntry) -> str:
    """What ``storage`` holds at the entry's name: "nothing", "same" or "different"."""
    try:
        if not storage.exists(entry.name):
            return "nothing"
        if storage.size(entry.name) != entry.size:
            return "different"
        with storage.open(entry.name, "rb") as held:
            size, sha256 = copy_hashed(held)
    except OSError as exc:
        raise NotRestorable(
            "Cannot restore: storage %s cannot read what it holds at %s (%s); nothing was "
            "changed." % (describe_storage(storage), entry.name, exc)) from exc
    return "same" if (size, sha256) == (entry.size, entry.sha256) else "different"


@dataclass
class _Temporary:
    path: str  # where the file goes
    temporary: str  # the temporary file beside it
    mode: int


class StagedMedia:
    """The writes of a MediaPlan: ``stage`` before the rows' transaction,
    ``publish`` once it committed, ``discard`` (always, last) removes what
    ``publish`` did not use. See the module's docstring."""

    def __init__(self, media: MediaPlan | None) -> None:
        self.media = media
        self.temporaries: list[_Temporary] = []
        self.created: list[str] = []  # folders made in FileSystemStorages
        self.written: list[str] = []  # names published or saved so far

    def stage(self) -> None:
        """Copy each file bound for a FileSystemStorage beside its final place.
        A storage that cannot take it is refused (NotRestorable): the files
        staged so far stay until ``discard``."""
        if self.media is None:
            return
        mask = os.umask(0)
        os.umask(mask)
        for file, storage in self.media.to_write:
            if isinstance(storage, FileSystemStorage):
                try:
                    self._stage(file.entry, storage, 0o666 & ~mask)
                except OSError as exc:
                    raise NotRestorable(
                        "Cannot restore %s: cannot write %s into storage %s: %s; nothing was "
                        "changed." % (self.media.directory, file.entry.name,
                                      describe_storage(storage), exc)) from exc

    def _stage(self, entry: MediaEntry, storage: FileSystemStorage, default_mode: int) -> None:
        assert self.media is not None
        path = storage.path(entry.name)
        folder = os.path.dirname(path)
        self._make_folders(folder, storage.directory_permissions_mode)
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            name, fd = safefiles.create_private_temporary(folder_fd)
        finally:
            os.close(folder_fd)
        mode = storage.file_permissions_mode
        self.temporaries.append(_Temporary(path, os.path.join(folder, name),
                                           default_mode if mode is None else mode))
        with os.fdopen(fd, "wb") as out, open_media(self.media.directory, entry) as source:
            sealed = copy_hashed(source, out.write)
            out.flush()
            os.fsync(out.fileno())
        check_sealed(self.media.directory, entry, *sealed)

    def _make_folders(self, folder: str, mode: int | None) -> None:
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for path in reversed(missing):
            os.mkdir(path)
            self.created.append(path)
            if mode is not None:
                os.chmod(path, mode)

    def publish(self) -> str:
        """After the rows committed: move the staged files into place, then
        write the others; return what was done, for the report."""
        if self.media is None or not self.media.files:
            return ""
        try:
            for staged in self.temporaries:
                os.chmod(staged.temporary, staged.mode)
                os.replace(staged.temporary, staged.path)
                self.written.append(staged.path)
            self.temporaries, self.created = [], []
            for file, storage in self.media.to_write:
                if not isinstance(storage, FileSystemStorage):
                    self._save(file.entry, storage)
                    self.written.append("%s (%s)" % (file.entry.name, describe_storage(storage)))
        except Exception as exc:
            raise MediaNotWritten("%s. %s" % (exc, self.done())) from exc
        text = "put %s into storage" % media_files(
            len(self.media.to_write), sum(file.entry.size for file, _ in self.media.to_write))
        if self.media.kept:
            text += " (%d already there)" % self.media.kept
        return text

    def _save(self, entry: MediaEntry, storage: Any) -> None:
        assert self.media is not None
        if storage.exists(entry.name):
            storage.delete(entry.name)
        with open_media(self.media.directory, entry) as source:
            reader = HashingReader(source)
            content = File(reader, name=entry.name)
            content.size = entry.size
            saved = storage.save(entry.name, content)
        if saved != entry.name:
            storage.delete(saved)
            raise MediaNotWritten("storage %s saved %s as %s" % (
                describe_storage(storage), entry.name, saved))
        try:
            check_sealed(self.media.directory, entry, reader.read_size, reader.sha256())
        except Exception:
            storage.delete(saved)
            raise

    def done(self) -> str:
        """What was written so far, for a failure's message."""
        if not self.written:
            return "No media file was written."
        return "Media files already written: %s." % ", ".join(self.written)

    def discard(self) -> None:
        """Remove the staged files not published, and the folders made for them."""
        for staged in self.temporaries:
            try:
                os.unlink(staged.temporary)
            except FileNotFoundError:
                pass
        self.temporaries = []
        for path in reversed(self.created):
            try:
                os.rmdir(path)
            except OSError:
                pass
        self.created = []

