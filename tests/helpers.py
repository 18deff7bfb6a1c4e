"""Helpers shared by the tests: dump and load, wipe the test tables, snapshot them,
compare snapshots, read or reseal the files of a dump (following the grammar of
formats 1 and 2), write to the database while it is dumped, and make a dump fail
while it writes. Fixtures live in conftest.py."""

import datetime
import decimal
import fnmatch
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
import zoneinfo
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from pyserializer.files import safefiles
from pyserializer.tables import every_row, key_attnames

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent

# ---------------------------------------------------------------------------
# Dumping and loading, as a user does it: through dumpdata and loaddata.


def dump_file(path, *labels, **options):
    """`dumpdata --format py -o path` (a single file); returns the path."""
    call_command("dumpdata", *(labels or ["testapp"]), format="py", output=str(path),
                 verbosity=0, **options)
    return Path(path)


def dump_dir(directory, *labels, **options):
    """`dumpdata --format py -o directory/restore.py`; returns the path of restore.py."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return dump_file(directory / "restore.py", *labels, **options)


def dump_stdout(*labels, **options):
    """`dumpdata --format py` to standard output; returns the text."""
    out = io.StringIO()
    call_command("dumpdata", *(labels or ["testapp"]), format="py", stdout=out, **options)
    return out.getvalue()


def load(path, **options):
    """`loaddata path`."""
    call_command("loaddata", str(path), verbosity=0, **options)


# ---------------------------------------------------------------------------
# The test tables.


def table_models(app_label="testapp"):
    """The models of an app that own a table (no proxies; automatic m2m tables are
    handled through their ManyToManyField)."""
    return [
        model for model in apps.get_app_config(app_label).get_models()
        if not model._meta.proxy
    ]


def wipe(app_label="testapp"):
    """Delete every row of every table of an app (testapp unless named)."""
    for model in table_models(app_label):
        every_row(model, DEFAULT_DB_ALIAS).delete()
    assert all(not every_row(model, DEFAULT_DB_ALIAS).exists() for model in table_models(app_label))


def comparable(value):
    """A form of `value` in which equal means identical: the type counts (True is
    not 1, 1.0 is not 1), Decimal keeps its digits, floats their sign and NaN,
    datetimes their tzinfo, dicts their key order."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, decimal.Decimal):
        return ("Decimal", str(value))
    if isinstance(value, dict):
        return ("dict", tuple((key, comparable(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(comparable(item) for item in value))
    if isinstance(value, datetime.datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    return (type(value).__name__, repr(value))


def model_rows(model):
    """Every row of `model` (whatever its managers filter), in pk order, as
    {field attname: comparable value}."""
    fields = [field.attname for field in model._meta.concrete_fields]
    keys = key_attnames(model)
    table = every_row(model, DEFAULT_DB_ALIAS).order_by(*keys)
    # JSON null and SQL NULL both read as None: record which ones are SQL NULL.
    sql_null = {
        field.attname: set(table.filter(**{f"{field.name}__isnull": True}).values_list(*keys))
        for field in model._meta.concrete_fields
        if field.get_internal_type() == "JSONField" and field.null
    }
    rows = []
    for values in table.values_list(*fields):
        row = {name: comparable(value) for name, value in zip(fields, values)}
        pk = tuple(values[fields.index(name)] for name in keys)
        for name, pks in sql_null.items():
            row[f"{name} IS NULL"] = pk in pks
        rows.append(row)
    return rows


def m2m_pairs(model):
    """The rows of each automatic many-to-many table of `model`, as sorted (from, to) pk pairs."""
    pairs = {}
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        if not through._meta.auto_created:
            continue
        source = field.m2m_field_name() + "_id"
        target = field.m2m_reverse_field_name() + "_id"
        pairs[f"{model._meta.label_lower}.{field.name}"] = sorted(
            through._base_manager.values_list(source, target)
        )
    return pairs


def db_snapshot(app_label="testapp"):
    """Every row of every table of an app (testapp unless named), to assert that
    the database is unchanged or that a load reproduced a dumped database."""
    snapshot = {}
    for model in table_models(app_label):
        snapshot[model._meta.label_lower] = model_rows(model)
        snapshot.update(m2m_pairs(model))
    return snapshot


def db_snapshot_in(database_url, app_label):
    """db_snapshot(app_label) of the database at `database_url`, taken by another
    process (after `python DIR/restore.py` restored into it), as JSON values:
    compare it with `as_json(db_snapshot(app_label))`."""
    code = ("import django, json; django.setup(); import helpers; "
            "print(json.dumps(helpers.db_snapshot(%r)))" % app_label)
    env = dict(os.environ, DATABASE_URL=database_url,
               DJANGO_SETTINGS_MODULE="testproject.settings",
               PYTHONPATH=os.pathsep.join([str(REPO_DIR), str(TESTS_DIR)]))
    result = subprocess.run([sys.executable, "-c", code], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def as_json(snapshot):
    return json.loads(json.dumps(snapshot))


def assert_same_rows(expected, actual):
    """Compare two snapshots; on a difference, name the model, the row and the field."""
    assert expected.keys() == actual.keys()
    for label in expected:
        want, got = expected[label], actual[label]
        if want == got:
            continue
        if want and isinstance(want[0], tuple):  # m2m pairs
            pytest.fail(f"{label}: m2m rows differ:\n expected {want}\n actual   {got}")
        assert len(want) == len(got), (
            f"{label}: {len(want)} rows expected, {len(got)} found\n"
            f" expected {want}\n actual   {got}"
        )
        for row_want, row_got in zip(want, got):
            pk = next(iter(row_want.values()))[1]
            for name in row_want:
                assert row_want[name] == row_got.get(name), (
                    f"{label} row {pk}: field {name!r} differs:\n"
                    f" expected {row_want[name]}\n actual   {row_got.get(name)}"
                )
        pytest.fail(f"{label}: rows differ")  # pragma: no cover


def vendor():
    return connection.vendor


# ---------------------------------------------------------------------------
# Reading and editing dump files, following the grammar of formats 1 and 2.


def read_lines(path):
    return Path(path).read_bytes().decode("utf-8").split("\n")


def blocks(path):
    """The MODEL/FIELDS/ROWS blocks of a chunk or single file: a list of dicts with
    model, fields, and rows as (line number, list of values)."""
    result = []
    current = None
    in_rows = False
    for number, line in enumerate(read_lines(path), start=1):
        if in_rows:
            if line == "]":
                in_rows = False
                continue
            assert line.endswith(","), f"{path}:{number}: row line without comma: {line!r}"
            current["rows"].append((number, json.loads(line[:-1])))
        elif line.startswith("MODEL = "):
            current = {"model": json.loads(line[len("MODEL = "):]), "rows": []}
            result.append(current)
        elif line.startswith("FIELDS = "):
            current["fields"] = json.loads(line[len("FIELDS = "):])
        elif line == "ROWS = [":
            in_rows = True
    return result


def restore_files(restore):
    """The FILES list of restore.py: [name, model label, rows, bytes, sha256] entries."""
    entries = []
    lines = read_lines(restore)
    start = lines.index("FILES = [")
    for line in lines[start + 1:]:
        if line == "]":
            return entries
        entries.append(json.loads(line.rstrip(",")))
    raise AssertionError(f"{restore}: FILES list not closed")


def chunk_names(restore):
    return [entry[0] for entry in restore_files(restore)]


def reseal(restore, rows=None):
    """Rewrite the FILES entries of restore.py to match the chunk files as they are
    now (bytes and sha256; and rows, counted from the files, when `rows` is true):
    what a person does after a hand edit."""
    restore = Path(restore)
    lines = read_lines(restore)
    start = lines.index("FILES = [")
    end = lines.index("]", start)
    for index in range(start + 1, end):
        entry = json.loads(lines[index].rstrip(","))
        data = (restore.parent / entry[0]).read_bytes()
        entry[3] = len(data)
        entry[4] = hashlib.sha256(data).hexdigest()
        if rows:
            entry[2] = sum(len(block["rows"]) for block in blocks(restore.parent / entry[0]))
        lines[index] = json.dumps(entry, ensure_ascii=False) + ","
    restore.write_bytes("\n".join(lines).encode("utf-8"))


def replace_line(path, number, new_line):
    """Replace line `number` (1-based) of a file by `new_line`."""
    lines = read_lines(path)
    lines[number - 1] = new_line
    Path(path).write_bytes("\n".join(lines).encode("utf-8"))


def line_number(path, predicate):
    """The number of the first line of `path` for which `predicate(line)` is true."""
    for number, line in enumerate(read_lines(path), start=1):
        if predicate(line):
            return number
    raise AssertionError(f"no such line in {path}")


def file_mode(path):
    return os.stat(path).st_mode & 0o777


# ---------------------------------------------------------------------------
# A small database that touches every test model.


def populate():
    """Fill every testapp table with a few rows of awkward values; returns nothing.
    Everything gets 5 rows (pks out of insertion order), so chunks of 2 or 3 rows split it."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import JSONField, Value

    from testapp.models import (
        Author, Book, City, Club, Country, Everything, Left, Membership, Person, Place,
        Restaurant, Right, Tag,
    )

    brussels = zoneinfo.ZoneInfo("Europe/Brussels")
    st_johns = zoneinfo.ZoneInfo("America/St_Johns")
    Everything.objects.create(
        pk=7, small=-32768, integer=-2147483648, big=-9223372036854775808,
        positive_small=32767, positive=2147483647, positive_big=9223372036854775807,
        boolean=True, null_boolean=False,
        char="", text="line 1\r\nline 2\ttab \"double\" 'single' \\back\\slash \U0001F600",
        slug="a-slug_1", email="r\u00e9sum\u00e9@example.com",
        url="https://example.com/path?a=1&b=%20#frag", file_path="/tmp/dir/file name.txt",
        decimal=decimal.Decimal("-123456789.123456"), floating=0.1 + 0.2,
        date=datetime.date(1, 1, 1), time=datetime.time(23, 59, 59, 999999),
        datetime=datetime.datetime(2021, 10, 31, 2, 30, 0, 123456, tzinfo=brussels, fold=1),
        duration=datetime.timedelta(days=-1, microseconds=1),
        uuid=uuid.UUID("12345678-1234-5678-1234-567812345678"), binary=bytes(range(256)),
        ip="2001:db8::1", file="files/\u00e4 b.txt", image="images/pic.png",
        json={"b": [1, 2.5, None, True, "\u00e9\U0001F600"], "a": {"nested": {"null": None}}},
        integers=[1, -2, 2**40],
    )
    Everything.objects.create(
        pk=2, small=32767, integer=2147483647, big=9223372036854775807,
        positive_small=0, positive=0, positive_big=0, boolean=False, null_boolean=True,
        char=None, text="", slug="", email="", url="", file_path="",
        decimal=decimal.Decimal("0.000001"), floating=-1.5e-300,
        date=datetime.date(9999, 12, 31), time=datetime.time(0, 0),
        datetime=datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=st_johns),
        duration=datetime.timedelta(days=99999, seconds=86399, microseconds=999999),
        uuid=uuid.UUID(int=0), binary=b"", ip="192.168.0.1", file="", image="",
        json=Value(None, JSONField()), integers=[],
    )
    Everything.objects.create(pk=5, text="control \x01\x1f\x7f\x85\u2028\u2029 chars",
                              json='{"looks": ["like", "json"]}', char="null")
    Everything.objects.create(pk=1)  # NULL wherever a field allows it
    Everything.objects.create(
        pk=11, char="] , [ # ''' \"\"\" \\u0041", json=[[], {}, "", 0, -0.0, 1e300],
        decimal=decimal.Decimal("99999999999999.9"), floating=float(2**53 + 1),
        datetime=datetime.datetime(2000, 2, 29, 12, 0, tzinfo=datetime.timezone.utc),
    )

    alice = Person.objects.create(pk=1, name="Alice")
    alice.mentor = alice  # mentors herself: a self-reference to the same row
    alice.save()
    bob = Person.objects.create(pk=2**40, name="Bob", mentor=alice)
    carol = Person.objects.create(pk=3, name="Carol", mentor=bob)  # forward in pk order
    bob.mentor = carol
    bob.save()

    writer = Author.objects.create(pk=1, name="Writer", person=bob)
    helper = Author.objects.create(pk=2, name="Helper")
    book = Book.objects.create(pk=1, title="A book", author=writer)
    book.coauthors.set([writer, helper])
    Book.objects.create(pk=2, title="Another book", author=helper)

    club = Club.objects.create(pk=1, name="Readers")
    Membership.objects.create(club=club, person=alice, since=datetime.date(2020, 1, 1),
                              role="chair")
    Membership.objects.create(club=club, person=carol, since=datetime.date(2021, 6, 30))

    left = Left.objects.create(pk=1, name="left")
    right = Right.objects.create(pk=1, name="right", left=left)
    left.right = right
    left.save()
    Left.objects.create(pk=2, name="alone")

    Place.objects.create(pk=1, name="Square", address="Main street 1")
    Restaurant.objects.create(pk=2, name="Pizzeria", address="Side street 2",
                              serves_pizza=True, seats=40)

    Tag.objects.create(label="person tag", content_type=ContentType.objects.get_for_model(Person),
                       object_id=bob.pk)
    Tag.objects.create(label="book tag", content_type=ContentType.objects.get_for_model(Book),
                       object_id=book.pk)

    belgium = Country.objects.create(pk=10, code="BE", name="Belgi\u00eb")
    estonia = Country.objects.create(pk=20, code="EE", name="Eesti")
    City.objects.create(pk=1, name="Eupen", country=belgium)
    City.objects.create(pk=2, name="Tallinn", country=estonia)


# ---------------------------------------------------------------------------
# A site that keeps writing while it is dumped, and a dump that fails while it
# writes its files.


def in_thread(setup, function, *args):
    """Run ``function`` in another thread, on that thread's own connection
    (``setup()`` first); returns the thread and the list its failure goes to."""
    failures = []

    def run():
        setup()
        try:
            function(*args)
        except BaseException as exc:  # reported to the test
            failures.append(exc)
        finally:
            connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, failures


class KeepWriting:
    """``with KeepWriting(write):`` calls ``write(rng)`` again and again in
    another thread, on its own connection (``setup()`` first), until the block
    ends; a write refused for a lock timeout or a deadlock is tried again.
    ``count`` is how many writes committed; a failure of the thread fails the
    test when the block ends."""

    def __init__(self, write, setup=lambda: None, seed=1):
        self.write = write
        self.setup = setup
        self.rng = random.Random(seed)
        self.count = 0
        self.stop = threading.Event()

    def __enter__(self):
        self.thread, self.failures = in_thread(self.setup, self._keep_writing)
        return self

    def _keep_writing(self):
        while not self.stop.is_set():
            try:
                self.write(self.rng)
            except OperationalError:
                continue
            self.count += 1

    def __exit__(self, exc_type, exc, traceback):
        self.stop.set()
        self.thread.join(30)
        if exc_type is None:
            assert not self.failures, self.failures

    def pause_after(self, monkeypatch, cls, name, writes=2):
        """After each call of ``cls.name``, wait until ``writes`` more writes are
        committed (10 seconds at most): so that writes happen while the dump runs."""
        original = getattr(cls, name)

        def call_then_wait(instance, *args, **kwargs):
            result = original(instance, *args, **kwargs)
            seen = self.count
            for _ in range(2000):
                if self.count >= seen + writes or self.stop.is_set():
                    break
                time.sleep(0.005)
            return result

        monkeypatch.setattr(cls, name, call_then_wait)


def on_creating(monkeypatch, pattern, action, number=1):
    """Call ``action()`` once the dump has created the ``number``-th file whose
    complete name matches ``pattern`` (``fnmatch``): every file a dump writes is
    created by ``safefiles.create_private``, under its temporary name. Returns
    the paths of the matching files created."""
    create = safefiles.create_private
    temporary = os.path.basename(safefiles.partial_path(pattern))
    created = []

    def create_then_act(path):
        fd = create(path)
        if fnmatch.fnmatchcase(os.path.basename(path), temporary):
            created.append(path)
            if len(created) == number:
                try:
                    action()
                except BaseException:
                    os.close(fd)
                    raise
        return fd

    monkeypatch.setattr(safefiles, "create_private", create_then_act)
    return created


def raising(exception):
    """An action for ``on_creating``: raise ``exception``."""
    def action():
        raise exception
    return action
