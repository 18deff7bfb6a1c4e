"""Uploaded files in a dump (``dump2py --media``): the files that the rows'
FileField and ImageField values name go into DIR/media/ with their rows, and
a restore puts them back through the fields' storages, all or nothing as far
as the storage allows. The models are tests/mediaapp's: two fields in the
default storage, one in a FileSystemStorage of its own (MEDIA_ROOT-archive)."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage, default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.base import DeserializationError
from django.db import connection
from django.test import override_settings
from PIL import Image

from helpers import (
    TESTS_DIR, as_json, db_snapshot, db_snapshot_in, line_number, read_lines, replace_line,
)
from mediaapp.models import ARCHIVE, Item, Note
from processes import project_env
from pyserializer.dumping.dumpoptions import UnusableOption
from pyserializer.files import manifest as manifests
from pyserializer.restoring.run import restore

pytestmark = pytest.mark.django_db

PICTURE_NAME = "images/pixel.png"


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 10, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def media_root(tmp_path):
    """A MEDIA_ROOT of the test's own (its archive storage beside it)."""
    root = tmp_path / "site" / "media"
    root.mkdir(parents=True)
    with override_settings(MEDIA_ROOT=str(root)):
        yield root


def archive_of(root):
    return Path(str(root) + "-archive")


def populate_media():
    """Items and notes naming files in both storages; a note names an item's file.
    Returns the bytes of each file by storage name."""
    first = Item(title="first")
    first.document.save("résumé 1.txt", ContentFile("Grüße\n".encode()), save=False)
    first.picture.save("pixel.png", ContentFile(png_bytes()), save=False)
    first.attachment.save("blob.bin", ContentFile(bytes(range(256)) * 3), save=False)
    first.save()
    second = Item.objects.create(title="no files")
    Note.objects.create(item=first, document=first.document.name)
    own = Note(item=second)
    own.document.save("note only.txt", ContentFile(b"a note's own file"), save=False)
    own.save()
    return {
        first.document.name: b"Gr\xc3\xbc\xc3\x9fe\n", first.picture.name: png_bytes(),
        first.attachment.name: bytes(range(256)) * 3, own.document.name: b"a note's own file",
    }


def tree(path):
    """{relative path: bytes, or "dir" for a folder}, links as "-> target"."""
    path = Path(path)
    found = {}
    if not path.exists():
        return found
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(root) / name
            key = str(full.relative_to(path))
            if full.is_symlink():
                found[key] = "-> %s" % os.readlink(full)
            elif full.is_dir():
                found[key] = "dir"
            else:
                found[key] = full.read_bytes()
    return found


def dump2py(directory, *args):
    call_command("dump2py", str(directory), "--noinput", *args, verbosity=0)
    return Path(directory) / "restore.py"


def restore_dump(*args):
    out = io.StringIO()
    call_command("restore_dump", *[str(arg) for arg in args], "--noinput", stdout=out,
                 stderr=io.StringIO())
    return out.getvalue()


def restore_in_process(manifest, **options):
    out = io.StringIO()
    restore(manifest, interactive=False, stdout=out, **options)
    return out.getvalue()


def new_media_root(tmp_path, name="restored"):
    root = tmp_path / name / "media"
    root.mkdir(parents=True)
    return root


def media_entries(manifest):
    return manifests.read_file(manifest).media


# ---------------------------------------------------------------------------
# The dump


def test_the_files_go_under_media_with_their_size_and_sha256_private(media_root, tmp_path):
    files = populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    entries = media_entries(manifest)
    assert {(e.name, e.model, e.field) for e in entries} == {
        ("docs/résumé_1.txt", "mediaapp.item", "document"),
        (PICTURE_NAME, "mediaapp.item", "picture"),
        ("archive/blob.bin", "mediaapp.item", "attachment"),
        ("docs/résumé_1.txt", "mediaapp.note", "document"),
        ("docs/note_only.txt", "mediaapp.note", "document"),
    }
    for entry in entries:
        assert (entry.size, entry.sha256) == (len(files[entry.name]),
                                              hashlib.sha256(files[entry.name]).hexdigest())
    stored = tree(tmp_path / "backup" / "media")
    assert stored == {"docs": "dir", "images": "dir", "archive": "dir",
                      **{name: data for name, data in files.items()}}
    for name in stored:
        mode = os.stat(tmp_path / "backup" / "media" / name).st_mode & 0o777
        assert mode == (0o700 if stored[name] == "dir" else 0o600), name
    assert os.stat(tmp_path / "backup" / "media").st_mode & 0o777 == 0o700


