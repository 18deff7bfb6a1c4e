"""Post-data after data: a restore loads the tables it fills without their
secondary indexes and foreign keys, then builds them again exactly as they
were (the catalog is the same before and after), and still refuses, naming
the row, a dump that breaks a constraint, changing nothing."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test import override_settings

from helpers import db_snapshot, populate
from pyserializer.errors import DumpError
from pyserializer.files.manifest import FileEntry, Manifest
from pyserializer.restoring import postdata
from pyserializer.restoring.run import Interrupted, RestoreFailed, restore
from test_dangling import edit_row
from testapp.models import Book, City, Country, Listing


def catalog():
    """Every index and constraint of every table of the database, as the
    catalog describes them: what a restore must give back exactly."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes "
                           "WHERE schemaname = current_schema()")
            indexes = sorted(cursor.fetchall())
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), "
                "condeferrable, condeferred, convalidated FROM pg_constraint "
                "WHERE connamespace = current_schema()::regnamespace")
            return indexes + sorted(cursor.fetchall())
        if connection.vendor == "sqlite":
            cursor.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
            return sorted(cursor.fetchall(), key=repr)
        tables = connection.introspection.table_names(cursor)
        described = []
        for table in tables:
            cursor.execute("SHOW CREATE TABLE %s" % connection.ops.quote_name(table))
            described.append(re.sub(r" AUTO_INCREMENT=\d+", "", cursor.fetchone()[1]))
        return described


