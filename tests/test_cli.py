"""dumpdata --format py and loaddata, as a user runs them: to standard output, to one
file, to a directory; what the files look like; and that loading them back works."""

import ast
import hashlib
import io
import json
import math
import os
import subprocess
import sys

import django
import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

import pyserializer
from helpers import (
    assert_same_rows, blocks, chunk_names, db_snapshot, dump_dir, dump_file, dump_stdout,
    file_mode, load, populate, read_lines, restore_files, wipe,
)
from testapp.models import Everything

pytestmark = pytest.mark.django_db(transaction=True)

HEADER_IMPORT = "from pyserializer.literals import null, true, false, NaN, Infinity"


def pk_column(block):
    """Where the primary key is in the rows of `block`."""
    pk = apps.get_model(block["model"])._meta.pk
    return block["fields"].index(pk.attname if pk.attname in block["fields"] else pk.name)


def assert_is_a_dump_file(path):
    """Valid Python, UTF-8, the format's import line and version, one row per line."""
    text = path.read_bytes().decode("utf-8")
    ast.parse(text, filename=str(path))
    lines = text.split("\n")
    assert HEADER_IMPORT in lines
    assert "FORMAT = 2" in lines
    for block in blocks(path):
        assert block["fields"], block["model"]
        for _, values in block["rows"]:
            assert len(values) == len(block["fields"]), block["model"]


def test_dumpdata_to_stdout_loads_back(tmp_path):
    populate()
    before = db_snapshot()
    text = dump_stdout()
    path = tmp_path / "from_stdout.py"
    path.write_text(text, encoding="utf-8")
    assert_is_a_dump_file(path)
    assert {block["model"] for block in blocks(path)} >= {
        "testapp.everything", "testapp.person", "testapp.book", "testapp.tag"}
    wipe()
    load(path)
    assert_same_rows(before, db_snapshot())


def test_dumpdata_to_a_named_file_loads_back(tmp_path):
    populate()
    before = db_snapshot()
    path = dump_file(tmp_path / "backup.py")
    assert [p.name for p in tmp_path.iterdir()] == ["backup.py"]
    assert file_mode(path) == 0o600
    assert_is_a_dump_file(path)
    wipe()
    load(path)
    assert_same_rows(before, db_snapshot())


def test_dumpdata_to_restore_py_writes_a_directory_that_loads_back(tmp_path):
    populate()
    before = db_snapshot()
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=3):
        restore = dump_dir(tmp_path / "dump")
    names = chunk_names(restore)
    assert sorted(p.name for p in restore.parent.iterdir()) == sorted(names + ["restore.py"])
    for path in restore.parent.iterdir():
        assert file_mode(path) == 0o600, path.name
        ast.parse(path.read_bytes().decode("utf-8"), filename=str(path))
    for name in names:
        assert_is_a_dump_file(restore.parent / name)
    wipe()
    load(restore)
    assert_same_rows(before, db_snapshot())


def test_chunk_files_are_named_after_the_table_and_hold_at_most_the_chunk_size(tmp_path):
    populate()  # 5 Everything rows, 3 Persons, 2 Books, 1 Club...
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=3):
        restore = dump_dir(tmp_path / "dump")
    names = chunk_names(restore)
    table = Everything._meta.db_table
    assert f"{table}_1.py" in names and f"{table}_2.py" in names
    assert f"{table}.py" not in names and f"{table}_3.py" not in names
    assert "testapp_person.py" in names and "testapp_person_1.py" not in names  # exactly 3 rows
    assert "testapp_club.py" in names
    for entry in restore_files(restore):
        name, label, rows = entry[:3]
        file_blocks = blocks(restore.parent / name)
        assert [block["model"] for block in file_blocks] == [label]
        assert len(file_blocks[0]["rows"]) == rows <= 3


def test_restore_py_lists_rows_bytes_and_sha256_of_every_chunk(tmp_path):
    populate()
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
        restore = dump_dir(tmp_path / "dump")
    entries = restore_files(restore)
    assert entries
    for name, label, rows, size, sha256 in entries:
        data = (restore.parent / name).read_bytes()
        assert size == len(data), name
        assert sha256 == hashlib.sha256(data).hexdigest(), name
        assert rows == sum(len(block["rows"]) for block in blocks(restore.parent / name))
    assert sum(entry[2] for entry in entries if entry[1] == "testapp.everything") == 5


def test_restore_py_records_where_the_data_came_from(tmp_path):
    populate()
    restore = dump_dir(tmp_path / "dump")
    text = restore.read_text(encoding="utf-8")
    assert f'"{django.get_version()}"' in text
    assert f'"{pyserializer.__version__}"' in text
    assert f'"{connection.vendor}"' in text
    assert '["testapp", "0001_initial"]' in text.replace("'", '"')
    assert 'if __name__ == "__main__":' in read_lines(restore)