def test_without_media_no_file_is_dumped_and_the_setting_makes_it_the_default(
    media_root, tmp_path
):
    populate_media()
    assert media_entries(dump2py(tmp_path / "plain")) == []
    assert not (tmp_path / "plain" / "media").exists()
    with override_settings(PYSERIALIZER_MEDIA=True):
        assert len(media_entries(dump2py(tmp_path / "by_setting"))) == 5
        assert media_entries(dump2py(tmp_path / "not_asked", "--no-media")) == []


def test_dump2py_reports_the_media_files_and_simulate_counts_them_without_writing(
    media_root, tmp_path
):
    files = populate_media()
    out = io.StringIO()
    call_command("dump2py", str(tmp_path / "backup"), "--media", stdout=out)
    counted = "4 media files (%d bytes)" % sum(len(data) for data in files.values())
    assert " and %s to %s" % (counted, tmp_path / "backup") in out.getvalue()
    out = io.StringIO()
    call_command("dump2py", "--simulate", "--media", stdout=out)
    assert "and %s in " % counted in out.getvalue()
    assert "nothing was written" in out.getvalue()


def test_a_single_file_dump_cannot_hold_media():
    from django.core import serializers

    with pytest.raises(UnusableOption, match="needs a directory dump"):
        serializers.serialize("py", Item.objects.all(), media=True)


def test_a_file_missing_in_storage_stops_the_dump_naming_model_pk_field_and_name(
    media_root, tmp_path
):
    populate_media()
    gone = Item.objects.create(title="gone", document="docs/gone.txt")
    with pytest.raises(CommandError) as refused:
        dump2py(tmp_path / "backup", "--media")
    message = str(refused.value)
    assert "mediaapp.item pk=%d: field document: file docs/gone.txt is missing in storage " \
           "FileSystemStorage at %s" % (gone.pk, media_root) in message
    assert "--tolerate" in message and "No dump was written." in message
    assert not (tmp_path / "backup").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging directory left


def test_tolerate_lists_a_missing_file_and_the_dump_is_incomplete(media_root, tmp_path):
    populate_media()
    gone = Item.objects.create(title="gone", attachment="archive/gone.bin")
    with pytest.raises(CommandError) as refused:
        dump2py(tmp_path / "backup", "--media", "--tolerate")
    assert "is INCOMPLETE: 1 media file(s) were missing in storage (listed as " \
           "MISSING_MEDIA in restore.py):\n  mediaapp.item pk=%d: field attachment: file " \
           "archive/gone.bin" % gone.pk in str(refused.value)
    dump = manifests.read_file(tmp_path / "backup" / "restore.py")
    assert [(m.model, m.pk, m.field, m.name) for m in dump.missing_media] == [
        ("mediaapp.item", gone.pk, "attachment", "archive/gone.bin")]
    listed = restore_dump(tmp_path / "backup", "--list")
    assert "Media files under media/: 4 media files (" in listed
    assert "mediaapp.item pk=%d: field attachment: file archive/gone.bin" % gone.pk in listed


def test_one_name_held_differently_by_two_storages_is_refused(media_root, tmp_path):
    populate_media()
    default_storage.save("archive/blob.bin", ContentFile(b"not the archive's file"))
    Note.objects.create(document="archive/blob.bin")
    with pytest.raises(CommandError, match="holds another file at archive/blob.bin than "
                                           "storage ArchiveStorage"):
        dump2py(tmp_path / "backup", "--media")


