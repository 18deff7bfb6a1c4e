"""Looking at a dump without restoring it (restore_dump --list, --check), and the
restore's progress bar on a terminal."""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpers import chunk_names, db_snapshot, line_number, populate, replace_line, reseal
from processes import project_env, run_on_a_terminal
from test_restore_script import TESTS_DIR


def dump2py(directory):
    call_command("dump2py", str(directory), "--noinput", verbosity=0)
    return directory / "restore.py"


def restore_dump(*args):
    out = io.StringIO()
    call_command("restore_dump", *[str(arg) for arg in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def writes(queries):
    return [query["sql"] for query in queries
            if not query["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE"))]


@pytest.mark.django_db
def test_list_shows_origin_migrations_models_and_files_without_a_query(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")

    with CaptureQueriesContext(connection) as queries:
        out = restore_dump(manifest, "--list")

    assert len(queries) == 0
    assert "Dump %s (format 2)" % manifest.parent in out
    assert "from a %s database, by pyserializer" % connection.vendor in out
    assert "testapp " in out and "0003_listing" in out
    for name in chunk_names(manifest):
        assert name in out
    assert "testapp.person" in out and " rows " in out


@pytest.mark.django_db
def test_check_reads_a_good_dump_and_says_what_a_restore_would_do_writing_nothing(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    before = db_snapshot()

    with CaptureQueriesContext(connection) as queries:
        out = restore_dump(manifest, "--check")

    assert writes(queries) == []
    assert db_snapshot() == before
    assert "The dump %s is good: " % manifest.parent in out
    assert " chunk files, " in out and "taken " in out
    assert "A restore would load it into the current models (same migration state)." in out


def truncate(chunk):
    chunk.write_bytes(chunk.read_bytes()[:-10])


def alter(chunk):
    data = bytearray(chunk.read_bytes())
    index = data.rindex(b'"')
    data[index - 1:index] = b"X"
    chunk.write_bytes(bytes(data))


def bad_row(chunk):
    replace_line(chunk, line_number(chunk, lambda line: line == "]") - 1, "[1, 2, 3, 4, 5, 6],")


def unknown_field(chunk):
    text = chunk.read_text(encoding="utf-8")
    chunk.write_text(text.replace('"name"', '"nickname"', 1), encoding="utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize("break_it, resealed, expected", [
    (os.remove, False, "is missing"),
    (truncate, False, "truncated or altered"),
    (alter, False, "altered or truncated"),
    (bad_row, True, "expected a list of"),
    (unknown_field, True, "field nickname"),
])
def test_check_fails_a_broken_dump_naming_the_file_and_touches_nothing(
        tmp_path, break_it, resealed, expected):
    populate()
    manifest = dump2py(tmp_path / "backup")
    chunk = tmp_path / "backup" / next(
        name for name in chunk_names(manifest) if name.startswith("testapp_person"))
    break_it(chunk)
    if resealed:
        reseal(manifest)
    before = db_snapshot()

    with CaptureQueriesContext(connection) as queries, pytest.raises(CommandError) as failure:
        restore_dump(manifest, "--check")

    message = str(failure.value)
    assert message.startswith("Check failed: ") and chunk.name in message
    assert expected in message
    if resealed:
        assert ", line " in message
    assert writes(queries) == []
    assert db_snapshot() == before


def run_restore_script(manifest, database_url, stderr):
    return subprocess.run(
        [sys.executable, str(manifest), "--noinput"], cwd=TESTS_DIR,
        env=project_env(database_url), stdout=subprocess.PIPE, stderr=stderr, timeout=300,
    )


@pytest.mark.django_db
def test_a_terminal_gets_a_progress_bar_of_the_rows_restored(tmp_path, new_database_url):
    populate()
    manifest = dump2py(tmp_path / "backup")
    env = project_env(new_database_url)
    status, shown = run_on_a_terminal([sys.executable, str(manifest), "--noinput"], env,
                                      stdout=False)
    assert status == 0, shown.decode(errors="replace")
    assert b"Restoring" in shown and b"rows" in shown


@pytest.mark.django_db
def test_no_progress_bar_when_not_on_a_terminal(tmp_path, new_database_url):
    populate()
    manifest = dump2py(tmp_path / "backup")
    result = run_restore_script(manifest, new_database_url, subprocess.PIPE)
    assert result.returncode == 0, result.stderr
    assert b"Restoring" not in result.stderr and b"\r" not in result.stderr
    assert b"restored " in result.stdout


@pytest.mark.django_db
def test_check_works_against_a_new_empty_database(tmp_path, new_database_url):
    """Where a dump is checked before a restore: nothing is migrated there yet."""
    populate()
    manifest = dump2py(tmp_path / "backup")
    env = project_env(new_database_url, str(TESTS_DIR))
    result = subprocess.run(
        [sys.executable, "-m", "django", "restore_dump", "--check", str(manifest)],
        cwd=TESTS_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "is good: " in result.stdout


@pytest.mark.django_db
def test_check_says_to_migrate_first_when_making_a_row_reads_a_database_without_its_tables(
        tmp_path):
    """Wagtail's pages look up their content type when they are made: on a new server,
    before anything is migrated, --check cannot make them and says what to do."""
    from django.db.models import signals

    from testapp.models import Person

    populate()
    manifest = dump2py(tmp_path / "backup")

    def read_a_missing_table(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pyserializer_no_such_table")

    signals.pre_init.connect(read_a_missing_table, sender=Person)
    try:
        with pytest.raises(CommandError) as refused:
            restore_dump(manifest, "--check")
    finally:
        signals.pre_init.disconnect(read_a_missing_table, sender=Person)

    message = str(refused.value)
    assert message.startswith("Cannot check %s against database 'default': " % manifest)
    assert "pyserializer_no_such_table" in message
    assert "Migrate the database first (manage.py migrate" in message
    assert "\n" not in message


@pytest.mark.django_db
def test_a_restore_refuses_a_model_it_cannot_load_before_migrating_anything(
        tmp_path, new_database_url):
    populate()
    manifest = dump2py(tmp_path / "backup")
    chunk = tmp_path / "backup" / next(
        name for name in chunk_names(manifest) if name.startswith("testapp_person"))
    text = chunk.read_text(encoding="utf-8")
    chunk.write_text(text.replace('"testapp.person"', '"testapp.ftsentry"'), encoding="utf-8")
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace('"testapp.person"', '"testapp.ftsentry"'), encoding="utf-8")
    reseal(manifest)

    result = run_restore_script(manifest, new_database_url, subprocess.PIPE)

    assert result.returncode == 1
    assert b"unknown model: the dump holds rows of testapp.ftsentry" in result.stderr
    assert b"-e testapp.ftsentry" in result.stderr
    assert b"Applying" not in result.stdout


@pytest.mark.django_db
def test_loaddata_at_verbosity_2_on_a_terminal_shows_the_bar(tmp_path, new_database_url):
    populate()
    manifest = dump2py(tmp_path / "backup")
    env = project_env(new_database_url, str(TESTS_DIR))
    django = [sys.executable, "-m", "django"]
    subprocess.run(django + ["migrate", "-v", "0"], cwd=TESTS_DIR, env=env, check=True, timeout=300)
    for verbosity, shown in (("1", False), ("2", True)):
        status, output = run_on_a_terminal(
            django + ["loaddata", "-v", verbosity, str(manifest)], env, stdout=False)
        assert status == 0, output
        assert (b"Restoring" in output) is shown
