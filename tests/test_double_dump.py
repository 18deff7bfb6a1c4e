"""Dumps are deterministic: dump, load into an empty database, dump again, and the
chunk files are byte-identical; restore.py differs at most by the time of the dump."""

import datetime
import json

import pytest
from django.test import override_settings

from helpers import chunk_names, dump_dir, load, populate, read_lines, wipe

pytestmark = pytest.mark.django_db(transaction=True)


def assert_same_dump(first, second):
    """Same files, byte-identical chunks, restore.py differing only by timestamps."""
    names = sorted(path.name for path in first.parent.iterdir())
    assert names == sorted(path.name for path in second.parent.iterdir())
    assert chunk_names(first) == chunk_names(second)
    for name in chunk_names(first):
        assert (first.parent / name).read_bytes() == (second.parent / name).read_bytes(), name
    first_lines, second_lines = read_lines(first), read_lines(second)
    assert len(first_lines) == len(second_lines)
    for one, two in zip(first_lines, second_lines):
        if one != two:
            name, _, value = one.partition(" = ")
            assert two.startswith(name + " = "), (one, two)
            for line in (one, two):  # a timestamp, and nothing else
                datetime.datetime.fromisoformat(json.loads(line.partition(" = ")[2]))


def test_dump_of_a_loaded_dump_is_identical(tmp_path):
    populate()
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
        first = dump_dir(tmp_path / "first")
        wipe()
        load(first)
        second = dump_dir(tmp_path / "second")
    assert "testapp_everything_3.py" in chunk_names(first)  # 5 rows in chunks of 2
    assert_same_dump(first, second)


def test_two_dumps_of_an_unchanged_database_are_identical(tmp_path):
    populate()
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=3):
        first = dump_dir(tmp_path / "first")
        second = dump_dir(tmp_path / "second")
    assert_same_dump(first, second)
