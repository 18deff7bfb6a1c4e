"""Safe files (pyserializer.files.safefiles) and the one interface of the writers
(pyserializer.dumping.writer.ChunkWriter)."""

import io
import os

import pytest

from helpers import file_mode
from pyserializer.dumping import writer
from pyserializer.errors import DumpWriteError
from pyserializer.files import safefiles


def test_an_atomic_file_takes_its_name_only_when_committed(tmp_path):
    target = tmp_path / "restore.py"
    target.write_bytes(b"old")
    umask = os.umask(0)
    try:
        new = safefiles.AtomicFile(str(target))
    finally:
        os.umask(umask)
    new.write(b"new")
    new.flush()
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == [".restore.py.partial", "restore.py"]
    new.commit()
    assert target.read_bytes() == b"new"
    assert file_mode(target) == 0o600
    assert os.listdir(tmp_path) == ["restore.py"]


def test_a_discarded_atomic_file_leaves_the_older_file_as_it_was(tmp_path):
    target = tmp_path / "restore.py"
    target.write_bytes(b"old")
    new = safefiles.AtomicFile(str(target))
    new.write(b"new")
    new.discard()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["restore.py"]


def test_an_atomic_file_never_writes_through_a_link_planted_at_its_temporary_name(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"keep")
    (tmp_path / ".restore.py.partial").symlink_to(elsewhere)
    with pytest.raises(DumpWriteError, match=r"cannot create .*\.restore\.py\.partial: a file "
                       r"or link of that name is already there"):
        safefiles.AtomicFile(str(tmp_path / "restore.py"))
    assert elsewhere.read_bytes() == b"keep"


@pytest.mark.parametrize("name, temporary", [
    ("restore.py", ".restore.py.partial"),
    ("auth_permission_3.py", ".auth_permission_3.py.partial"),
    (".dump2py.lock", ".dump2py.lock.partial"),
])
def test_a_file_is_written_under_a_hidden_partial_name_beside_its_own(name, temporary):
    assert safefiles.partial_path(os.path.join("/d", name)) == os.path.join("/d", temporary)
    assert safefiles.is_staging_directory(temporary)
    assert not safefiles.is_staging_directory(name)


def protocol_methods(protocol):
    return {name for name in vars(protocol) if not name.startswith("_")} - {"max_row_count"}


@pytest.mark.parametrize("cls", [writer.SingleFileWriter, writer.DirectoryWriter,
                                 writer.NoOutput])
def test_every_writer_has_what_the_serializer_calls(cls):
    missing = protocol_methods(writer.ChunkWriter) - set(dir(cls))
    assert protocol_methods(writer.ChunkWriter) and not missing


def test_the_directory_writer_can_be_shared_between_processes(tmp_path):
    """Part 2 written by another writer (another process in dump2py --jobs)."""
    shared = writer.DirectoryWriter(str(tmp_path), max_row_count=2)
    assert not protocol_methods(writer.SharedChunkWriter) - set(dir(shared))
    stem = shared.stem_of("testapp.everything", "everything")
    other = shared.for_chunk("testapp.everything", stem, 2, 3)
    for rows, one in (([1, 2], shared), ([3], other)):
        one.start_model("testapp.everything", "everything", ["id"])
        one.write_rows(["[%d],\n" % pk for pk in rows])
        one.end_model()
    shared.adopt(other.written())
    entries = shared.publish(["testapp.everything"])
    assert [(entry.name, entry.rows) for entry in entries] == [
        ("everything_1.py", 2), ("everything_2.py", 1)]
    assert "part 2, from row 3" in (tmp_path / "everything_2.py").read_text()


def test_a_dump_to_one_file_cannot_leave_out_a_model_it_has_begun():
    single = writer.SingleFileWriter(io.StringIO())
    single.start_model("testapp.everything", "everything", ["id"])
    with pytest.raises(DumpWriteError, match="a dump to one file cannot leave out a model"):
        single.discard_model()
