"""A dump, or the directory it is written into, in an adversary's hands.

Each test plants one attack and checks that it is refused with a DumpError
naming the file and line, that nothing in the dump ran (a marker file stays
absent), and that the database and every file outside the dump are unchanged;
or, when writing, that no write went through a planted link.
"""

import io
import os
import stat
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError

from helpers import (
    assert_same_rows, chunk_names, db_snapshot, dump_dir, dump_file, file_mode, load,
    on_creating, populate, read_lines, reseal, restore_files, wipe,
)
from pyserializer.dumping import outputdir
from pyserializer.errors import DumpError
from pyserializer.files.reader import DumpReader
from testapp.models import Everything, Person

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent

pytestmark = pytest.mark.django_db(transaction=True)


# ---------------------------------------------------------------------------
# Helpers.


@pytest.fixture
def marker(tmp_path):
    """A file that a payload in a dump would create, if it ever ran."""
    path = tmp_path / "payload-ran"
    yield path
    assert not path.exists(), "code from the dump ran"


@pytest.fixture
def directory(tmp_path):
    """restore.py of a directory dump; the database then holds other rows."""
    populate()
    restore = dump_dir(tmp_path / "dump")
    wipe()
    Person.objects.create(pk=77, name="Kept")
    return restore


def payload(marker):
    return "__import__('os').system('touch %s')" % marker


def outside_files(tmp_path, dump):
    """{path: bytes} of every file under tmp_path that is not part of the dump."""
    return {
        path: path.read_bytes() for path in tmp_path.rglob("*")
        if path.is_file() and not path.is_symlink() and dump not in path.parents
    }


def assert_refused(path, *parts, tmp_path=None):
    """Loading `path` raises a DumpError whose message holds every part; the
    database and the files outside the dump are unchanged."""
    dump = Path(path).parent
    files = outside_files(tmp_path, dump) if tmp_path else None
    before = db_snapshot()
    with pytest.raises(DumpError) as info:
        load(path)
    message = str(info.value)
    for part in parts:
        assert part in message, f"{part!r} is not in: {message}"
    assert_same_rows(before, db_snapshot())
    if tmp_path:
        assert outside_files(tmp_path, dump) == files
    return message


def append_bytes(path, data):
    with open(path, "ab") as stream:
        stream.write(data)


def insert_line(path, number, data):
    """Insert the bytes `data` (a whole line, with its end) before line `number`."""
    lines = Path(path).read_bytes().split(b"\n")
    lines.insert(number - 1, data.rstrip(b"\n"))
    Path(path).write_bytes(b"\n".join(lines))


def first_chunk(restore):
    return Path(restore).parent / chunk_names(restore)[0]


def line_count(path):
    return Path(path).read_bytes().count(b"\n")


# ---------------------------------------------------------------------------
# 1. One grammar, as Python reads it.


def test_a_lone_carriage_return_after_skipped_is_refused(directory, marker, tmp_path):
    """Python ends a line at a lone \\r; the reader would have seen one comment."""
    number = read_lines(directory).index("SKIPPED = []") + 2
    insert_line(directory, number, b"# note\r" + payload(marker).encode() + b"\n")
    assert_refused(directory, "restore.py", f"line {number}", "carriage return",
                   tmp_path=tmp_path)


@pytest.mark.parametrize("cookie", ["utf-7", "unicode_escape", "raw_unicode_escape", "latin-1"])
def test_an_encoding_declaration_other_than_utf8_is_refused(directory, marker, tmp_path, cookie):
    insert_line(directory, 2, b"# -*- coding: %s -*-\n" % cookie.encode())
    append_bytes(directory, b"# +AAo-" + payload(marker).encode() + b"\n")
    assert_refused(directory, "restore.py", "line 2", "encoding declaration", tmp_path=tmp_path)


def test_a_utf8_encoding_declaration_is_accepted(directory):
    insert_line(directory, 2, b"# -*- coding: utf-8 -*-\n")
    load(directory)
    assert Everything.objects.count() == 5


