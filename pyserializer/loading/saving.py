"""Batched saves: the last step of a load.

``loaddata`` saves one object at a time: ``pre_save``, an UPDATE attempt, an
INSERT, ``post_save``, then the many-to-many links with their
``m2m_changed``. Here new rows are queued and saved batch by batch instead
(the rule is documented in docs/format.rst, "Batched inserts"): ``pre_save``
for each row, one multi-row INSERT, ``post_save`` for each row, then the
links of the whole batch. Each row gets the signals loaddata sends it, in
the same order; only the interleaving of different rows of a batch differs.
Rows already in the table are saved one by one, as loaddata saves them.
Values are inserted raw, as ``save(raw=True)`` does, so ``auto_now`` fields
keep the dumped values.

A restore may send no signals at all (``--no-signals``, or the setting
``PYSERIALIZER_RESTORE_SIGNALS = False``), as ``pg_restore`` runs no code of
the site's: rows are then written as here, without ``pre_save``,
``post_save`` or ``m2m_changed``. A row whose model gets no signal (none
sent, or nobody listening) needs no model instance: the restore hands it over
as its values alone (``DumpedRow``, the instance-free lane).
"""

import functools
import math
import operator
from collections.abc import Callable, Collection, Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Q, signals

from ..errors import DumpError, Kind
from ..tables import every_row, keys_of
from ..values.dumpedtext import copies
from ..values.dbvalues import db_values

if TYPE_CHECKING:
    from .objects import DumpedObject

BATCH_SIZE = 500

# The SQL around one parameter: "%s", or a function of the value that makes it.
Placeholder = str | Callable[[Any], str]


def restore_signals_setting() -> bool:
    """Whether a restore sends the save signals when not told (``--no-signals``):
    the setting ``PYSERIALIZER_RESTORE_SIGNALS``, true unless set."""
    return bool(getattr(settings, "PYSERIALIZER_RESTORE_SIGNALS", True))


def receives_signals(model: type[models.Model]) -> bool:
    """Whether saving a row of ``model`` sends a signal that someone receives:
    ``pre_save`` or ``post_save`` for it (receivers for the model or for every
    sender alike), or ``m2m_changed`` for one of its many-to-many tables."""
    if not model._meta.concrete_model._meta.auto_created and (
        signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)
    ):
        return True
    return any(
        signals.m2m_changed.has_listeners(field.remote_field.through)
        for field in model._meta.local_many_to_many
    )


def batchable(model: type[models.Model]) -> bool:
    """Whether rows of ``model`` may be saved in batches, signals sent."""
    if getattr(settings, "PYSERIALIZER_EXACT_SIGNAL_ORDER", False) and receives_signals(model):
        return False
    # A symmetrical link is written in both directions: loaddata then sends no
    # m2m_changed for a row whose links were all written by an earlier row.
    return not any(
        field.remote_field.symmetrical
        and signals.m2m_changed.has_listeners(field.remote_field.through)
        for field in model._meta.local_many_to_many
    )


def takes_values_alone(model: type[models.Model], using: str) -> bool:
    """Whether rows of ``model`` can be inserted as their values alone: a
    primary key of one column, and no field that wants SQL of its own
    around its value (GIS geometries are inserted through their instances)."""
    opts = model._meta
    connection = connections[using]
    return opts.pk in opts.local_concrete_fields and all(
        _placeholder(field, connection) is not None for field in opts.local_concrete_fields
    )


