"""A restore gives the database the dumped text of some columns undecoded
(values.dumpedtext): as it is to PostgreSQL's COPY, as strings a few string
operations away from it in MySQL's INSERTs. The database then holds exactly
what the row path (decode, get_db_prep_save, the driver) gives it, for every
column type and for values hypothesis picks; a batch with a value the checks
cannot vouch for takes the row path, and a value neither takes is refused
with its file, line and field."""

import datetime
import decimal
import json
import uuid

import pytest
from django.db import connection, transaction
from django.db.models import signals
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from helpers import (
    assert_same_rows, db_snapshot, dump_dir, line_number, read_lines, replace_line, reseal, wipe,
)
from pyserializer.errors import DumpError
from pyserializer.loading import deserializer, saving
from pyserializer.restoring.run import load_dump
from pyserializer.values.codec import codec_for
from pyserializer.values.dumpedtext import dumped_text_column
from test_roundtrip import HYPOTHESIS, everything_values, example_transaction
from testapp.models import Everything

pytestmark = pytest.mark.usefixtures("auto_increment_reset")

# The columns of Everything whose dumped text goes to the database undecoded.
AS_DUMPED = {
    "postgresql": {"date", "time", "datetime", "duration", "uuid", "decimal", "ip", "json"},
    "mysql": {"date", "time", "datetime", "uuid", "decimal", "ip", "json"},
    "sqlite": {"date", "time", "datetime", "uuid", "decimal", "ip", "json"},
}


def restored(path, monkeypatch, as_dumped=True, jobs=1):
    """What the database holds after a restore's load of ``path`` without
    signals (every row without an instance), with the dumped text going to
    the database undecoded, or (not ``as_dumped``) every value decoded; read
    by ``jobs - 1`` read-ahead workers, which check the texts."""
    with monkeypatch.context() as patched, transaction.atomic():
        wipe()
        if not as_dumped:
            patched.setattr(deserializer, "dumped_text_column", lambda *args: None)
        load_dump(str(path), connection, signals=False, jobs=jobs)
    return db_snapshot(), server_text()


def server_text():
    """The rows of Everything as the database writes them (a number's
    digits, a jsonb's text, SQLite's text of a date), where Django's values
    may be equal for different ones: on MySQL each column cast to text, on
    SQLite each column's SQL literal."""
    table = "testapp_everything"
    around = {"mysql": "CAST(%s AS CHAR)", "sqlite": "quote(%s)"}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT everything::text FROM %s everything ORDER BY id" % table)
        else:
            columns = [field.column for field in Everything._meta.concrete_fields]
            cursor.execute("SELECT %s FROM %s ORDER BY id" % (", ".join(
                around[connection.vendor] % connection.ops.quote_name(column)
                for column in columns), table))
        return cursor.fetchall()


def assert_same_restores(expected, actual):
    assert_same_rows(expected[0], actual[0])
    assert expected[1] == actual[1]


def as_dumped_here():
    """The columns of AS_DUMPED on this connection, but not decimals where
    Django sends a Decimal formatted to the field's digits (Django 4.2)."""
    as_dumped = AS_DUMPED.get(connection.vendor, set())
    probe = decimal.Decimal("-0.125")
    if connection.ops.adapt_decimalfield_value(probe, 2, 1) is not probe:
        return as_dumped - {"decimal"}
    return as_dumped


# A value of each column of AS_DUMPED, as the codec writes it.
SAMPLES = {
    "date": datetime.date(1, 1, 1),
    "time": datetime.time(23, 59, 59, 999999),
    "datetime": datetime.datetime(2019, 12, 19, 0, 57, 57, 199202, tzinfo=datetime.timezone.utc),
    "duration": datetime.timedelta(days=99999999, seconds=86399, microseconds=1),
    "uuid": uuid.UUID("9e22d128-30aa-4c5a-9c44-5a66d99d1cb9"),
    "decimal": decimal.Decimal("-60956.529067"),
    "ip": "255.0.10.199",
    "json": {"n": [1, -0.0, 1e+16, 0.1, "1.50"], "t": "Zürich \"1.50\""},
}


@pytest.mark.django_db
def test_the_columns_whose_text_goes_undecoded():
    checks = {field.name: dumped_text_column(field, connection)
              for field in Everything._meta.concrete_fields}
    taken = {name for name, check in checks.items() if check is not None}
    assert taken == as_dumped_here()
    for name in taken:
        field = Everything._meta.get_field(name)
        dumped = codec_for(field).encode or str
        sent = checks[name]([dumped(SAMPLES[name]), None])
        assert sent is not None and sent[1] is None, name
        if connection.vendor != "postgresql":
            assert sent[0] == adapters_string(name), name


