"""What an administrator sees on a terminal: every command run in another process
with standard output and standard error on one pseudo-terminal, as in a shell.
A progress bar must end at its total and end its line before anything else is
printed (a summary, migrate's lines, an error)."""

import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from helpers import TESTS_DIR, chunk_names, populate, reseal
from processes import project_env, run_on_a_terminal

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def on_a_terminal(args, env):
    """Run ``args`` with both output streams on one 80-column pseudo-terminal;
    return the exit status and the lines as the terminal shows them last: a
    line redrawn after a carriage return shows only its last drawing."""
    status, shown = run_on_a_terminal(args, env)
    text = ANSI_COLOUR.sub("", shown.decode("utf-8", errors="replace"))
    lines = []
    for line in text.split("\n"):
        drawings = [part for part in line.rstrip("\r").split("\r") if part.strip()]
        lines.append(drawings[-1].rstrip() if drawings else "")
    return status, lines


def dumped(tmp_path):
    """A dump2py dump of the populated test database; (directory, rows in it)."""
    populate()
    directory = tmp_path / "backup"
    call_command("dump2py", str(directory), "--noinput", verbosity=0)
    return directory, sum(rows for _, _, rows, _, _ in _files(directory))


def _files(directory):
    from helpers import restore_files

    return restore_files(directory / "restore.py")


def bar_then(lines, bar, summary):
    """The bar's last drawing, checked to be followed by ``summary`` on its own line."""
    after = [number for number, line in enumerate(lines) if line.startswith(summary)]
    assert len(after) == 1, (summary, "\n".join(lines))
    shown = lines[after[0] - 1]
    assert shown.startswith(bar) and not shown.startswith(summary), lines
    return shown


DJANGO = [sys.executable, "-m", "django"]


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["restore_dump", "restore.py", "loaddata -v 2"])
def test_the_restore_bar_ends_at_the_total_and_the_summary_has_its_own_line(
        tmp_path, new_database_url, command):
    directory, rows = dumped(tmp_path)
    env = project_env(new_database_url, str(TESTS_DIR))
    if command == "restore_dump":
        args = DJANGO + ["restore_dump", "--noinput", str(directory)]
        summary = "Dump taken at the code's migration state, restored %d objects of " % rows
    elif command == "restore.py":
        args = [sys.executable, str(directory / "restore.py"), "--noinput"]
        summary = "Dump taken at the code's migration state, restored %d objects of " % rows
    else:
        subprocess.run(DJANGO + ["migrate", "-v", "0"], cwd=TESTS_DIR, env=env, check=True,
                       timeout=300)
        args = DJANGO + ["loaddata", "-v", "2", str(directory / "restore.py")]
        # Django's loaddata says so where the backend has sequences to reset.
        summary = ("Resetting sequences" if connection.vendor == "postgresql"
                   else "Installed %d object(s) from 1 fixture(s)" % rows)

    status, lines = on_a_terminal(args, env)

    assert status == 0, lines
    bar = bar_then(lines, "Restoring:", summary)
    assert "100%" in bar and "%d/%d" % (rows, rows) in bar, bar
    applying = [line for line in lines if "Applying " in line]
    assert applying == [line for line in applying
                        if re.fullmatch(r"  Applying \w+\.\w+\.\.\. OK", line)], applying
    if command != "loaddata -v 2":
        assert len(applying) > 5, lines


@pytest.mark.django_db
def test_a_restore_stopped_by_an_error_ends_the_bar_s_line_before_the_error(
        tmp_path, new_database_url):
    directory, _ = dumped(tmp_path)
    last = directory / chunk_names(directory / "restore.py")[-1]
    text = last.read_text(encoding="utf-8")
    row = text.index("ROWS = [\n") + len("ROWS = [\n")
    last.write_text(text[:row] + "[1, 2, 3],\n" + text[row:], encoding="utf-8")
    reseal(directory / "restore.py", rows=True)
    env = project_env(new_database_url, str(TESTS_DIR))

    status, lines = on_a_terminal(DJANGO + ["restore_dump", "--noinput", str(directory)], env)

    assert status == 1, lines
    bars = [line for line in lines if line.startswith("Restoring:")]
    assert len(bars) == 1 and "100%" not in bars[0], lines
    failure = [line for line in lines if "Restore failed" in line]
    assert failure and failure[0].startswith("CommandError: Restore failed: "), lines


@pytest.mark.django_db
def test_dump2py_bars_end_at_their_totals_before_each_model_s_line_and_the_summary(
        tmp_path, new_database_url):
    directory, rows = dumped(tmp_path)
    env = project_env(new_database_url, str(TESTS_DIR))
    subprocess.run(DJANGO + ["restore_dump", "--noinput", "-v", "0", str(directory)],
                   cwd=TESTS_DIR, env=env, check=True, timeout=300)
    again = tmp_path / "again"

    status, lines = on_a_terminal(DJANGO + ["dump2py", "-v", "2", "-m", "2", str(again)], env)

    assert status == 0, lines
    per_model = {}
    for _, label, count, _, _ in _files(again):
        per_model[label] = per_model.get(label, 0) + count
    for label, count in per_model.items():
        rows_text = "%d row%s" % (count, "" if count == 1 else "s")
        bar = bar_then(lines, label + ": ", "%s: %s in " % (label, rows_text))
        if count:
            assert "100%" in bar and "%d/%d" % (count, count) in bar, bar
    summary = [number for number, line in enumerate(lines) if line.startswith("Dumped ")]
    assert len(summary) == 1, lines
    assert lines[summary[0]].startswith("Dumped %d objects of " % rows), lines
    assert re.search(r": \d+ rows? in \d+ files? \(", lines[summary[0] - 1]), lines