@pytest.mark.parametrize("character, name", [
    (b"\x0c", "form feed"), (b"\x00", "NUL byte"), (b"\x0b", "control character"),
    (b"\x1c", "control character"), (b"\r", "carriage return"),
])
def test_control_characters_python_reads_as_breaks_are_refused_in_a_chunk(
    directory, marker, tmp_path, character, name
):
    chunk = first_chunk(directory)
    number = read_lines(chunk).index("ROWS = [") + 2
    insert_line(chunk, number, b"# x" + character + payload(marker).encode() + b"\n")
    reseal(directory)
    assert_refused(directory, chunk.name, f"line {number}", name, tmp_path=tmp_path)


def test_a_byte_order_mark_is_refused(directory, tmp_path):
    directory.write_bytes(b"\xef\xbb\xbf" + directory.read_bytes())
    assert_refused(directory, "restore.py", "line 1", "byte-order mark", tmp_path=tmp_path)


def test_crlf_line_ends_are_read_as_python_reads_them(tmp_path):
    populate()
    path = dump_file(tmp_path / "single.py")
    before = db_snapshot()
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    wipe()
    load(path)
    assert_same_rows(before, db_snapshot())


def test_restore_py_refuses_the_import_line(directory, tmp_path):
    """With a pyserializer.py beside restore.py, python restore.py would run it."""
    (directory.parent / "pyserializer.py").write_text("raise SystemExit('imported')\n")
    insert_line(directory, 3, b"from pyserializer.literals import null, true, false, NaN, Infinity\n")
    assert_refused(directory, "restore.py", "line 3", "not part of a pyserializer dump",
                   tmp_path=tmp_path)


@pytest.mark.parametrize("value", ['"\\N{BULLET}"', "'single'", "None", "NaN", "(1)"])
def test_restore_py_takes_json_values_only(directory, tmp_path, value):
    """A Python literal such as "\\N{...}" makes Python import unicodedata while
    compiling restore.py; restore.py has no Python-literal fallback."""
    (directory.parent / "unicodedata.py").write_text("raise SystemExit('imported')\n")
    lines = read_lines(directory)
    number = lines.index("SKIPPED = []") + 1
    insert_line(directory, number + 1, b"NOTE = %s\n" % value.encode())
    assert_refused(directory, "restore.py", f"line {number + 1}", "JSON values only",
                   tmp_path=tmp_path)


@pytest.mark.parametrize("row, problem", [
    ('["a"] #,', "without a comment"),
    ('1, 2,', "not as a tuple"),
    ("(1, 2),", "not as a tuple"),
])
def test_a_python_literal_row_must_be_one_value_as_python_reads_it(tmp_path, row, problem):
    """A comment after a hand-written value would make Python join it to the next row."""
    path = tmp_path / "single.py"
    path.write_text(textwrap.dedent(f"""\
        from pyserializer.literals import null, true, false, NaN, Infinity
        FORMAT = 1
        MODEL = "testapp.person"
        FIELDS = ["id", "name", "mentor"]
        ROWS = [
        {row}
        [1, "Ada", null],
        ]
        """))
    assert_refused(path, "single.py", "line 6", problem)


def test_the_restore_py_header_says_running_it_runs_python(directory):
    header = directory.read_text(encoding="utf-8").split("FORMAT = ")[0]
    assert "RUNS THIS FILE AS PYTHON" in header
    assert "manage.py restore_dump" in header


# ---------------------------------------------------------------------------
# 2. No write follows a link.


def planted_victim(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    return victim


def test_a_link_planted_as_a_chunk_s_temporary_name_is_not_followed(tmp_path):
    populate()
    victim = planted_victim(tmp_path)
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / ".testapp_person_1.py.partial").symlink_to(victim)
    with pytest.raises(CommandError, match="a file or link of that name is already there"):
        dump_dir(dump)
    assert victim.read_text() == "precious\n" and file_mode(victim) == 0o644
    assert (dump / ".testapp_person_1.py.partial").is_symlink()
    assert not (dump / "testapp_person.py").exists()
    assert not [name for name in os.listdir(dump) if name.endswith(".partial")
                and name != ".testapp_person_1.py.partial"]


def test_an_existing_file_at_a_chunk_s_temporary_name_is_left_alone(tmp_path):
    populate()
    dump = tmp_path / "dump"
    dump.mkdir()
    stray = dump / ".testapp_everything_1.py.partial"
    stray.write_text("not ours\n")
    with pytest.raises(CommandError, match="already there"):
        dump_dir(dump)
    assert stray.read_text() == "not ours\n"


