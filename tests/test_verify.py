"""``restore_dump --verify``: a trial restore into a scratch database, dumped again and
compared with the dump row by row; it leaves the configured database and the disk as
they were, whatever happens."""

import builtins
import io
import json
import os
import signal
import subprocess
import sys
import tempfile

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from helpers import db_snapshot, line_number, populate, read_lines, replace_line
from processes import project_env
from test_restore_script import TESTS_DIR
from test_upgrade import dump_old, migrapp_db  # noqa: F401  (a fixture)
from testapp.models import Person
from pyserializer.restoring import verifying
from pyserializer.restoring.verifying import SCRATCH_PREFIX

pytestmark = pytest.mark.django_db(transaction=True)


def dump2py(directory, *args):
    call_command("dump2py", str(directory), "--noinput", *args, verbosity=0)
    return directory / "restore.py"


def restore_dump(*args):
    out = io.StringIO()
    call_command("restore_dump", *[str(arg) for arg in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def scratch_databases():
    """The scratch databases of --verify on the server under test."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                           [SCRATCH_PREFIX + "%"])
        elif connection.vendor == "mysql":
            cursor.execute("SHOW DATABASES LIKE %s", [SCRATCH_PREFIX.replace("_", "\\_") + "%"])
        else:
            return set()
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """The directory where tempfile makes its files during the test."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def nothing_left(temp_dir):
    """After the test: no scratch database on the server, no file in the temp directory
    (but the one the test settings make there when imported by another process)."""
    before = scratch_databases()
    yield
    assert scratch_databases() == before
    assert [path.name for path in temp_dir.iterdir() if path.name != "pyserializer-tests"] == []


def edit_value(manifest, chunk, old, new):
    """Change ``old`` into ``new`` in the first row of ``chunk`` that holds it, and
    reseal the dump as a person does after a hand edit (checksums cannot see it)."""
    path = manifest.parent / chunk
    number = line_number(path, lambda line: old in line and line.startswith("["))
    replace_line(path, number, read_lines(path)[number - 1].replace(old, new, 1))
    call_command("reseal_dump", str(manifest), verbosity=0)
    return number


def test_verify_restores_into_a_scratch_database_and_finds_the_same_rows_without_a_query(
        tmp_path, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    before = db_snapshot()

    with CaptureQueriesContext(connection) as queries:
        out = restore_dump(manifest, "--verify")

    assert len(queries) == 0, "the configured database was queried"
    assert out.count("\n") == 1, out
    assert out.startswith("Verified %s: restored into a scratch database and dumped again, "
                          "the same " % manifest.parent)
    assert " objects of " in out and " seconds)." in out
    assert db_snapshot() == before


def test_verify_takes_the_directory_of_the_dump(tmp_path, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")

    assert restore_dump(manifest.parent, "--verify").startswith("Verified ")


def test_a_value_changed_and_resealed_is_reported_with_file_line_model_pk_and_field(
        tmp_path, nothing_left):
    """A decimal with more places than its column keeps: the checksums match, the
    dump loads, and the database rounds it away."""
    populate()
    manifest = dump2py(tmp_path / "backup")
    line = edit_value(manifest, "testapp_everything.py", '"0.000001"', '"0.0000014"')
    restore_dump(manifest, "--check")
    before = db_snapshot()

    with pytest.raises(CommandError) as raised:
        restore_dump(manifest, "--verify")

    assert str(raised.value) == (
        "Verify failed: %s, line %d, model testapp.everything, pk 2, field decimal: the dump "
        'has "0.0000014", the trial restore gives "0.000001"'
        % (manifest.parent / "testapp_everything.py", line))
    assert db_snapshot() == before


def test_excluded_models_are_neither_loaded_nor_compared(tmp_path, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    edit_value(manifest, "testapp_everything.py", '"0.000001"', '"0.0000014"')

    with pytest.raises(CommandError, match=r"model testapp\.everything, pk 2, field decimal"):
        restore_dump(manifest, "--verify")
    assert restore_dump(manifest, "--verify", "-e", "testapp.everything").startswith("Verified ")


def test_rows_that_migrate_makes_are_counted_not_reported(tmp_path, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    chunk = manifest.parent / "django_content_type.py"
    lines = read_lines(chunk)
    session_type = next(line for line in lines if '"sessions", "session"' in line)
    lines.remove(session_type)
    chunk.write_bytes("\n".join(lines).encode("utf-8"))
    permissions = manifest.parent / "auth_permission.py"
    type_id = json.loads(session_type.rstrip(","))[0]
    lines = read_lines(permissions)
    kept = [line for line in lines
            if not (line.startswith("[") and json.loads(line.rstrip(","))[2] == type_id)]
    assert len(lines) - len(kept) == 4  # add, change, delete, view
    permissions.write_bytes("\n".join(kept).encode("utf-8"))
    call_command("reseal_dump", str(manifest), verbosity=0)

    out = restore_dump(manifest, "--verify")

    assert out.splitlines()[1] == (
        "Made by migrate in the scratch database, not in the dump: 1 row of "
        "contenttypes.contenttype, 4 rows of auth.permission.")


def test_a_dump_at_older_migrations_is_compared_but_for_the_apps_migrated_forward(
        migrapp_db, tmp_path, nothing_left):  # noqa: F811
    manifest = dump_old("0001_initial", tmp_path / "dump")
    users = User.objects.count()

    out = restore_dump(manifest, "--verify")

    first, second = out.splitlines()
    assert "the same %d object%s of 1 model " % (users, "" if users == 1 else "s") in first
    assert second == "Not compared: app migrapp (migrated forward from 0001 to 0005)."


def test_an_interrupt_drops_the_scratch_database_and_removes_every_file(
        tmp_path, monkeypatch, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    before = db_snapshot()

    def interrupted(alias, labels, directory, natural_keyed):
        assert alias in connections and Person.objects.using(alias).exists()
        raise KeyboardInterrupt()

    monkeypatch.setattr(verifying, "dump_again", interrupted)
    with pytest.raises(CommandError, match=r"^Interrupted\. The scratch database was dropped"):
        restore_dump(manifest, "--verify")
    assert db_snapshot() == before


VERIFY_UNTIL_SIGTERM = """
import sys, time
import django
django.setup()
from pyserializer.restoring import verifying

def wait(*args):
    print("restored", flush=True)
    # Short sleeps: a signal the kernel hands to another thread than the main
    # one does not cut a sleep short; Python runs its handler between two.
    for _ in range(6000):
        time.sleep(0.1)

verifying.dump_again = wait
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "restore_dump", "--verify", sys.argv[1]])
"""


def test_sigterm_drops_the_scratch_database_and_removes_every_file(tmp_path, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    env = project_env(os.environ.get("DATABASE_URL", ""))
    env["TMPDIR"] = tempfile.tempdir
    process = subprocess.Popen(
        [sys.executable, "-c", VERIFY_UNTIL_SIGTERM, str(manifest)], cwd=TESTS_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "restored\n", process.stderr.read()
        assert os.listdir(tempfile.tempdir)  # the trial restore is there...
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1
    assert stderr.strip() == ("CommandError: Terminated (SIGTERM). The scratch database was "
                              "dropped; database 'default' was not changed.")


@pytest.fixture(scope="module")
def scratch_settings(tmp_path_factory, django_db_setup, django_db_blocker):
    """A second database alias, "scratch": defined before the tests that use it start
    (a test may only use the aliases it declares, and they must exist by then)."""
    if connection.vendor == "sqlite":
        name = str(tmp_path_factory.mktemp("scratch") / "scratch.sqlite3")
    else:
        name = "%s_scratch" % connection.settings_dict["NAME"]
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS %s" % connection.ops.quote_name(name))
            cursor.execute("CREATE DATABASE %s %s" % (
                connection.ops.quote_name(name), connection.creation.sql_table_creation_suffix()))
    connections.settings["scratch"] = dict(connection.settings_dict, NAME=name)
    yield
    connections["scratch"].close()
    del connections["scratch"]
    del connections.settings["scratch"]
    if connection.vendor != "sqlite":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("DROP DATABASE %s" % connection.ops.quote_name(name))


@pytest.fixture
def scratch_alias(scratch_settings, transactional_db):
    """The "scratch" database, migrated and holding a row of its own."""
    call_command("migrate", database="scratch", verbosity=0)
    Person.objects.using("scratch").create(pk=999, name="only in scratch")
    return "scratch"


@pytest.mark.django_db(transaction=True, databases=["default", "scratch"])
def test_verify_into_replaces_the_data_of_the_scratch_alias(
        tmp_path, scratch_alias, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    before = db_snapshot()

    out = restore_dump(manifest, "--verify-into", scratch_alias, "--noinput")

    assert out.startswith("Verified %s: restored into database 'scratch' and dumped again"
                          % manifest.parent)
    assert not Person.objects.using(scratch_alias).filter(pk=999).exists()
    assert Person.objects.using(scratch_alias).count() == Person.objects.count()
    assert db_snapshot() == before


@pytest.mark.django_db(transaction=True, databases=["default", "scratch"])
def test_verify_into_asks_first_and_a_no_changes_nothing(
        tmp_path, scratch_alias, monkeypatch, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")
    questions = []
    monkeypatch.setattr(builtins, "input", lambda question: questions.append(question) or "n")

    with pytest.raises(CommandError, match="Cancelled; nothing was changed."):
        restore_dump(manifest, "--verify-into", scratch_alias)

    assert questions == ["Are you sure (y/n)? "]
    assert Person.objects.using(scratch_alias).filter(pk=999).exists()


def test_verify_into_refuses_the_database_being_verified(tmp_path, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")

    with pytest.raises(CommandError, match="names the database being verified for"):
        restore_dump(manifest, "--verify-into", "default", "--noinput")


@pytest.fixture
def user_without_createdb(transactional_db):
    """An alias "limited": the test database, reached by a user who may not create databases."""
    name = "pys_verify_nocreate"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute('DROP ROLE IF EXISTS "%s"' % name)
            cursor.execute('CREATE ROLE "%s" LOGIN NOCREATEDB' % name)
            drop = 'DROP ROLE "%s"' % name
        elif connection.vendor == "mysql":
            cursor.execute("DROP USER IF EXISTS '%s'@'%%'" % name)
            cursor.execute("CREATE USER '%s'@'%%'" % name)
            drop = "DROP USER '%s'@'%%'" % name
        else:
            pytest.skip("SQLite has no database users")
    connections.settings["limited"] = dict(connection.settings_dict, USER=name, PASSWORD="")
    yield "limited"
    connections["limited"].close()
    del connections["limited"]
    del connections.settings["limited"]
    with connection.cursor() as cursor:
        cursor.execute(drop)


def test_a_user_who_may_not_create_databases_is_told_so_in_one_line(
        tmp_path, user_without_createdb, nothing_left):
    populate()
    manifest = dump2py(tmp_path / "backup")

    with pytest.raises(CommandError) as raised:
        restore_dump(manifest, "--verify", "--database", user_without_createdb)

    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        "Cannot verify: the user 'pys_verify_nocreate' of database 'limited' may not create "
        "databases; give it that right, or verify into a scratch database of the settings "
        "whose data may be replaced with --verify-into ALIAS.")
