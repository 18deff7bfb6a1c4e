"""Every refusal, run as a site administrator runs it (manage.py and
``python DIR/restore.py`` as processes), reads as one line that says what to
do: ``CommandError: ...`` (or, from restore.py, the same text), exit status 1,
no traceback, no class name or repeated prefix in front. An unknown
``--database`` alias is refused as Django's own commands refuse it; Ctrl-C
and SIGTERM in the middle of a restore leave the database as it was, and say so."""

import argparse
import contextlib
import io
import re
import signal
import subprocess
import sys
import time

import django
import pytest

from django.core.management import call_command

from helpers import chunk_names, db_snapshot_in, populate
from processes import project_env
from test_restore_script import TESTS_DIR
from pyserializer.cli.refusals import refusal_text
from pyserializer.errors import DumpError
from pyserializer.restoring.plan import NotRestorable
from pyserializer.restoring.run import RestoreFailed

pytestmark = pytest.mark.django_db

# What Django prints in front of a CommandError subclass, and the prefixes we give.
CLASS_PREFIXES = re.compile(
    r"(DanglingReferences|NotRestorable|RestoreFailed|VerifyFailed|CannotCreateDatabase|"
    r"Cancelled|Interrupted|DumpError|DeserializationError|ConnectionDoesNotExist):")

def manage(*args, database_url, stdin="", extra_env=None):
    """``python -m django ARGS`` (manage.py) in the test project, on ``database_url``."""
    env = dict(project_env(database_url, str(TESTS_DIR)), **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "django", *args], cwd=TESTS_DIR, env=env,
                          input=stdin, capture_output=True, text=True, timeout=300)


def restore_script(manifest, *args, database_url, stdin=""):
    """``python DIR/restore.py ARGS`` from the test project's directory."""
    return subprocess.run([sys.executable, str(manifest), *args], cwd=TESTS_DIR,
                          env=project_env(database_url), input=stdin, capture_output=True,
                          text=True, timeout=300)


def assert_refused(result, expected, prefix="CommandError: "):
    """Exit status 1; standard error's first line is ``prefix`` and a message
    holding ``expected``, said once, with no traceback or second prefix."""
    stderr = result.stderr
    assert result.returncode == 1, stderr
    first = stderr.splitlines()[0]
    assert first.startswith(prefix) and expected in first, stderr
    if not prefix:  # restore.py: the message itself, from its first word
        assert first.startswith(expected), stderr
    assert "Traceback" not in stderr
    assert stderr.count("CommandError") == (1 if prefix else 0), stderr
    assert not CLASS_PREFIXES.search(stderr), stderr
    assert first.count("failed") <= 1, stderr


@pytest.fixture
def backup(tmp_path):
    populate()
    directory = tmp_path / "backup"
    call_command("dump2py", str(directory), verbosity=0)
    return directory


@pytest.fixture
def altered(backup):
    """The backup with one chunk changed after it was written."""
    chunk = backup / next(name for name in chunk_names(backup / "restore.py")
                          if name.startswith("testapp_person"))
    chunk.write_bytes(chunk.read_bytes() + b"\n")
    return backup


# ---------------------------------------------------------------------------
# One line, one voice.


@pytest.mark.parametrize("args", [
    ["restore_dump", "--noinput"], ["restore_dump", "--check"], ["restore_dump", "--verify"],
    ["loaddata"],
])
def test_an_altered_chunk_is_refused_in_one_line_that_names_reseal_dump(
        altered, new_database_url, args):
    target = altered / "restore.py" if args == ["loaddata"] else altered
    result = manage(*args, str(target), database_url=new_database_url)
    assert_refused(result, "testapp_person")
    assert "run manage.py reseal_dump %s to accept it" % altered in result.stderr
    assert "otherwise the dump is damaged: restore from another backup" in result.stderr


