"""Nightly rotation: ``dump2py --timestamped PARENT --keep N`` writes a new
folder of PARENT and removes the oldest dumps beyond N, never anything else;
``restore_dump --list PARENT`` lists the dumps of a folder, newest first, and
``restore_dump PARENT --latest`` takes the newest."""

import datetime
import io
import os
import re
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import pyserializer
from helpers import db_snapshot, file_mode, on_creating, populate, raising
from pyserializer.dumping import serializer
from pyserializer.files import rotation
from pyserializer.files.manifest import read_file
from test_dump2py import unreadable_tag_table  # noqa: F401  (a fixture)
from mediaapp.models import Item
from testapp.models import Person

pytestmark = pytest.mark.django_db

FIRST_NIGHT = datetime.datetime(2026, 12, 1, 2, 0, 0, 123456, tzinfo=datetime.timezone.utc)


def night(number):
    """The folder name of the dump of night ``number`` (see ``nights``)."""
    return (FIRST_NIGHT + datetime.timedelta(days=number - 1)).strftime("%Y-%m-%dT%H%M%SZ")


@pytest.fixture
def nights(monkeypatch):
    """A fake clock: each dump is taken (its CREATED) one night after the one
    before, from FIRST_NIGHT on; returns the list of the times given so far."""
    taken = []
    origin = serializer.dump_origin

    def dump_origin(using):
        dump = origin(using)
        taken.append(FIRST_NIGHT + datetime.timedelta(days=len(taken)))
        dump.created = taken[-1].isoformat()
        return dump

    monkeypatch.setattr(serializer, "dump_origin", dump_origin)
    return taken


def dump2py(*args, **options):
    """dump2py ARGS --noinput; returns what it printed."""
    out = io.StringIO()
    call_command("dump2py", *[str(arg) for arg in args], "--noinput", stdout=out,
                 stderr=io.StringIO(), **options)
    return out.getvalue()


def restore_dump(*args, **options):
    """restore_dump ARGS; returns what it printed."""
    out = io.StringIO()
    call_command("restore_dump", *[str(arg) for arg in args], stdout=out,
                 stderr=io.StringIO(), **options)
    return out.getvalue()


def entries(folder):
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------------------
# --timestamped


def test_timestamped_creates_the_folder_private_and_names_the_dump_after_its_utc_time(
        tmp_path):
    parent = tmp_path / "backups" / "shop"
    said = dump2py("--timestamped", parent)
    (name,) = entries(parent)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d{6}Z", name)
    created = read_file(parent / name / "restore.py").created
    utc = datetime.datetime.fromisoformat(created).astimezone(datetime.timezone.utc)
    assert name == utc.strftime("%Y-%m-%dT%H%M%SZ")
    assert file_mode(tmp_path / "backups") == file_mode(parent) == 0o700
    assert re.search(r"^Dumped .* to %s \(" % re.escape(str(parent / name)), said, re.M), said


def test_dumps_of_the_same_second_get_folders_of_their_own(tmp_path, monkeypatch):
    origin = serializer.dump_origin

    def same_second(using):
        dump = origin(using)
        dump.created = FIRST_NIGHT.isoformat()
        return dump

    monkeypatch.setattr(serializer, "dump_origin", same_second)
    for _ in range(3):
        dump2py("--timestamped", tmp_path)
    assert entries(tmp_path) == [night(1), night(1) + "-2", night(1) + "-3"]
    assert len(rotation.find_dumps(str(tmp_path)).dumps) == 3


@pytest.mark.parametrize("args, refusal", [
    (["--keep", "2"], "add --timestamped"),
    (["--timestamped", "--keep", "0"], "--keep must be at least 1"),
    (["--timestamped", "--simulate"], "does not go with --simulate"),
    (["--timestamped", "--overwrite"], "does not go with --overwrite"),
])
def test_timestamped_and_keep_refuse_what_they_cannot_do_before_writing(tmp_path, args,
                                                                        refusal):
    with pytest.raises(CommandError, match=refusal):
        dump2py(tmp_path / "backups", *args)
    assert entries(tmp_path) == []


