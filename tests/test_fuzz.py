"""Property tests over generated and mutated dumps.

1. The reader and Python read a file the same way: for any file the reader
   accepts, ``ast.parse`` of the same bytes gives only the assignments, the
   import line and the fixed script part that the reader saw, line for line.
2. Whatever the bytes, loading a dump either works or raises a DumpError.

The normal run is short and derandomized (the same examples every time). For a
longer, random run: PYSERIALIZER_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py
"""

import ast
import os
import shutil
import warnings

import pytest
from django.db import IntegrityError
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import dump_dir, dump_file, load, populate, reseal
from pyserializer.errors import DumpError
from pyserializer.files import grammar, manifest
from pyserializer.files.manifest import FileEntry
from pyserializer.files.reader import DumpReader

SINGLE = "single.py"
LONG_RUN = int(os.environ.get("PYSERIALIZER_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples):
    return settings(
        max_examples=LONG_RUN or examples,
        derandomize=not LONG_RUN,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# ---------------------------------------------------------------------------
# Valid files, and ways to break them.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=2),
    max_leaves=6,
)
# Hand-edited rows: Python literals, read through the ast fallback.
python_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.binary(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.tuples(children, children),
    max_leaves=5,
)


@st.composite
def data_files(draw):
    parts = [grammar.data_only_note() + "\n", grammar.IMPORT_LINE + "\n",
             grammar.assignment("FORMAT", 1)]
    for _ in range(draw(st.integers(1, 3))):
        parts.append("# a comment\n")
        parts.append(grammar.assignment("MODEL", draw(st.text(max_size=10))))
        parts.append(grammar.assignment("FIELDS", draw(st.lists(st.text(max_size=5), max_size=3))))
        parts.append(grammar.block_start("ROWS"))
        for row in draw(st.lists(st.lists(json_values, max_size=3), max_size=4)):
            parts.append(grammar.json_value(row) + ",\n")
        for row in draw(st.lists(st.lists(python_values, max_size=3), max_size=2)):
            parts.append(repr(row) + ",\n")
        parts.append(grammar.BLOCK_END)
    return "".join(parts).encode("utf-8", "surrogatepass")


@st.composite
def manifest_files(draw):
    names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=6)
    dump = manifest.Manifest(
        created=draw(st.text(max_size=10)),
        skipped=draw(st.lists(st.lists(st.text(max_size=4), min_size=3, max_size=3), max_size=2)),
        migrations=draw(st.lists(st.lists(names, min_size=2, max_size=2), max_size=3)),
        files=[FileEntry(name + ".py", "a.b", rows, size, "0" * 64)
               for name, rows, size in draw(st.lists(
                   st.tuples(names, st.integers(0, 99), st.integers(0, 999)), max_size=3))],
    )
    return manifest.render(dump).encode("utf-8", "surrogatepass")


SNIPPETS = [
    b"\r", b"\n", b"\r\n", b"\x0c", b"\x0b", b"\x00", b"\x1c", b"\x85", b"\xef\xbb\xbf",
    b"\xe2\x80\xa8", b"\xc2\x85", b"\xff", b"#", b"\\", b"\\\n", b"(", b")", b"[", b"]",
    b"{", b"}", b",", b" ", b"\t", b'"', b"'", b'"""', b"'''", b"0x", b"9" * 25, b"None",
    b"\\N{BULLET}", b"+AAo-", b"lambda: 0", b"1, 2", b"= ", b"X = ", b"ROWS = [\n", b"]\n",
    b"# -*- coding: utf-7 -*-\n", b"# coding: latin-1\n", b"# coding=utf-8\n",
    b"__import__('os').system('x')", b"from pyserializer.literals import null\n",
    grammar.IMPORT_LINE.encode() + b"\n", b'if __name__ == "__main__":\n', b"    pass\n",
]

mutations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "duplicate line", "drop line"]),
        st.floats(0, 1),
        st.one_of(st.sampled_from(SNIPPETS), st.binary(min_size=1, max_size=3)),
    ),
    min_size=1,
    max_size=4,
)


def mutate(data, changes):
    for kind, where, snippet in changes:
        at = int(where * len(data))
        if kind == "insert":
            data = data[:at] + snippet + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + len(snippet):]
        elif kind == "replace":
            data = data[:at] + snippet + data[at + len(snippet):]
        else:
            lines = data.split(b"\n")
            index = min(int(where * len(lines)), len(lines) - 1)
            if kind == "duplicate line":
                lines.insert(index, lines[index])
            else:
                del lines[index]
            data = b"\n".join(lines)
    return data