def adapters_string(name):
    """The string that Django's MySQL or SQLite adapter writes for the
    sample of column ``name``."""
    if name == "uuid" and not connection.features.has_native_uuid_field:
        return SAMPLES[name].hex
    if name == "datetime":
        return "2019-12-19 00:57:57.199202"
    if name == "json":
        return json.dumps(SAMPLES[name])
    return str(SAMPLES[name])


@pytest.mark.django_db
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
@HYPOTHESIS
@given(data=st.data())
def test_texts_undecoded_restore_what_the_row_path_restores(use_tz, data, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch, override_settings(USE_TZ=use_tz), \
            example_transaction():
        for pk in range(1, data.draw(st.integers(1, 4)) + 1):
            Everything.objects.create(pk=pk, **data.draw(everything_values(use_tz)))
        source = db_snapshot(), server_text()
        path = dump_dir(tmp_path_factory.mktemp("dump") / "dump")
        assert_same_restores(source, restored(path, monkeypatch))
        assert_same_restores(source, restored(path, monkeypatch, jobs=2))
        assert_same_restores(source, restored(path, monkeypatch, as_dumped=False))


@pytest.mark.django_db
def test_a_value_that_holds_a_line_break_is_not_two_values():
    check = dumped_text_column(Everything._meta.get_field("date"), connection)
    if check is None:
        pytest.skip("no text goes undecoded to %s" % connection.vendor)
    assert check(["2019-12-19", "2019-12-20"])
    assert not check(["2019-12-19\n2019-12-20"])
    assert not check(["2019-12-19", "2019-12-20\n"])


# Values a check must leave to the row path, which decodes them: the row path
# may read them otherwise than the database reads the text. On MySQL and
# SQLite also an offset other than UTC's, which only Python converts, and
# texts that str() of the decoded value writes otherwise; on MySQL a decimal
# that MySQL would round (the row path sends a Decimal, not a string).
EVERYWHERE = {"postgresql", "mysql", "sqlite"}
ROW_PATH_VALUES = [
    ("uuid", "9E22D12830AA4C5A9C445A66D99D1CB9", EVERYWHERE),
    ("duration", "-1 01:00:00", EVERYWHERE),
    ("decimal", "1E+2", EVERYWHERE),
    ("decimal", "1.1234567", {"mysql"}),
    ("decimal", "0.0000001", {"mysql", "sqlite"}),
    ("ip", "::ffff:10.1.2.3", EVERYWHERE),
    ("date", "2019-1-2", EVERYWHERE),
    ("time", "12:30", EVERYWHERE),
    ("time", "12:30:00.000000", {"mysql", "sqlite"}),
    ("datetime", "2019-12-19 00:57:57+00:00", EVERYWHERE),
    ("datetime", "2019-12-19T00:57:57+02:00", {"mysql", "sqlite"}),
    ("datetime", "2019-12-19T00:57:57.000000+00:00", {"mysql", "sqlite"}),
    ("json", '{"a": 1.50, "b": 1e5, "c": 2.5}', {"postgresql"}),
    ("json", '{"a": 1, "a": 2}', set()),
    ("json", 'null', set()),
]


def edited_dump(tmp_path, column, value):
    """A dump of two rows of Everything, the second's ``column`` edited to
    ``value`` by hand (and resealed); returns (restore.py, the edited line)."""
    Everything.objects.create(pk=1, date=datetime.date(2020, 1, 2),
                              time=datetime.time(1, 2, 3), uuid=uuid.uuid4(),
                              duration=datetime.timedelta(days=3),
                              decimal=decimal.Decimal("12.5"), ip="10.0.0.1")
    Everything.objects.create(pk=2)
    path = dump_dir(tmp_path / "dump", "testapp.everything")
    chunk = path.parent / "testapp_everything.py"
    lines = read_lines(chunk)
    fields = json.loads(next(line for line in lines if line.startswith("FIELDS = "))[9:])
    number = line_number(chunk, lambda line: line.startswith("[2, "))
    row = json.loads(lines[number - 1].rstrip(","))
    row[fields.index(column)] = value
    replace_line(chunk, number, json.dumps(row, ensure_ascii=False) + ",")
    reseal(path)
    return path, number


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("column, value, refused_on", ROW_PATH_VALUES)
def test_a_value_the_check_refuses_takes_the_row_path(column, value, refused_on, tmp_path,
                                                      monkeypatch):
    sent = dumped_text_column(Everything._meta.get_field(column), connection)
    if sent is not None and connection.vendor in refused_on:
        assert sent([None, value]) is None
    path, _ = edited_dump(tmp_path, column, value)
    expected = restored(path, monkeypatch, as_dumped=False)
    assert_same_restores(expected, restored(path, monkeypatch))
    assert_same_restores(expected, restored(path, monkeypatch, jobs=2))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("column, value", [("date", "2019-02-30"), ("uuid", "not a uuid"),
                                           ("datetime", "2019-12-19T25:00:00+00:00"),
                                           ("json", "[1, 2")])
def test_a_value_neither_path_takes_is_named(column, value, tmp_path, monkeypatch):
    path, number = edited_dump(tmp_path, column, value)
    wipe()
    with pytest.raises(DumpError) as raised, transaction.atomic():
        load_dump(str(path), connection, signals=False)
    message = str(raised.value)
    assert "testapp_everything.py" in message and "line %d" % number in message
    assert "testapp.everything" in message and column in message


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("jobs", [1, 3])
def test_read_ahead_workers_leave_the_text_undecoded(jobs, tmp_path, monkeypatch):
    """Worker processes decide as the restoring process does: they leave the
    values whose text goes to the database undecoded as they are, and check
    them, with what the database gets after each row's values."""
    for pk in range(1, 4):
        Everything.objects.create(pk=pk, **SAMPLES)
    source = db_snapshot()
    path = dump_dir(tmp_path / "dump", "testapp.everything")
    lane_columns = saving._lane_columns
    taken = []
    checked_by_workers = []

    def recorded(fields, batch):
        checked_by_workers.extend(dumped.texts_sent for dumped in batch)
        columns, ready = lane_columns(fields, batch)
        taken.extend(fields[index].name for index in ready)
        return columns, ready

    monkeypatch.setattr(saving, "_lane_columns", recorded)
    with transaction.atomic():
        wipe()
        load_dump(str(path), connection, signals=False, jobs=jobs)
    assert_same_rows(source, db_snapshot())
    # Django 4.2's ImageField receives post_init: Everything's rows keep their instances.
    lane = not signals.post_init.has_listeners(Everything)
    assert set(taken) == (as_dumped_here() if lane else set())
    assert checked_by_workers == ([jobs > 1] * 3 if lane else [])


def pre_save_receiver(change):
    """A pre_save receiver of Everything that calls ``change(instance)``."""

    def receive(sender, instance, **kwargs):
        change(instance)

    return receive


@pytest.mark.django_db(transaction=True)
def test_rows_with_instances_give_the_texts_no_receiver_replaced(tmp_path, monkeypatch):
    """Rows with instances (their model has receivers) keep the dumped text
    of the columns whose text goes undecoded, and the database gets it for a column whose
    values no receiver replaced; a replaced value, and a JSON value a
    receiver changed in place, reach the database as the receiver left them."""
    for pk in range(1, 4):
        Everything.objects.create(pk=pk, **SAMPLES)
    path = dump_dir(tmp_path / "dump", "testapp.everything")
    kept_texts = saving._kept_texts
    taken = []

    def recorded(fields, columns, batch):
        ready = kept_texts(fields, columns, batch)
        taken.extend(fields[index].name for index in ready)
        return ready

    def change(instance):
        if instance.pk == 2:
            instance.date = datetime.date(2000, 2, 29)
        instance.json["n"].append(instance.pk)

    monkeypatch.setattr(saving, "_kept_texts", recorded)
    receiver = pre_save_receiver(change)
    signals.pre_save.connect(receiver, sender=Everything)
    try:
        with transaction.atomic():
            wipe()
            load_dump(str(path), connection, signals=True)
    finally:
        signals.pre_save.disconnect(receiver, sender=Everything)
    rows = Everything.objects.order_by("pk")
    assert [row.date for row in rows] == [SAMPLES["date"], datetime.date(2000, 2, 29), SAMPLES["date"]]
    assert [row.json["n"][-1] for row in rows] == [1, 2, 3]
    for name in set(SAMPLES) - {"date", "json"}:
        assert {getattr(row, name) for row in rows} == {SAMPLES[name]}, name
    assert set(taken) == as_dumped_here() - {"date", "json"}
