"""pyserializer beside another app's "py" format (Lino's): ``pydump`` is always
ours, a dump loaded by a "py" loader that runs fixtures (tests/foreign_py.py,
like Lino's) stops it with a message instead of loading nothing, and the format
registered under another name still dumps and loads."""

import io
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.test import override_settings

from helpers import (
    REPO_DIR, TESTS_DIR, assert_same_rows, db_snapshot, dump_file, load, populate, wipe,
)
from pyserializer.errors import DumpError
from pyserializer.files import grammar, manifest
from pyserializer.management.commands import dump2py, pydump

pytestmark = pytest.mark.django_db(transaction=True)

# "py" is the other app's format; pyserializer's is registered as "pyser".
FOREIGN_PY = {"py": "foreign_py", "pyser": "pyserializer"}


def dump(directory):
    call_command("pydump", str(directory), "--noinput", verbosity=0)
    return Path(directory) / "restore.py"


def foreign_loaddata(*args, **options):
    with override_settings(SERIALIZATION_MODULES=FOREIGN_PY):
        call_command("loaddata", *map(str, args), verbosity=0, **options)


def test_pydump_is_dump2py_under_a_name_of_its_own(tmp_path):
    assert pydump.Command is dump2py.Command
    assert get_commands()["pydump"] == "pyserializer"
    listed = subprocess.run(
        [sys.executable, "-m", "django", "help"], cwd=TESTS_DIR, capture_output=True, text=True,
        env=dict(os.environ, DJANGO_SETTINGS_MODULE="testproject.settings",
                 PYTHONPATH=os.pathsep.join([str(REPO_DIR), str(TESTS_DIR)])),
    )
    assert "\n    pydump\n" in listed.stdout.split("[pyserializer]")[1], listed.stderr


def test_a_pydump_restores(tmp_path):
    populate()
    before = db_snapshot()
    restore = dump(tmp_path / "dump")
    assert "else:\n    from pyserializer.foreign import refuse_import\n" in restore.read_text()
    wipe()
    call_command("restore_dump", str(restore.parent), "--noinput", verbosity=0)
    assert_same_rows(before, db_snapshot())


def test_loaddata_of_restore_py_through_a_foreign_py_loader_fails_with_how_to_load(tmp_path):
    populate()
    restore = dump(tmp_path / "dump")
    wipe()
    empty = db_snapshot()
    with pytest.raises(CommandError) as refused:
        foreign_loaddata(restore)
    directory = str(restore.parent)
    assert str(refused.value) == (
        "%s is the manifest of a pyserializer dump, not a fixture to run: a loader that is "
        "not pyserializer's imported it, and would have loaded nothing. Restore the dump "
        "with `manage.py restore_dump %s` (or `python %s`), or register pyserializer's "
        "format as \"py\": SERIALIZATION_MODULES = {\"py\": \"pyserializer\"}."
        % (restore, directory, restore))
    assert type(refused.value) is CommandError  # printed as "CommandError: ..." in one line
    assert db_snapshot() == empty


def test_loaddata_of_a_chunk_through_a_foreign_py_loader_fails(tmp_path):
    populate()
    restore = dump(tmp_path / "dump")
    chunk = restore.parent / "testapp_book.py"
    with pytest.raises(CommandError, match=(
            r"^%s is a chunk of the pyserializer dump %s, data to parse, not a fixture to "
            r"run: the \"py\" loader that ran it is not pyserializer's, and would have "
            r"loaded nothing\. Restore the dump with `manage.py restore_dump %s`" % (
                chunk, restore.parent, restore.parent))):
        foreign_loaddata(chunk)


def test_loaddata_of_a_single_file_dump_through_a_foreign_py_loader_fails(tmp_path):
    populate()
    path = dump_file(tmp_path / "single.py")
    with pytest.raises(CommandError, match=(
            r"is a pyserializer dump, data to parse, not a fixture to run: .* "
            r"`manage.py loaddata --format pyser - < %s`\.$" % path)):
        foreign_loaddata(path)