class BatchSaver:
    """Queues new rows of one model at a time and saves them together.

    ``empty_tables`` names tables that were empty when the load started (the
    caller emptied them in the same transaction): batches of their models skip
    the query for rows already there, and only a rejected INSERT makes them
    look (see ``_save_one_by_one``). Without ``signals`` (a restore's
    ``--no-signals``) no row gets any. A batch holds rows of one model, either
    all with instances or all without (``DumpedRow``).

    Where the driver can send a statement and read its result later
    (mysqlclient), a batch's INSERT is sent ahead (``_SentInsert``): the
    server runs it while the next batch is read, as ``mysql`` streams a dump
    to the server. It is completed (its result read, then its ``post_save``
    and links) before anything else uses the connection: the next batch, a
    ``flush``, or any query (an execute wrapper on the connection).
    """

    def __init__(self, using: str, empty_tables: Iterable[str] = (), signals: bool = True) -> None:
        self.using = using
        self.empty_tables = frozenset(empty_tables)
        self.signals = signals
        self.pending: list["DumpedObject"] = []
        self.model: Any = None
        self.kind: Any = None
        self.sent: _SentInsert | None = None

    def add(self, dumped: "DumpedObject") -> None:
        model = dumped.model
        if model is not self.model or type(dumped) is not self.kind:
            self._save_pending()
            self.model = model
            self.kind = type(dumped)
        self.pending.append(dumped)
        if len(self.pending) >= BATCH_SIZE:
            self._save_pending()

    def flush(self) -> None:
        """Save every queued row; nothing is left in flight."""
        self._save_pending()
        self.complete()

    def complete(self) -> None:
        """Finish the INSERT sent ahead, if one is in flight: read its result,
        then send its ``post_save`` and write its links; a batch the database
        rejected is saved row by row (``_save_one_by_one``)."""
        sent, self.sent = self.sent, None
        if sent is None:
            return
        sent.connection.execute_wrappers.remove(sent.wrapper)
        try:
            sent.driver.read_query_result()
        except Exception:
            if sent.savepoint is not None:
                transaction.savepoint_rollback(sent.savepoint, using=self.using)
            self._save_one_by_one(sent.sender, sent.model, sent.batch)
            return
        if sent.savepoint is not None:
            transaction.savepoint_commit(sent.savepoint, using=self.using)
        self._saved(sent.sender, sent.model, sent.batch, sent.objects)

    def abandon(self) -> None:
        """Leave the connection usable after an error or an interruption: read
        the result of an INSERT in flight, whatever it is; the transaction
        then rolls back."""
        sent, self.sent = self.sent, None
        if sent is not None:
            sent.connection.execute_wrappers.remove(sent.wrapper)
            try:
                sent.driver.read_query_result()
            except Exception:
                pass

    def _save_pending(self) -> None:
        self.complete()
        pending, self.pending = self.pending, []
        if not pending:
            return
        model = self.model._meta.concrete_model
        if model._meta.db_table in self.empty_tables:
            self._save(model, pending)
            return
        try:
            existing = set(keys_of(
                every_row(model, self.using).filter(pk__in=[dumped.key for dumped in pending])
            ))
        except OverflowError:  # a key the driver cannot send: saved alone, it is named
            for dumped in pending:
                dumped.save_one(using=self.using)
            return
        new = []
        for dumped in pending:
            if dumped.key in existing:
                dumped.save_one(using=self.using)
            else:
                new.append(dumped)
        if new:
            self._save(model, new)

    def _save(self, model: type[models.Model], batch: list["DumpedObject"]) -> None:
        """pre_save for each row, one INSERT, post_save for each row, the links.
        Rows without instances (``DumpedRow``) get no signal and keep none.
        The INSERT may be sent ahead, the rest then done by ``complete``."""
        instances = self.kind.has_instance
        objects = [dumped.object for dumped in batch] if instances else []
        sender = self.model
        self._send(signals.pre_save, sender, objects, update_fields=None)
        fields = model._meta.local_concrete_fields
        driver = _sends_ahead(connections[self.using], fields)
        if driver is not None:
            self._send_ahead(driver, sender, model, batch, objects)
            return
        try:
            with transaction.atomic(using=self.using):
                _insert_rows(model, fields, batch, self.using)
        except Exception:
            self._save_one_by_one(sender, model, batch)
            return
        self._saved(sender, model, batch, objects)

    def _send_ahead(self, driver: Any, sender: Any, model: type[models.Model],
                    batch: list["DumpedObject"], objects: list[Any]) -> None:
        """Send the batch's INSERT, and have any other query on the
        connection complete it first. A batch of several statements gets a
        savepoint first (all but its last statement run now), so that a
        rejected one undoes them all. One statement needs none, and saves
        the server two round trips: InnoDB undoes a failed statement by
        itself (an error that undoes more, a deadlock, ends the transaction,
        savepoints included), and a table without transactions keeps what a
        statement wrote, savepoint or not."""
        connection = connections[self.using]
        fields = model._meta.local_concrete_fields
        savepoint = None
        try:
            columns = _database_columns(fields, *_batch_columns(fields, batch), connection)
            statements = _insert_statements(model, fields, columns, driver, connection)
            if len(statements) > 1:
                savepoint = transaction.savepoint(using=self.using)
                for statement in statements[:-1]:
                    driver.query(statement)
            driver.send_query(statements[-1])
        except Exception:
            if savepoint is not None:
                transaction.savepoint_rollback(savepoint, using=self.using)
            self._save_one_by_one(sender, model, batch)
            return
        wrapper = self._complete_first
        connection.execute_wrappers.append(wrapper)
        self.sent = _SentInsert(sender, model, batch, objects, savepoint, driver, connection,
                                wrapper)

    def _complete_first(self, execute: Callable[..., Any], sql: Any, params: Any, many: bool,
                        context: Any) -> Any:
        """The execute wrapper: a query waits for the INSERT in flight."""
        self.complete()
        return execute(sql, params, many, context)

    def _saved(self, sender: Any, model: type[models.Model], batch: list["DumpedObject"],
               objects: list[Any]) -> None:
        """After a batch's INSERT: its instances are saved, post_save, links."""
        for obj in objects:
            obj._state.adding = False
            obj._state.db = self.using
        self._send(signals.post_save, sender, objects, created=True, update_fields=None)
        self._save_links(model, batch)

    def _send(self, signal: Any, sender: Any, objects: Iterable[Any], **kwargs: Any) -> None:
        """Send ``signal`` for each object, as Model.save_base does."""
        if (
            not self.signals
            or sender._meta.concrete_model._meta.auto_created
            or not signal.has_listeners(sender)
        ):
            return
        for obj in objects:
            signal.send(sender=sender, instance=obj, raw=True, using=self.using, **kwargs)

    def _save_one_by_one(
        self, sender: Any, model: type[models.Model], batch: list["DumpedObject"],
    ) -> None:
        """After the database rejected a batch's INSERT: save each row as
        loaddata does (an UPDATE, else an INSERT), but for the pre_save it had.
        A row that is there already (made during the load by a receiver, or
        an earlier row with the same key) is updated; a row the database
        refuses is named."""
        for dumped in batch:
            obj = dumped.object
            try:
                updated = obj._save_table(raw=True, cls=model, using=self.using)
            except Exception as exc:
                raise dumped.rejected(exc) from exc
            obj._state.adding = False
            obj._state.db = self.using
            self._send(signals.post_save, sender, [obj], created=not updated, update_fields=None)
            set_links(dumped, self.using, self.signals)

    def _save_links(self, model: type[models.Model], batch: list["DumpedObject"]) -> None:
        """Insert the links of each many-to-many field, between the rows'
        m2m_changed "pre_add" and "post_add" (as the field's manager does)."""
        names = dict.fromkeys(name for dumped in batch for name in (dumped.m2m_data or ()))
        for name in names:
            field = model._meta.get_field(name)
            through = field.remote_field.through
            source = through._meta.get_field(field.m2m_field_name())
            target = through._meta.get_field(field.m2m_reverse_field_name())
            added: list[tuple[Any, Any]] = []
            for dumped in batch:
                keys = dumped.m2m_data.get(name) if dumped.m2m_data else None
                if keys:
                    added.append((dumped, list(dict.fromkeys(keys))))
            send = self.signals and signals.m2m_changed.has_listeners(through)
            if send:
                added = [(dumped, {target.get_prep_value(key) for key in keys})
                         for dumped, keys in added]
                self._send_m2m_changed("pre_add", field, added)
            links = [(dumped.key, key) for dumped, keys in added for key in keys]
            if links:
                try:
                    _insert_columns(through, [source, target], list(zip(*links)), (), self.using)
                except Exception as exc:
                    first = batch[0]
                    raise DumpError(
                        "the database rejected the %s links of the rows from here to line %d: %s"
                        % (name, batch[-1].line, exc),
                        first.path,
                        first.line,
                        model._meta.label_lower,
                        kind=Kind.ROW_REJECTED,
                    ) from exc
            if send:
                self._send_m2m_changed("post_add", field, added)
        for dumped in batch:
            dumped.m2m_data = None

    def _send_m2m_changed(
        self, action: str, field: Any, added: Iterable[tuple["DumpedObject", Any]],
    ) -> None:
        for dumped, pk_set in added:
            signals.m2m_changed.send(
                sender=field.remote_field.through, action=action, instance=dumped.object,
                reverse=False, model=field.remote_field.model, pk_set=pk_set, using=self.using,
            )


