"""Every way a dump is written and read back, for the tests of models that must
come through them all: dump2py with restore_dump (after a --verify), with loaddata,
with `python DIR/restore.py` and with --jobs; dumpdata to one file and to a directory."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from helpers import (
    as_json, assert_same_rows, db_snapshot, db_snapshot_in, dump_dir, dump_file, load,
    restore_files, wipe,
)
from test_restore_script import run_script

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="--jobs needs PostgreSQL's exported snapshots"
)


def dump2py(directory, *args):
    """`dump2py DIRECTORY --noinput ARGS`; returns the path of restore.py."""
    call_command("dump2py", str(directory), "--noinput", *[str(arg) for arg in args], verbosity=0)
    return Path(directory) / "restore.py"


def restore_dump(manifest):
    call_command("restore_dump", str(manifest), "--noinput", verbosity=0)


def through_dump2py_and_restore_dump(tmp_path, app_label):
    restore_dump(dump2py(tmp_path / "backup", "-m", 2))


def through_dump2py_verified_and_restore_dump(tmp_path, app_label):
    """--verify restores into a scratch database, dumps it again and compares:
    it raises at the first row or field that did not come back."""
    manifest = dump2py(tmp_path / "backup", "-m", 2)
    call_command("restore_dump", str(manifest), "--verify", verbosity=0)
    restore_dump(manifest)


def through_dump2py_and_loaddata(tmp_path, app_label):
    manifest = dump2py(tmp_path / "backup", "-m", 2)
    wipe(app_label)
    load(manifest)


def through_dumpdata_to_one_file_and_loaddata(tmp_path, app_label):
    path = dump_file(tmp_path / "backup.py", app_label)
    wipe(app_label)
    load(path)


def through_dumpdata_to_a_directory_and_loaddata(tmp_path, app_label):
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
        manifest = dump_dir(tmp_path / "backup", app_label)
    wipe(app_label)
    load(manifest)


IN_PROCESS = [
    through_dump2py_and_restore_dump,
    through_dump2py_verified_and_restore_dump,
    through_dump2py_and_loaddata,
    through_dumpdata_to_one_file_and_loaddata,
    through_dumpdata_to_a_directory_and_loaddata,
]


def assert_jobs_write_the_same_files_and_restore(tmp_path, app_label):
    """dump2py --jobs 2 (PostgreSQL) writes the files of one process, in chunks
    of 2 rows, and restore_dump gets every row of ``app_label`` back from them."""
    before = db_snapshot(app_label)
    one = dump2py(tmp_path / "one", "-m", 2)
    parallel = dump2py(tmp_path / "parallel", "-m", 2, "--jobs", 2)
    assert restore_files(parallel) == restore_files(one)
    for entry in restore_files(one):
        assert (tmp_path / "parallel" / entry[0]).read_bytes() == (
            tmp_path / "one" / entry[0]).read_bytes()
    wipe(app_label)
    restore_dump(parallel)
    assert_same_rows(before, db_snapshot(app_label))
    return one


def assert_the_script_restores_into_a_new_database(tmp_path, new_database_url, app_label):
    """`python DIR/restore.py` restores every row of ``app_label`` into a new database."""
    manifest = dump2py(tmp_path / "backup", "-m", 2)
    result = run_script(manifest, "--noinput", database_url=new_database_url)
    assert result.returncode == 0, result.stderr
    assert db_snapshot_in(new_database_url, app_label) == as_json(db_snapshot(app_label))