def test_restore_py_says_the_same_of_an_altered_chunk(altered, new_database_url):
    result = restore_script(altered / "restore.py", "--noinput", database_url=new_database_url)
    assert_refused(result, "Restore failed: %s" % altered, prefix="")
    assert "manage.py reseal_dump %s" % altered in result.stderr


@pytest.mark.parametrize("command", ["restore_dump", "loaddata", "restore.py"])
def test_leaving_out_a_model_rows_refer_to_is_one_line_without_a_class_name(
        backup, new_database_url, command):
    if command == "restore.py":
        result = restore_script(backup / "restore.py", "--noinput", "-e", "testapp.Person",
                                database_url=new_database_url)
        assert_refused(result, "Cannot leave out testapp.Person", prefix="")
        return
    result = manage(command, str(backup / "restore.py"), "-e", "testapp.Person",
                    *(["--noinput"] if command == "restore_dump" else []),
                    database_url=new_database_url)
    assert_refused(result, "Cannot leave out testapp.Person")


@pytest.mark.parametrize("command", [["dump2py", "OUT"], ["dumpdata", "--format", "py"]])
def test_a_dump_without_a_model_rows_refer_to_is_one_line_without_a_class_name(
        tmp_path, new_database_url, command):
    args = [str(tmp_path / "out") if arg == "OUT" else arg for arg in command]
    assert manage("migrate", "--run-syncdb", database_url=new_database_url).returncode == 0
    result = manage(*args, "-e", "testapp.Person", database_url=new_database_url)
    assert_refused(result, "testapp.Person")


def test_a_restore_that_cannot_be_done_is_one_line_from_both_commands(backup, new_database_url):
    result = manage("restore_dump", "--noinput", str(backup), "-e", "contenttypes",
                    database_url=new_database_url)
    assert_refused(result, "Cannot leave out contenttypes")
    result = restore_script(backup / "restore.py", "--noinput", "-e", "contenttypes",
                            database_url=new_database_url)
    assert_refused(result, "Cannot leave out contenttypes", prefix="")


def test_answering_no_is_one_line_from_both_commands(backup, new_database_url):
    result = manage("restore_dump", str(backup), stdin="n\n", database_url=new_database_url)
    assert_refused(result, "Cancelled; nothing was changed.")
    result = restore_script(backup / "restore.py", stdin="n\n", database_url=new_database_url)
    assert_refused(result, "Cancelled; nothing was changed.", prefix="")


@pytest.mark.parametrize("args", [
    ["restore_dump", "--noinput"], ["restore_dump", "--list"], ["reseal_dump"],
])
def test_a_missing_dump_is_one_line(tmp_path, new_database_url, args):
    result = manage(*args, str(tmp_path / "nothing"), database_url=new_database_url)
    assert_refused(result, "cannot open this file")


def test_a_refusal_is_never_given_a_second_prefix():
    failed = RestoreFailed("Restore failed while migrating forward: no such table")
    assert refusal_text(failed, "Restore failed") == str(failed)
    assert refusal_text(NotRestorable("Cannot restore x"), "Restore failed") == "Cannot restore x"
    assert refusal_text(DumpError("truncated", "x.py", 3), "Restore failed") == \
        "Restore failed: x.py, line 3: truncated"


# ---------------------------------------------------------------------------
# An unknown --database alias, as Django's own commands refuse it.


def django_refusal(database_url):
    """What Django's migrate says of --database nope, after its command name
    (argparse's refusal of a choice); Django 4.2's migrate has no choices and
    ends in a traceback, so there it is argparse's wording alone."""
    parser = argparse.ArgumentParser(prog="migrate")
    parser.add_argument("--database", choices=("default",))
    refusal = io.StringIO()
    with contextlib.redirect_stderr(refusal), pytest.raises(SystemExit):
        parser.parse_args(["--database", "nope"])
    expected = refusal.getvalue().splitlines()[-1].partition("migrate: ")[2]
    if django.VERSION >= (5, 2):
        result = manage("migrate", "--database", "nope", database_url=database_url)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].partition(" migrate: ")[2] == expected
    return expected