def test_our_format_under_another_name_dumps_a_directory_and_loads_a_file_from_stdin(
    tmp_path, monkeypatch
):
    populate()
    before = db_snapshot()
    directory = tmp_path / "dump"
    directory.mkdir()
    with override_settings(SERIALIZATION_MODULES=FOREIGN_PY):
        call_command("dumpdata", "testapp", format="pyser", output=str(directory / "restore.py"),
                     verbosity=0)
        call_command("dumpdata", "testapp", format="pyser", output=str(tmp_path / "single.py"),
                     verbosity=0)
    assert (directory / "testapp_book.py").exists()
    assert oct(os.stat(directory / "restore.py").st_mode & 0o777) == "0o600"
    wipe()
    call_command("restore_dump", str(directory), "--noinput", verbosity=0)
    assert_same_rows(before, db_snapshot())
    wipe()
    monkeypatch.setattr("sys.stdin", io.StringIO((tmp_path / "single.py").read_text()))
    foreign_loaddata("-", format="pyser")
    assert_same_rows(before, db_snapshot())


def test_a_chunk_run_as_python_outside_loaddata_still_gives_its_rows(tmp_path):
    populate()
    restore = dump(tmp_path / "dump")
    names = runpy.run_path(str(restore.parent / "testapp_book.py"))
    assert names["MODEL"] == "testapp.book" and names["FORMAT"] == grammar.FORMAT_VERSION
    assert len(names["ROWS"]) > 0 and names["null"] is None


def test_restore_py_imported_says_what_it_is(tmp_path):
    """Run as a script it restores (test_restore_script.py runs dumps written now)."""
    populate()
    restore = dump(tmp_path / "dump")
    with pytest.raises(CommandError, match="is the manifest of a pyserializer dump"):
        runpy.run_path(str(restore), run_name="imported")
    runpy.run_path(str(restore), run_name="__mp_main__")  # a child process of the script


def as_format_1(restore):
    """Make ``restore`` the restore.py of a format 1 dump (pyserializer 0.1.0's)."""
    text = restore.read_text().replace(manifest.SCRIPT_TRAILERS[2], manifest.SCRIPT_TRAILERS[1])
    restore.write_text(text.replace("\nFORMAT = 2\n", "\nFORMAT = 1\n"))
    assert restore.read_text().endswith("    main(__file__)\n")


def test_a_format_1_dump_still_loads_and_reseals_as_format_1(tmp_path):
    populate()
    before = db_snapshot()
    restore = dump(tmp_path / "dump")
    as_format_1(restore)
    wipe()
    load(restore)
    assert_same_rows(before, db_snapshot())
    with open(restore.parent / "testapp_tag.py", "a") as chunk:
        chunk.write("# edited by hand\n")
    call_command("reseal_dump", str(restore.parent), verbosity=0)
    text = restore.read_text()
    assert "\nFORMAT = 1\n" in text and text.endswith(manifest.SCRIPT_TRAILERS[1])


@pytest.mark.parametrize("format_line, trailer, problem", [
    ("FORMAT = 1", 2, "the script part of restore.py was changed"),
    ("FORMAT = 2", 1, "the script part of restore.py was changed"),
    ("FORMAT = 3", 2, "unsupported dump format: FORMAT = 3 (this pyserializer reads formats 1 and 2)"),
])
def test_each_format_has_exactly_its_own_script_part(tmp_path, format_line, trailer, problem):
    populate()
    restore = dump(tmp_path / "dump")
    text = restore.read_text().replace("\nFORMAT = 2\n", "\n%s\n" % format_line)
    restore.write_text(text.replace(manifest.SCRIPT_TRAILERS[2], manifest.SCRIPT_TRAILERS[trailer]))
    with pytest.raises(DumpError, match=re.escape(problem)):
        load(restore)