@pytest.mark.parametrize("kind, refusal", [
    ("link", "is a symbolic link"), ("file", "is not a directory"), ("dump", "is a dump itself"),
])
def test_timestamped_refuses_a_parent_that_is_a_link_a_file_or_a_dump(tmp_path, kind, refusal):
    parent = tmp_path / "backups"
    if kind == "link":
        (tmp_path / "elsewhere").mkdir()
        parent.symlink_to(tmp_path / "elsewhere")
    elif kind == "file":
        parent.write_text("not a folder\n")
    else:
        dump2py(parent)
    before = entries(tmp_path), os.listdir(parent) if parent.is_dir() else None
    with pytest.raises(CommandError, match="%s.*Nothing was written" % refusal):
        dump2py("--timestamped", parent)
    assert (entries(tmp_path), os.listdir(parent) if parent.is_dir() else None) == before


# ---------------------------------------------------------------------------
# --keep


@pytest.fixture
def foreign(tmp_path):
    """What a folder of dumps may hold besides dumps, as {name: what it is},
    and a dump outside it that a link in it points to."""
    parent = tmp_path / "backups"
    parent.mkdir()
    (parent / "photos").mkdir()
    (parent / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    (parent / "notes.txt").write_text("not a dump\n")
    outside = tmp_path / "outside"
    dump2py(outside)
    (parent / "2020-01-01T000000Z").symlink_to(outside)
    damaged = parent / "2020-01-02T000000Z"
    shutil.copytree(outside, damaged)
    (damaged / "restore.py").write_text("FORMAT = 2\nFILES = [\n")
    staging = parent / ".2020-01-03T000000Z.abcd1234.partial"
    shutil.copytree(outside, staging)
    return parent, outside


def test_keep_leaves_exactly_the_newest_dumps_and_everything_that_is_not_a_dump(foreign,
                                                                                nights):
    parent, outside = foreign
    others = entries(parent)
    outside_files = entries(outside)
    for _ in range(3):
        dump2py("--timestamped", parent)
    said = dump2py("--timestamped", parent, "--keep", "2")
    assert entries(parent) == sorted(others + [night(3), night(4)])
    assert entries(outside) == outside_files
    assert read_file(outside / "restore.py").files
    assert "Removed old dump %s." % (parent / night(1)) in said
    assert "Removed old dump %s." % (parent / night(2)) in said
    assert "Kept %s: it looks like a dump" % (parent / "2020-01-02T000000Z") in said
    for name in ("photos", "notes.txt", "2020-01-01T000000Z", ".2020-01-03"):
        assert name not in said


def test_keep_orders_the_dumps_by_their_time_not_by_their_folder_names(tmp_path, nights):
    for _ in range(3):
        dump2py("--timestamped", tmp_path)
    (tmp_path / night(1)).rename(tmp_path / "zz-renamed")  # the oldest, last by name
    (tmp_path / night(3)).rename(tmp_path / "aa-renamed")  # the newest, first by name
    dump2py("--timestamped", tmp_path, "--keep", "3")
    assert entries(tmp_path) == sorted(["aa-renamed", night(2), night(4)])


def test_keep_1_keeps_the_new_dump_even_when_another_claims_to_be_newer(tmp_path, nights):
    dump2py("--timestamped", tmp_path)
    nights.extend([FIRST_NIGHT] * 29)  # the next dump is taken 30 days later
    dump2py("--timestamped", tmp_path)
    nights.clear()  # and the one after that on the first night again
    said = dump2py("--timestamped", tmp_path, "--keep", "1")
    assert entries(tmp_path) == [night(1) + "-2"]
    assert "Removed old dump %s." % (tmp_path / night(31)) in said


def test_keep_removes_an_old_dump_with_its_media_files(tmp_path, nights, settings):
    settings.MEDIA_ROOT = str(tmp_path / "uploads")
    (tmp_path / "uploads" / "docs").mkdir(parents=True)
    (tmp_path / "uploads" / "docs" / "a.txt").write_bytes(b"12345")
    Item.objects.create(title="with a file", document="docs/a.txt")
    parent = tmp_path / "backups"
    dump2py("--timestamped", parent, "--media")
    assert (parent / night(1) / "media" / "docs" / "a.txt").read_bytes() == b"12345"
    dump2py("--timestamped", parent, "--media", "--keep", "1")
    assert entries(parent) == [night(2)]
    assert (tmp_path / "uploads" / "docs" / "a.txt").read_bytes() == b"12345"


def test_keep_removes_nothing_when_the_dump_is_interrupted(tmp_path, monkeypatch, nights):
    for _ in range(2):
        dump2py("--timestamped", tmp_path)
    on_creating(monkeypatch, "*.py", raising(KeyboardInterrupt))
    with pytest.raises(CommandError, match="Interrupted. No dump was written."):
        dump2py("--timestamped", tmp_path, "--keep", "1")
    assert entries(tmp_path) == [night(1), night(2)]


def test_keep_removes_nothing_when_a_table_cannot_be_read(tmp_path, unreadable_tag_table,
                                                        nights):
    for _ in range(2):
        dump2py("--timestamped", tmp_path, "-e", "testapp.tag")
    with pytest.raises(CommandError, match="Cannot read table"):
        dump2py("--timestamped", tmp_path, "--keep", "1")
    assert entries(tmp_path) == [night(1), night(2)]


@pytest.mark.filterwarnings("ignore:.*incomplete dump:RuntimeWarning")
def test_keep_removes_nothing_after_an_incomplete_dump(tmp_path, unreadable_tag_table, nights):
    for _ in range(2):
        dump2py("--timestamped", tmp_path, "-e", "testapp.tag")
    with pytest.raises(CommandError, match="The dump in %s is INCOMPLETE"
                       % re.escape(str(tmp_path / night(3)))):
        dump2py("--timestamped", tmp_path, "--tolerate", "--keep", "1")
    assert entries(tmp_path) == [night(1), night(2), night(3)]
    newest = restore_dump("--list", tmp_path).splitlines()[1]
    assert newest.startswith("  %s  " % night(3))
    assert newest.endswith("INCOMPLETE: 1 table(s) could not be read")


def test_keep_removes_the_manifest_first_and_leaves_a_replaced_folder_alone(tmp_path, nights):
    for _ in range(2):
        dump2py("--timestamped", tmp_path)
    folder = rotation.find_dumps(str(tmp_path))
    (old,) = folder.beyond(1, folder.dumps[0].path)
    (tmp_path / old.name).rename(tmp_path / "moved")
    shutil.copytree(tmp_path / "moved", tmp_path / old.name)  # the same files, another folder
    with pytest.raises(rotation.ChangedSinceRead):
        rotation.remove_dump(old)
    assert (tmp_path / old.name / "restore.py").exists()
    rmtree = shutil.rmtree

    def rmtree_without_manifest(path, *args, **kwargs):
        assert not os.path.lexists(os.path.join(path, "restore.py"))
        rmtree(path, *args, **kwargs)

    (moved,) = [dump for dump in rotation.find_dumps(str(tmp_path)).dumps if dump.name == "moved"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shutil, "rmtree", rmtree_without_manifest)
        rotation.remove_dump(moved)
    assert not (tmp_path / "moved").exists()


@pytest.mark.parametrize("stop, refusal, left", [
    (PermissionError(13, "Permission denied"),
     "The dump {new} is complete, but 1 old dump.s. could not be removed:\n  {failed}: "
     ".*Permission denied", [2, 4]),
    (KeyboardInterrupt(),
     "Interrupted while removing old dumps. The new dump {new} is complete; removed: {first}.",
     [2, 3, 4]),
])
def test_keep_says_which_old_dumps_it_could_not_remove_and_that_the_new_one_is_complete(
        tmp_path, nights, monkeypatch, stop, refusal, left):
    for _ in range(3):
        dump2py("--timestamped", tmp_path)
    rmtree = shutil.rmtree

    def rmtree_failing_on_night_2(path, *args, **kwargs):
        if path.endswith(night(2)):
            raise stop
        rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree_failing_on_night_2)
    paths = {name: re.escape(str(tmp_path / night(number)))
             for name, number in (("new", 4), ("failed", 2), ("first", 1))}
    with pytest.raises(CommandError, match=refusal.format(**paths)):
        dump2py("--timestamped", tmp_path, "--keep", "1")
    assert entries(tmp_path) == [night(number) for number in left]
    damaged = rotation.find_dumps(str(tmp_path)).damaged
    assert [(entry.name, entry.problem) for entry in damaged] == [(night(2), "no restore.py")]


