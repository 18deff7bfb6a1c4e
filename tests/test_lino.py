"""A real Lino site: Lino Amici's ``amici1`` demo (tests/lino_site.py), whose apps
have no migrations, is dumped with ``manage.py pydump`` (pyserializer's dump2py;
Lino's own ``dump2py`` keeps its name), restored by the
dump's restore.py into a new EMPTY database (no ``initdb`` first), and compared
with its source: every concrete column of every row of every model, and every
many-to-many link, exactly. Lino's "py" loader, given the dump's files by
``loaddata``, fails with pyserializer's message instead of loading nothing.

Needs the Lino virtualenv (Python 3.12, Django 6): ``make test-lino`` builds it
and runs this module on SQLite and on PostgreSQL; elsewhere it is skipped.
The source is the demo's SQLite database, built once per machine by Lino's own
``prep``; the target is a new database on the backend of the run
(``new_database_url``).
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("lino_amici")

import lino_site  # noqa: E402  (tests/lino_site.py)

LINO_SITE = str(Path(lino_site.__file__))
MAX_REPORTED = 40


def run(args, what, **kwargs):
    """Run a process of the site; return (stdout, wall time) or fail with its output."""
    started = time.perf_counter()
    result = subprocess.run([str(arg) for arg in args], capture_output=True, text=True,
                            timeout=900, **kwargs)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        pytest.fail("%s failed (exit status %d):\n%s\n--- stdout (end) ---\n%s" % (
            what, result.returncode, result.stderr[-6000:], result.stdout[-2000:]), pytrace=False)
    return result.stdout, elapsed


def snapshot(site_dir, database_url, path):
    run([sys.executable, LINO_SITE, "snapshot", site_dir, database_url, path],
        "snapshot of %s" % database_url)
    return json.loads(Path(path).read_text(encoding="utf-8"))


def differences(source, target):
    """One line per model, row or field that differs."""
    lines = []
    for label in sorted(set(source) | set(target)):
        want, got = source.get(label), target.get(label)
        if want is None or got is None:
            lines.append("%s: no such model in the %s" % (label, "source" if want is None
                                                           else "target"))
            continue
        if want == got:
            continue
        key = (lambda row: json.dumps(row.get("pk", row), sort_keys=True))
        want_rows, got_rows = {key(row): row for row in want}, {key(row): row for row in got}
        for pk in sorted(set(want_rows) | set(got_rows)):
            row, other = want_rows.get(pk), got_rows.get(pk)
            if row is None or other is None:
                lines.append("%s %s: only in the %s" % (label, pk, "target" if row is None
                                                        else "source"))
            elif row != other:
                lines += ["%s %s %s: source %r != target %r" % (
                    label, pk, field, row.get(field), other.get(field))
                    for field in sorted(set(row) | set(other)) if row.get(field) != other.get(field)]
    return lines


def site(tmp_path):
    """A copy of the amici1 demo, and the URL of its database."""
    built, _ = run([sys.executable, LINO_SITE, "build", lino_site.cache_dir()],
                   "building the amici1 demo")
    site_dir = tmp_path / "site"
    shutil.copytree(built.strip().splitlines()[-1], site_dir)
    return site_dir, lino_site.source_url(site_dir)


def manage(site_dir, database_url, *args, what=None, check=True):
    """``manage.py ARGS`` on the site: (stdout, wall time), or the finished process
    when ``check`` is false."""
    command = [sys.executable, "-m", "django", *args]
    env = lino_site.site_environment(site_dir, database_url)
    if not check:
        return subprocess.run([str(arg) for arg in command], capture_output=True, text=True,
                              timeout=900, cwd=lino_site.TESTS_DIR, env=env)
    return run(command, what or "manage.py %s" % args[0], cwd=lino_site.TESTS_DIR, env=env)


def test_pydump_is_ours_and_dump2py_stays_lino_s(tmp_path):
    site_dir, source_url = site(tmp_path)
    listed, _ = manage(site_dir, source_url, "help")
    ours = listed.split("[pyserializer]")[1].split("\n\n")[0].split()
    assert "pydump" in ours and "dump2py" not in ours
    lino_help, _ = manage(site_dir, source_url, "dump2py", "--help")
    assert "--max-row-count" in lino_help and "--compress" not in lino_help
    our_help, _ = manage(site_dir, source_url, "pydump", "--help")
    assert "--compress" in our_help and "restore_dump" in our_help


def test_lino_s_py_loader_refuses_our_files_instead_of_loading_nothing(tmp_path):
    site_dir, source_url = site(tmp_path)
    dump = tmp_path / "dump"
    manage(site_dir, source_url, "pydump", "--noinput", dump)
    for name, what in [("restore.py", "the manifest of a pyserializer dump"),
                       ("contacts_person.py", "a chunk of the pyserializer dump %s" % dump)]:
        loaded = manage(site_dir, source_url, "loaddata", dump / name, check=False)
        assert loaded.returncode != 0, loaded.stdout
        assert "Installed 0 object(s)" not in loaded.stdout
        last = loaded.stderr.strip().splitlines()[-1]
        assert last.startswith("CommandError: %s is %s" % (dump / name, what)), (
            loaded.stderr)
        assert "`manage.py restore_dump %s`" % dump in last


def test_the_amici1_demo_comes_back_row_for_row_into_a_new_empty_database(
    tmp_path, new_database_url
):
    site_dir, source_url = site(tmp_path)
    dump = tmp_path / "dump"
    dumped, dump_time = manage(site_dir, source_url, "pydump", "--noinput", dump)
    restored, restore_time = run(
        [sys.executable, dump / "restore.py", "--noinput"], "python DUMP/restore.py --noinput",
        cwd=lino_site.TESTS_DIR, env=lino_site.site_environment(site_dir, new_database_url))

    assert "Created the tables of apps without migrations" in restored
    source = snapshot(site_dir, source_url, tmp_path / "source.json")
    target = snapshot(site_dir, new_database_url, tmp_path / "target.json")
    rows = sum(len(model_rows) for model_rows in source.values())
    print("\nLino amici1, sqlite -> %s: %d rows of %d models (%d with rows); "
          "pydump %.1f s (%s); restore.py %.1f s (%s)" % (
              new_database_url.partition(":")[0], rows, len(source),
              sum(1 for model_rows in source.values() if model_rows), dump_time,
              dumped.strip().splitlines()[-1], restore_time, restored.strip().splitlines()[-1]))
    assert rows > 2000 and len(source) > 50, "the demo is not the amici1 demo"
    found = differences(source, target)
    assert not found, "The restored site differs from its source in %d ways (%s):\n%s" % (
        len(found), tmp_path, "\n".join(found[:MAX_REPORTED]))
