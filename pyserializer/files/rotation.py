"""A folder of dumps: ``dump2py --timestamped PARENT`` and what reads it back.

Which folders of PARENT are dumps, newest first, is decided here and
nowhere else, so that ``dump2py --keep``, ``restore_dump --list PARENT``
and ``restore_dump PARENT --latest`` never disagree. A dump is a directory
(not a link) directly in PARENT whose ``restore.py`` reads as a manifest,
opened through that directory without following a link; dumps are ordered
by the manifest's CREATED, then by folder name. Anything else in PARENT is
not ours: it is never removed, and only a folder that looks like a dump (it
has a ``restore.py``, or a timestamped name) is named as damaged. A dump
goes with ``restore.py`` first, so that a removal cut short leaves no dump
with missing chunks.
"""

import datetime
import itertools
import os
import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import DumpError, describe_place
from . import manifest as manifests
from .grammar import MANIFEST_NAME
from .safefiles import is_staging_directory, open_folders

# UTC, sortable as text in time order, no colon (not allowed on every file system).
_STAMP_FORMAT = "%Y-%m-%dT%H%M%SZ"
# A second dump of the same second gets "-2", "-3", ... after the stamp.
_TIMESTAMPED = re.compile(r"\d{4}-\d\d-\d\dT\d{6}Z(-[0-9]+)?\Z")

# Whether shutil.rmtree works through descriptors here, never following a link
# put inside what it removes; --keep is refused where it does not.
REMOVAL_IS_SAFE = shutil.rmtree.avoids_symlink_attacks


def timestamped_names(created: datetime.datetime) -> Iterator[str]:
    """The names a dump taken at ``created`` tries in turn: its UTC time
    (``2026-12-07T073253Z``), then the same with ``-2``, ``-3``, ..."""
    stamp = created.astimezone(datetime.timezone.utc).strftime(_STAMP_FORMAT)
    yield stamp
    for number in itertools.count(2):
        yield "%s-%d" % (stamp, number)


def is_timestamped_name(name: str) -> bool:
    return _TIMESTAMPED.match(name) is not None


def is_folder_of_dumps(path: str) -> bool:
    """Whether ``path`` is a directory that is not a dump itself (it has no
    ``restore.py``): ``--list`` and ``--latest`` read it as a folder of dumps."""
    return os.path.isdir(path) and not os.path.lexists(os.path.join(path, MANIFEST_NAME))


def parent_problem(parent: str) -> str | None:
    """Why ``parent`` cannot take timestamped dumps (None when it can, or
    does not exist yet): dump2py refuses it before writing anything."""
    try:
        mode = os.lstat(parent).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "is a symbolic link; name the directory it points to"
    if not stat.S_ISDIR(mode):
        return "is not a directory"
    if os.path.lexists(os.path.join(parent, MANIFEST_NAME)):
        return "is a dump itself; name the folder that holds dumps"
    return None


@dataclass
class FoundDump:
    """A complete dump in a folder of dumps."""

    path: str
    manifest: manifests.Manifest
    created: datetime.datetime
    identity: tuple[int, int]  # (st_dev, st_ino) of the directory as it was read

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass
class DamagedDump:
    """A folder that looks like a dump but does not read as one, and why."""

    path: str
    problem: str

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass
class DumpsInFolder:
    """The dumps of a folder, newest first, and the folders that look like
    dumps but are not complete, by name."""

    parent: str
    dumps: list[FoundDump] = field(default_factory=list)
    damaged: list[DamagedDump] = field(default_factory=list)

    @property
    def newest(self) -> FoundDump | None:
        return self.dumps[0] if self.dumps else None

    def beyond(self, keep: int, written: str) -> list[FoundDump] | None:
        """The dumps ``--keep keep`` removes once ``written`` (a path) is
        published, oldest first: every one but ``written`` and the
        ``keep - 1`` newest others. None when ``written`` is not among the
        dumps: then nothing is removed, since something is not as it should be."""
        if keep < 1:
            raise ValueError("the new dump is always kept: keep must be at least 1")
        name = os.path.basename(written)
        if not any(dump.name == name for dump in self.dumps):
            return None
        return [dump for dump in self.dumps if dump.name != name][keep - 1:][::-1]


def find_dumps(parent: str) -> DumpsInFolder:
    """The dumps in ``parent`` (a directory), newest first."""
    folder = DumpsInFolder(parent)
    with os.scandir(parent) as entries:
        candidates = sorted(
            entry.path for entry in entries
            if entry.is_dir(follow_symlinks=False) and not is_staging_directory(entry.name)
        )
    for path in candidates:
        found = _read_dump(path)
        if isinstance(found, FoundDump):
            folder.dumps.append(found)
        elif found is not None:
            folder.damaged.append(found)
    folder.dumps.sort(key=lambda dump: (dump.created, dump.name), reverse=True)
    return folder


def _read_dump(path: str) -> FoundDump | DamagedDump | None:
    """A FoundDump, a DamagedDump, or None for a folder that is none of ours."""
    timestamped = is_timestamped_name(os.path.basename(path))
    try:
        fd = open_folders(os.path.dirname(path), [os.path.basename(path)])
    except OSError as exc:
        return DamagedDump(path, "cannot open it: %s" % exc.strerror) if timestamped else None
    try:
        try:
            os.lstat(MANIFEST_NAME, dir_fd=fd)
        except FileNotFoundError:
            return DamagedDump(path, "no %s" % MANIFEST_NAME) if timestamped else None
        manifest_path = os.path.join(path, MANIFEST_NAME)
        try:
            manifest = manifests.read_file(manifest_path, dir_fd=fd)
        except DumpError as exc:
            where = describe_place(MANIFEST_NAME, exc.line)
            return DamagedDump(path, "%s: %s" % (where, exc.problem))
        try:
            created = created_time(manifest.created)
        except ValueError:
            return DamagedDump(path, "%s: CREATED is not a time: %r"
                               % (MANIFEST_NAME, manifest.created))
        opened = os.fstat(fd)
        return FoundDump(path, manifest, created, (opened.st_dev, opened.st_ino))
    except OSError as exc:
        return DamagedDump(path, "cannot read it: %s" % exc.strerror)
    finally:
        os.close(fd)


def created_time(text: str) -> datetime.datetime:
    """A manifest's CREATED as a time (in UTC when it names no zone);
    ValueError when it is not one."""
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


class ChangedSinceRead(OSError):
    """A folder to remove is not the one read as a dump any more."""


def remove_dump(dump: FoundDump) -> None:
    """Remove a dump that ``find_dumps`` found: its ``restore.py`` first,
    through the very directory it was read from (a link or another folder
    put in its place since is left alone), then the rest with
    ``shutil.rmtree``, which never follows a link."""
    if not REMOVAL_IS_SAFE:
        raise OSError("shutil.rmtree could follow a link on this platform; nothing removed")
    fd = open_folders(os.path.dirname(dump.path), [dump.name])
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != dump.identity:
            raise ChangedSinceRead("it was replaced since it was read; left alone")
        os.unlink(MANIFEST_NAME, dir_fd=fd)
    finally:
        os.close(fd)
    shutil.rmtree(dump.path)
