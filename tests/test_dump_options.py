"""The options of a dump as one object (DumpOptions), resolved once; the tables
written one after another or by worker processes (the Serializer's
``write_tables``); a table that stops the dump named by the dump; one encoding
of a row, whether it comes as an instance or from a queryset."""

import sys

import pytest
from django.core import serializers
from django.db import DatabaseError
from django.test import override_settings

from helpers import populate, restore_files
from pyserializer.dumping.dumpoptions import DEFAULT_MAX_ROW_COUNT, DumpOptions, UnusableOption
from pyserializer.dumping.parallel import ParallelTables
from pyserializer.dumping.serializer import Serializer, UnreadableTable
from pyserializer.errors import DumpWriteError
from testapp.models import City, Country, Everything, Person, Tag


def test_options_left_out_come_from_the_settings_and_none_means_no_compression():
    resolved = DumpOptions.resolve()
    assert (resolved.max_row_count, resolved.compress) == (DEFAULT_MAX_ROW_COUNT, None)
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=7, PYSERIALIZER_COMPRESS="gzip"):
        resolved = DumpOptions.resolve()
        assert (resolved.max_row_count, resolved.compress) == (7, "gzip")
        resolved = DumpOptions.resolve(max_row_count=3, compress="none")
        assert (resolved.max_row_count, resolved.compress) == (3, None)
    with override_settings(PYSERIALIZER_COMPRESS="none"):
        assert DumpOptions.resolve(compress="gzip").compress == "gzip"
        assert DumpOptions.resolve().compress is None


def test_an_unusable_option_is_refused_when_the_options_are_made(monkeypatch):
    with pytest.raises(UnusableOption, match="max_row_count must be at least 1") as raised:
        DumpOptions.resolve(max_row_count=0)
    assert raised.value.option == "max_row_count"
    with pytest.raises(UnusableOption, match="unknown compression 'bz2'"):
        DumpOptions(compress="bz2")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(UnusableOption, match=r"pip install django-pyserializer\[zstd\]") as raised:
        DumpOptions.resolve(compress="zstd")
    assert raised.value.option == "compress"


@pytest.mark.django_db
def test_a_directory_dump_refuses_an_unusable_option_before_writing(tmp_path):
    populate()
    (tmp_path / "dump").mkdir()
    with open(tmp_path / "dump" / "restore.py", "w") as stream:
        with pytest.raises(DumpWriteError, match="max_row_count must be at least 1"):
            serializers.serialize("py", [Person.objects.all()], stream=stream, max_row_count=0)
    assert [path.name for path in (tmp_path / "dump").iterdir()] == ["restore.py"]
    assert (tmp_path / "dump" / "restore.py").read_text() == ""


@pytest.mark.django_db
def test_a_single_file_dump_has_no_chunks_to_size_or_compress():
    populate()
    with override_settings(PYSERIALIZER_COMPRESS="bz2"):
        text = serializers.serialize("py", Person.objects.all(), max_row_count=0)
    assert 'MODEL = "testapp.person"' in text


@pytest.mark.django_db
def test_options_as_one_object_write_what_the_keyword_options_write(tmp_path):
    populate()
    querysets = [Country.objects.all(), City.objects.all(), Person.objects.all(),
                 Everything.objects.all()]
    written = {}
    for name, options in [
        ("keywords", {"max_row_count": 2, "use_natural_foreign_keys": True}),
        ("object", {"dump_options": DumpOptions.resolve(max_row_count=2, natural_foreign=True)}),
    ]:
        (tmp_path / name).mkdir()
        with open(tmp_path / name / "restore.py", "w") as stream:
            Serializer().serialize(querysets, stream=stream, **options)
        written[name] = {
            entry[0]: (tmp_path / name / entry[0]).read_bytes()
            for entry in restore_files(tmp_path / name / "restore.py")
        }
    assert written["keywords"] == written["object"]
    assert len(written["object"]["testapp_everything_2.py"]) > 0
    assert b'["BE"]' in written["object"]["testapp_city.py"]


@pytest.mark.django_db
def test_a_table_the_database_refuses_is_named_by_the_dump():
    populate()
    refused = Tag.objects.extra(where=["no_such_column = 1"])
    with pytest.raises(UnreadableTable) as raised:
        Serializer().serialize([Person.objects.all(), refused])
    assert raised.value.table == "table testapp_tag (model testapp.tag)"
    assert isinstance(raised.value, DatabaseError)
    assert "no_such_column" in str(raised.value)
    assert isinstance(raised.value.__cause__, DatabaseError)


@pytest.mark.django_db
def test_a_parallel_dump_writes_whole_querysets_into_a_directory_only(tmp_path):
    populate()
    with pytest.raises(ValueError, match="writes a directory dump"):
        Serializer(ParallelTables(2)).serialize([Person.objects.all()])
    (tmp_path / "dump").mkdir()
    with open(tmp_path / "dump" / "restore.py", "w") as stream:
        with pytest.raises(ValueError, match="whole querysets, not slices"):
            Serializer(ParallelTables(2)).serialize([Person.objects.all()[:2]], stream=stream)
    assert list((tmp_path / "dump").iterdir()) == [tmp_path / "dump" / "restore.py"]


@pytest.mark.django_db
def test_a_value_of_an_instance_that_cannot_be_written_names_the_row_and_the_field():
    """Instances go through the encoder of rows read from the driver, with its message."""
    broken = Everything(pk=5, binary="not bytes")
    with pytest.raises(DumpWriteError, match="testapp.everything pk=5: cannot write field binary"):
        serializers.serialize("py", [broken])