# ---------------------------------------------------------------------------
# restore_dump --list PARENT and --latest


def test_list_of_a_folder_gives_a_line_per_dump_newest_first(foreign, nights, settings,
                                                             tmp_path):
    parent, _ = foreign
    settings.MEDIA_ROOT = str(tmp_path / "uploads")
    (tmp_path / "uploads" / "docs").mkdir(parents=True)
    (tmp_path / "uploads" / "docs" / "a.txt").write_bytes(b"12345")
    Item.objects.create(title="with a file", document="docs/a.txt")
    said = [dump2py("--timestamped", parent, *args)
            for args in (["--compress", "none"], ["--compress", "gzip"], ["--media"])]
    counted = [re.search(r"Dumped (.*?)( and 1 media file .*)? to .* \((.*)\) in", text)
               .group(1, 3) for text in said]
    listing = restore_dump("--list", parent).splitlines()
    assert listing[0] == "Dumps in %s, newest first:" % parent
    version = "pyserializer %s" % pyserializer.__version__
    for line, number, compression, media in zip(
            listing[1:4], (3, 2, 1), ("none", "gzip", "none"),
            ("1 media file (5 bytes)", "no media", "no media")):
        objects, files = counted[number - 1]
        taken = (FIRST_NIGHT + datetime.timedelta(days=number - 1)).strftime("%Y-%m-%d %H:%M:%S")
        assert line.split() == ("%s %s UTC %s %s %s %s %s" % (
            night(number), taken, objects, files, compression, media, version)).split()
    assert listing[4] == ("Folders that look like dumps but are not complete "
                          "(--keep never removes them):")
    assert listing[5].split()[:2] == ["2020-01-02T000000Z", "restore.py:"]
    assert listing[5].endswith("it is truncated")
    assert len(listing) == 6


