"""One chunk grammar: loaddata, restore_dump --check and reseal_dump refuse the same bad
chunks with the same message, at the same line (the reader checks the blocks it yields);
and a restore parses restore.py once."""

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpers import dump_dir, load, read_lines, restore_files
from pyserializer.errors import DumpError
from pyserializer.files import manifest
from testapp.models import Country

pytestmark = pytest.mark.django_db

HEADER = [
    "# pyserializer dump, format 2. Data only: loaders parse this file, they never run it.",
    "from pyserializer.literals import null, true, false, NaN, Infinity",
]
FORMAT = "FORMAT = 2"
MODEL = 'MODEL = "testapp.country"'
FIELDS = 'FIELDS = ["id", "code", "name"]'
ROW = '[1, "BE", "Belgium"],'
GOOD = HEADER + [FORMAT, MODEL, FIELDS, "ROWS = [", ROW, "]"]


def chunk(*replacements, drop=(), add=()):
    """GOOD with lines replaced ({old: new}), some left out, some added at the end."""
    lines = [line for line in GOOD if line not in drop]
    for old, new in replacements:
        lines[lines.index(old)] = new
    return "\n".join(lines + list(add)) + "\n"


# (case, chunk text, what the message says, its line (None: the whole file), its model)
BAD_CHUNKS = [
    ("FORMAT unreadable", chunk((FORMAT, "FORMAT = 99")),
     "unsupported dump format: FORMAT = 99 (this pyserializer reads formats 1 and 2)", 3, None),
    ("FORMAT not an integer", chunk((FORMAT, 'FORMAT = "2"')),
     "FORMAT must be an integer, not '2'", 3, None),
    ("no FORMAT", chunk(drop=[FORMAT]), "this is not a pyserializer dump (no FORMAT line)", 5, None),
    ("FORMAT changed after the block", chunk(add=["FORMAT = 7"]),
     "unsupported dump format: FORMAT = 7 (this pyserializer reads formats 1 and 2)", 9, None),
    ("no MODEL", chunk(drop=[MODEL]),
     "a block of rows must be ROWS = [ after MODEL = and FIELDS = lines", 5, None),
    ("no FIELDS", chunk(drop=[FIELDS]),
     "a block of rows must be ROWS = [ after MODEL = and FIELDS = lines", 5, None),
    ("FIELDS not a list", chunk((FIELDS, 'FIELDS = "id, code, name"')),
     "FIELDS must be a list of field names (strings), not 'id, code, name'", 5, None),
    ("MODEL not a string", chunk((MODEL, "MODEL = 3")),
     "MODEL must be a model label (a string), not 3", 4, None),
    ("block not named ROWS", chunk(("ROWS = [", "DATA = [")),
     "a block of rows must be ROWS = [ after MODEL = and FIELDS = lines", 6, None),
    ("another model than restore.py lists", chunk((MODEL, 'MODEL = "testapp.city"')),
     "restore.py lists this chunk for model testapp.country", 4, "testapp.city"),
    ("row too short", chunk((ROW, '[1, "BE"],')),
     "expected a list of 3 values (id, code, name), found [1, 'BE']", 7, "testapp.country"),
    ("row too long", chunk((ROW, '[1, "BE", "Belgium", 4],')),
     "expected a list of 3 values (id, code, name), found [1, 'BE', 'Belgium', 4]", 7,
     "testapp.country"),
    ("row not a list", chunk((ROW, '{"id": 1},')),
     "expected a list of 3 values (id, code, name), found {'id': 1}", 7, "testapp.country"),
    ("row without a comma", chunk((ROW, ROW[:-1])),
     "a row must end with a comma", 7, "testapp.country"),
    ("code in a row", chunk((ROW, '[1, "BE", __import__("os").getcwd()],')),
     "only literal values are allowed in a dump, not code: "
     '[1, "BE", __import__("os").getcwd()]', 7, "testapp.country"),
    ("cut inside the block", chunk(drop=["]"]),
     "the file ends inside ROWS (opened at line 6): it is truncated", None, "testapp.country"),
    ("no block", "\n".join(HEADER + [FORMAT]) + "\n",
     "no ROWS block: a chunk written by pyserializer always has one (even without rows), "
     "so this one is truncated", None, "testapp.country"),
]


@pytest.fixture
def dump(tmp_path):
    """A directory dump of testapp.country: (restore.py, its one chunk)."""
    Country.objects.create(pk=1, code="BE", name="Belgium")
    restore = dump_dir(tmp_path / "dump", "testapp.country")
    [(name, model, _rows, _size, _sha)] = restore_files(restore)
    assert model == "testapp.country"
    return restore, restore.parent / name


def seal(restore, chunk_path, text):
    """Write ``text`` as the chunk and list it in restore.py with its size and
    SHA-256 and 0 rows, as for a model without rows: the loader reads it."""
    data = text.encode("utf-8")
    chunk_path.write_bytes(data)
    lines = read_lines(restore)
    index = next(i for i, line in enumerate(lines) if line.startswith('["%s"' % chunk_path.name))
    entry = [chunk_path.name, "testapp.country", 0, len(data), hashlib.sha256(data).hexdigest()]
    lines[index] = json.dumps(entry) + ","
    restore.write_bytes("\n".join(lines).encode("utf-8"))


def refusal(run):
    """The DumpError behind ``run()``'s refusal (a command wraps it in a CommandError)."""
    with pytest.raises((DumpError, CommandError)) as info:
        run()
    error = info.value
    if isinstance(error, CommandError):
        error = error.__cause__
    assert isinstance(error, DumpError), info.value
    return error


def test_the_good_chunk_loads_and_reseals(dump):
    restore, chunk_path = dump
    seal(restore, chunk_path, chunk())
    Country.objects.all().delete()
    out = io.StringIO()
    call_command("reseal_dump", str(restore), stdout=out)
    assert "Resealed %s" % chunk_path.name in out.getvalue()  # 0 rows listed, 1 found
    load(restore)
    assert list(Country.objects.values_list("pk", "code", "name")) == [(1, "BE", "Belgium")]


@pytest.mark.parametrize(
    "text, problem, line, model", [case[1:] for case in BAD_CHUNKS],
    ids=[case[0] for case in BAD_CHUNKS])
def test_loader_check_and_reseal_refuse_a_bad_chunk_alike(dump, text, problem, line, model):
    restore, chunk_path = dump
    seal(restore, chunk_path, text)
    before = restore.read_bytes()
    loaded = refusal(lambda: load(restore))
    checked = refusal(lambda: call_command("restore_dump", str(restore), "--check",
                                           stdout=io.StringIO()))
    resealed = refusal(lambda: call_command("reseal_dump", str(restore), stdout=io.StringIO()))
    expected = (problem, str(chunk_path), line, model)
    for error in (loaded, checked, resealed):
        assert (error.problem, str(error.path), error.line, error.model) == expected
    assert restore.read_bytes() == before


def test_a_restore_reads_restore_py_once(dump, monkeypatch):
    restore, _chunk_path = dump
    reads = []
    read = manifest.read

    def counted(source, path):
        reads.append(path)
        return read(source, path)

    monkeypatch.setattr(manifest, "read", counted)
    Country.objects.update(name="changed")
    call_command("restore_dump", str(restore), "--noinput", verbosity=0)
    assert Country.objects.get().name == "Belgium"
    assert reads == [str(restore)]
    reads.clear()
    call_command("restore_dump", str(restore), "--check", stdout=io.StringIO())
    assert reads == [str(restore)]
