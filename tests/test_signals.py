"""Models with save receivers are loaded in batches, and each object gets the
signals stock loaddata sends it, in the same order (docs/format.rst, "Batched
inserts"); PYSERIALIZER_EXACT_SIGNAL_ORDER gives loaddata's order of all signals."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import signals
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from helpers import assert_same_rows, db_snapshot, dump_dir, dump_file, load, populate, wipe
from pyserializer.loading.deserializer import Deserializer
from testapp.models import City, Country, Person

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """Records every pre_save, post_save and m2m_changed, with whether the
    saved row is in the database when the signal is sent."""

    def __init__(self):
        self.events = []

    def connect(self):
        signals.pre_save.connect(self.pre_save, weak=False)
        signals.post_save.connect(self.post_save, weak=False)
        signals.m2m_changed.connect(self.m2m_changed, weak=False)

    def disconnect(self):
        signals.pre_save.disconnect(self.pre_save)
        signals.post_save.disconnect(self.post_save)
        signals.m2m_changed.disconnect(self.m2m_changed)

    def pre_save(self, sender, instance, raw, using, update_fields, **kwargs):
        self.record(instance, "pre_save", sender, raw, update_fields, in_db(instance))

    def post_save(self, sender, instance, created, raw, using, update_fields, **kwargs):
        self.record(instance, "post_save", sender, raw, created, update_fields, in_db(instance))

    def m2m_changed(self, sender, instance, action, reverse, model, pk_set, using, **kwargs):
        self.record(instance, "m2m_changed", sender, action, reverse, model, sorted(pk_set or ()))

    def record(self, instance, name, sender, *details):
        self.events.append(((instance._meta.label_lower, instance.pk), name,
                            sender._meta.label_lower, *details))


def by_object(events):
    """The events of each object, in the order they were sent."""
    objects = {}
    for key, *event in events:
        objects.setdefault(key, []).append(event)
    return objects


def in_db(instance):
    return type(instance)._base_manager.filter(pk=instance.pk).exists()


@pytest.fixture
def recorder():
    recorder = Recorder()
    recorder.connect()
    yield recorder
    recorder.disconnect()


def load_each(paths, recorder, before=None):
    """Load each dump into the wiped tables (after ``before()``); return the
    events and the database each load gave."""
    results = []
    for path in paths:
        wipe()
        if before is not None:
            before()
        recorder.events.clear()
        load(path)
        results.append((recorder.events[:], db_snapshot()))
    return results


def json_and_py_dumps(tmp_path, **options):
    """The testapp tables as a json dump, a py single file and a py directory."""
    json_path = tmp_path / "dump.json"
    call_command("dumpdata", "testapp", format="json", output=str(json_path), verbosity=0,
                 **options)
    single_file = dump_file(tmp_path / "dump.py", **options)
    return json_path, single_file, dump_dir(tmp_path / "dir", **options)


def add_existing_rows():
    """Rows that the dump's rows update rather than insert."""
    Person.objects.create(pk=3, name="an older Carol")
    Country.objects.create(pk=20, code="XX", name="an older Eesti")


@pytest.mark.parametrize("natural", [False, True], ids=["pks", "natural-foreign-keys"])
@pytest.mark.parametrize("existing", [False, True], ids=["empty", "existing-rows"])
def test_each_object_gets_loaddatas_signals_in_its_order(tmp_path, recorder, natural, existing):
    populate()
    options = {"use_natural_foreign_keys": True} if natural else {}
    dumped = db_snapshot()
    paths = json_and_py_dumps(tmp_path, **options)
    (stock, stock_db), *ours = load_each(paths, recorder, add_existing_rows if existing else None)
    assert any(event[1] == "m2m_changed" for event in stock)
    for events, database in ours:
        assert by_object(events) == by_object(stock)
        assert_same_rows(dumped, database)
        assert_same_rows(without_everything(stock_db), without_everything(database))


def without_everything(snapshot):
    """The json format keeps only milliseconds: leave out the model with times."""
    return {label: rows for label, rows in snapshot.items() if label != "testapp.everything"}


@override_settings(PYSERIALIZER_EXACT_SIGNAL_ORDER=True)
def test_the_exact_order_setting_sends_every_signal_in_loaddatas_order(tmp_path, recorder):
    populate()
    json_path, single_file, _ = json_and_py_dumps(tmp_path)
    (stock, stock_db), (ours, our_db) = load_each([json_path, single_file], recorder)
    assert ours == stock
    assert_same_rows(without_everything(stock_db), without_everything(our_db))