def save_without_signals(dumped: "DumpedObject", using: str) -> None:
    """What ``DeserializedObject.save`` does for a row, without its signals:
    the UPDATE, else the INSERT, that ``save(raw=True)`` makes, then its
    many-to-many links."""
    obj = dumped.object
    with transaction.mark_for_rollback_on_error(using):
        obj._save_table(raw=True, cls=obj._meta.concrete_model, using=using)
    obj._state.db = using
    obj._state.adding = False
    set_links(dumped, using, signals=False)


def set_links(dumped: "DumpedObject", using: str, signals: bool) -> None:
    """Set the row's many-to-many links as its field's manager ``set`` does
    (which sends ``m2m_changed``), or, without ``signals``, make the same
    changes to the link table (``_replace_links``)."""
    obj = dumped.object
    for name, keys in (dumped.m2m_data or {}).items():
        if signals:
            getattr(obj, name).set(keys)
        else:
            _replace_links(obj._meta.get_field(name), obj.pk, keys, using)
    dumped.m2m_data = None


def _replace_links(field: Any, key: Any, targets: Iterable[Any], using: str) -> None:
    """The links of row ``key`` become those to ``targets``: the others are
    deleted, the missing ones inserted, and for a symmetrical field their
    mirror images too, as the manager's ``remove`` and ``add`` do."""
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name())
    target = through._meta.get_field(field.m2m_reverse_field_name())
    symmetrical = field.remote_field.symmetrical
    wanted = {target.get_prep_value(other) for other in targets}
    links = every_row(through, using)
    there = set(links.filter(**{source.attname: key}).values_list(target.attname, flat=True))
    gone = there - wanted
    if gone:
        removed = Q(**{source.attname: key, target.attname + "__in": gone})
        if symmetrical:
            removed |= Q(**{target.attname: key, source.attname + "__in": gone})
        links.filter(removed).delete()
    new = wanted - there
    rows = [(key, other) for other in new]
    if symmetrical and new:
        mirrored = set(links.filter(**{target.attname: key, source.attname + "__in": new})
                       .values_list(source.attname, flat=True))
        rows += [(other, key) for other in new - mirrored]
    if rows:
        _insert_columns(through, [source, target], list(zip(*rows)), (), using)


