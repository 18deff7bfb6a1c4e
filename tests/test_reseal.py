"""reseal_dump: after a hand edit of chunk files (plain or compressed), restore.py is
rewritten with their new sizes, checksums and row counts, and the dump loads with
the edits; a chunk the loader would refuse is refused, and restore.py left as it was."""

import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.base import DeserializationError
from django.test import override_settings

try:
    import zstandard
except ImportError:  # the zstd extra is not installed: its tests are skipped
    zstandard = None

from helpers import dump_dir, load, populate, read_lines, restore_files, wipe
from testapp.models import City, Country

COMPRESSIONS = {
    "plain": (".py", lambda data: data, lambda data: data),
    "gzip": (".py.gz", gzip.decompress, gzip.compress),
    "zstd": (
        ".py.zst",
        lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
        lambda data: zstandard.ZstdCompressor().compress(data),
    ),
}


@pytest.fixture(params=[
    "plain", "gzip",
    pytest.param("zstd", marks=pytest.mark.skipif(zstandard is None,
                                                  reason="needs pip install .[zstd]")),
])
def dump(request, tmp_path, db):
    """A directory dump of the test data, chunks compressed as the param says:
    (restore.py, chunk file suffix, compression)."""
    populate()
    compress = None if request.param == "plain" else request.param
    with override_settings(PYSERIALIZER_COMPRESS=compress):
        restore = dump_dir(tmp_path / "dump")
    return restore, COMPRESSIONS[request.param]


def reseal_dump(restore):
    out = io.StringIO()
    call_command("reseal_dump", str(restore), stdout=out)
    return out.getvalue()


def edit_chunk(restore, table, edit):
    """Rewrite the chunk of `table` as a person does: decompress, change its
    lines with `edit(lines, fields)`, compress again."""
    suffix, decompress, compress = restore[1]
    path = restore[0].parent / (table + suffix)
    lines = decompress(path.read_bytes()).decode("utf-8").split("\n")
    fields = json.loads(next(line for line in lines if line.startswith("FIELDS = "))[9:])
    edit(lines, fields)
    path.write_bytes(compress("\n".join(lines).encode("utf-8")))
    return path


def row_index(lines, predicate):
    return next(i for i, line in enumerate(lines)
                if line.startswith("[") and predicate(json.loads(line[:-1])))


def add_remove_and_edit_rows(restore):
    def countries(lines, fields):
        name = fields.index("name")
        belgium = row_index(lines, lambda row: row[fields.index("code")] == "BE")
        row = json.loads(lines[belgium][:-1])
        row[name] = "Belgique"
        lines[belgium] = json.dumps(row, ensure_ascii=False) + ","
        finland = {"id": 30, "code": "FI", "name": "Suomi"}
        lines.insert(belgium + 1, json.dumps([finland[f] for f in fields]) + ",")

    def cities(lines, fields):
        del lines[row_index(lines, lambda row: row[fields.index("name")] == "Tallinn")]

    return [edit_chunk(restore, "testapp_country", countries).name,
            edit_chunk(restore, "testapp_city", cities).name]


def test_reseal_after_adding_removing_and_editing_rows_loads_the_edits(dump):
    restore = dump[0]
    before = read_lines(restore)
    changed = add_remove_and_edit_rows(dump)
    with pytest.raises(DeserializationError):
        load(restore)

    output = reseal_dump(restore)

    for name in changed:
        assert "Resealed %s" % name in output
    assert "2 of its chunks changed" in output
    after = read_lines(restore)
    files_start = before.index("FILES = [")
    assert after[:files_start] == before[:files_start]  # origin and migrations kept
    rows = {entry[0]: entry[2] for entry in restore_files(restore)}
    assert rows[changed[0]] == 3 and rows[changed[1]] == 1
    assert [entry for entry in restore_files(restore) if entry[0] not in changed] == [
        entry for entry in json_files(before) if entry[0] not in changed]
    wipe()
    load(restore)
    assert dict(Country.objects.values_list("code", "name")) == {
        "BE": "Belgique", "EE": "Eesti", "FI": "Suomi"}
    assert list(City.objects.values_list("name", flat=True)) == ["Eupen"]


def json_files(lines):
    start = lines.index("FILES = [")
    return [json.loads(line[:-1]) for line in lines[start + 1:lines.index("]", start)]]


def test_reseal_keeps_the_skipped_tables(dump):
    restore = dump[0]
    lines = read_lines(restore)
    index = lines.index("SKIPPED = []")
    lines[index] = 'SKIPPED = [["shop.order", "shop_order", "no such column"]]'
    Path(restore).write_bytes("\n".join(lines).encode("utf-8"))
    add_remove_and_edit_rows(dump)
    reseal_dump(restore)
    assert read_lines(restore)[index] == lines[index]


def test_reseal_of_an_unchanged_dump_changes_nothing(dump):
    restore = dump[0]
    before = restore.read_bytes()
    assert "nothing was changed" in reseal_dump(restore)
    assert restore.read_bytes() == before


def test_resealed_restore_py_is_private(dump):
    restore = dump[0]
    add_remove_and_edit_rows(dump)
    reseal_dump(restore)
    assert restore.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in restore.parent.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("bad, message", [
    ('[99, __import__("os").system("true")],', "only literal values"),
    ("[99, \"XX\", \"no comma\"]", "a row must end with a comma"),
    ('[99, "XX"],', "expected a list of 3 values"),
])
def test_reseal_refuses_a_bad_row_naming_file_and_line(dump, bad, message):
    restore = dump[0]
    before = restore.read_bytes()
    where = {}

    def break_a_row(lines, fields):
        where["line"] = row_index(lines, lambda row: True)
        lines.insert(where["line"], bad)

    path = edit_chunk(dump, "testapp_country", break_a_row)
    with pytest.raises(CommandError) as info:
        reseal_dump(restore)
    text = str(info.value)
    assert message in text
    assert "%s, line %d" % (path, where["line"] + 1) in text
    assert "restore.py was not changed" in text
    assert restore.read_bytes() == before


def test_reseal_refuses_a_chunk_of_another_model(dump):
    restore = dump[0]
    before = restore.read_bytes()

    def other_model(lines, fields):
        lines[lines.index('MODEL = "testapp.country"')] = 'MODEL = "testapp.city"'

    edit_chunk(dump, "testapp_country", other_model)
    with pytest.raises(CommandError, match="restore.py lists this chunk for model testapp.country"):
        reseal_dump(restore)
    assert restore.read_bytes() == before


def test_reseal_refuses_a_truncated_or_missing_chunk(dump):
    restore, (suffix, _decompress, _compress) = dump
    before = restore.read_bytes()
    chunk = restore.parent / ("testapp_country" + suffix)
    data = chunk.read_bytes()
    # A compressed chunk short of its last bytes only; a plain one cut inside its rows.
    chunk.write_bytes(data[: len(data) // 2 if suffix == ".py" else len(data) - 3])
    with pytest.raises(CommandError, match="truncated|a row must end|ends inside"):
        reseal_dump(restore)
    chunk.unlink()
    with pytest.raises(CommandError, match="cannot open this file"):
        reseal_dump(restore)
    assert restore.read_bytes() == before