def test_rows_are_written_in_primary_key_order(tmp_path):
    populate()  # Everything pks created in the order 7, 2, 5, 1, 11
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
        restore = dump_dir(tmp_path / "dump")
    single = dump_file(tmp_path / "single.py")
    for paths in ([restore.parent / name for name in chunk_names(restore)], [single]):
        pks = {}
        for path in paths:
            for block in blocks(path):
                column = pk_column(block)
                pks.setdefault(block["model"], []).extend(v[column] for _, v in block["rows"])
        assert pks["testapp.everything"] == [1, 2, 5, 7, 11]
        assert pks["testapp.person"] == [1, 3, 2**40]
        for label, values in pks.items():
            assert values == sorted(values), label


def test_dump_files_run_as_python_give_the_rows(tmp_path):
    """Valid Python in meaning too: running a file defines ROWS with the dumped values."""
    populate()
    if connection.vendor != "mysql":  # MariaDB stores no infinities
        Everything.objects.create(pk=12, floating=float("inf"))
    if connection.vendor == "postgresql":  # and SQLite turns NaN into NULL
        Everything.objects.create(pk=13, floating=float("nan"))
    path = dump_file(tmp_path / "backup.py", "testapp.everything")
    probe = tmp_path / "probe.py"
    probe.write_text(
        path.read_text(encoding="utf-8")
        + "\nimport json, math\n"
        + "print(json.dumps([MODEL, FIELDS, [[repr(v) if isinstance(v, float) else v"
        + " for v in row] for row in ROWS]]))\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True,
                            timeout=60, check=True)
    model, fields, rows = json.loads(result.stdout)
    (block,) = blocks(path)
    assert (model, fields) == (block["model"], block["fields"])
    expected = [[repr(v) if isinstance(v, float) else v for v in values]
                for _, values in block["rows"]]
    assert rows == expected
    floats = {row[fields.index("id")]: row[fields.index("floating")] for row in rows}
    assert floats[7] == repr(0.1 + 0.2)
    if connection.vendor != "mysql":
        assert math.isinf(float(floats[12]))
    if connection.vendor == "postgresql":
        assert math.isnan(float(floats[13]))


def test_dumpdata_exclude_leaves_out_a_model(tmp_path):
    populate()
    path = dump_file(tmp_path / "backup.py", exclude=["testapp.everything"])
    models = {block["model"] for block in blocks(path)}
    assert "testapp.everything" not in models and "testapp.person" in models


def test_dumpdata_of_one_model_holds_only_its_rows(tmp_path):
    populate()
    path = dump_file(tmp_path / "backup.py", "testapp.person")
    assert [block["model"] for block in blocks(path)] == ["testapp.person"]


def test_loaddata_reports_the_objects_it_installed(tmp_path):
    populate()
    path = dump_file(tmp_path / "backup.py", "testapp.everything", "testapp.person")
    wipe()
    out = io.StringIO()
    call_command("loaddata", str(path), verbosity=1, stdout=out)
    assert "Installed 8 object(s) from 1 fixture(s)" in out.getvalue()


@pytest.mark.filterwarnings("ignore:No fixture data found:RuntimeWarning")
def test_empty_dump_loads_nothing(tmp_path):
    wipe()
    restore = dump_dir(tmp_path / "dump")
    single = dump_file(tmp_path / "single.py")
    assert_is_a_dump_file(single)
    ast.parse(restore.read_text(encoding="utf-8"))
    for path in (restore, single):
        load(path)
        assert not any(db_snapshot().values())


def test_files_are_created_private_whatever_the_umask(tmp_path):
    populate()
    old = os.umask(0)
    try:
        restore = dump_dir(tmp_path / "dump")
        single = dump_file(tmp_path / "single.py")
    finally:
        os.umask(old)
    for path in [single, *restore.parent.iterdir()]:
        assert file_mode(path) == 0o600, path.name


@pytest.mark.parametrize("source", ["text", "text stream", "binary stream"])
def test_deserialize_reads_text_and_streams(source):
    populate()
    before = db_snapshot()
    text = serializers.serialize("py", Everything.objects.order_by("pk"))
    assert isinstance(text, str)
    data = {
        "text": text,
        "text stream": io.StringIO(text),
        "binary stream": io.BytesIO(text.encode("utf-8")),
    }[source]
    Everything.objects.all().delete()
    objects = list(serializers.deserialize("py", data))
    assert [obj.object.pk for obj in objects] == [1, 2, 5, 7, 11]
    assert not Everything.objects.exists()  # deserializing saves nothing
    for obj in objects:
        obj.save()
    assert_same_rows(before, db_snapshot())


def test_a_gzip_compressed_single_file_dump_loads_back(tmp_path):
    populate()
    before = db_snapshot()
    path = tmp_path / "backup.py.gz"
    call_command("dumpdata", "testapp", format="py", output=str(path))
    assert file_mode(path) == 0o600
    wipe()
    call_command("loaddata", str(path), verbosity=0)
    assert db_snapshot() == before
