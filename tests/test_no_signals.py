"""A restore without signals (``--no-signals``, ``PYSERIALIZER_RESTORE_SIGNALS``)
sends no pre_save, post_save or m2m_changed and restores the same database as
one with them; with signals, the rows of models nobody listens to are saved
without model instances (the instance-free lane), the others as before."""

import io
import math
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection, models, transaction
from django.db.models import signals
from django.test import override_settings
from django.test.utils import isolate_apps

from helpers import assert_same_rows, db_snapshot, dump_dir, load, populate, wipe
from pyserializer.loading import deserializer as deserializer_module
from pyserializer.loading.objects import DumpedRow
from pyserializer.loading.saving import set_links
from pyserializer.restoring.run import load_dump, restore
from testapp.models import Author, Book, Country, Everything, Person

pytestmark = pytest.mark.django_db(transaction=True)


class Counts:
    """Counts every pre_save, post_save and m2m_changed by sender, from receivers
    connected for every sender and for single models."""

    def __init__(self):
        self.received = Counter()
        self.connected = [
            (signals.pre_save, None), (signals.post_save, None), (signals.m2m_changed, None),
            (signals.pre_save, Person), (signals.post_save, Book),
            (signals.m2m_changed, Book.coauthors.through),
        ]

    def receive(self, signal, sender, **kwargs):
        self.received[(signal_name(signal), sender._meta.label_lower)] += 1

    def __enter__(self):
        for signal, sender in self.connected:
            signal.connect(self.receive, sender=sender, weak=False)
        return self

    def __exit__(self, *exc_info):
        for signal, sender in self.connected:
            signal.disconnect(self.receive, sender=sender)


def signal_name(signal):
    return {signals.pre_save: "pre_save", signals.post_save: "post_save",
            signals.m2m_changed: "m2m_changed"}[signal]


def restore_dump(manifest, *options):
    call_command("restore_dump", str(manifest), "--noinput", *options, verbosity=0,
                 stdout=io.StringIO())


def assert_new_rows_get_new_ids():
    """After a restore the sequences are past the restored keys (rolled back)."""
    models = (Person, Author, Book)
    restored = [max(model.objects.values_list("pk", flat=True)) for model in models]
    with transaction.atomic():
        new = [Person.objects.create(name="new").pk, Author.objects.create(name="new").pk,
               Book.objects.create(title="new", author=Author.objects.first()).pk]
        transaction.set_rollback(True)
    assert all(key > last for key, last in zip(new, restored))


@pytest.fixture
def populated_dump(tmp_path):
    populate()
    call_command("dump2py", str(tmp_path / "dump"), "--noinput", verbosity=0)
    return tmp_path / "dump" / "restore.py", db_snapshot()


def test_no_signals_sends_none_and_restores_what_a_restore_with_signals_does(populated_dump):
    manifest, dumped = populated_dump
    with Counts() as counts:
        restore_dump(manifest)
    assert counts.received[("pre_save", "testapp.person")] == 2 * 3  # global and for Person
    assert counts.received[("m2m_changed", "testapp.book_coauthors")] == 2 * 2  # pre/post_add
    with_signals = db_snapshot()
    assert_same_rows(dumped, with_signals)
    assert_new_rows_get_new_ids()

    wipe()
    with Counts() as counts:
        restore_dump(manifest, "--no-signals")
    assert counts.received == Counter()
    assert_same_rows(with_signals, db_snapshot())
    assert_new_rows_get_new_ids()


def test_the_setting_restores_without_signals_and_the_option_needs_no_setting(populated_dump):
    manifest, dumped = populated_dump
    with override_settings(PYSERIALIZER_RESTORE_SIGNALS=False), Counts() as counts:
        restore(manifest, interactive=False, verbosity=0)
    assert counts.received == Counter()
    assert_same_rows(dumped, db_snapshot())
    with Counts() as counts:
        restore(manifest, interactive=False, verbosity=0, signals=False)
    assert counts.received == Counter()