def _insert_rows(
    model: type[models.Model], fields: Sequence[Any], batch: Sequence["DumpedObject"], using: str,
) -> None:
    """INSERT the rows' raw values: a column of values per field, from the
    instances' ``__dict__`` or from rows without instances (``DumpedRow.row``,
    already in the fields' order); through the instances themselves for a
    field that wants SQL of its own."""
    connection = connections[using]
    if batch[0].has_instance and None in [_placeholder(field, connection) for field in fields]:
        objects = [dumped.object for dumped in batch]
        size = max(1, connection.ops.bulk_batch_size(fields, objects))
        rows = every_row(model, using)
        for start in range(0, len(objects), size):
            rows._insert(objects[start : start + size], fields=fields, using=using, raw=True)
        return
    _insert_columns(model, fields, *_batch_columns(fields, batch), using)


def _batch_columns(
    fields: Sequence[Any], batch: Sequence["DumpedObject"],
) -> tuple[list[Sequence[Any]], Collection[int]]:
    """The values of a batch, a column per field, and the indexes of the
    columns of dumped texts that the database takes undecoded."""
    if not batch[0].has_instance:
        return _lane_columns(fields, batch)
    attributes = [dumped.object.__dict__ for dumped in batch]
    columns: list[Sequence[Any]] = [
        list(map(itemgetter(field.attname), attributes)) for field in fields]
    return columns, _kept_texts(fields, columns, batch)