@pytest.mark.parametrize("target_exists", [False, True])
def test_a_restore_py_that_is_a_link_makes_the_directory_dump_fail(tmp_path, target_exists):
    """dumpdata -o DIR/restore.py never opens a planted link (pyserializer's dumpdata)."""
    populate()
    dump = tmp_path / "dump"
    dump.mkdir()
    victim = tmp_path / "elsewhere.py"
    if target_exists:
        victim.write_text("the victim's own data\n")
        victim.chmod(0o644)
    (dump / "restore.py").symlink_to(victim)
    with pytest.raises(CommandError, match="symbolic link"):
        dump_dir(dump)
    assert os.listdir(dump) == ["restore.py"]
    if target_exists:
        assert victim.read_text() == "the victim's own data\n"
        assert victim.stat().st_mode & 0o777 == 0o644
    else:
        assert not victim.exists()


def test_dumpdata_into_a_directory_replaces_an_old_restore_py_and_leaves_no_partial(tmp_path):
    populate()
    dump = tmp_path / "dump"
    dump.mkdir()
    dump_dir(dump)
    first = (dump / "restore.py").read_text(encoding="utf-8")
    dump_dir(dump)
    assert (dump / "restore.py").read_text(encoding="utf-8").count("FILES = [") == 1
    assert first.count("FILES = [") == 1
    assert not [name for name in os.listdir(dump) if name.endswith(".partial")]
    assert stat.S_IMODE((dump / "restore.py").stat().st_mode) == 0o600


def test_parents_dump2py_creates_are_private_whatever_the_umask(tmp_path):
    populate()
    target = tmp_path / "a" / "b" / "backup"
    old = os.umask(0)
    try:
        call_command("dump2py", str(target), verbosity=0)
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert file_mode(path) == 0o700, path
    assert {file_mode(path) for path in target.iterdir()} == {0o600}


def test_the_staging_directory_is_private_under_a_restrictive_umask(tmp_path):
    old = os.umask(0o277)  # would make a directory the dump cannot write into
    try:
        staging = outputdir.StagingDirectory(tmp_path / "backup")
    finally:
        os.umask(old)
    try:
        assert file_mode(staging.path) == 0o700
    finally:
        staging.discard()


# ---------------------------------------------------------------------------
# 3. Bad input: a DumpError in bounded time and memory.


