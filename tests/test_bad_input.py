"""Bad dumps are refused: each test breaks a good dump in one way, loads it, and checks
that a DeserializationError names the file, the line, the model and the field where
they apply, that the database is exactly as before, and that nothing in the dump ran."""

import json
import re
import subprocess
import sys

import pytest
from django.core.serializers.base import DeserializationError
from django.test import override_settings

from helpers import (
    assert_same_rows, blocks, chunk_names, db_snapshot, dump_dir, dump_file, line_number, load,
    populate, read_lines, replace_line, reseal, wipe,
)
from testapp.models import Everything, Person, Place

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "testapp.everything"


# ---------------------------------------------------------------------------
# Fixtures and helpers.


def set_other_state():
    """What the database holds when a bad dump is loaded: different from the dump, so
    that a partly loaded dump shows (Place 1 would be overwritten, rows would appear)."""
    wipe()
    Everything.objects.create(pk=1000, char="kept")
    Person.objects.create(pk=5, name="Kept")
    Place.objects.create(pk=1, name="Other square")


@pytest.fixture
def single(tmp_path):
    """A single-file dump of populate()'s rows; the database then holds other rows."""
    populate()
    path = dump_file(tmp_path / "dump.py")
    set_other_state()
    return path


@pytest.fixture
def directory(tmp_path):
    """restore.py of a directory dump in chunks of 2 rows; the database holds other rows."""
    populate()
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
        restore = dump_dir(tmp_path / "dump")
    assert "testapp_everything_2.py" in chunk_names(restore)
    set_other_state()
    return restore


def assert_refused(path, *parts, **options):
    """Loading `path` fails with a DeserializationError whose message contains every
    one of `parts`, and leaves the database as it was."""
    before = db_snapshot()
    with pytest.raises(DeserializationError) as info:
        load(path, **options)
    message = str(info.value)
    for part in parts:
        assert part in message, f"{part!r} is not in the error message: {message}"
    assert_same_rows(before, db_snapshot())
    return message


def last_everything_row(path):
    """(line number, values, fields) of the last row of the testapp.everything block."""
    block = [block for block in blocks(path) if block["model"] == MODEL][-1]
    number, values = block["rows"][-1]
    return number, values, block["fields"]


def row_line(values):
    return json.dumps(values, ensure_ascii=False) + ","


# ---------------------------------------------------------------------------
# Rows and headers that are wrong.


def test_syntax_error_in_a_row_names_file_line_and_model(single):
    number, values, _ = last_everything_row(single)
    replace_line(single, number, row_line(values).replace(",", ",,", 1))
    assert_refused(single, "dump.py", f"line {number}", MODEL)


def test_unclosed_row_names_file_and_line(single):
    number, values, _ = last_everything_row(single)
    replace_line(single, number, row_line(values)[:-2] + ",")  # "[...," : the ] is missing
    assert_refused(single, "dump.py", f"line {number}")


def test_invalid_utf8_names_file_and_line(single):
    number, values, fields = last_everything_row(single)
    values[fields.index("char")] = "INVALID"
    replace_line(single, number, row_line(values))
    single.write_bytes(single.read_bytes().replace(b"INVALID", b"\xff\xfe latin-1 \xe9"))
    assert_refused(single, "dump.py", f"line {number}")


@pytest.mark.parametrize("change", ["one value too few", "one value too many"])
def test_row_with_wrong_number_of_values_names_file_line_and_model(single, change):
    number, values, fields = last_everything_row(single)
    values = values[:-1] if change == "one value too few" else values + [None]
    replace_line(single, number, row_line(values))
    assert_refused(single, "dump.py", f"line {number}", MODEL)


def header_lines(path, model):
    """The "line N" texts of the header of `model`'s first block: MODEL to ROWS = [."""
    first = line_number(path, lambda line: line == f'MODEL = "{model}"')
    last = first + read_lines(path)[first - 1:].index("ROWS = [")
    return [f"line {number}" for number in range(first, last + 1)]


def assert_names_a_line(message, lines):
    assert any(re.search(rf"\b{line}\b", message) for line in lines), (
        f"none of {lines} is in the error message: {message}")


def test_unknown_model_names_file_line_and_model(single):
    number = line_number(single, lambda line: line == f'MODEL = "{MODEL}"')
    replace_line(single, number, 'MODEL = "testapp.nosuchmodel"')
    message = assert_refused(single, "dump.py", "testapp.nosuchmodel")
    assert_names_a_line(message, header_lines(single, "testapp.nosuchmodel"))


def test_unknown_model_is_skipped_with_ignorenonexistent(single):
    expected = expected_after_full_load(single)
    number = line_number(single, lambda line: line == f'MODEL = "{MODEL}"')
    replace_line(single, number, 'MODEL = "testapp.nosuchmodel"')
    wipe()
    load(single, ignorenonexistent=True)
    assert_same_rows(dict(expected, **{MODEL: []}), db_snapshot())