def test_list_and_restore_of_a_folder_that_is_no_dump_say_so_in_one_line(tmp_path, nights):
    (tmp_path / "photos").mkdir()
    with pytest.raises(CommandError, match="is neither a dump .* nor a folder of dumps"):
        restore_dump("--list", tmp_path)
    dump2py("--timestamped", tmp_path)
    with pytest.raises(CommandError, match="is a folder of dumps, not a dump: .* add --latest"):
        restore_dump(tmp_path, "--noinput")


def test_latest_restores_the_newest_dump(tmp_path, nights):
    populate()
    dump2py("--timestamped", tmp_path)
    Person.objects.filter(name="Alice").update(name="Alice, night 2")
    dump2py("--timestamped", tmp_path)
    newest = db_snapshot()
    Person.objects.filter(name="Alice, night 2").update(name="Alice, after the dumps")
    Person.objects.filter(name="Bob").delete()
    said = restore_dump(tmp_path, "--latest", "--noinput")
    assert said.startswith("Latest dump in %s: %s, taken %s." % (
        tmp_path, night(2), nights[1].isoformat()))
    assert db_snapshot() == newest


def test_check_list_and_verify_take_latest_too(tmp_path, nights):
    populate()
    for _ in range(2):
        dump2py("--timestamped", tmp_path)
    newest = tmp_path / night(2)
    assert "The dump %s is good" % newest in restore_dump(tmp_path, "--latest", "--check")
    assert "\nDump %s (format" % newest in restore_dump(tmp_path, "--latest", "--list")
    assert "Verified %s" % newest in restore_dump(tmp_path, "--latest", "--verify")


def test_latest_refuses_a_folder_without_a_complete_dump_and_a_dump_itself(foreign, tmp_path):
    parent, outside = foreign
    with pytest.raises(CommandError, match="holds no complete dump; 2020-01-02T000000Z is not "
                       "complete: restore.py"):
        restore_dump(parent, "--latest", "--noinput")
    for dump in (outside, outside / "restore.py"):
        with pytest.raises(CommandError, match="is a dump itself"):
            restore_dump(dump, "--latest", "--noinput")
    with pytest.raises(CommandError, match="no such directory"):
        restore_dump(tmp_path / "nothing", "--latest", "--noinput")
