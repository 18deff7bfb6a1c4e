"""Every command that reads a directory dump takes the directory that dump2py
reports, as well as the restore.py inside it."""

import io

import pytest
from django.core.management import call_command

from helpers import db_snapshot, populate, read_lines, wipe

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = io.StringIO()
    call_command(*[str(arg) for arg in args], stdout=out)
    return out.getvalue()


@pytest.fixture
def dumped(tmp_path):
    """A dump2py dump of the populated test database; (its directory, the rows)."""
    populate()
    directory = tmp_path / "backup"
    call_command("dump2py", str(directory), "--noinput", verbosity=0)
    return directory, db_snapshot()


@pytest.mark.parametrize("option", ["--list", "--check"])
def test_list_and_check_take_the_directory(dumped, option):
    directory, _ = dumped
    by_directory = run("restore_dump", option, directory)
    assert by_directory == run("restore_dump", option, directory / "restore.py")
    assert str(directory) in by_directory


def test_restore_dump_restores_the_directory(dumped):
    directory, before = dumped
    wipe()
    run("restore_dump", directory, "--noinput", "-v", 0)
    assert db_snapshot() == before


def test_reseal_dump_takes_the_directory(dumped):
    directory, _ = dumped
    chunk = directory / "testapp_person.py"
    lines = read_lines(chunk)
    row = next(index for index, line in enumerate(lines) if line.startswith("["))
    assert '"' in lines[row]  # a person's name: a string to edit
    lines[row] = lines[row].replace('"', '"edited ', 1)
    chunk.write_bytes("\n".join(lines).encode("utf-8"))

    out = run("reseal_dump", directory)

    assert "Resealed testapp_person.py" in out
    assert "Every chunk matches" in run("reseal_dump", directory)
