"""The dump's direct path (values.fromdriver: the driver's fastest loaders,
its values straight to JSON values) writes byte for byte what the general
path (Django's loaders and converters, then the codec) writes: for every
column type, for values hypothesis picks, and for stored values the direct
path must hand to the general one."""

import datetime

import pytest
from django.core import serializers
from django.db import connection, models
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from helpers import wipe
from pyserializer.errors import DumpWriteError
from pyserializer.dumping import rows
from test_roundtrip import HYPOTHESIS, everything_values, example_transaction
from testapp.models import Everything

pytestmark = pytest.mark.usefixtures("auto_increment_reset")

# The columns that Django converts on each backend and that the direct path takes.
DIRECT_COLUMNS = {
    "sqlite": {"boolean", "null_boolean", "date", "time", "datetime", "uuid", "json"},
    "mysql": {"boolean", "null_boolean", "datetime", "uuid", "json"},
    "postgresql": {"json", "uuid", "decimal", "date", "time"},
}


def dumped(direct=True, monkeypatch=None):
    """The text of a dump of Everything read as a queryset (as dump2py reads
    it), with the direct path or without it."""
    if not direct:
        monkeypatch.setattr(rows, "direct_column", lambda *args: None)
        monkeypatch.setattr(rows, "use_fastest_loaders", lambda *args: frozenset())
    try:
        return serializers.serialize("py", [Everything.objects.all()])
    finally:
        if not direct:
            monkeypatch.undo()


def assert_both_paths_write_the_same(monkeypatch):
    direct = dumped()
    assert direct == dumped(direct=False, monkeypatch=monkeypatch)
    return direct


@pytest.mark.django_db
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
@HYPOTHESIS
@given(data=st.data())
def test_the_direct_path_writes_what_the_general_path_writes(use_tz, data):
    with pytest.MonkeyPatch.context() as monkeypatch, override_settings(USE_TZ=use_tz), \
            example_transaction():
        for pk in range(1, data.draw(st.integers(1, 4)) + 1):
            Everything.objects.create(pk=pk, **data.draw(everything_values(use_tz)))
        assert_both_paths_write_the_same(monkeypatch)


@pytest.mark.django_db
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
def test_the_direct_path_is_taken_for_the_columns_django_converts(use_tz, monkeypatch):
    """The control: without it the test above could compare the general path
    with itself."""
    taken = []
    direct_column = rows.direct_column

    def recording(field, *args):
        function = direct_column(field, *args)
        if function is not None:
            taken.append(field.name)
        return function

    monkeypatch.setattr(rows, "direct_column", recording)
    with override_settings(USE_TZ=use_tz):
        Everything.objects.create(pk=1, boolean=True, json={"a": 1})
        serializers.serialize("py", [Everything.objects.all()])
    expected = DIRECT_COLUMNS[connection.vendor]
    if not use_tz and connection.vendor == "mysql":  # no converter for naive datetimes
        expected = expected - {"datetime"}
    assert set(taken) == expected


