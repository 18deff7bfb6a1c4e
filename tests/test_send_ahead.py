"""A batch's INSERT sent ahead (mysqlclient): the server runs it while the
next batch is read, and nothing else uses the connection before its result
is read, its post_save sent and its links written."""

import pytest
from django.db import connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext

from pyserializer.errors import DumpError
from pyserializer.loading import saving
from pyserializer.loading.objects import DumpedObject
from pyserializer.loading.saving import BATCH_SIZE, BatchSaver
from testapp.models import City, Country

pytestmark = pytest.mark.django_db


def sends_ahead():
    connection.ensure_connection()
    return connection.vendor == "mysql" and hasattr(connection.connection, "send_query")


def countries(saver, numbers, code=lambda number: "C%d" % number):
    for number in numbers:
        saver.add(DumpedObject(Country(pk=number, code=code(number), name="Country %d" % number),
                               {}, {}, "countries.py", number, saver))


@pytest.fixture
def received():
    saved = []

    def receiver(sender, instance, **kwargs):
        saved.append((instance.pk, Country.objects.filter(pk=instance.pk).exists()))

    signals.post_save.connect(receiver, sender=Country)
    yield saved
    signals.post_save.disconnect(receiver, sender=Country)


def test_a_query_waits_for_the_insert_in_flight_and_its_post_save(received):
    saver = BatchSaver("default", [Country._meta.db_table])
    countries(saver, range(1, BATCH_SIZE + 1))
    assert (saver.sent is not None) == sends_ahead()
    if sends_ahead():
        assert received == []
        assert connection.execute_wrappers == [saver.sent.wrapper]
    assert Country.objects.count() == BATCH_SIZE
    assert received == [(number, True) for number in range(1, BATCH_SIZE + 1)]
    countries(saver, range(BATCH_SIZE + 1, BATCH_SIZE + 11))
    saver.flush()
    assert saver.sent is None and connection.execute_wrappers == []
    assert Country.objects.count() == BATCH_SIZE + 10
    assert len(received) == BATCH_SIZE + 10


def test_the_next_batch_completes_the_one_in_flight_first():
    """post_save of a batch comes before pre_save of the next, as without it."""
    order = []
    pre_save = lambda sender, instance, **kwargs: order.append(("pre", instance.pk))  # noqa: E731
    signals.pre_save.connect(pre_save, sender=Country)
    signals.post_save.connect(lambda sender, instance, **kwargs: order.append(
        ("post", instance.pk)), sender=Country, weak=False, dispatch_uid="order")
    try:
        saver = BatchSaver("default", [Country._meta.db_table])
        countries(saver, range(1, 2 * BATCH_SIZE + 1))
        saver.flush()
    finally:
        signals.pre_save.disconnect(pre_save, sender=Country)
        signals.post_save.disconnect(sender=Country, dispatch_uid="order")
    first, second = range(1, BATCH_SIZE + 1), range(BATCH_SIZE + 1, 2 * BATCH_SIZE + 1)
    assert order == ([("pre", pk) for pk in first] + [("post", pk) for pk in first]
                     + [("pre", pk) for pk in second] + [("post", pk) for pk in second])


def test_a_batch_the_database_rejects_in_flight_is_saved_row_by_row_and_the_row_named(received):
    saver = BatchSaver("default", [Country._meta.db_table])
    with pytest.raises(DumpError) as refused:  # when the next query comes, if sent ahead
        countries(saver, range(1, BATCH_SIZE + 1),
                  code=lambda number: "C7" if number == 300 else "C%d" % number)
        assert (saver.sent is not None) == sends_ahead()
        saver.flush()
    assert "countries.py, line 300, model testapp.country" in str(refused.value)
    assert "the database rejected this row" in str(refused.value)
    assert [pk for pk, there in received] == list(range(1, 300))
    assert connection.execute_wrappers == []


def test_a_batch_of_one_statement_is_sent_without_a_savepoint():
    """The server undoes a failed statement by itself: a batch of one INSERT
    costs no SAVEPOINT and RELEASE round trips."""
    if not sends_ahead():
        pytest.skip("no INSERT is sent ahead on this connection")
    saver = BatchSaver("default", [Country._meta.db_table])
    with CaptureQueriesContext(connection) as queries:
        countries(saver, range(1, 2 * BATCH_SIZE + 1))
        saver.flush()
    assert Country.objects.count() == 2 * BATCH_SIZE
    assert not [query for query in queries if "SAVEPOINT" in query["sql"]]


@pytest.mark.parametrize("statement_bytes", [saving.STATEMENT_BYTES, 2000],
                         ids=["one statement", "several statements"])
def test_a_rejected_batch_leaves_none_of_its_rows(statement_bytes, monkeypatch):
    """Whether its INSERT is one statement (which the server undoes) or
    several (which a savepoint undoes), a rejected batch leaves no row
    behind: the rows then saved one by one are all created, not updated."""
    monkeypatch.setattr(saving, "STATEMENT_BYTES", statement_bytes)
    created = []

    def receiver(sender, instance, **kwargs):
        created.append((instance.pk, kwargs["created"]))

    signals.post_save.connect(receiver, sender=Country)
    try:
        saver = BatchSaver("default", [Country._meta.db_table])
        with pytest.raises(DumpError) as refused:
            countries(saver, range(1, BATCH_SIZE + 1),
                      code=lambda number: "C7" if number == 300 else "C%d" % number)
            saver.flush()
    finally:
        signals.post_save.disconnect(receiver, sender=Country)
    assert "countries.py, line 300, model testapp.country" in str(refused.value)
    assert created == [(number, True) for number in range(1, 300)]


def test_a_batch_refused_in_flight_is_named_when_another_rows_query_completes_it():
    """The refusal names the refused row of the earlier batch, not the row
    whose save (or natural-key lookup) made the query."""
    saver = BatchSaver("default", [Country._meta.db_table])
    with pytest.raises(DumpError) as refused:
        countries(saver, range(1, BATCH_SIZE + 1),
                  code=lambda number: "C7" if number == 300 else "C%d" % number)
        city = DumpedObject(City(pk=1, name="Ghent", country_id=1), {}, {}, "cities.py", 9)
        city.save_one()
    assert str(refused.value).startswith("countries.py, line 300, model testapp.country: ")
    assert "cities.py" not in str(refused.value)


def test_an_insert_abandoned_in_flight_leaves_the_connection_usable(received):
    saver = BatchSaver("default", [Country._meta.db_table])
    countries(saver, range(1, BATCH_SIZE + 1))
    saver.abandon()
    assert saver.sent is None and connection.execute_wrappers == []
    assert Country.objects.count() == BATCH_SIZE
    assert received == [] if sends_ahead() else len(received) == BATCH_SIZE


def test_a_column_is_written_as_the_drivers_literal_of_each_value():
    if not sends_ahead():
        pytest.skip("mysqlclient's literals")
    import datetime
    import decimal

    from pyserializer.loading.saving import _literals

    texts = [None, "", "a'b\\c\x00\n\r\x1a\"é\U0001f600", "plain", "'", "NULL"]
    integers = [None, 0, -5, 2**63 - 1, True, False]
    others = texts + integers + [1.5, -0.0, decimal.Decimal("-1.50"), b"\x00'\\",
                                 datetime.date(2024, 1, 2)]
    driver = connection.connection
    for column in (texts, tuple(texts), texts[1:], integers, others, [None, None], []):
        assert _literals(column, driver) == [driver.literal(value) for value in column]