def _lane_columns(
    fields: Sequence[Any], batch: Sequence["DumpedObject"],
) -> tuple[list[Sequence[Any]], Collection[int]]:
    """The columns of a batch of rows without instances (``DumpedRow``), and
    the indexes of those whose values the database takes from the dumped
    texts (``RowPlan.sent_texts``), which are in their place: put there by
    the read-ahead worker that checked them (``texts_sent``), or here. When
    a column's check fails, or the batch mixes rows a worker checked with
    rows it did not, the batch's values kept as dumped are decoded and it
    takes the row path."""
    columns: list[Sequence[Any]] = list(zip(*[dumped.row for dumped in batch]))
    sent_texts = batch[0].plan.sent_texts
    ready = [index for index, field in enumerate(fields) if field.attname in sent_texts]
    texts_sent = [dumped.texts_sent for dumped in batch]
    if all(texts_sent):
        return columns, ready
    if not any(texts_sent):
        for index in ready:
            sent = sent_texts[fields[index].attname](columns[index])
            if sent is None:
                break
            columns[index] = sent
        else:
            return columns, ready
    for dumped in batch:
        dumped.decode_as_dumped()
    return list(zip(*[dumped.row for dumped in batch])), ()


def _kept_texts(
    fields: Sequence[Any], columns: list[Sequence[Any]], batch: Sequence["DumpedObject"],
) -> list[int]:
    """Put what the database gets for the dumped texts of a batch of rows
    with instances in place of their values, in ``columns``, where it takes
    them undecoded: a column whose values are all still the decoded ones (no
    receiver replaced one) and whose texts pass its check
    (``RowPlan.texts_kept``). Returns the indexes of those columns."""
    first = batch[0].dumped_texts
    if first is None:
        return []
    plan = first[0]
    kept = [dumped.dumped_texts for dumped in batch]
    if not all(texts is not None and texts[0] is plan for texts in kept):
        return []
    positions = plan.kept_positions
    dumped_columns = list(zip(*[texts[1] for texts in kept]))  # type: ignore[index]
    decoded_columns = list(zip(*[texts[2] for texts in kept]))  # type: ignore[index]
    ready = []
    for index, field in enumerate(fields):
        position = positions.get(field.attname)
        if position is None:
            continue
        if not all(map(operator.is_, columns[index], decoded_columns[position])):
            continue
        sent = plan.sent_texts[field.attname](dumped_columns[position])
        if sent is not None:
            columns[index] = sent
            ready.append(index)
    return ready


