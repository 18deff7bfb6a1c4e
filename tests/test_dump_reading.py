"""Reading a table for a dump: one cursor per table, the driver's values encoded
column by column, and the same bytes as a dump of the same rows as model instances
(what dumpdata hands the serializer)."""

import io
from pathlib import Path
from unittest import mock

import pytest
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from helpers import chunk_names, dump_dir, populate
from pyserializer.dumping import rows
from pyserializer.dumping.serializer import DumpObserver, Serializer
from pyserializer.errors import DumpWriteError
from test_roundtrip import (
    EMPTY_DUMP_WARNING, HYPOTHESIS, draw_relations, everything_values, example_transaction,
)
from testapp.models import (
    Author, Book, City, Club, Country, Everything, Left, Membership, Person, Place,
    Restaurant, Right, Tag,
)

# Keys up to each column's maximum: MariaDB's counters need setting back after.
pytestmark = pytest.mark.usefixtures("auto_increment_reset")

MODELS = [Everything, Person, Author, Book, Club, Membership, Left, Right, Place, Restaurant,
          Tag, Country, City]
NATURAL_KEYS = [
    {},
    {"use_natural_foreign_keys": True},
    {"use_natural_foreign_keys": True, "use_natural_primary_keys": True},
]


def as_instances(**options):
    objects = [obj for model in MODELS for obj in model._base_manager.order_by("pk")]
    return serializers.serialize("py", objects, **options)


def as_querysets(**options):
    """The tables that have rows: instances of an empty table write no block at all."""
    querysets = [model._base_manager.all() for model in MODELS if model._base_manager.exists()]
    return serializers.serialize("py", querysets, **options)


def assert_same_bytes_both_ways():
    """Rows read from the driver are written exactly as the same rows as instances,
    in batches of the default size and of 2 (several per table), from one cursor
    and from pages of keys (MySQL's way)."""
    for options in NATURAL_KEYS:
        expected = as_instances(**options)
        assert as_querysets(**options) == expected, options
        with mock.patch.object(rows, "BATCH_SIZE", 2):
            assert as_querysets(**options) == expected, options
            with mock.patch.object(rows, "_reader_for", lambda connection: rows._pages):
                assert as_querysets(**options) == expected, options


@pytest.mark.django_db
@pytest.mark.filterwarnings(EMPTY_DUMP_WARNING)
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
@HYPOTHESIS
@given(data=st.data())
def test_every_field_value_is_written_as_dumpdata_writes_it(use_tz, data):
    with override_settings(USE_TZ=use_tz), example_transaction():
        found = data.draw(st.dictionaries(st.integers(1, 2**31 - 1), everything_values(use_tz),
                                          max_size=5), label="rows")
        for pk, values in found.items():
            Everything.objects.create(pk=pk, **values)
        assert_same_bytes_both_ways()


@pytest.mark.django_db
@HYPOTHESIS
@given(data=st.data())
def test_relations_and_natural_keys_are_written_as_dumpdata_writes_them(data):
    with example_transaction():
        draw_relations(data.draw)
        assert_same_bytes_both_ways()


@pytest.mark.django_db
def test_the_awkward_rows_are_written_as_dumpdata_writes_them():
    populate()
    assert_same_bytes_both_ways()


@pytest.mark.django_db
def test_dump2py_chunks_are_the_chunks_of_dumpdata(tmp_path):
    """dump2py writes every row and reference with its id, content types too, as
    dumpdata does without natural keys: the chunks of an app are the same files."""
    populate()
    call_command("dump2py", str(tmp_path / "site"), verbosity=0)
    dump_dir(tmp_path / "app")
    dumped = chunk_names(tmp_path / "app" / "restore.py")
    assert "testapp_tag.py" in dumped and "testapp_city.py" in dumped
    assert set(dumped) <= set(chunk_names(tmp_path / "site" / "restore.py"))
    for name in dumped:
        assert (tmp_path / "site" / name).read_bytes() == (tmp_path / "app" / name).read_bytes(), name


def streams():
    return connection.vendor in ("sqlite", "postgresql")


@pytest.mark.django_db
def test_one_query_reads_a_table_of_many_batches_json_null_included():
    populate()  # JSON null in pk 2, SQL NULL in pk 1
    with mock.patch.object(rows, "BATCH_SIZE", 2), \
            CaptureQueriesContext(connection) as queries:
        text = serializers.serialize("py", Everything._base_manager.all())
    assert text == serializers.serialize("py", Everything._base_manager.order_by("pk"))
    pages = 1 if streams() else 3  # 5 rows; keyset pages where the driver cannot stream
    assert len(queries) == pages, [query["sql"] for query in queries]


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_reads_through_a_server_side_cursor():
    populate()

    seen = []

    class OpenCursors(DumpObserver):
        def rows_read(self, block, count):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_cursors")
                seen.append(cursor.fetchone()[0])

    with mock.patch.object(rows, "BATCH_SIZE", 2):
        Serializer().serialize([Everything._base_manager.all()], stream=io.StringIO(),
                               observer=OpenCursors())
    assert seen == [1, 1, 1]  # 5 rows, 3 batches, one cursor open all along


@pytest.mark.django_db
def test_a_value_that_cannot_be_read_names_the_model_the_row_and_the_field():
    populate()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_everything SET integers = 'not,numbers' WHERE id = 5")
    with pytest.raises(DumpWriteError, match="testapp.everything pk=5: cannot write field integers"):
        serializers.serialize("py", Everything._base_manager.all())


@pytest.fixture
def missing_coauthors_table(transactional_db):
    """Drop the many-to-many table of Book.coauthors: reading Book's rows works,
    the per-batch query of its coauthors fails while the table's cursor is open."""
    through = Book.coauthors.through
    with connection.schema_editor() as editor:
        editor.delete_model(through)
    yield
    with connection.schema_editor() as editor:
        editor.create_model(through)


def test_tolerate_skips_a_model_whose_batch_query_fails_while_its_cursor_is_open(
    tmp_path, missing_coauthors_table
):
    Author.objects.create(pk=1, name="Writer")
    Book.objects.create(pk=1, title="A book", author_id=1)
    Country.objects.create(pk=1, code="BE", name="Belgium")
    with pytest.raises(CommandError, match=r"INCOMPLETE.*\n.*testapp_book \(model testapp.book\)"):
        call_command("dump2py", str(tmp_path / "site"), "--tolerate", verbosity=0)
    restore = Path(tmp_path / "site" / "restore.py").read_text()
    assert "testapp_book.py" not in restore
    assert "testapp_country.py" in restore and "testapp_author.py" in restore
