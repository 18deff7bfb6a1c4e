"""While rows stream through a load or a dump, the garbage collector leaves
out the objects that existed before and collects the young ones less often
(pyserializer.collecting); after it, it is as it was, also after an error,
and a load inside a load changes nothing more."""

import gc

import pytest
from django.db import connection, transaction
from django.db.models import signals

from helpers import dump_dir, populate, wipe
from pyserializer.collecting import YOUNG_OBJECTS, fewer_collections
from pyserializer.dumping import serializer
from pyserializer.restoring.run import load_dump
from testapp.models import Country


@pytest.fixture
def thresholds():
    """Python's thresholds before the test, set again after it."""
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_inside_the_block_fewer_collections_after_it_as_before(thresholds):
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG_OBJECTS, 10, 10)
        assert gc.get_freeze_count() > 0
        with fewer_collections():
            assert gc.get_threshold() == (YOUNG_OBJECTS, 10, 10)
        assert gc.get_freeze_count() > 0, "the inner block unfroze the outer one's objects"
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_after_an_error_as_before(thresholds):
    gc.set_threshold(700, 10, 10)
    with pytest.raises(ZeroDivisionError), fewer_collections():
        1 / 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_a_project_that_collects_less_often_or_never_keeps_its_choice(thresholds):
    for chosen in [(50_000, 20, 20), (0, 10, 10)]:
        gc.set_threshold(*chosen)
        with fewer_collections():
            assert gc.get_threshold() == chosen
        assert gc.get_threshold() == chosen


@pytest.mark.django_db(transaction=True)
def test_a_load_and_a_dump_stream_their_rows_collecting_less_often(tmp_path, thresholds,
                                                                   monkeypatch):
    gc.set_threshold(700, 10, 10)
    populate()
    seen_dumping = []
    lines = serializer._lines

    def recorded_lines(block, rows):
        seen_dumping.append(gc.get_threshold()[0])
        return lines(block, rows)

    monkeypatch.setattr(serializer, "_lines", recorded_lines)
    path = dump_dir(tmp_path / "dump")
    assert seen_dumping and set(seen_dumping) == {YOUNG_OBJECTS}
    seen_loading = []

    def receive(sender, instance, **kwargs):
        seen_loading.append(gc.get_threshold()[0])

    signals.pre_save.connect(receive, sender=Country)
    try:
        with transaction.atomic():
            wipe()
            load_dump(str(path), connection)
    finally:
        signals.pre_save.disconnect(receive, sender=Country)
    assert seen_loading and set(seen_loading) == {YOUNG_OBJECTS}
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
