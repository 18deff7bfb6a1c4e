"""Property tests: whatever rows hypothesis puts in the database survive dump -> wipe ->
load, field by field, exactly; as a single file, as a directory of small chunks, and
through serializers.serialize/deserialize; with USE_TZ on and off. A restore's load
goes both ways: without model instances (nobody receives the models' signals) and,
with a receiver connected, through instances and their signals."""

import contextlib
import datetime
import decimal
import os
import tempfile
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.db import connection, models, transaction
from django.db.models import signals
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpers import assert_same_rows, blocks, chunk_names, db_snapshot, dump_dir, dump_file, load, wipe
from pyserializer.loading.deserializer import RowPlan
from pyserializer.loading.objects import DumpedRow
from pyserializer.restoring.run import load_dump
from testapp.models import (
    Author, Book, City, Club, Country, Everything, Left, Membership, Person, Place,
    Restaurant, Right, Tag,
)

# Keys up to each column's maximum: MariaDB's counters need setting back after.
pytestmark = pytest.mark.usefixtures("auto_increment_reset")

CHUNK_SIZE = 2
FORMS = ["file", "directory", "api", "restore", "restore-receivers", "restore-jobs"]
# Loading a dump of empty tables is fine; Django's loaddata warns about it all the same.
EMPTY_DUMP_WARNING = "ignore:No fixture data found:RuntimeWarning"
# PYSERIALIZER_EXAMPLES=500 make test-sqlite: a deeper search than the default.
# No "explain" phase: on a failure it replays the test for each part of the
# example, minutes and gigabytes for a test that restores a database.
HYPOTHESIS = settings(
    max_examples=int(os.environ.get("PYSERIALIZER_EXAMPLES", 25)), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[phase for phase in Phase if phase is not Phase.explain],
)


# ---------------------------------------------------------------------------
# What each backend can store.


def can_store_nul():
    return connection.vendor != "postgresql"


def float_strategy():
    # MariaDB stores neither NaN nor infinities; SQLite turns NaN into NULL.
    vendor = connection.vendor
    return st.floats(allow_nan=vendor == "postgresql", allow_infinity=vendor != "mysql")


def uuid_strategy():
    # MariaDB's UUID type refuses some UUIDs that are not of RFC 4122's versions
    # (e.g. 7fadb697-4c0b-ccca-8064-a89e98c35629): keep to versions 1 to 5 there.
    if connection.vendor == "mysql":
        return st.one_of(
            st.just(uuid.UUID(int=0)),
            st.sampled_from([1, 3, 4, 5]).flatmap(lambda version: st.uuids(version=version)),
        )
    return st.uuids()


def decimal_strategy():
    """Decimals fitting max_digits=20, decimal_places=6, with exact digits. SQLite
    keeps decimals as doubles: there, at most 15 significant digits."""
    max_digits = 15 if connection.vendor == "sqlite" else 20

    @st.composite
    def build(draw):
        places = draw(st.integers(0, 6))
        digits = min(max_digits, 14 + places)
        mantissa = draw(st.integers(-(10**digits - 1), 10**digits - 1))
        return decimal.Decimal(mantissa).scaleb(-places)

    return build()


# ---------------------------------------------------------------------------
# Values.

AWKWARD_CHARACTERS = [
    '"', "'", "\\", "\r", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x1b", "\x1c", "\x7f", "\x85",
    "\xa0", "\u2028", "\u2029", "\ufeff", "\U0001F600", "\U00010348", "#", "[", "]", ",",
    "\u00e9", "e\u0301", "\\u0041", "\\n",
]
LOOKS_LIKE_SOMETHING = [
    "null", "None", "true", "NaN", "Infinity", "-0", "1e5", '{"a": 1}', "[1, 2]", '"quoted"',
    "__import__('os').system('true')", "\"], [1, 2, 3],", "# comment", "\\x00",
]


def text_strategy(max_size):
    excluded = "" if can_store_nul() else "\x00"
    characters = st.one_of(
        st.characters(exclude_categories=("Cs",), exclude_characters=excluded),
        st.sampled_from([c for c in AWKWARD_CHARACTERS if len(c) == 1]),
    )
    return st.one_of(
        st.text(characters, max_size=max_size),
        st.sampled_from([s for s in AWKWARD_CHARACTERS + LOOKS_LIKE_SOMETHING if len(s) <= max_size]),
    )