def test_the_restore_script_takes_no_signals(populated_dump, monkeypatch):
    """``python DIR/restore.py --no-signals`` reaches the load (``restore`` called in-process)."""
    from pyserializer import restore as script

    manifest, _ = populated_dump
    seen = []
    monkeypatch.setattr("pyserializer.restoring.run.restore",
                        lambda *args, **kwargs: seen.append(kwargs["signals"]))
    monkeypatch.setattr("django.setup", lambda: None)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "testproject.settings")
    script.main(str(manifest), ["--noinput", "--no-signals"])
    script.main(str(manifest), ["--noinput"])
    assert seen == [False, None]


def test_verify_restores_without_signals(populated_dump):
    """Its scratch database's migrate records each migration with signals; the rows, none."""
    manifest, _ = populated_dump
    with Counts() as counts:
        call_command("restore_dump", str(manifest), "--verify", "--no-signals", verbosity=0,
                     stdout=io.StringIO())
    assert {sender for _, sender in counts.received} == {"migrations.migration"}


# Before Django 5.1, an ImageField connects a post_init receiver to its model
# whether or not it has dimension fields: rows of Everything then get instances.
EVERYTHING_INSTANCES = (
    {"testapp.everything"} if signals.post_init.has_listeners(Everything) else set()
)


class Built:
    """Which models' rows a load made instances of, and which it saved without."""

    def __init__(self, monkeypatch):
        self.instances = Counter()
        self.rows = Counter()
        instance = deserializer_module.RowPlan.instance

        def counted_instance(plan, values, line):
            self.instances[plan.label] += 1
            return instance(plan, values, line)

        monkeypatch.setattr(deserializer_module.RowPlan, "instance", counted_instance)
        build = deserializer_module.RowPlan.build

        def counted_build(plan, values, line, *decoded):
            dumped = build(plan, values, line, *decoded)
            if isinstance(dumped, DumpedRow):
                self.rows[plan.label] += 1
            return dumped

        monkeypatch.setattr(deserializer_module.RowPlan, "build", counted_build)


def test_only_models_with_receivers_get_instances_and_exactly_loaddatas_signals(
    populated_dump, monkeypatch,
):
    manifest, dumped = populated_dump
    events = []

    def record(signal, sender, instance, **kwargs):
        events.append((signal_name(signal), sender._meta.label_lower, instance.pk,
                       kwargs.get("created"), kwargs.get("action"), kwargs.get("raw")))

    signals.post_save.connect(record, sender=Person)
    signals.m2m_changed.connect(record, sender=Book.coauthors.through)
    try:
        wipe()
        load(manifest)  # Django's loaddata, instances and signals for every row
        from_loaddata = sorted(events, key=repr)
        events.clear()
        built = Built(monkeypatch)
        restore_dump(manifest)
    finally:
        signals.post_save.disconnect(record, sender=Person)
        signals.m2m_changed.disconnect(record, sender=Book.coauthors.through)
    assert sorted(events, key=repr) == from_loaddata
    assert set(built.instances) == {"testapp.person", "testapp.book"} | EVERYTHING_INSTANCES
    assert built.instances["testapp.person"] == 3 and not built.rows["testapp.person"]
    if not EVERYTHING_INSTANCES:
        assert built.rows["testapp.everything"] == Everything.objects.count() == 5
    assert built.rows["testapp.country"] == 2 and built.rows["testapp.restaurant"] == 1
    assert_same_rows(dumped, db_snapshot())


def test_with_no_signals_every_model_goes_without_instances(populated_dump, monkeypatch):
    manifest, dumped = populated_dump
    built = Built(monkeypatch)
    with Counts():
        restore_dump(manifest, "--no-signals")
    # Content types and permissions are matched by natural key, and Person's
    # forward references are filled in at the end: those rows need instances.
    assert set(built.instances) <= {"contenttypes.contenttype", "auth.permission"} | EVERYTHING_INSTANCES
    assert built.rows["testapp.person"] == 3 and built.rows["testapp.book"] == 2
    assert_same_rows(dumped, db_snapshot())