@pytest.mark.parametrize("args", [
    ["restore_dump", "--noinput", "--database", "nope", "BACKUP"],
    ["restore_dump", "--check", "--database", "nope", "BACKUP"],
    ["restore_dump", "--verify", "--database", "nope", "BACKUP"],
    ["restore_dump", "--verify", "--verify-into", "nope", "BACKUP"],
    ["dump2py", "--database", "nope", "OUT"],
    ["loaddata", "--database", "nope", "BACKUP/restore.py"],
    ["dumpdata", "--database", "nope"],
    ["restore.py", "--noinput", "--database", "nope"],
])
def test_an_unknown_database_alias_is_refused_as_django_refuses_it(
        backup, tmp_path, new_database_url, args):
    expected = django_refusal(new_database_url)
    if "--verify-into" in args:
        expected = expected.replace("--database", "--verify-into")
    args = [arg.replace("BACKUP", str(backup)).replace("OUT", str(tmp_path / "out"))
            for arg in args]
    if args[0] == "restore.py":
        result = restore_script(backup / "restore.py", *args[1:], database_url=new_database_url)
    else:
        result = manage(*args, database_url=new_database_url)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].endswith(": " + expected), result.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# Ctrl-C and SIGTERM in the middle of a restore.


def restored_into(backup, database_url):
    """Restore ``backup`` into ``database_url`` (migrating it first); return its rows."""
    result = restore_script(backup / "restore.py", "--noinput", database_url=database_url)
    assert result.returncode == 0, result.stderr
    return db_snapshot_in(database_url, "testapp")


def stopped_mid_load(args, database_url, signum, marker):
    """Run ``args`` with the load held at its first Person; send ``signum`` then."""
    env = dict(project_env(database_url, str(TESTS_DIR)), TESTAPP_PAUSE_LOADING_AT=str(marker))
    # A shell's background job ignores SIGINT, and so would the process: it must not.
    process = subprocess.Popen(args, cwd=TESTS_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, stderr


@pytest.mark.parametrize("signum, said", [
    (signal.SIGINT, "Interrupted; nothing was changed."),
    (signal.SIGTERM, "Terminated (SIGTERM); nothing was changed."),
])
def test_a_signal_mid_restore_rolls_it_back_and_says_so(
        backup, tmp_path, new_database_url, signum, said):
    before = restored_into(backup, new_database_url)
    runs = {
        "restore_dump": [sys.executable, "-m", "django", "restore_dump", "--noinput", str(backup)],
        "restore.py": [sys.executable, str(backup / "restore.py"), "--noinput"],
        "loaddata": [sys.executable, "-m", "django", "loaddata", str(backup / "restore.py")],
    }
    for name, args in runs.items():
        returncode, stderr = stopped_mid_load(args, new_database_url, signum,
                                              tmp_path / ("held-" + name))
        assert returncode == 1, (name, stderr)
        assert "Traceback" not in stderr, stderr
        prefix = "" if name == "restore.py" else "CommandError: "
        assert stderr.strip().splitlines()[-1] == prefix + said, (name, stderr)
        assert db_snapshot_in(new_database_url, "testapp") == before, name


def test_rotation_refusals_are_one_line_and_restore_py_has_no_latest(backup, tmp_path,
                                                                     new_database_url):
    result = manage("dump2py", str(tmp_path / "nightly"), "--keep", "2",
                    database_url=new_database_url)
    assert_refused(result, "--keep removes old dumps from a folder of timestamped dumps")
    (tmp_path / "empty").mkdir()
    result = manage("restore_dump", str(tmp_path / "empty"), "--latest", "--noinput",
                    database_url=new_database_url)
    assert_refused(result, "%s holds no complete dump." % (tmp_path / "empty"))
    result = restore_script(backup / "restore.py", "--latest", database_url=new_database_url)
    assert result.returncode == 2 and "unrecognized arguments: --latest" in result.stderr