def run_loaddata(manifest, tmp_path, timeout=60):
    """loaddata in another process (a hang must not hang the test run), on a SQLite
    file of its own: the chunk is refused before anything is written."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(DATABASE_URL="sqlite:///%s" % (tmp_path / "other.sqlite3"),
               DJANGO_SETTINGS_MODULE="testproject.settings",
               PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(REPO_DIR)]))
    code = ("import django, sys; django.setup()\n"
            "from django.core.management import call_command\n"
            "call_command('loaddata', sys.argv[1], verbosity=0)\n")
    return subprocess.run([sys.executable, "-c", code, str(manifest)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def make_first_chunk_empty(restore):
    """List the first chunk with 0 rows, 0 bytes and the SHA-256 of nothing."""
    lines = read_lines(restore)
    start = lines.index("FILES = [")
    name = chunk_names(restore)[0]
    model = restore_files(restore)[0][1]
    lines[start + 1] = ('["%s", "%s", 0, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934'
                        'ca495991b7852b855"],' % (name, model))
    Path(restore).write_bytes("\n".join(lines).encode("utf-8"))
    return Path(restore).parent / name


def test_a_chunk_that_is_a_fifo_is_refused_without_hanging(directory, tmp_path):
    chunk = make_first_chunk_empty(directory)
    chunk.unlink()
    os.mkfifo(chunk)
    result = run_loaddata(directory, tmp_path)
    assert result.returncode != 0
    assert "DumpError" in result.stderr and chunk.name in result.stderr
    assert "not a regular file" in result.stderr


def test_a_chunk_linked_to_dev_zero_is_refused_without_hanging(directory, tmp_path):
    chunk = make_first_chunk_empty(directory)
    chunk.unlink()
    chunk.symlink_to("/dev/zero")
    result = run_loaddata(directory, tmp_path)
    assert result.returncode != 0
    assert "DumpError" in result.stderr and "symbolic link" in result.stderr


def test_a_chunk_that_is_a_link_is_refused_before_its_target_is_read(directory, tmp_path):
    chunk = first_chunk(directory)
    secret = tmp_path / "secret"
    secret.write_bytes(b"TOP SECRET " + b"x" * (chunk.stat().st_size - 11))
    chunk.unlink()
    chunk.symlink_to(secret)
    message = assert_refused(directory, chunk.name, "symbolic link", tmp_path=tmp_path)
    assert "SECRET" not in message


def test_a_restore_py_that_is_a_link_is_refused(directory, tmp_path):
    real = tmp_path / "real.py"
    directory.rename(real)
    directory.symlink_to(real)
    assert_refused(directory, "restore.py", "symbolic link")


def read_long_line(megabytes):
    """Seconds to read a file whose one row holds a string of `megabytes` MB."""
    data = b'FORMAT = 1\nROWS = [\n["' + b"x" * (megabytes << 20) + b'"],\n]\n'
    started = time.process_time()  # CPU time: other processes running count less
    reader = DumpReader(io.BytesIO(data), "long.py")
    for section in reader.sections():
        for _line, row in section.rows:
            assert len(row[0]) == megabytes << 20
    return time.process_time() - started


def test_reading_a_long_line_takes_time_linear_in_its_length():
    """4 times as long takes about 4 times as long (16 times if it were quadratic);
    the best of three runs each, interleaved."""
    small, large = [], []
    for _ in range(3):
        small.append(read_long_line(16))
        large.append(read_long_line(64))
    assert min(large) / min(small) < 8, (small, large)


def test_a_twenty_digit_primary_key_is_a_dump_error(tmp_path):
    populate()
    path = dump_file(tmp_path / "single.py", "testapp.person")
    wipe()
    lines = read_lines(path)
    number = lines.index("ROWS = [") + 2
    lines[number - 1] = '[12345678901234567890, "Big", null],'
    path.write_text("\n".join(lines))
    assert_refused(path, "single.py", f"line {number}", "testapp.person")


@pytest.mark.parametrize("value", ["10" * 12, "0x" + "f" * 5000])
def test_a_huge_integer_in_files_is_a_dump_error(directory, tmp_path, value):
    lines = read_lines(directory)
    number = lines.index("FILES = [") + 2
    entry = lines[number - 1].split(", ")
    entry[2] = value
    lines[number - 1] = ", ".join(entry)
    directory.write_text("\n".join(lines))
    assert_refused(directory, "restore.py", f"line {number}", tmp_path=tmp_path)


@pytest.mark.parametrize("value", ["12345678901234567890", "0x" + "f" * 5000, "True", "1.0", "2.0", "3"])
def test_format_must_be_exactly_a_readable_integer_in_restore_py(directory, tmp_path, value):
    lines = read_lines(directory)
    number = lines.index("FORMAT = 2") + 1
    lines[number - 1] = "FORMAT = %s" % value
    directory.write_text("\n".join(lines))
    assert_refused(directory, "restore.py", f"line {number}", "FORMAT", tmp_path=tmp_path)


@pytest.mark.parametrize("value", ["0x" + "f" * 5000, "True", "1.0", "2.0", "3"])
def test_format_must_be_exactly_a_readable_integer_in_a_chunk(directory, tmp_path, value):
    chunk = first_chunk(directory)
    lines = read_lines(chunk)
    number = lines.index("FORMAT = 2") + 1
    lines[number - 1] = "FORMAT = %s" % value
    chunk.write_text("\n".join(lines))
    reseal(directory)
    assert_refused(directory, chunk.name, f"line {number}", "FORMAT", tmp_path=tmp_path)


def single_file(tmp_path, header, row):
    path = tmp_path / "single.py"
    path.write_text(
        "FORMAT = 1\nMODEL = \"testapp.person\"\n%s\nROWS = [\n%s\n]\n" % (header, row)
    )
    return path


def test_field_names_that_are_not_strings_are_a_dump_error(tmp_path):
    path = single_file(tmp_path, "FIELDS = [1, 2, 3]", '[1, "Ada", null],')
    assert_refused(path, "single.py", "line 3", "FIELDS")


@pytest.mark.parametrize("value", ["{[1]: 2}", "0x" + "f" * 5000])
def test_a_value_python_cannot_hold_or_print_is_a_dump_error(tmp_path, value):
    path = single_file(tmp_path, 'FIELDS = ["id", "name", "mentor"]', "[1, %s, None]," % value)
    assert_refused(path, "single.py", "line 5")


def test_a_permission_without_its_content_type_is_a_dump_error(tmp_path):
    path = tmp_path / "single.py"
    path.write_text(
        'FORMAT = 1\nMODEL = "auth.permission"\nFIELDS = ["name", "codename"]\n'
        'ROWS = [\n["Can fly", "fly"],\n]\n'
    )
    assert_refused(path, "single.py", "line 5", "auth.permission")


# ---------------------------------------------------------------------------
# 4. Crash leftovers.


def test_sigterm_stops_dump2py_like_ctrl_c_and_removes_the_staging_directory(
    tmp_path, monkeypatch
):
    populate()
    on_creating(monkeypatch, "*_*.py", lambda: os.kill(os.getpid(), signal.SIGTERM))
    with pytest.raises(CommandError, match=r"Terminated \(SIGTERM\)\. No dump was written"):
        call_command("dump2py", str(tmp_path / "backup"), verbosity=0)
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


STAGING_HOLDER = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from pyserializer.dumping.outputdir import StagingDirectory
staging = StagingDirectory(sys.argv[2])
open(os.path.join(staging.path, "restore.py"), "w").write("FORMAT = 1\\n")
print(staging.path, flush=True)
time.sleep(600)
"""


