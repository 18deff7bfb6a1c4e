"""The bulk paths of a restore: rows into emptied tables go to the backend in
one bulk operation per batch (COPY on PostgreSQL, one executemany elsewhere),
with the values ``save(raw=True)`` would write, and a row the database
refuses is still named by file and line."""

import datetime
import decimal
import math
import uuid

import pytest
from django.db import connection, transaction
from django.db.models import JSONField, Value
from django.test.utils import CaptureQueriesContext

from helpers import assert_same_rows, db_snapshot, dump_dir, populate, table_models, wipe
from pyserializer.files.resealing import reseal
from pyserializer.loading.saving import BATCH_SIZE, write_negative_zero
from pyserializer.restoring.run import load_dump
from pyserializer.values.dbvalues import db_value
from testapp.models import Country, Everything

pytestmark = pytest.mark.django_db(transaction=True)


def prepared(value):
    """A value as the driver gets it, in a form where equal means the same.
    psycopg's Int2/Int4/Int8, which Django wraps integers in on PostgreSQL,
    only type a parameter bound server-side: COPY writes the same digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ("int", int(value))
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, repr(value), getattr(value, "__dict__", None))


def both_ways(field, value):
    """What db_value gives for ``value`` and what get_db_prep_save gives (or the errors)."""
    results = []
    for convert in (db_value(field, connection), lambda value: field.get_db_prep_save(value, connection)):
        try:
            results.append(prepared(convert(value)))
        except Exception as exc:
            results.append(("error", type(exc).__name__, str(exc)))
    return results


def test_each_column_converter_gives_what_save_gives():
    populate()
    checked = 0
    for model in table_models():
        for instance in model._base_manager.all():
            for field in model._meta.local_concrete_fields:
                fast, slow = both_ways(field, instance.__dict__[field.attname])
                assert fast == slow, (model, field.name)
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("name, value", [
    ("datetime", datetime.datetime(2020, 1, 1, 12, 0)),  # naive: the field warns and makes it aware
    ("datetime", datetime.datetime(2020, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)),
    ("date", datetime.datetime(2020, 1, 1, 12, 0)),  # a datetime in a DateField becomes its date
    ("ip", "::ffff:192.0.2.1"),
    ("ip", "2001:DB8::1"),
    ("ip", ""),
    ("decimal", decimal.Decimal("NaN")),
    ("decimal", decimal.Decimal("1.5")),
    ("decimal", 1.5),
    ("uuid", "12345678123456781234567812345678"),
    ("uuid", uuid.UUID(int=1)),
    ("duration", datetime.timedelta(microseconds=-1)),
    ("integer", "12"),
    ("floating", -0.0),
    ("floating", math.inf),
    ("boolean", 1),
    ("json", None),
    ("json", {"a": [None]}),
    ("id", 0),
])
@pytest.mark.filterwarnings("ignore:DateTimeField")
def test_a_value_of_another_type_goes_the_way_save_goes(name, value):
    fast, slow = both_ways(Everything._meta.get_field(name), value)
    assert fast == slow


def test_a_foreign_key_converter_gives_what_save_gives():
    from testapp.models import Author, City, Restaurant

    for field, value in [
        (City._meta.get_field("country"), 3),
        (City._meta.get_field("country"), None),
        (Author._meta.get_field("person"), 2**40),
        (Restaurant._meta.get_field("place_ptr"), 5),
    ]:
        fast, slow = both_ways(field, value)
        assert fast == slow, field


def load_into_emptied_tables(path):
    """Load as a restore does: every testapp table emptied in the same transaction."""
    tables = [model._meta.db_table for model in table_models()]
    with transaction.atomic():
        load_dump(path, connection, empty_tables=tables)


def many_rows(count):
    """``count`` Everything rows of varied values, -0.0 among them."""
    brussels_summer = datetime.timezone(datetime.timedelta(hours=2))
    Everything.objects.bulk_create(
        Everything(
            pk=1000 + number, integer=number, floating=[-0.0, 0.1, 1e300, -1e-300][number % 4],
            decimal=decimal.Decimal(number).scaleb(-6), text="row %d \U0001F600" % number,
            char="c%d" % number,
            datetime=datetime.datetime(2020, 3, 29, 1, 59, 59, number, tzinfo=brussels_summer),
            date=datetime.date(1, 1, 1) + datetime.timedelta(days=number),
            time=datetime.time(23, 59, 59, number), uuid=uuid.UUID(int=number),
            duration=datetime.timedelta(microseconds=-number), binary=bytes([number % 256]) * 3,
            ip="10.0.%d.%d" % (number // 256 % 256, number % 256) if number % 3 else "2001:db8::%x" % number,
            json={"n": number, "list": [None, True]} if number % 5 else Value(None, JSONField()),
            integers=[number, -number],
        )
        for number in range(count)
    )


def test_every_value_comes_back_through_the_bulk_path(tmp_path):
    populate()
    many_rows(BATCH_SIZE + 7)
    expected = db_snapshot()
    path = dump_dir(tmp_path / "dump")
    wipe()
    with CaptureQueriesContext(connection) as queries:
        load_into_emptied_tables(path)
    assert_same_rows(expected, db_snapshot())
    inserts = [
        query["sql"] for query in queries
        if "INSERT INTO %s" % connection.ops.quote_name("testapp_everything") in query["sql"]
    ]
    if connection.vendor == "postgresql":
        assert inserts == []  # COPY, which does not go through Django's cursor wrapper
    elif hasattr(connection.connection, "send_query"):
        assert inserts == []  # sent ahead through mysqlclient (tests/test_send_ahead.py)
    else:
        # One executemany per batch: Django logs it once, as "... times".
        assert len(inserts) == 2, inserts


def test_negative_zero_comes_back_through_the_bulk_path(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL stores -0.0 (see test_negative_zero.py)")
    write_negative_zero(connection)  # else Django's own INSERT here sends 0
    many_rows(8)
    path = dump_dir(tmp_path / "dump", "testapp.everything")
    wipe()
    load_into_emptied_tables(path)
    signs = [math.copysign(1, value) for value in Everything.objects.order_by("pk")
             .values_list("floating", flat=True)[::4]]
    assert signs == [-1.0, -1.0]


def assert_refused_row_is_named(tmp_path, model, row_start, old, new):
    """Dump ``model``, change ``old`` to ``new`` in the row that starts with
    ``row_start``, reseal, and load into emptied tables: the database refuses
    that row, the error names its file and line, and nothing is saved."""
    label = model._meta.label_lower
    path = dump_dir(tmp_path / "dump", label)
    chunk = next(path.parent.glob("%s*.py" % model._meta.db_table))
    lines = chunk.read_text().split("\n")
    line = next(number for number, content in enumerate(lines, start=1)
                if content.startswith(row_start))
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    assert new in lines[line - 1]
    chunk.write_text("\n".join(lines))
    reseal(path)
    wipe()
    with pytest.raises(Exception) as caught:
        load_into_emptied_tables(path)
    message = str(caught.value)
    assert "%s, line %d, model %s" % (chunk, line, label) in message
    assert "the database rejected this row" in message
    assert not model.objects.exists()


def test_a_row_refused_in_the_middle_of_a_batch_is_named_and_nothing_is_saved(tmp_path):
    Country.objects.bulk_create(
        Country(pk=number, code="C%d" % number, name="Country %d" % number)
        for number in range(1, 401)
    )
    assert_refused_row_is_named(tmp_path, Country, '[300, "C300"', '"C300"', '"C299"')


def test_a_row_refused_in_a_table_with_binary_columns_is_named(tmp_path):
    """On MariaDB, Everything (a BinaryField: _binary %s) takes the multi-row INSERTs."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite stores a text longer than max_length")
    many_rows(BATCH_SIZE - 100)
    assert_refused_row_is_named(tmp_path, Everything, "[1300, ", '"c300"', '"%s"' % ("x" * 101))
