"""Relations survive dump -> wipe -> load: self-references, a cycle between two models,
multi-table inheritance, proxies, generic foreign keys, many-to-many with automatic
and explicit through models, and natural keys."""

import datetime
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.test import override_settings

from helpers import (
    assert_same_rows, blocks, chunk_names, db_snapshot, dump_dir, dump_file, dump_stdout, load,
    populate, wipe,
)
from testapp.models import (
    Author, Book, City, Club, Country, Left, Membership, Person, Place, PlaceProxy,
    Restaurant, Right, Tag,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["file", "directory"])
def dump_and_reload(request, tmp_path):
    """Dump testapp (a single file or a directory of 2-row chunks), wipe it, load the dump.
    Returns the list of files the dump consists of."""

    def run(**options):
        with override_settings(PYSERIALIZER_MAX_ROW_COUNT=2):
            if request.param == "file":
                files = [dump_file(tmp_path / "dump.py", **options)]
                path = files[0]
            else:
                path = dump_dir(tmp_path / "dump", **options)
                files = [path.parent / name for name in chunk_names(path)]
        wipe()
        load(path)
        return files

    return run


def test_self_references_survive(dump_and_reload):
    populate()
    before = db_snapshot()
    dump_and_reload()
    assert_same_rows(before, db_snapshot())
    alice, bob, carol = (Person.objects.get(name=name) for name in ("Alice", "Bob", "Carol"))
    assert alice.mentor == alice
    assert (bob.mentor, carol.mentor) == (carol, bob)
    assert bob.pk == 2**40


def test_cycle_between_two_models_survives(dump_and_reload):
    populate()
    before = db_snapshot()
    dump_and_reload()
    assert_same_rows(before, db_snapshot())
    left = Left.objects.get(pk=1)
    assert left.right.left == left
    assert Left.objects.get(pk=2).right is None
    assert list(Right.objects.values_list("pk", "left_id")) == [(1, 1)]


def test_multi_table_inheritance_survives(dump_and_reload):
    populate()
    before = db_snapshot()
    dump_and_reload()
    assert_same_rows(before, db_snapshot())
    pizzeria = Restaurant.objects.get(pk=2)
    assert (pizzeria.name, pizzeria.address, pizzeria.serves_pizza, pizzeria.seats) == (
        "Pizzeria", "Side street 2", True, 40)
    assert list(Place.objects.order_by("pk").values_list("name", flat=True)) == [
        "Square", "Pizzeria"]
    assert not Restaurant.objects.filter(pk=1).exists()


def test_dumpdata_writes_proxy_rows_once_through_their_concrete_model(tmp_path):
    populate()
    text = dump_stdout()
    models = [block["model"] for block in blocks_of_text(tmp_path, text)]
    assert "testapp.placeproxy" not in models
    assert models.count("testapp.place") == 1


def test_proxy_model_objects_survive(tmp_path):
    populate()
    places = db_snapshot()["testapp.place"]
    text = serializers.serialize("py", PlaceProxy.objects.order_by("pk"))
    wipe()
    for deserialized in serializers.deserialize("py", text):
        deserialized.save()
    assert db_snapshot()["testapp.place"] == places
    assert list(PlaceProxy.objects.order_by("pk").values_list("pk", "name", "address")) == [
        (1, "Square", "Main street 1"), (2, "Pizzeria", "Side street 2")]
    assert not Restaurant.objects.exists()  # only the parent table was serialized


def test_generic_foreign_keys_survive(dump_and_reload):
    populate()
    before = db_snapshot()
    dump_and_reload()
    assert_same_rows(before, db_snapshot())
    tags = {tag.label: tag.content_object for tag in Tag.objects.all()}
    assert tags == {"person tag": Person.objects.get(name="Bob"),
                    "book tag": Book.objects.get(pk=1)}


def test_many_to_many_with_automatic_through_survives(dump_and_reload):
    populate()
    before = db_snapshot()
    dump_and_reload()
    assert_same_rows(before, db_snapshot())
    assert set(Book.objects.get(pk=1).coauthors.values_list("name", flat=True)) == {
        "Writer", "Helper"}
    assert not Book.objects.get(pk=2).coauthors.exists()