def add_unknown_field(path):
    """Add a field "nosuchfield" to the testapp.everything block, with a value in every row."""
    for block in blocks(path):
        if block["model"] != MODEL:
            continue
        number = line_number(path, lambda line: line == "FIELDS = " + json.dumps(block["fields"]))
        replace_line(path, number, "FIELDS = " + json.dumps(block["fields"] + ["nosuchfield"]))
        for row_number, values in block["rows"]:
            replace_line(path, row_number, row_line(values + ["surplus value"]))
    return number


def test_unknown_field_names_file_line_model_and_field(single):
    add_unknown_field(single)
    message = assert_refused(single, "dump.py", MODEL, "nosuchfield")
    assert_names_a_line(message, header_lines(single, MODEL))


def test_unknown_field_is_skipped_with_ignorenonexistent(single):
    expected = expected_after_full_load(single)
    add_unknown_field(single)
    wipe()
    load(single, ignorenonexistent=True)
    assert_same_rows(expected, db_snapshot())


REJECTED_VALUES = [
    ("integer", "abc"),
    ("small", [1, 2]),
    ("boolean", "maybe"),
    ("date", "2021-13-45"),
    ("datetime", "yesterday"),
    ("time", "25:61"),
    ("decimal", "1.2.3"),
    ("uuid", "not-a-uuid"),
    ("duration", "forever"),
    ("integers", "1,x"),  # the custom field's own to_python refuses it
]


@pytest.mark.parametrize("field, value", REJECTED_VALUES, ids=[f for f, _ in REJECTED_VALUES])
def test_value_the_field_rejects_names_file_line_model_and_field(single, field, value):
    number, values, fields = last_everything_row(single)
    values[fields.index(field)] = value
    replace_line(single, number, row_line(values))
    message = assert_refused(single, "dump.py", f"line {number}", MODEL, field)
    assert re.search(rf"\b{field}\b", message), f"field {field!r} is not named: {message}"


def expected_after_full_load(path):
    """The snapshot that loading the (still good) dump at `path` into empty tables gives."""
    before = db_snapshot()
    wipe()
    load(path)
    expected = db_snapshot()
    wipe()
    assert expected != before
    return expected


# ---------------------------------------------------------------------------
# Directory dumps: restore.py guards the chunks.


