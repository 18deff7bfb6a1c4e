"""Models keyed by several columns (Django 5.2's CompositePrimaryKey) dump and
restore through every path, their key columns written as ordinary columns."""

import datetime
import decimal
import io
import uuid
from pathlib import Path
from unittest import mock

import django
import pytest
from django.core.management import call_command
from django.db.models import JSONField, Value
from django.test import override_settings

if django.VERSION < (5, 2):
    pytest.skip("CompositePrimaryKey came with Django 5.2", allow_module_level=True)

from compositeapp.models import Course, Enrolment, Pair, PairNote, Release  # noqa: E402
from helpers import (  # noqa: E402
    assert_same_rows, blocks, db_snapshot, dump_dir, dump_file, load, restore_files,
)
from paths import (  # noqa: E402
    IN_PROCESS, assert_jobs_write_the_same_files_and_restore,
    assert_the_script_restores_into_a_new_database, dump2py, postgresql_only, restore_dump,
)
from pyserializer.dumping import rows  # noqa: E402

def populate_composite():
    """Rows of every composite-key model, more than one chunk of 2 rows each:
    negative and text key parts, a date and a UUID in a key, a key part that is
    a foreign key, SQL NULL and JSON null, a row referred to by both its key
    columns."""
    for a, b in [(-5, 1), (1, 2), (1, -3), (0, 0), (-5, -5)]:
        Pair.objects.create(a=a, b=b, value="%d,%d" % (a, b))
    tag = uuid.UUID("12345678-1234-5678-1234-567812345678")
    Release.objects.create(product="zeta \u00e9", released=datetime.date(2024, 2, 29), tag=tag,
                           notes={"fixed": [1, 2]})
    Release.objects.create(product="alpha", released=datetime.date(1, 1, 1), tag=tag,
                           notes=None)  # SQL NULL
    Release.objects.create(product="alpha", released=datetime.date(1, 1, 1), tag=uuid.UUID(int=0),
                           notes=Value(None, JSONField()))  # JSON null
    intro = Course.objects.create(pk=4, name="intro")
    advanced = Course.objects.create(pk=2, name="advanced")
    for course, student, grade in [(intro, "ann", "9.5"), (intro, "bob", None),
                                   (advanced, "ann", "7")]:
        Enrolment.objects.create(course=course, student=student,
                                 grade=grade and decimal.Decimal(grade))
    PairNote.objects.create(pair_a=-5, pair_b=1, text="the first pair")
    PairNote.objects.create(pair_a=1, pair_b=-3, text="another")


def fields_written(manifest, label):
    """The FIELDS of the first chunk of model ``label`` in a directory dump."""
    name = next(entry[0] for entry in restore_files(manifest) if entry[1] == label)
    return blocks(Path(manifest).parent / name)[0]["fields"]


@pytest.mark.django_db
def test_dump2py_writes_the_key_columns_as_ordinary_fields_and_no_pk(tmp_path):
    populate_composite()
    manifest = dump2py(tmp_path / "backup")
    assert fields_written(manifest, "compositeapp.pair") == ["a", "b", "value"]
    assert fields_written(manifest, "compositeapp.release") == [
        "product", "released", "tag", "notes"]
    assert fields_written(manifest, "compositeapp.enrolment") == ["course", "student", "grade"]
    # A ForeignObject is no column: its two key columns hold the reference.
    assert fields_written(manifest, "compositeapp.pairnote") == ["id", "pair_a", "pair_b", "text"]
    [pairs] = blocks(tmp_path / "backup" / "compositeapp_pair.py")
    pair_rows = [values for _, values in pairs["rows"]]
    assert pair_rows == [[-5, -5, "-5,-5"], [-5, 1, "-5,1"], [0, 0, "0,0"], [1, -3, "1,-3"],
                         [1, 2, "1,2"]]
    out = io.StringIO()
    call_command("restore_dump", str(manifest), "--check", stdout=out)
    assert "is good: " in out.getvalue()


def through_dump2py_read_in_pages_of_keys(tmp_path, app_label):
    """MariaDB's way of reading a table, on every backend: pages of 2 rows,
    each after the composite key of the last."""
    with mock.patch.object(rows, "BATCH_SIZE", 2), \
            mock.patch.object(rows, "_reader_for", lambda connection: rows._pages):
        manifest = dump2py(tmp_path / "backup")
    restore_dump(manifest)


@pytest.mark.django_db
@pytest.mark.parametrize("dump_and_restore",
                         IN_PROCESS + [through_dump2py_read_in_pages_of_keys],
                         ids=lambda function: function.__name__)
def test_composite_keys_restore_every_row(tmp_path, dump_and_restore):
    populate_composite()
    before = db_snapshot("compositeapp")
    dump_and_restore(tmp_path, "compositeapp")
    assert_same_rows(before, db_snapshot("compositeapp"))
    assert PairNote.objects.get(text="the first pair").pair == Pair.objects.get(a=-5, b=1)


@pytest.mark.django_db
def test_dumpdata_writes_what_dump2py_writes_for_composite_keys(tmp_path):
    populate_composite()
    site = dump2py(tmp_path / "site", "-m", 2)
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
        app = dump_dir(tmp_path / "app", "compositeapp")
    names = [entry[0] for entry in restore_files(app)]
    assert len(names) > 5
    for name in names:
        assert (tmp_path / "app" / name).read_bytes() == (Path(site).parent / name).read_bytes()


@pytest.mark.django_db
def test_loaddata_updates_rows_whose_composite_key_is_there_already(tmp_path):
    populate_composite()
    before = db_snapshot("compositeapp")
    path = dump_file(tmp_path / "backup.py", "compositeapp")
    Pair.objects.filter(a=1, b=2).update(value="changed")
    Pair.objects.filter(a=0, b=0).delete()
    load(path)
    assert_same_rows(before, db_snapshot("compositeapp"))


@postgresql_only
def test_dump2py_jobs_splits_composite_key_tables_into_the_same_files(tmp_path, transactional_db):
    populate_composite()
    one = assert_jobs_write_the_same_files_and_restore(tmp_path, "compositeapp")
    assert [entry[0] for entry in restore_files(one) if entry[1] == "compositeapp.pair"] == [
        "compositeapp_pair_1.py", "compositeapp_pair_2.py", "compositeapp_pair_3.py"]


@pytest.mark.django_db
def test_the_restore_script_restores_composite_keys_into_a_new_database(tmp_path, new_database_url):
    populate_composite()
    assert_the_script_restores_into_a_new_database(tmp_path, new_database_url, "compositeapp")