def _insert_columns(
    model: type[models.Model], fields: Sequence[Any], columns: Sequence[Sequence[Any]],
    ready: Collection[int], using: str,
) -> None:
    """INSERT rows given as one column of attribute values per field through
    the backend's bulk path. The columns at the indexes ``ready`` go as they
    are (what the database gets for dumped texts), the others as their fields
    save them.

    PostgreSQL with psycopg 3 gets one ``COPY ... FROM STDIN``: Django binds
    parameters client-side there, so an executemany is one statement per row.
    The other backends get one executemany of a prepared statement, which
    MySQL's drivers send as multi-row INSERTs and SQLite runs in C, or, when
    a field puts SQL around its parameter (MySQL's ``_binary %s``), multi-row
    INSERTs built here.
    """
    connection = connections[using]
    placeholders: list[Any] = [_placeholder(field, connection) for field in fields]
    table, column_names = _table_and_columns(model, fields, connection)
    rows = list(zip(*_database_columns(fields, columns, ready, connection)))
    with connection.cursor() as cursor:
        if copies(connection):
            with cursor.cursor.copy("COPY %s (%s) FROM STDIN" % (table, column_names)) as copy:
                for row in rows:
                    copy.write_row(row)
        elif all(placeholder == "%s" for placeholder in placeholders):
            cursor.executemany(
                "INSERT INTO %s (%s) VALUES (%s)" % (table, column_names, ", ".join(placeholders)),
                rows,
            )
        else:
            _multi_row_inserts(cursor, "INSERT INTO %s (%s) VALUES " % (table, column_names),
                               placeholders, rows)


def _table_and_columns(model: type[models.Model], fields: Sequence[Any], connection: Any
                       ) -> tuple[str, str]:
    """The quoted table name and column list of an INSERT."""
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)


def _database_columns(fields: Sequence[Any], columns: Sequence[Sequence[Any]],
                      ready: Collection[int], connection: Any) -> list[Sequence[Any]]:
    """The columns as the database gets them: those at the indexes ``ready``
    as they are, the others as their fields save them."""
    return [
        column if index in ready else db_values(field, connection, column)
        for index, (field, column) in enumerate(zip(fields, columns))
    ]


def _sends_ahead(connection: Any, fields: Sequence[Any]) -> Any:
    """The driver's connection to send a batch's INSERT ahead on, or None:
    mysqlclient (``send_query``), inside the load's transaction, for a table
    without fields that want SQL of their own."""
    driver = connection.connection
    if (
        connection.vendor != "mysql"
        or not hasattr(driver, "send_query")
        or not connection.in_atomic_block
        or any(_placeholder(field, connection) is None for field in fields)
    ):
        return None
    return driver


def _insert_statements(model: type[models.Model], fields: Sequence[Any],
                       columns: Sequence[Sequence[Any]], driver: Any, connection: Any
                       ) -> list[bytes]:
    """Multi-row INSERTs of the rows, of about ``STATEMENT_BYTES`` at most,
    each value written as the driver's executemany writes it
    (``_literals``), inside the SQL its field puts around it
    (``_placeholder``)."""
    table, column_names = _table_and_columns(model, fields, connection)
    insert = ("INSERT INTO %s (%s) VALUES " % (table, column_names)).encode(driver.encoding)
    literals = []
    for field, column in zip(fields, columns):
        texts = _literals(column, driver)
        placeholder = _placeholder(field, connection)
        if callable(placeholder):
            texts = [placeholder(value).encode() % text for value, text in zip(column, texts)]
        literals.append(texts)
    statements: list[bytes] = []
    values: list[bytes] = []
    size = 0
    for row in zip(*literals):
        value = b"(%s)" % b",".join(row)
        if values and size + len(value) > STATEMENT_BYTES:
            statements.append(insert + b",".join(values))
            values, size = [], 0
        values.append(value)
        size += len(value) + 1
    statements.append(insert + b",".join(values))
    return statements