def indexes_and_keys(table):
    """The names of the indexes and foreign keys of ``table`` right now."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name for name, about in constraints.items() if about["index"] or about["foreign_key"]}


def add_listings(count):
    """``count`` listings in the two cities of populate(), slugs unique per city."""
    cities = list(City.objects.order_by("pk"))
    Listing.objects.bulk_create(
        Listing(pk=number, city=cities[number % 2], slug="listing-%d" % number,
                title="Listing %d" % number, active=number % 3 != 0)
        for number in range(1, count + 1))


def dump2py(directory):
    call_command("dump2py", str(directory), "--noinput", verbosity=0)
    return directory / "restore.py"


@pytest.fixture
def every_table_deferred(monkeypatch):
    """Defer the post-data of every table the restore fills, however few its rows."""
    monkeypatch.setattr(postdata, "MIN_ROWS", 0)


@pytest.fixture
def during_the_load():
    """What the indexes and foreign keys of the listings and cities were while
    the first listing was saved."""
    seen = {}

    def look(sender, **kwargs):
        if not seen:
            seen.update({table: indexes_and_keys(table)
                         for table in ("testapp_listing", "testapp_city")})

    post_save.connect(look, sender=Listing)
    yield seen
    post_save.disconnect(look, sender=Listing)


@pytest.mark.django_db(transaction=True)
def test_a_restore_gives_back_every_index_and_constraint_exactly(tmp_path, every_table_deferred):
    populate()
    add_listings(6)
    manifest = dump2py(tmp_path / "backup")
    expected_rows, expected_catalog = db_snapshot(), catalog()
    Listing.objects.all().delete()

    restore(str(manifest), interactive=False)

    assert catalog() == expected_catalog
    assert db_snapshot() == expected_rows


@pytest.mark.django_db(transaction=True)
def test_the_load_fills_a_large_table_without_its_secondary_indexes_and_foreign_keys(
        tmp_path, during_the_load):
    populate()
    add_listings(postdata.MIN_ROWS)
    manifest = dump2py(tmp_path / "backup")
    listing, city = indexes_and_keys("testapp_listing"), indexes_and_keys("testapp_city")
    expected_catalog = catalog()

    restore(str(manifest), interactive=False)

    kept = {name for name in listing if name.endswith("_pkey") or "active_slug" in name
            or name == "PRIMARY"}
    if connection.vendor == "postgresql":
        assert during_the_load["testapp_listing"] == kept
    elif connection.vendor == "sqlite":
        # The index of the foreign key stays: SQLite looks up referring rows with it.
        assert during_the_load["testapp_listing"] == listing - {
            "testapp_listing_title_lower", "testapp_listing_active_title",
            next(name for name in listing if "slug" in name and "active" not in name)}
    else:  # MariaDB: DDL would commit the restore's transaction
        assert during_the_load["testapp_listing"] == listing
    assert during_the_load["testapp_city"] == city  # two rows: not worth it
    assert catalog() == expected_catalog
    assert Listing.objects.count() == postdata.MIN_ROWS


@pytest.mark.django_db(transaction=True)
def test_with_the_setting_off_the_load_keeps_every_index(tmp_path, every_table_deferred,
                                                         during_the_load):
    populate()
    add_listings(3)
    manifest = dump2py(tmp_path / "backup")
    listing = indexes_and_keys("testapp_listing")

    with override_settings(PYSERIALIZER_INDEXES_AFTER_LOAD=False):
        restore(str(manifest), interactive=False)

    assert during_the_load["testapp_listing"] == listing


def duplicate_country_code(manifest):
    edit_row(manifest, "testapp_country", 20, "code", "BE")
    return "testapp.country", 20, "code"


def duplicate_active_listing_slug(manifest):
    edit_row(manifest, "testapp_listing", 4, "slug", "listing-2")
    return "testapp.listing", 4, "slug"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("duplicate", [duplicate_country_code, duplicate_active_listing_slug])
def test_a_duplicate_in_a_unique_column_is_refused_naming_the_row_and_changes_nothing(
        tmp_path, every_table_deferred, duplicate):
    if duplicate is duplicate_active_listing_slug and connection.vendor == "mysql":
        pytest.skip("MariaDB has no unique constraint with a condition")
    populate()
    add_listings(6)
    manifest = dump2py(tmp_path / "backup")
    model, pk, field = duplicate(manifest)
    Country.objects.filter(pk=10).update(name="Changed after the dump")
    expected_rows, expected_catalog = db_snapshot(), catalog()

    with pytest.raises(DumpError) as refused:
        restore(str(manifest), interactive=False)

    message = str(refused.value)
    named = re.match(r"(\S+), line (\d+), model %s: the database rejected this row: (.*)"
                     % model, message)
    assert named, message
    path, line, reason = named.groups()
    row = json.loads(Path(path).read_text(encoding="utf-8").split("\n")[int(line) - 1][:-1])
    assert row[0] == pk  # the duplicate's line
    assert field in reason
    assert "The load was rolled back" in message
    assert db_snapshot() == expected_rows
    assert catalog() == expected_catalog


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table, pk, field, value, problem", [
    ("testapp_listing", 2, "city", 99, "testapp.Listing pk 2, field city: no testapp.City 99"),
    ("testapp_book", 1, "author", 99, "testapp.Book pk 1, field author: no testapp.Author 99"),
])
def test_a_dangling_foreign_key_is_still_refused_and_named(
        tmp_path, every_table_deferred, table, pk, field, value, problem):
    populate()
    add_listings(6)
    manifest = dump2py(tmp_path / "backup")
    edit_row(manifest, table, pk, field, value)
    Book.objects.filter(pk=2).update(title="Changed after the dump")
    expected_rows, expected_catalog = db_snapshot(), catalog()

    with pytest.raises(DumpError) as refused:
        restore(str(manifest), interactive=False)

    message = str(refused.value)
    assert message.startswith("%s: the database rejected a reference: %s" % (manifest, problem))
    assert db_snapshot() == expected_rows
    assert catalog() == expected_catalog


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exception, raised", [
    (KeyboardInterrupt(), Interrupted), (RuntimeError("a receiver failed"), RestoreFailed),
])
def test_a_load_stopped_halfway_leaves_every_index_and_constraint(
        tmp_path, every_table_deferred, during_the_load, exception, raised):
    populate()
    add_listings(6)
    manifest = dump2py(tmp_path / "backup")
    Listing.objects.filter(pk=1).update(title="Changed after the dump")
    expected_rows, expected_catalog = db_snapshot(), catalog()

    def stop(sender, **kwargs):
        raise exception

    post_save.connect(stop, sender=Listing)
    try:
        with pytest.raises(raised):
            restore(str(manifest), interactive=False, stdout=io.StringIO())
    finally:
        post_save.disconnect(stop, sender=Listing)

    assert during_the_load  # stopped after the drop
    assert db_snapshot() == expected_rows
    assert catalog() == expected_catalog


def test_only_tables_the_load_fills_with_enough_rows_are_worth_deferring():
    from django.apps import apps

    dump = Manifest(files=[
        FileEntry("testapp_book_1.py", "testapp.book", 600, 1, ""),
        FileEntry("testapp_book_2.py", "testapp.book", 400, 1, ""),
        FileEntry("testapp_city.py", "testapp.city", 999, 1, ""),
        FileEntry("testapp_person.py", "testapp.person", 5000, 1, ""),
        FileEntry("testapp_listing.py", "testapp.listing", 5000, 1, ""),
    ])
    emptied = ["testapp_book", "testapp_book_coauthors", "testapp_city", "testapp_person"]

    assert postdata.tables_worth_deferring(dump, apps, emptied) == [
        "testapp_book", "testapp_book_coauthors", "testapp_person"]
    assert postdata.tables_worth_deferring(dump, apps, emptied, excludes={"testapp.person"}) == [
        "testapp_book", "testapp_book_coauthors"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_nothing_is_dropped():
    before = catalog()

    dropped = postdata.PostData.drop(connection, ["testapp_listing"])

    assert dropped.deferred == [] and catalog() == before
    with transaction.atomic():
        inside = postdata.PostData.drop(connection, ["testapp_listing"])
        assert bool(inside.deferred) == (connection.vendor != "mysql")
        inside.rebuild()
    assert catalog() == before