@pytest.mark.parametrize("cut", ["mid-line", "at a line end"])
def test_truncated_chunk_names_the_chunk(directory, cut):
    chunk = directory.parent / "testapp_everything_2.py"
    data = chunk.read_bytes()
    if cut == "mid-line":
        data = data[: len(data) // 2]
    else:  # drop the last row and the closing bracket: still no syntax error
        lines = data.split(b"\n")
        last_row = max(i for i, line in enumerate(lines) if line.startswith(b"["))
        data = b"\n".join(lines[:last_row]) + b"\n"
    chunk.write_bytes(data)
    assert_refused(directory, "testapp_everything_2.py")


def test_truncated_restore_py_is_refused(directory):
    data = directory.read_bytes()
    directory.write_bytes(data[: data.index(b"FILES = [")])
    assert_refused(directory, "restore.py")


def test_altered_chunk_names_the_chunk(directory):
    chunk = directory.parent / "testapp_everything_2.py"
    number, values = blocks(chunk)[0]["rows"][0]
    fields = blocks(chunk)[0]["fields"]
    values[fields.index("char")] = "changed by hand, restore.py not updated"
    replace_line(chunk, number, row_line(values))
    assert_refused(directory, "testapp_everything_2.py")


def test_missing_chunk_names_the_chunk(directory):
    (directory.parent / "testapp_everything_2.py").unlink()
    assert_refused(directory, "testapp_everything_2.py")


def test_stale_files_in_the_directory_are_ignored(directory):
    expected = expected_after_full_load(directory)
    # A chunk of an older, longer dump, and a file that is not a dump at all.
    stale = directory.parent / "testapp_everything_4.py"
    stale.write_bytes((directory.parent / "testapp_everything_1.py").read_bytes().replace(
        b"[1,", b"[424242,"))
    (directory.parent / "testapp_unknown.py").write_text("this is not python at all (\n")
    load(directory)
    assert_same_rows(expected, db_snapshot())


def test_hand_edit_with_updated_restore_py_loads(directory):
    chunk = directory.parent / "testapp_everything_2.py"
    number, values = blocks(chunk)[0]["rows"][0]
    fields = blocks(chunk)[0]["fields"]
    pk = values[fields.index("id")]
    values[fields.index("char")] = "edited by hand \u270d"
    replace_line(chunk, number, row_line(values))
    reseal(directory)
    wipe()
    load(directory)
    assert Everything.objects.get(pk=pk).char == "edited by hand \u270d"


def test_value_the_field_rejects_in_a_chunk_names_the_chunk(directory):
    chunk = directory.parent / "testapp_everything_2.py"
    block = blocks(chunk)[0]
    number, values = block["rows"][-1]
    values[block["fields"].index("date")] = "2021-02-30"
    replace_line(chunk, number, row_line(values))
    reseal(directory)
    assert_refused(directory, "testapp_everything_2.py", f"line {number}", MODEL, "date")


# ---------------------------------------------------------------------------
# Code in a dump never runs.


def payload(marker):
    return f"__import__('os').system('touch {marker}')"


def inject_into_row(path, code):
    """The last testapp.everything row with its first value replaced by `code`."""
    number, values, _ = last_everything_row(path)
    rest = ", ".join(json.dumps(value, ensure_ascii=False) for value in values[1:])
    replace_line(path, number, f"[{code}, {rest}],")
    return number


def inject_as_row(path, text):
    number, _, _ = last_everything_row(path)
    replace_line(path, number, text)
    return number


def inject_as_header(path, text):
    number = line_number(path, lambda line: line == f'MODEL = "{MODEL}"')
    replace_line(path, number, text)
    return number


def inject_before_rows(path, text):
    number = line_number(path, lambda line: line == f'MODEL = "{MODEL}"')
    replace_line(path, number, f'MODEL = "{MODEL}"\n{text}')
    return number + 1


# name: (how to inject, code built from the call that creates the marker file)
ATTACKS = {
    "call in a value": (inject_into_row, lambda call: call),
    "call as a row": (inject_as_row, lambda call: f"[{call}],"),
    "call in the MODEL header": (inject_as_header, lambda call: f"MODEL = {call}"),
    "call in the FIELDS header": (inject_as_header, lambda call: f"FIELDS = [{call}]"),
    "statement between header lines": (inject_before_rows, lambda call: call),
    "import statement": (inject_before_rows,
                         lambda call: "import os; os.system(" + call.split("system(")[1]),
    "lambda": (inject_as_row, lambda call: f"[(lambda: {call})()],"),
    "f-string": (inject_into_row, lambda call: f'f"{{{call}}}"'),
    "attribute access on a builtin": (
        inject_into_row, lambda call: "__builtins__.__import__" + call[len("__import__"):]),
    "comprehension": (inject_into_row, lambda call: f"[x for x in [{call}]]"),
    "walrus": (inject_into_row, lambda call: f"(x := {call})"),
}


def assert_would_run(path, marker, inject, build):
    """Control: the same injection in a copy, run as Python, does create its marker,
    so the attack is real and its refusal is not an accident."""
    control = path.with_name("control_" + path.name)
    control.write_bytes(path.read_bytes())
    control_marker = marker.with_name("control_" + marker.name)
    inject(control, build(payload(control_marker)))
    text = control.read_text(encoding="utf-8")
    trailer = text.find('if __name__ == "__main__":')
    if trailer >= 0:  # never let the control run a restore
        control.write_text(text[:trailer], encoding="utf-8")
    subprocess.run([sys.executable, str(control)], cwd=control.parent, capture_output=True,
                   timeout=60)
    assert control_marker.exists(), f"the {control.name} control did not run its payload"
    control.unlink()


@pytest.mark.parametrize("attack", ATTACKS)
def test_code_in_a_single_file_is_refused_and_does_not_run(single, tmp_path, attack):
    inject, build = ATTACKS[attack]
    marker = tmp_path / "pwned"
    assert_would_run(single, marker, inject, build)
    number = inject(single, build(payload(marker)))
    assert_refused(single, "dump.py", f"line {number}")
    assert not marker.exists()


@pytest.mark.parametrize("attack", ["call in a value", "call as a row", "import statement"])
def test_code_in_a_resealed_chunk_is_refused_and_does_not_run(directory, tmp_path, attack):
    inject, build = ATTACKS[attack]
    marker = tmp_path / "pwned"
    chunk = directory.parent / "testapp_everything_3.py"
    assert_would_run(chunk, marker, inject, build)
    number = inject(chunk, build(payload(marker)))
    reseal(directory)
    assert_refused(directory, "testapp_everything_3.py", f"line {number}")
    assert not marker.exists()


def test_code_in_restore_py_is_refused_and_does_not_run(directory, tmp_path):
    marker = tmp_path / "pwned"

    def inject(path, code):
        number = line_number(path, lambda line: line.startswith("FORMAT = "))
        replace_line(path, number, read_lines(path)[number - 1] + "\n" + code)
        return number + 1

    assert_would_run(directory, marker, inject, lambda call: call)
    number = inject(directory, payload(marker))
    assert_refused(directory, "restore.py", f"line {number}")
    assert not marker.exists()


def test_changed_script_part_of_restore_py_is_refused_and_does_not_run(directory, tmp_path):
    marker = tmp_path / "pwned"
    text = directory.read_text(encoding="utf-8")
    start = text.index('if __name__ == "__main__":')
    trailer = text[start:]
    directory.write_text(
        text[:start] + trailer.replace(":\n", f":\n    {payload(marker)}\n", 1), encoding="utf-8")
    assert_refused(directory, "restore.py")
    assert not marker.exists()


@pytest.mark.parametrize("expression", [
    "null.__class__", "true.real", "NaN.__class__.__mro__", "len('x')", "os", "{1, 2}",
    "b'bytes'", "1 + 1",
])
def test_expressions_outside_the_data_grammar_are_refused(single, expression):
    number = inject_into_row(single, expression)
    assert_refused(single, "dump.py", f"line {number}")