def _literals(values: Sequence[Any], driver: Any) -> list[bytes]:
    """``driver.literal`` of each value (mysqlclient's SQL text of it), a
    column at a time: texts, integers and NULLs without its Python call per
    value, where its encoders for them are its own."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)} and _plain_encoders(driver):
        string_literal, encoding = driver.string_literal, driver.encoding
        return [b"NULL" if value is None else string_literal(value.encode(encoding))
                for value in values]
    if kinds <= {int, bool, type(None)} and _plain_encoders(driver):
        return [b"NULL" if value is None else b"%d" % value for value in values]
    return list(map(driver.literal, values))


def _plain_encoders(driver: Any) -> bool:
    """Whether the driver writes None, integers and booleans with its own
    converters (``literal`` writes text with ``string_literal`` whatever)."""
    from MySQLdb import converters

    encoders = driver.encoders
    return (encoders.get(type(None)) is converters.None2NULL
            and encoders.get(int) is converters.Thing2Str
            and encoders.get(bool) is converters.Bool2Str)


class _SentInsert(NamedTuple):
    """A batch whose INSERT the server runs while the next batch is read."""

    sender: Any
    model: type[models.Model]
    batch: list["DumpedObject"]
    objects: list[Any]
    savepoint: str | None  # None: a batch of one statement (see BatchSaver._send_ahead)
    driver: Any
    connection: Any
    wrapper: Callable[..., Any]


# Statements of about this size at most, as MySQL's drivers cut an executemany.
STATEMENT_BYTES = 1000000


def _multi_row_inserts(
    cursor: Any, insert: str, placeholders: Sequence[Any], rows: Iterable[Sequence[Any]],
) -> None:
    """INSERT the rows a few hundred kilobytes at a time, each value inside the
    SQL its field puts around it."""
    values: list[str] = []
    params: list[Any] = []
    size = 0
    for row in rows:
        values.append("(%s)" % ", ".join([
            placeholder if type(placeholder) is str else placeholder(value)
            for placeholder, value in zip(placeholders, row)
        ]))
        params.extend(row)
        size += sum([len(value) for value in row if type(value) in (str, bytes)], 10 * len(row))
        if size >= STATEMENT_BYTES:
            cursor.execute(insert + ", ".join(values), params)
            values, params, size = [], [], 0
    if values:
        cursor.execute(insert + ", ".join(values), params)


def _placeholder(field: Any, connection: Any) -> Placeholder | None:
    """The SQL around a field's parameter: "%s", a function of the value for
    Django's BinaryField (MySQL's ``_binary %s``, but "%s" for NULL), or None
    for a field of another kind that wants SQL of its own (GIS geometries)."""
    if not hasattr(field, "get_placeholder"):
        return "%s"
    if type(field).get_placeholder is models.BinaryField.get_placeholder:
        if field.get_placeholder(b"", None, connection) == "%s":
            return "%s"
        return lambda value: field.get_placeholder(value, None, connection)
    return None


def write_negative_zero(connection: Any) -> None:
    """Have ``connection`` write -0.0 to PostgreSQL as -0.0.

    Django binds parameters client-side on psycopg 3: a float becomes an SQL
    literal, and -0.0 the literal `` -0.0``, which PostgreSQL reads as the
    numeric 0 negated, that is 0. The dumper registered here writes
    ``'-0.0'::float8`` instead. It stays on the connection until it closes.
    """
    if connection.vendor != "postgresql":
        return
    connection.ensure_connection()
    adapters = getattr(connection.connection, "adapters", None)
    if adapters is not None:
        adapters.register_dumper(float, _float_dumper())


@functools.cache
def _float_dumper() -> type:
    from psycopg.types.numeric import FloatDumper

    class NegativeZeroFloatDumper(FloatDumper):
        def quote(self, obj: float) -> bytes | bytearray | memoryview:
            if obj == 0 and math.copysign(1.0, obj) < 0:
                return b"'-0.0'::float8"
            return super().quote(obj)

    return NegativeZeroFloatDumper