# ---------------------------------------------------------------------------
# 1. The reader and Python agree.


def reader_view(data, is_manifest):
    """(blocks as (name, line, row lines), lines of every value) as the reader sees
    them, or None if it refuses the file."""
    reader = DumpReader(data, "fuzz.py", manifest=is_manifest)
    value_lines = []
    parse_value = reader._parse_value

    def recording(text, number, *args, **kwargs):
        value = parse_value(text, number, *args, **kwargs)
        value_lines.append(number)
        return value

    reader._parse_value = recording
    try:
        found = [(s.name, s.line, [line for line, _ in s.rows]) for s in reader.sections()]
    except DumpError:
        return None
    if is_manifest and reader.trailer not in manifest.SCRIPT_TRAILERS.values():
        return None  # manifest.read refuses a changed script part
    return found, sorted(value_lines)


def is_literal(node):
    if isinstance(node, ast.Constant):
        return node.value is not ...
    if isinstance(node, ast.Name):
        return node.id in ("null", "true", "false", "NaN", "Infinity")
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(map(is_literal, node.elts))
    if isinstance(node, ast.Dict):
        return None not in node.keys and all(map(is_literal, node.keys + node.values))
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and is_literal(node.operand)
    return False


# The script part of each format (format 1's has no else: part).
TRAILERS = [ast.dump(ast.parse(trailer).body[0]) for trailer in manifest.SCRIPT_TRAILERS.values()]
IMPORT = ast.dump(ast.parse(grammar.IMPORT_LINE).body[0])


def python_view(data, is_manifest):
    """The same as reader_view, as Python parses the file; fails on anything else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(data)
    statements = list(tree.body)
    if is_manifest:
        assert statements and ast.dump(statements.pop()) in TRAILERS
    found, value_lines = [], []
    for statement in statements:
        if ast.dump(statement) == IMPORT and not is_manifest:
            continue
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        (target,) = statement.targets
        assert isinstance(target, ast.Name) and is_literal(statement.value), ast.dump(statement)
        if statement.end_lineno == statement.lineno:
            value_lines.append(statement.lineno)
            continue
        rows = statement.value
        assert isinstance(rows, ast.List) and all(e.lineno == e.end_lineno for e in rows.elts)
        found.append((target.id, statement.lineno, [element.lineno for element in rows.elts]))
        value_lines.extend(element.lineno for element in rows.elts)
    return found, sorted(value_lines)


def assert_read_as_python_reads(data, is_manifest):
    seen = reader_view(data, is_manifest)
    if seen is not None:
        assert python_view(data, is_manifest) == seen, data


@fuzz_settings(400)
@given(data=data_files(), changes=mutations)
def test_a_data_file_the_reader_accepts_is_what_python_reads(data, changes):
    assert_read_as_python_reads(data, False)
    assert_read_as_python_reads(mutate(data, changes), False)


@fuzz_settings(400)
@given(data=manifest_files(), changes=mutations)
def test_a_restore_py_the_reader_accepts_is_what_python_reads(data, changes):
    assert_read_as_python_reads(data, True)
    assert_read_as_python_reads(mutate(data, changes), True)


# ---------------------------------------------------------------------------
# 2. Every bad dump is a DumpError.


def from_constraint_check(exc):
    """A key to a row that does not exist is found by loaddata's own constraint
    check at the end (docs/format.rst, "Errors name the place"), not by the loader."""
    if not isinstance(exc, IntegrityError):
        return False
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_name == "check_constraints":
            return True
        traceback = traceback.tb_next
    return False


@pytest.mark.django_db
def test_loading_a_mutated_dump_works_or_raises_a_dump_error(tmp_path):
    populate()
    labels = ["testapp.everything", "testapp.person", "testapp.country", "testapp.city",
              "testapp.author", "testapp.book"]
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=3):
        dump_dir(tmp_path / "good", *labels)
    dump_file(tmp_path / "good.py", *labels)
    targets = sorted(path.name for path in (tmp_path / "good").iterdir()) + [SINGLE]

    @fuzz_settings(80)
    @given(target=st.sampled_from(targets), changes=mutations)
    def check(target, changes):
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(tmp_path / "good", work)
        shutil.copy(tmp_path / "good.py", work / SINGLE)
        path = work / target
        path.write_bytes(mutate(path.read_bytes(), changes))
        if target not in (SINGLE, "restore.py"):
            reseal(work / "restore.py")  # so that the mutation reaches the parser
            path = work / "restore.py"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                load(path)
            except DumpError:
                pass
            except Exception as exc:
                if not from_constraint_check(exc):
                    raise

    check()
