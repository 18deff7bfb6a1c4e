"""Apps without migrations (tests/nomigapp, as all of Lino's apps): a restore
creates their tables where they are missing, after the migrations, as
``migrate --run-syncdb`` does, into a new database and through migrations."""

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.db import connection

from helpers import populate, restore_files
from nomigapp.models import Keyword, Visit
from pyserializer.restoring.unmigrated import create_missing_tables, models_without_table
from test_restore_check import restore_dump
from test_restore_script import dump2py, dump_for_comparison, run_script
from test_upgrade import (
    current_rows, dump, expected_rows, fill_old, migrapp_db, restore_through_migrations,
)
from testapp.models import Person

__all__ = ["migrapp_db"]  # a fixture of test_upgrade's, used here

CREATED = "Created the tables of apps without migrations (as migrate --run-syncdb does): "
UTC = datetime.timezone.utc


def populate_unmigrated():
    """Rows of nomigapp; a visit points to a testapp Person (from populate())."""
    Visit.objects.create(pk=4, person=Person.objects.get(pk=3), note="first \u00e9",
                         when=datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, UTC))
    Visit.objects.create(pk=2, person=Person.objects.get(name="Bob"),
                         when=datetime.datetime(1999, 1, 1, 0, 0, 0, 1, UTC))
    Keyword.objects.create(pk=9, word="nobody refers to me")


def nomigapp_rows():
    return {
        "visits": list(Visit.objects.order_by("pk").values_list("pk", "person_id", "when", "note")),
        "keywords": list(Keyword.objects.order_by("pk").values_list("pk", "word")),
    }


def drop_nomigapp_tables():
    with connection.schema_editor() as editor:
        editor.delete_model(Visit)
        editor.delete_model(Keyword)


@pytest.fixture
def without_nomigapp_tables(migrapp_db):
    """The test database without nomigapp's tables; they are there again afterwards."""
    drop_nomigapp_tables()
    yield
    create_missing_tables(connection, ["nomigapp"])


@pytest.mark.django_db
def test_the_script_creates_the_tables_of_apps_without_migrations_in_a_new_database(
    tmp_path, new_database_url
):
    populate()
    populate_unmigrated()
    manifest = dump2py(tmp_path / "backup")
    assert "nomigapp.visit" in {entry[1] for entry in restore_files(manifest)}

    result = run_script(manifest, "--noinput", database_url=new_database_url)

    assert result.returncode == 0, result.stderr
    assert "Tables of apps without migrations that this database lacks are created after " \
        "the migrations, as migrate --run-syncdb does: nomigapp_visit, nomigapp_keyword." \
        in result.stdout
    assert "Applying testapp.0001_initial" in result.stdout
    assert result.stdout.index("Applying testapp.0001_initial") < result.stdout.index(CREATED)
    assert CREATED + "nomigapp_visit, nomigapp_keyword.\n" in result.stdout
    expected = dump_for_comparison(tmp_path / "expected")
    assert "nomigapp_visit.py" in expected and "nomigapp_keyword.py" in expected
    assert dump_for_comparison(tmp_path / "restored", new_database_url) == expected


@pytest.mark.django_db
def test_restoring_where_the_tables_exist_creates_none_and_says_nothing_of_them(tmp_path):
    populate()
    populate_unmigrated()
    dumped = nomigapp_rows()
    manifest = dump2py(tmp_path / "backup")
    Visit.objects.all().delete()

    out = io.StringIO()
    report = restore_through_migrations(str(manifest), stdout=out)

    assert report.startswith("dump taken at the code's migration state")
    assert "apps without migrations" not in out.getvalue()
    assert nomigapp_rows() == dumped


@pytest.mark.django_db
def test_check_says_that_a_restore_would_create_the_tables_of_apps_without_migrations(tmp_path):
    populate()
    populate_unmigrated()
    manifest = dump2py(tmp_path / "backup")

    out = restore_dump("--check", manifest)

    assert "It would create the tables of the apps without migrations (nomigapp) where they " \
        "are missing, as migrate --run-syncdb does." in out


def test_a_restore_through_migrations_creates_the_missing_tables_at_the_dumps_state(
    without_nomigapp_tables, tmp_path
):
    """The dump's rows of nomigapp are loaded at the dump's migration state: their
    tables are made before the load."""
    Team, Player = fill_old("0002_rename_nick")
    create_missing_tables(connection, ["nomigapp"])
    Person.objects.create(pk=3, name="Carol")
    Person.objects.create(pk=2**40, name="Bob")
    populate_unmigrated()
    dumped = nomigapp_rows()
    manifest = dump(tmp_path / "dump", [
        User.objects.all(), Team.objects.all(), Player.objects.all(), Person.objects.all(),
        Visit.objects.all(), Keyword.objects.all()])
    drop_nomigapp_tables()

    out = io.StringIO()
    report = restore_through_migrations(str(manifest), stdout=out)

    assert report.startswith("dump taken at migrapp 0002, restored 11 objects of 6 models")
    text = out.getvalue()
    assert CREATED + "nomigapp_visit, nomigapp_keyword.\nLoading the dump" in text
    assert current_rows() == expected_rows()
    assert nomigapp_rows() == dumped


def test_a_table_that_refers_to_one_the_dumps_state_lacks_is_created_after_migrating_forward(
    without_nomigapp_tables, tmp_path
):
    """The dump predates testapp: at its state there is no testapp_person for
    nomigapp_visit to refer to, so that table is made once testapp's migrations ran."""
    Team, Player = fill_old("0003_split_fullname")
    manifest = dump(tmp_path / "dump", [User.objects.all(), Team.objects.all(),
                                        Player.objects.all()])
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    manifest.write_text("".join(line for line in lines if not line.startswith('["testapp", ')),
                        encoding="utf-8")

    out = io.StringIO()
    report = restore_through_migrations(str(manifest), stdout=out)

    assert "testapp 0001-0003" in report
    text = out.getvalue()
    assert CREATED + "nomigapp_keyword.\nLoading the dump" in text
    assert text.index("Migrating forward through") < text.index(CREATED + "nomigapp_visit.\n")
    assert models_without_table(connection, ["nomigapp"]) == []
    assert current_rows() == expected_rows()
    Visit.objects.create(person=Person.objects.create(name="New"), when=datetime.datetime.now(UTC))