def start_staging_holder(target):
    """Another process that made a staging directory for `target` and keeps running."""
    process = subprocess.Popen(
        [sys.executable, "-c", STAGING_HOLDER, str(REPO_DIR), str(target)],
        stdout=subprocess.PIPE, text=True,
    )
    return process, Path(process.stdout.readline().strip())


def test_after_sigkill_the_next_dump2py_removes_the_abandoned_staging_directory(tmp_path):
    populate()
    running, alive = start_staging_holder(tmp_path / "other")
    killed, abandoned = start_staging_holder(tmp_path / "backup")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    try:
        out = io.StringIO()
        call_command("dump2py", str(tmp_path / "backup"), stdout=out)
        assert not abandoned.exists()
        assert "Removed %s" % abandoned in out.getvalue()
        assert alive.exists(), "the staging directory of a running dump was removed"
    finally:
        running.kill()
        running.wait()
    assert (tmp_path / "backup" / "restore.py").exists()


def test_a_staging_directory_never_loads_as_a_dump(tmp_path):
    populate()
    restore = dump_dir(tmp_path / ".backup.x1y2.partial")
    wipe()
    assert_refused(restore, "staging directory")


# ---------------------------------------------------------------------------
# 5. The rest.


def test_a_files_entry_listed_twice_is_refused(directory, tmp_path):
    lines = read_lines(directory)
    start = lines.index("FILES = [")
    lines.insert(start + 2, lines[start + 1])
    directory.write_text("\n".join(lines))
    assert_refused(directory, "restore.py", f"line {start + 3}", "listed twice",
                   tmp_path=tmp_path)


def test_a_sliced_queryset_serializes_in_its_own_order_as_with_json():
    populate()
    sliced = Everything.objects.order_by("-pk")[:2]
    expected = [obj.object.pk for obj in serializers.deserialize(
        "json", serializers.serialize("json", sliced))]
    for source in (sliced, [sliced]):
        text = serializers.serialize("py", source)
        assert [obj.object.pk for obj in serializers.deserialize("py", text)] == expected
    assert expected == [11, 7]


def test_the_demo_never_empties_a_database_that_holds_tables(tmp_path):
    import sqlite3

    site = tmp_path / "site.sqlite3"
    with sqlite3.connect(site) as db:
        db.execute("CREATE TABLE precious (x)")
        db.execute("INSERT INTO precious VALUES (42)")
    result = subprocess.run(
        [sys.executable, str(REPO_DIR / "demo" / "run.py"), "--work-dir", str(tmp_path / "w"),
         "--shop-database", "sqlite:///%s" % site],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "not empty" in result.stdout + result.stderr
    with sqlite3.connect(site) as db:
        assert db.execute("SELECT x FROM precious").fetchall() == [(42,)]