def countries(count):
    Country.objects.bulk_create(
        Country(pk=pk, code="C%d" % pk, name="country %d" % pk) for pk in range(1, count + 1)
    )


def test_rows_with_receivers_are_inserted_in_batches(tmp_path):
    countries(100)
    path = dump_dir(tmp_path / "dump", "testapp.country")
    wipe()

    def keep_raw(sender, instance, raw, **kwargs):
        assert raw

    signals.pre_save.connect(keep_raw)
    try:
        with CaptureQueriesContext(connection) as queries:
            load(path)
    finally:
        signals.pre_save.disconnect(keep_raw)
    assert Country.objects.count() == 100
    # loaddata makes two per row: an UPDATE and an INSERT.
    country_queries = [query for query in queries if "testapp_country" in query["sql"]]
    assert len(country_queries) < 20


def test_the_row_written_is_the_one_pre_save_receivers_left(tmp_path):
    populate()
    path = dump_dir(tmp_path / "dump")
    wipe()

    def shout(sender, instance, **kwargs):
        instance.name = instance.name.upper()

    signals.pre_save.connect(shout, sender=Country)
    try:
        load(path)
    finally:
        signals.pre_save.disconnect(shout, sender=Country)
    assert sorted(Country.objects.values_list("name", flat=True)) == ["BELGIË", "EESTI"]


def load_into_emptied_tables(path):
    """Load as a restore does after emptying every testapp table."""
    tables = [model._meta.db_table for model in (Country, City, Person)]
    with transaction.atomic(), connection.constraint_checks_disabled(), open(path, "rb") as stream:
        waiting = []
        for dumped in Deserializer(stream, handle_forward_references=True, empty_tables=tables):
            dumped.save()
            if dumped.deferred_fields:
                waiting.append(dumped)
        for dumped in waiting:
            dumped.save_deferred_fields()


def test_emptied_tables_are_not_queried_for_existing_rows(tmp_path):
    countries(600)
    path = dump_dir(tmp_path / "dump", "testapp.country")
    wipe()
    with CaptureQueriesContext(connection) as queries:
        load_into_emptied_tables(path)
    assert Country.objects.count() == 600
    assert not [query for query in queries if query["sql"].lstrip().upper().startswith("SELECT")]


def test_rows_a_receiver_made_in_an_emptied_table_are_updated_as_loaddata_does(
    tmp_path, recorder
):
    """A post_save receiver that creates a City for each new Country, as
    profile-creating receivers do, puts rows into an emptied table."""
    populate()
    dumped = db_snapshot()
    json_path, _, restore = json_and_py_dumps(tmp_path)

    def make_city(sender, instance, created, **kwargs):
        if created:
            City.objects.create(pk=instance.pk // 10, name="made", country=instance)

    signals.post_save.connect(make_city, sender=Country)
    try:
        (stock, _), = load_each([json_path], recorder)
        wipe()
        recorder.events.clear()
        load_into_emptied_tables(restore)
    finally:
        signals.post_save.disconnect(make_city, sender=Country)
    assert sorted(City.objects.values_list("name", flat=True)) == ["Eupen", "Tallinn"]
    assert by_object(recorder.events) == by_object(stock)
    assert_same_rows(dumped, db_snapshot())


def country_dump(path, *rows):
    """A single-file dump of testapp.country rows (id, code, name), one per line."""
    path.write_text(
        "# pyserializer dump, format 1. Data only: loaders parse this file, they never run it.\n"
        "from pyserializer.literals import null, true, false, NaN, Infinity\n"
        "FORMAT = 1\n"
        'MODEL = "testapp.country"\n'
        'FIELDS = ["id", "code", "name"]\n'
        "ROWS = [\n" + "".join(row + ",\n" for row in rows) + "]\n"
    )
    return path


def test_a_key_twice_in_an_emptied_table_updates_as_loaddata_does(tmp_path):
    path = country_dump(tmp_path / "twice.py", '[1, "BE", "Belgium"]', '[1, "BE", "Belgique"]')
    load_into_emptied_tables(path)
    assert list(Country.objects.values_list("pk", "name")) == [(1, "Belgique")]


def test_a_row_the_database_refuses_is_named_in_an_emptied_table(tmp_path):
    path = country_dump(tmp_path / "refused.py", '[1, "BE", "Belgium"]', '[2, "BE", "Belgique"]')
    with pytest.raises(Exception, match=r"refused\.py, line 8, model testapp\.country: "
                                        r"the database rejected this row"):
        load_into_emptied_tables(path)
    assert not Country.objects.exists()