def stored(column, sql_value):
    """Put ``sql_value`` (SQL text) into ``column`` of Everything 1, past Django."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_everything SET %s = %s WHERE id = 1"
                       % (connection.ops.quote_name(column), sql_value))


@pytest.mark.django_db
@pytest.mark.parametrize("text", [
    "' {\"a\": 1} '", "'[1, 2.50, \"\\u00e9\", null]'", "'null'", "'\"text\"'",
])
def test_json_text_that_the_database_keeps_as_it_came_is_written_as_before(monkeypatch, text):
    wipe()
    Everything.objects.create(pk=1, json={"a": 1})
    Everything.objects.create(pk=2, json=[1, "é"])
    stored("json", text)
    assert_both_paths_write_the_same(monkeypatch)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "postgresql", reason="a native uuid column")
@pytest.mark.parametrize("text", [
    "'12345678123456781234567812345678'", "'12345678-1234-5678-1234-567812345678'",
    "'{12345678-1234-5678-1234-56781234567A}'", "'ABCDEF78123456781234567812345678'",
])
def test_uuid_text_in_any_form_is_written_as_before(monkeypatch, text):
    if connection.vendor == "mysql" and connection.data_types["UUIDField"] == "uuid":
        pytest.skip("MariaDB's UUID type stores one form only")
    wipe()
    Everything.objects.create(pk=1)
    Everything.objects.create(pk=2, uuid="9e22d128-30aa-4c5a-9c44-5a66d99d1cb9")
    stored("uuid", text)
    direct = assert_both_paths_write_the_same(monkeypatch)
    assert '"9e22d128-30aa-4c5a-9c44-5a66d99d1cb9"' in direct


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps a datetime as text")
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
def test_a_datetime_stored_with_its_offset_is_written_as_before(monkeypatch, use_tz):
    with override_settings(USE_TZ=use_tz):
        wipe()
        Everything.objects.create(pk=1)
        Everything.objects.create(pk=2, datetime=datetime.datetime(
            2024, 3, 31, 6, 30, 0, 5, tzinfo=datetime.timezone.utc if use_tz else None))
        stored("datetime", "'2024-03-31 08:30:00.000005+02:00'")
        direct = assert_both_paths_write_the_same(monkeypatch)
    assert '"2024-03-31T08:30:00.000005+02:00"' in direct


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 2])
@pytest.mark.skipif(connection.vendor == "postgresql", reason="a native boolean column")
def test_a_boolean_column_holding_another_number_is_written_as_before(monkeypatch, value):
    wipe()
    Everything.objects.create(pk=1, null_boolean=True)
    stored("null_boolean", str(value))
    assert_both_paths_write_the_same(monkeypatch)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's loaders")
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
def test_a_dump_reads_timestamptz_with_psycopgs_own_loader_in_utc_only(use_tz):
    """The control of the loader the direct path swaps: Django's own where the
    session is not in UTC (its loader then makes the values naive)."""
    import psycopg
    from psycopg.pq import Format

    from pyserializer.values.fromdriver import use_fastest_loaders

    oid = psycopg.postgres.types["timestamptz"].oid
    with override_settings(USE_TZ=use_tz):  # which sets the session's time zone
        with connection.chunked_cursor() as cursor:
            djangos = cursor.cursor.adapters.get_loader(oid, Format.TEXT)
            use_fastest_loaders(cursor, connection, None)
            loader = cursor.cursor.adapters.get_loader(oid, Format.TEXT)
    if use_tz:
        assert loader is psycopg.adapters.get_loader(oid, Format.TEXT)
        assert loader is not djangos
    else:
        assert loader is djangos


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's text, psycopg's loaders")


@pytest.mark.django_db
@postgresql_only
@pytest.mark.parametrize("column, sql_value", [
    ("time", "'12:30:00.1'"), ("time", "'12:30:00'"), ("time", "'00:00:00.000001'"),
    ("time", "'23:59:59.99999'"),
    ("decimal", "'NaN'"), ("decimal", "'12.5'"), ("decimal", "'-0.000001'"), ("decimal", "'0'"),
    ("date", "'0001-01-01'"), ("date", "'9999-12-31'"),
    ("uuid", "'{12345678-1234-5678-1234-56781234567A}'"),
    ("json", "'{\"bb\": 1, \"a\": [1.0, 0.0000001, 1e2, -0, 12345678901234567890]}'"),
    ("json", "'[1.5, 1.50]'"), ("json", r"""'"\u0001\t\"é\\ \u00e9/"'"""),
])
def test_postgresql_text_is_written_as_the_values_psycopg_makes_of_it(
        monkeypatch, column, sql_value):
    """The columns read as text (a time's fraction padded) or as jsonb's text,
    for stored values the shortcut passes on and values it hands to psycopg's
    loaders and the general path."""
    wipe()
    Everything.objects.create(pk=1, time=datetime.time(1, 2, 3), decimal="1.5")
    Everything.objects.create(pk=2, time=datetime.time(4, 5, 6, 7), date=datetime.date(2024, 1, 2),
                              uuid="9e22d128-30aa-4c5a-9c44-5a66d99d1cb9", json={"a": 1.25})
    stored(column, sql_value)
    assert_both_paths_write_the_same(monkeypatch)


@pytest.mark.django_db
@postgresql_only
@pytest.mark.parametrize("column, sql_value", [
    ("date", "'infinity'"), ("date", "'10000-01-01'"), ("time", "'24:00:00'"),
])
def test_postgresql_text_that_python_cannot_hold_fails_naming_the_row(monkeypatch, column, sql_value):
    """psycopg's own loader refuses it, as on the general path, where the
    table is named; here the row and the field are named too."""
    wipe()
    Everything.objects.create(pk=1)
    stored(column, sql_value)
    with pytest.raises(Exception) as general:
        dumped(False, monkeypatch)
    with pytest.raises(DumpWriteError) as direct:
        dumped(True, monkeypatch)
    assert str(direct.value) == "testapp.everything pk=1: cannot write field %s: %s" % (
        column, general.value)


@pytest.mark.django_db
@postgresql_only
def test_dates_in_another_date_style_are_written_as_before(monkeypatch):
    wipe()
    Everything.objects.create(pk=1, date=datetime.date(2024, 1, 31))
    with connection.cursor() as cursor:
        cursor.execute("SET DateStyle TO 'SQL, DMY'")
    try:
        direct = assert_both_paths_write_the_same(monkeypatch)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET DateStyle TO 'ISO, MDY'")
    assert '"2024-01-31"' in direct


class _SubclassDate(models.DateField):
    pass


class _Dates(models.Field):
    def db_type(self, connection):
        return "date[]"


@postgresql_only
def test_a_type_is_read_as_text_only_where_each_of_its_columns_is_a_plain_field():
    """A loader serves every column of its type: one column of a subclass, a
    key or an array of that type keeps that type's values psycopg's own."""
    from pyserializer.values.fromdriver import _text_types

    plain = [models.UUIDField(), models.DecimalField(max_digits=5, decimal_places=2),
             models.DateField(), models.TimeField(), models.CharField(max_length=5),
             models.DateTimeField()]
    assert _text_types(connection, plain) == {
        models.UUIDField, models.DecimalField, models.DateField, models.TimeField}
    assert _text_types(connection, plain + [models.UUIDField(primary_key=True)]) == {
        models.DecimalField, models.DateField, models.TimeField}
    assert _text_types(connection, plain + [_SubclassDate()]) == {
        models.UUIDField, models.DecimalField, models.TimeField}
    assert _text_types(connection, [models.UUIDField(), _Dates()]) == set()
    assert _text_types(connection, None) == set()
    person = Everything._meta.get_field("id")
    assert _text_types(connection, [person, models.TimeField()]) == {models.TimeField}