@pytest.mark.parametrize("natural", [False, True], ids=["pks", "natural-foreign-keys"])
def test_rows_saved_one_by_one_send_no_signals_either(tmp_path, natural):
    """Rows already in a table, and rows whose references are filled in at
    the end, are saved one at a time: without signals, as loaddata saves them."""
    populate()
    options = {"use_natural_foreign_keys": True} if natural else {}
    path = dump_dir(tmp_path / "dump", **options)

    def older_rows():
        wipe()
        Person.objects.create(pk=3, name="an older Carol")
        Country.objects.create(pk=20, code="XX", name="an older Eesti")
        book = Book.objects.create(pk=1, title="older", author=Author.objects.create(pk=9))
        book.coauthors.set([Author.objects.create(pk=8)])

    older_rows()
    load(path)
    from_loaddata = db_snapshot()
    older_rows()
    with Counts() as counts, transaction.atomic():
        load_dump(str(path), connection, signals=False)
    assert counts.received == Counter()
    assert_same_rows(from_loaddata, db_snapshot())


@isolate_apps("testapp")
def test_links_set_without_signals_are_those_the_manager_sets():
    """``set_links`` without signals against the manager's ``set``, for a plain
    and a symmetrical field, from links there already to other ones."""

    class Friend(models.Model):
        friends = models.ManyToManyField("self")
        likes = models.ManyToManyField("self", symmetrical=False, related_name="liked_by")

        class Meta:
            app_label = "testapp"
            db_table = "nosig_friend"

    class Dumped:
        def __init__(self, obj, m2m_data):
            self.object, self.m2m_data = obj, m2m_data

    tables = [Friend, Friend.friends.through, Friend.likes.through]
    with connection.schema_editor() as editor:
        editor.create_model(Friend)
    try:
        results = []
        for quietly in (False, True):
            for model in reversed(tables):
                model._base_manager.all().delete()
            one, two, three, four = [Friend.objects.create(pk=pk) for pk in (1, 2, 3, 4)]
            one.friends.set([two, three])
            four.friends.set([one])
            one.likes.set([two, three])
            three.likes.set([one])
            dumped = Dumped(one, {"friends": [3, 4, 4], "likes": [1, 3]})
            received = []

            def receive(**kwargs):
                received.append(kwargs["action"])

            signals.m2m_changed.connect(receive, weak=False)
            try:
                set_links(dumped, "default", signals=not quietly)
            finally:
                signals.m2m_changed.disconnect(receive)
            assert bool(received) is not quietly
            assert dumped.m2m_data is None
            results.append([
                sorted(model._base_manager.values_list("from_friend_id", "to_friend_id"))
                for model in tables[1:]
            ])
        assert results[0] == results[1]
        assert results[1][0] == [(1, 3), (1, 4), (3, 1), (4, 1)]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Friend)


def test_negative_zero_goes_without_an_instance_as_negative_zero(tmp_path, monkeypatch):
    """-0.0 stays -0.0 where the database keeps it (PostgreSQL; see test_negative_zero)."""
    Everything.objects.create(pk=1)
    Everything.objects.create(pk=2, floating=0.0)
    with connection.cursor() as cursor:  # PostgreSQL reads the text "-0" as -0.0
        cursor.execute("UPDATE testapp_everything SET floating = %s WHERE id = 1",
                       ["-0" if connection.vendor == "postgresql" else -0.0])
    dumped = db_snapshot()
    call_command("dump2py", str(tmp_path / "dump"), "--noinput", verbosity=0)
    wipe()
    built = Built(monkeypatch)
    restore_dump(tmp_path / "dump" / "restore.py", "--no-signals")
    if not EVERYTHING_INSTANCES:
        assert built.rows["testapp.everything"] == 2 and not built.instances["testapp.everything"]
    assert_same_rows(dumped, db_snapshot())
    signs = {pk: math.copysign(1.0, value)
             for pk, value in Everything.objects.values_list("pk", "floating")}
    assert signs == {1: -1.0 if connection.vendor == "postgresql" else 1.0, 2: 1.0}