def json_strategy():
    """Any JSON value; SQL NULL (None) and JSON null (Value(None, JSONField())) at the top."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**64), 2**64),
        st.floats(allow_nan=False, allow_infinity=False), text_strategy(20),
    )
    keys = text_strategy(10)
    values = st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
        max_leaves=12,
    )
    return st.one_of(
        st.none(),
        st.just(models.Value(None, models.JSONField())),
        values,
    )


def datetime_strategy(use_tz):
    bounds = dict(min_value=datetime.datetime(1000, 1, 2), max_value=datetime.datetime(9999, 12, 30))
    if use_tz:
        return st.datetimes(timezones=st.timezones(), **bounds)
    return st.datetimes(**bounds)


def nullable(strategy):
    return st.none() | strategy


def ints(low, high):
    """Integers in [low, high], the bounds themselves often."""
    return st.one_of(st.sampled_from([low, high]), st.integers(low, high))


def everything_values(use_tz):
    return st.fixed_dictionaries({
        "small": nullable(ints(-(2**15), 2**15 - 1)),
        "integer": nullable(ints(-(2**31), 2**31 - 1)),
        "big": nullable(ints(-(2**63), 2**63 - 1)),
        "positive_small": nullable(ints(0, 2**15 - 1)),
        "positive": nullable(ints(0, 2**31 - 1)),
        "positive_big": nullable(ints(0, 2**63 - 1)),
        "boolean": st.booleans(),
        "null_boolean": nullable(st.booleans()),
        "char": nullable(text_strategy(100)),
        "text": nullable(text_strategy(300)),
        "slug": nullable(text_strategy(50)),
        "email": nullable(st.emails().filter(lambda e: len(e) <= 254) | text_strategy(50)),
        "url": nullable(text_strategy(200)),
        "file_path": nullable(text_strategy(200)),
        "decimal": nullable(decimal_strategy()),
        "floating": nullable(float_strategy()),
        "date": nullable(st.dates()),
        "time": nullable(st.times()),
        "datetime": nullable(datetime_strategy(use_tz)),
        "duration": nullable(st.timedeltas(
            min_value=datetime.timedelta(days=-100000), max_value=datetime.timedelta(days=100000))),
        "uuid": nullable(uuid_strategy()),
        "binary": nullable(st.binary(max_size=100)),
        "ip": nullable(st.ip_addresses().map(str)),
        "file": nullable(text_strategy(100)),
        "image": nullable(text_strategy(100)),
        "json": json_strategy(),
        "integers": nullable(st.lists(ints(-(2**63), 2**63 - 1), max_size=5)),
    })


# ---------------------------------------------------------------------------
# Dump, wipe, load.


@contextlib.contextmanager
def example_transaction():
    """Each hypothesis example starts from empty tables and leaves nothing behind."""
    with transaction.atomic():
        wipe()
        yield
        transaction.set_rollback(True)


def dump_wipe_load(form, tmp):
    """Dump the testapp tables in `form`, wipe them, load the dump back."""
    if form == "api":
        objects = [
            obj for model in (Everything, Person, Author, Book, Club, Membership, Left, Right,
                              Place, Restaurant, Tag, Country, City)
            for obj in model._base_manager.order_by("pk")
        ]
        text = serializers.serialize("py", objects)
        assert isinstance(text, str)
        wipe()
        # As loaddata does: references may point forward (MariaDB checks them at once).
        with connection.constraint_checks_disabled():
            for deserialized in serializers.deserialize("py", text, handle_forward_references=True):
                deserialized.save()
        connection.check_constraints()
        return
    if form == "file":
        path = dump_file(Path(tmp) / "dump.py")
        wipe()
        load(path)
        return
    path = dump_dir(Path(tmp) / "dump")
    if form.startswith("restore"):
        wipe()
        restore_load(path, receivers=form == "restore-receivers",
                     jobs=3 if form == "restore-jobs" else 1)
        return
    for name in chunk_names(path):
        for block in blocks(path.parent / name):
            assert len(block["rows"]) <= CHUNK_SIZE, f"{name} has more rows than the chunk size"
    wipe()
    load(path)
    # Deterministic output: a dump of what was loaded has the same chunk files.
    again = dump_dir(Path(tmp) / "again")
    assert chunk_names(again) == chunk_names(path)
    for name in chunk_names(path):
        assert (again.parent / name).read_bytes() == (path.parent / name).read_bytes(), name


def has_init_receivers(model):
    """Before Django 5.1, every model with an ImageField has a post_init receiver."""
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def restore_load(path, receivers, jobs):
    """A restore's load of ``path``: without instances, or (``receivers``)
    with a receiver of every model's pre_save, through instances; its chunks
    read by ``jobs - 1`` worker processes (which decode the values)."""
    built = []
    build = RowPlan.build

    def counted_build(plan, values, line, *decoded):
        dumped = build(plan, values, line, *decoded)
        if not has_init_receivers(plan.model):
            built.append(isinstance(dumped, DumpedRow))
        return dumped

    def receiver(**kwargs):
        pass

    if receivers:
        signals.pre_save.connect(receiver)
    try:
        with mock.patch.object(RowPlan, "build", counted_build):
            load_dump(str(path), connection, jobs=jobs)
    finally:
        signals.pre_save.disconnect(receiver)
    # Rows went without instances exactly when nobody received their signals
    # (rows of a model with init receivers always get instances).
    if built:
        assert any(built) is not receivers


def assert_survives(form):
    before = db_snapshot()
    with tempfile.TemporaryDirectory() as tmp:
        dump_wipe_load(form, tmp)
    assert_same_rows(before, db_snapshot())


# ---------------------------------------------------------------------------
# The tests.


@pytest.mark.django_db
@pytest.mark.filterwarnings(EMPTY_DUMP_WARNING)
@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ", "naive"])
@pytest.mark.parametrize("form", FORMS)
@HYPOTHESIS
@given(data=st.data())
def test_every_field_value_survives_dump_and_load(form, use_tz, data):
    with override_settings(USE_TZ=use_tz, PYSERIALIZER_MAX_ROW_COUNT=CHUNK_SIZE), \
            example_transaction():
        rows = data.draw(st.dictionaries(st.integers(1, 2**31 - 1), everything_values(use_tz),
                                         max_size=5), label="rows")
        for pk, values in rows.items():
            Everything.objects.create(pk=pk, **values)
        assert Everything.objects.count() == len(rows)
        assert_survives(form)


def draw_relations(draw):
    """Rows for every relation model, with references drawn among the rows that exist."""
    name = text_strategy(30)
    person_pks = draw(st.lists(ints(1, 2**63 - 1), unique=True, max_size=5), label="persons")
    persons = [Person.objects.create(pk=pk, name=draw(name)) for pk in person_pks]
    for person in persons:  # any person, itself included, or nobody
        person.mentor = draw(st.none() | st.sampled_from(persons))
        person.save()

    linked = draw(st.lists(st.sampled_from(persons), unique=True), label="o2o") if persons else []
    authors = [Author.objects.create(name=draw(name), person=draw(st.none() | st.just(p)))
               for p in linked]
    authors += [Author.objects.create(name=draw(name)) for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(0, 4))):
        book = Book.objects.create(title=draw(name), author=draw(st.sampled_from(authors)))
        book.coauthors.set(draw(st.lists(st.sampled_from(authors), unique=True)))

    for _ in range(draw(st.integers(0, 2))):
        club = Club.objects.create(name=draw(name))
        for person in draw(st.lists(st.sampled_from(persons), unique=True)) if persons else []:
            Membership.objects.create(club=club, person=person, since=draw(st.dates()),
                                      role=draw(text_strategy(50)))

    lefts = [Left.objects.create(name=draw(name)) for _ in range(draw(st.integers(1, 3)))]
    rights = [Right.objects.create(name=draw(name), left=draw(st.sampled_from(lefts)))
              for _ in range(draw(st.integers(0, 3)))]
    for left in lefts:
        left.right = draw(st.none() | st.sampled_from(rights)) if rights else None
        left.save()

    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            Restaurant.objects.create(name=draw(name), serves_pizza=draw(st.booleans()),
                                      seats=draw(st.none() | st.integers(0, 2**31 - 1)))
        else:
            Place.objects.create(name=draw(name), address=draw(text_strategy(200)))

    targets = [*persons, *Book.objects.all(), *Place.objects.all()]
    for target in draw(st.lists(st.sampled_from(targets))) if targets else []:
        Tag.objects.create(label=draw(text_strategy(50)), content_object=target)

    codes = draw(st.lists(st.text("ABCXYZ\u00c9\U0001F600", min_size=1, max_size=4),
                          unique=True, max_size=3))
    countries = [Country.objects.create(code=code, name=draw(name)) for code in codes]
    for _ in range(draw(st.integers(0, 3)) if countries else 0):
        City.objects.create(name=draw(name), country=draw(st.sampled_from(countries)))


@pytest.mark.django_db
@pytest.mark.parametrize("form", FORMS)
@HYPOTHESIS
@given(data=st.data())
def test_relations_survive_dump_and_load(form, data):
    ContentType.objects.get_for_models(Person, Book, Place)  # not wiped: created outside examples
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=CHUNK_SIZE), example_transaction():
        draw_relations(data.draw)
        assert_survives(form)