def test_exclude_leaves_a_model_s_files_out_of_the_dump(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media", "-e", "mediaapp.note")
    assert {e.name for e in media_entries(manifest)} == {
        "docs/résumé_1.txt", PICTURE_NAME, "archive/blob.bin"}
    assert not (tmp_path / "backup" / "media" / "docs" / "note_only.txt").exists()


# ---------------------------------------------------------------------------
# The restore


def test_rows_and_files_round_trip_byte_for_byte_into_a_new_database_and_media_folder(
    media_root, tmp_path, new_database_url
):
    populate_media()
    dumped_rows = as_json(db_snapshot("mediaapp"))
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    env = dict(project_env(new_database_url), PYSERIALIZER_TEST_MEDIA_ROOT=str(target))
    result = subprocess.run([sys.executable, str(manifest), "--noinput"], cwd=TESTS_DIR,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "and put 4 media files (" in result.stdout
    assert db_snapshot_in(new_database_url, "mediaapp") == dumped_rows
    assert tree(target) == tree(media_root)
    assert tree(archive_of(target)) == tree(archive_of(media_root))
    picture = Image.open(target / PICTURE_NAME)
    assert picture.size == (3, 2)


def test_restore_dump_puts_the_files_back_and_keeps_those_already_there(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    expected = tree(media_root), tree(archive_of(media_root))
    target = new_media_root(tmp_path)
    with override_settings(MEDIA_ROOT=str(target)):
        out = restore_dump(manifest)
        assert "and put 4 media files (" in out
        assert (tree(target), tree(archive_of(target))) == expected
        assert os.stat(target / PICTURE_NAME).st_mode & 0o777 == 0o666 & ~current_umask()
        inode = os.stat(target / PICTURE_NAME).st_ino
        out = restore_dump(manifest)
        assert "put 0 media files (0 bytes) into storage (4 already there)" in out
        assert os.stat(target / PICTURE_NAME).st_ino == inode


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_storage_s_permissions_are_given_to_files_and_folders(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    with override_settings(MEDIA_ROOT=str(target), FILE_UPLOAD_PERMISSIONS=0o640,
                           FILE_UPLOAD_DIRECTORY_PERMISSIONS=0o750):
        restore_in_process(manifest)
    assert os.stat(target / PICTURE_NAME).st_mode & 0o777 == 0o640
    assert os.stat(target / "images").st_mode & 0o777 == 0o750


def damage(manifest, how):
    """Damage the dump's media file of the item's picture."""
    path = manifest.parent / "media" / PICTURE_NAME
    data = path.read_bytes()
    if how == "altered":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif how == "truncated":
        path.write_bytes(data[:-5])
    elif how == "missing":
        path.unlink()
    elif how == "symlinked":
        copy = manifest.parent.parent / "elsewhere.png"
        copy.write_bytes(data)
        path.unlink()
        path.symlink_to(copy)
    elif how == "folder symlinked":
        elsewhere = manifest.parent.parent / "elsewhere"
        (manifest.parent / "media" / "images").rename(elsewhere)
        (manifest.parent / "media" / "images").symlink_to(elsewhere)
    return path


DAMAGE = {
    "altered": "was altered after the dump was written",
    "truncated": "altered or truncated (%d bytes, restore.py lists %d)",
    "missing": "this media file listed in restore.py is missing",
    "symlinked": "this file is a symbolic link",
    "folder symlinked": "reached through a symbolic link",
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_media_file_is_refused_by_restore_and_check_changing_nothing(
    media_root, tmp_path, how
):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    path = damage(manifest, how)
    Item.objects.create(title="added after the dump")
    rows = db_snapshot("mediaapp")
    target = new_media_root(tmp_path)
    size = len(png_bytes())
    problem = DAMAGE[how] % (size - 5, size) if how == "truncated" else DAMAGE[how]
    with override_settings(MEDIA_ROOT=str(target)):
        for command in ([], ["--check"]):
            with pytest.raises(CommandError) as refused:
                restore_dump(manifest, *command)
            assert str(path) in str(refused.value)
            assert problem in str(refused.value)
            assert "model mediaapp.item, field picture" in str(refused.value)
        assert db_snapshot("mediaapp") == rows
        assert tree(target.parent) == {"media": "dir"}


def test_check_reports_the_media_files_it_checked(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    out = restore_dump(manifest, "--check")
    assert "4 media files (" in out and "each with its size and SHA-256; 4 already in " \
                                         "storage with the same content." in out


def test_a_failed_restore_leaves_storage_as_it_was(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    chunk = manifest.parent / "mediaapp_note.py"
    number = line_number(chunk, lambda line: "note_only" in line)
    row = json.loads(read_lines(chunk)[number - 1].rstrip(","))
    row[1] = 999999  # the note's item: a row the dump does not have
    replace_line(chunk, number, json.dumps(row, ensure_ascii=False) + ",")
    call_command("reseal_dump", str(manifest), verbosity=0)
    target = new_media_root(tmp_path)
    (target / "images").mkdir()
    (target / "images" / "kept.png").write_bytes(b"someone else's")
    before = tree(target.parent)
    rows = db_snapshot("mediaapp")
    with override_settings(MEDIA_ROOT=str(target)):
        with pytest.raises(DeserializationError, match="rejected a reference"):
            restore_in_process(manifest)
    assert tree(target.parent) == before
    assert db_snapshot("mediaapp") == rows


def test_a_different_file_in_storage_is_refused_before_anything_changes_unless_replaced(
    media_root, tmp_path
):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    (target / "images").mkdir()
    (target / "images" / "pixel.png").write_bytes(b"another picture")
    before = tree(target.parent)
    Item.objects.create(title="added after the dump")
    rows = db_snapshot("mediaapp")
    with override_settings(MEDIA_ROOT=str(target)):
        for command in ([], ["--check"]):
            with pytest.raises(CommandError) as refused:
                restore_dump(manifest, *command)
            assert "storage FileSystemStorage at %s already holds a different file at %s " \
                   "(named by mediaapp.item.picture); --replace-media to overwrite it, " \
                   "nothing was changed." % (target, PICTURE_NAME) in str(refused.value)
        assert tree(target.parent) == before
        assert db_snapshot("mediaapp") == rows
        restore_dump(manifest, "--replace-media")
    assert (target / PICTURE_NAME).read_bytes() == png_bytes()


def test_exclude_leaves_out_the_files_only_left_out_rows_name(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    with override_settings(MEDIA_ROOT=str(target)):
        restore_in_process(manifest, excludes=["mediaapp.note"])
        assert sorted(name for name, data in tree(target).items() if data != "dir") == [
            "docs/résumé_1.txt", PICTURE_NAME]
        assert not (target / "docs" / "note_only.txt").exists()


def test_exclude_of_the_app_leaves_every_file_out(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    with override_settings(MEDIA_ROOT=str(target)):
        restore_in_process(manifest, excludes=["mediaapp"])
    assert tree(target) == {} and tree(archive_of(target)) == {}


def test_a_media_file_edited_and_resealed_is_restored_as_edited(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    (manifest.parent / "media" / "docs" / "note_only.txt").write_bytes(b"edited by hand")
    out = io.StringIO()
    call_command("reseal_dump", str(manifest), stdout=out)
    assert "Resealed media/docs/note_only.txt" in out.getvalue()
    assert "(0 of its chunks and 1 of its media files changed)" in out.getvalue()
    target = new_media_root(tmp_path)
    with override_settings(MEDIA_ROOT=str(target)):
        restore_in_process(manifest)
    assert (target / "docs" / "note_only.txt").read_bytes() == b"edited by hand"


def test_reseal_refuses_a_media_file_that_is_gone(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    before = manifest.read_bytes()
    (manifest.parent / "media" / "docs" / "note_only.txt").unlink()
    with pytest.raises(CommandError, match="media file listed in restore.py is missing"):
        call_command("reseal_dump", str(manifest), verbosity=0)
    assert manifest.read_bytes() == before


@pytest.fixture
def in_memory(monkeypatch):
    """The two default-storage fields on one InMemoryStorage; returns a function
    that gives them a new, empty one."""
    fields = [Item._meta.get_field("document"), Item._meta.get_field("picture"),
              Note._meta.get_field("document")]

    def use_new():
        storage = InMemoryStorage()
        for field in fields:
            monkeypatch.setattr(field, "storage", storage)
        return storage

    use_new()
    return use_new


def test_files_of_another_storage_are_saved_after_the_rows(media_root, tmp_path, in_memory):
    files = populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = in_memory()
    restore_in_process(manifest)
    for name, data in files.items():
        storage = ARCHIVE if name.startswith("archive/") else target
        with storage.open(name, "rb") as stored:
            assert stored.read() == data


def test_a_failure_in_another_storage_names_the_files_already_written(
    media_root, tmp_path, in_memory, monkeypatch
):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = in_memory()
    saved = []

    def save_once(name, content, max_length=None):
        if saved:
            raise OSError("the bucket is full")
        saved.append(InMemoryStorage.save(target, name, content, max_length))
        return saved[-1]

    monkeypatch.setattr(target, "save", save_once)
    with pytest.raises(CommandError) as refused:
        restore_in_process(manifest)
    message = str(refused.value)
    assert "Restore failed while putting the media files into storage: the bucket is full." \
           in message
    assert "Media files already written: " in message and "%s (InMemoryStorage" % saved[0] \
           in message
    assert "The rows were restored" in message


def test_verify_checks_the_files_and_writes_none_into_storage(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    with override_settings(MEDIA_ROOT=str(target)):
        out = restore_dump(manifest, "--verify")
        assert "Checked 4 media files (" in out and "a trial restore puts no file into " \
                                                     "storage." in out
        assert tree(target.parent) == {"media": "dir"}
        damage(manifest, "altered")
        with pytest.raises(CommandError, match="Verify failed: .* was altered after the dump"):
            restore_dump(manifest, "--verify")


def test_loaddata_says_it_does_not_restore_the_files(media_root, tmp_path):
    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    err = io.StringIO()
    call_command("loaddata", str(manifest), stderr=err, stdout=io.StringIO())
    assert err.getvalue().count("\n") == 1
    assert "holds 4 media files (" in err.getvalue()
    assert "loaddata does not put into storage: restore them with manage.py " \
           "restore_dump." in err.getvalue()


def test_memory_stays_bounded_for_a_large_file(media_root, tmp_path):
    size = 64 * 1024 * 1024
    item = Item(title="large")
    with open(tmp_path / "large.bin", "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            out.write(block)
    with open(tmp_path / "large.bin", "rb") as source:
        item.attachment.save("large.bin", source_file(source), save=False)
    item.save()
    (tmp_path / "large.bin").unlink()
    tracemalloc.start()
    try:
        manifest = dump2py(tmp_path / "backup", "--media")
        dumped_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        target = new_media_root(tmp_path)
        with override_settings(MEDIA_ROOT=str(target)):
            restore_in_process(manifest)
        restored_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert os.path.getsize(archive_of(target) / "archive" / "large.bin") == size
    assert dumped_peak < 16 * 1024 * 1024, dumped_peak
    assert restored_peak < 16 * 1024 * 1024, restored_peak


def source_file(stream):
    from django.core.files import File

    return File(stream, name="large.bin")


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="--jobs needs PostgreSQL's exported snapshots")
def test_jobs_dump_the_same_media_as_one_process(media_root, tmp_path, transactional_db):
    populate_media()
    one = media_entries(dump2py(tmp_path / "one", "--media"))
    two = media_entries(dump2py(tmp_path / "two", "--media", "--jobs", "2"))
    assert one == two and len(one) == 5
    assert tree(tmp_path / "one" / "media") == tree(tmp_path / "two" / "media")


def test_a_restore_stopped_by_a_signal_leaves_storage_as_it_was(media_root, tmp_path,
                                                                monkeypatch):
    from pyserializer.restoring import run
    from pyserializer.restoring.steps import Interrupted

    populate_media()
    manifest = dump2py(tmp_path / "backup", "--media")
    target = new_media_root(tmp_path)
    staged = []

    def interrupted_load(*args, **kwargs):
        staged.extend(tree(target.parent))
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "load_dump", interrupted_load)
    with override_settings(MEDIA_ROOT=str(target)):
        with pytest.raises(Interrupted, match="Interrupted; nothing was changed."):
            restore_in_process(manifest)
    assert any(name.endswith(".partial") for name in staged)  # the files were staged
    assert tree(target.parent) == {"media": "dir"}