def test_many_to_many_with_explicit_through_survives(dump_and_reload):
    populate()
    before = db_snapshot()
    dump_and_reload()
    assert_same_rows(before, db_snapshot())
    club = Club.objects.get()
    assert set(club.members.values_list("name", flat=True)) == {"Alice", "Carol"}
    assert list(Membership.objects.order_by("pk").values_list("person__name", "since", "role")) == [
        ("Alice", datetime.date(2020, 1, 1), "chair"), ("Carol", datetime.date(2021, 6, 30), "")]


def test_natural_keys_replace_primary_keys(dump_and_reload):
    populate()
    files = dump_and_reload(use_natural_foreign_keys=True, use_natural_primary_keys=True)
    written = [block for path in files for block in blocks(path)]
    country_blocks = [block for block in written if block["model"] == "testapp.country"]
    assert country_blocks and all("id" not in block["fields"] for block in country_blocks)
    city_rows = [
        (block["fields"], values) for block in written if block["model"] == "testapp.city"
        for _, values in block["rows"]
    ]
    references = [values[fields.index("country")] for fields, values in city_rows]
    assert len(references) == 2
    for reference, code, pk in zip(references, ("BE", "EE"), (10, 20)):
        assert code in json.dumps(reference) and reference != pk
    # Loaded by natural key: the cities point at the countries by code.
    assert sorted(City.objects.values_list("name", "country__code", "country__name")) == [
        ("Eupen", "BE", "Belgi\u00eb"), ("Tallinn", "EE", "Eesti")]
    # Generic foreign keys refer to their content type by natural key too.
    assert {tag.label: tag.content_object for tag in Tag.objects.all()} == {
        "person tag": Person.objects.get(name="Bob"), "book tag": Book.objects.get(pk=1)}


def test_natural_primary_keys_load_onto_existing_rows_by_key(tmp_path):
    populate()
    path = dump_file(tmp_path / "dump.py", use_natural_foreign_keys=True,
                     use_natural_primary_keys=True)
    wipe()
    # Other primary keys than at dump time; EE exists already and gets updated.
    Country.objects.create(pk=10, code="XX", name="Not Belgium")
    Country.objects.create(pk=99, code="EE", name="old name")
    load(path)
    assert Country.objects.get(code="EE").pk == 99
    assert Country.objects.get(code="EE").name == "Eesti"
    assert Country.objects.get(pk=10).code == "XX"
    assert sorted(City.objects.values_list("name", "country__code")) == [
        ("Eupen", "BE"), ("Tallinn", "EE")]
    assert City.objects.get(name="Tallinn").country_id == 99


def test_content_types_by_natural_key_survive_other_content_type_ids(tmp_path):
    populate()
    path = dump_file(tmp_path / "dump.py", use_natural_foreign_keys=True)
    wipe()
    # Give the content types other ids than at dump time.
    old_ids = {}
    for content_type in ContentType.objects.filter(app_label="testapp"):
        old_ids[content_type.model] = content_type.pk
        content_type.delete()
        ContentType.objects.create(app_label="testapp", model=content_type.model)
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(Person).pk != old_ids["person"]
    load(path)
    assert {tag.label: tag.content_object for tag in Tag.objects.all()} == {
        "person tag": Person.objects.get(name="Bob"), "book tag": Book.objects.get(pk=1)}


def blocks_of_text(tmp_path, text):
    path = tmp_path / "stdout.py"
    path.write_text(text, encoding="utf-8")
    return blocks(path)


def test_a_models_own_init_runs_for_every_object_loaded_as_in_loaddata(monkeypatch, tmp_path):
    """The instance-building shortcut fills __dict__ only when Model.__init__
    is all there is: a model's own __init__ runs, as loaddata runs it."""
    countries = [Country.objects.create(code=code, name=code.upper()) for code in ("be", "ee")]
    text = serializers.serialize("py", Country.objects.order_by("pk"))
    made = []
    model_init = Country.__init__

    def own_init(self, *args, **kwargs):
        model_init(self, *args, **kwargs)
        made.append(self.code)

    monkeypatch.setattr(Country, "__init__", own_init)
    loaded = [deserialized.object for deserialized in serializers.deserialize("py", text)]
    assert made == [country.code for country in countries]
    assert [(c.pk, c.code, c.name) for c in loaded] == [(c.pk, c.code, c.name) for c in countries]
