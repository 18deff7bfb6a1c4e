"""One consistent, read-only view of the database for the whole of a dump.

A dump that reads table after table while the site keeps writing must see
every table as it was at one moment, or it can hold an order line without
its order, or money counted twice. So all tables are read inside a single
read-only transaction with snapshot isolation: REPEATABLE READ on PostgreSQL
and MariaDB/MySQL, one read transaction on SQLite (which reads from one
snapshot in WAL mode, and holds writers back in rollback-journal mode).

``dump2py --jobs`` shares that moment with its worker processes
(``shared_snapshot``): PostgreSQL exports it, MariaDB/MySQL hold writes back
with a brief global read lock while every worker takes its own snapshot.
"""

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from django.db import DatabaseError, connections, transaction

from .dumpoptions import DumpObserver
from .rows import Block
from .writer import WrittenChunk

# Django 6.1 renamed transaction.savepoint() to savepoint_create().
_create_savepoint = getattr(transaction, "savepoint_create", None) or transaction.savepoint


@contextmanager
def read_snapshot(using: str) -> Iterator[None]:
    """Run the body inside one read-only transaction with snapshot isolation.

    When the connection is already inside a transaction (a caller's
    ``atomic`` block, or a test), its isolation level can no longer be
    chosen: the body then runs in a savepoint of that transaction.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    vendor = connection.vendor
    try:
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                if vendor == "postgresql":
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                elif vendor == "mysql":
                    # No statement has run in this transaction yet.
                    _start_mysql_snapshot(cursor)
                elif vendor == "sqlite":
                    cursor.execute("PRAGMA query_only = ON")
            yield
    finally:
        if vendor == "sqlite":
            # A connection setting, not part of the transaction: undo it after.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")


def _start_mysql_snapshot(cursor: Any) -> None:
    """Begin a REPEATABLE READ transaction that has its snapshot at once, on a
    MariaDB/MySQL connection with no transaction in progress. SET TRANSACTION
    applies to the next transaction only (Django's own default, READ
    COMMITTED, comes back after it); START TRANSACTION WITH CONSISTENT
    SNAPSHOT takes the snapshot now rather than at the first read."""
    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")


class SharedSnapshot(Protocol):
    """The moment that the parent's ``read_snapshot`` holds, for the worker
    processes of ``dump2py --jobs`` to read too (see parallel.py)."""

    def opened(self) -> AbstractContextManager[Any]:
        """In a worker, on a connection of its own: a read-only transaction
        that reads that moment."""

    def all_opened(self) -> None:
        """In the parent, once every worker has opened its transaction."""


@contextmanager
def shared_snapshot(using: str) -> Iterator[SharedSnapshot]:
    """The parent's snapshot, shared for the body (inside ``read_snapshot``):
    exported on PostgreSQL, held still by a global read lock on MariaDB/MySQL."""
    if connections[using].vendor == "postgresql":
        yield ExportedSnapshot(using)
        return
    moment = LockedMoment(using)
    try:
        yield moment
    finally:
        moment.all_opened()


class ExportedSnapshot:
    """PostgreSQL: the parent exports its snapshot, each worker imports it,
    as the workers of ``pg_dump -j`` do. The id stays valid while the parent's
    transaction is open."""

    def __init__(self, using: str) -> None:
        self.using = using
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            self.snapshot_id = cursor.fetchone()[0]

    @contextmanager
    def opened(self) -> Iterator[None]:
        # SET takes no query parameters (with server-side binding): the id, made
        # of hex digits and dashes, is checked and written into the statement.
        if not re.fullmatch(r"[0-9A-Fa-f-]+", self.snapshot_id):
            raise ValueError("not a snapshot id: %r" % self.snapshot_id)
        with transaction.atomic(using=self.using):
            with connections[self.using].cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SET TRANSACTION SNAPSHOT '%s'" % self.snapshot_id)
            yield

    def all_opened(self) -> None:
        pass


class LockedMoment:
    """MariaDB/MySQL, where no connection can hand its snapshot to another:
    the parent takes a global read lock (FLUSH TABLES WITH READ LOCK), under
    which no write commits, and starts its snapshot again; each worker then
    starts its own (``read_snapshot``), of the same moment; the lock ends
    (UNLOCK TABLES) as soon as every worker has its snapshot, as mydumper
    does. Writes wait for that brief while. The lock needs the RELOAD
    privilege (``missing_lock_privilege``)."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.locked = False
        with connections[using].cursor() as cursor:
            cursor.execute("FLUSH TABLES WITH READ LOCK")
            self.locked = True
            # The lock ended the parent's transaction (an implicit commit), but
            # not its place in Django's atomic block, which commits the new one.
            cursor.execute("COMMIT")
            _start_mysql_snapshot(cursor)

    def opened(self) -> AbstractContextManager[Any]:
        return read_snapshot(self.using)

    def all_opened(self) -> None:
        if self.locked:
            with connections[self.using].cursor() as cursor:
                cursor.execute("UNLOCK TABLES")
            self.locked = False


_GLOBAL_GRANT = re.compile(r"GRANT (.+?) ON \*\.\* TO ")


def missing_lock_privilege(using: str) -> str | None:
    """The MariaDB/MySQL user of ``using`` when it lacks RELOAD, the privilege
    of FLUSH TABLES WITH READ LOCK (``LockedMoment``), read from its grants
    (with those of its active roles); else None."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        user = cursor.fetchone()[0]
        cursor.execute("SHOW GRANTS")
        grants = [row[0] for row in cursor.fetchall()]
    for grant in grants:
        match = _GLOBAL_GRANT.match(grant)
        if match:
            privileges = [part.strip().upper() for part in match.group(1).split(",")]
            if "RELOAD" in privileges or "ALL PRIVILEGES" in privileges:
                return None
    return user


class ModelSavepoints(DumpObserver):
    """A savepoint around each model's rows, for ``dump2py --tolerate``.

    On PostgreSQL a failed query aborts the whole transaction; rolling back to
    the model's savepoint lets the dump go on with the next model inside the
    same snapshot. Used as the Serializer's observer and error callback.
    """

    def __init__(self, using: str, next_observer: DumpObserver) -> None:
        self.using = using
        self.next_observer = next_observer
        self._savepoint: Any = None

    def start_block(self, block: Block) -> None:
        self._savepoint = _create_savepoint(using=self.using)
        self.next_observer.start_block(block)

    def rows_read(self, block: Block, count: int) -> None:
        self.next_observer.rows_read(block, count)

    def end_block(self, block: Block, files: list[WrittenChunk]) -> None:
        transaction.savepoint_commit(self._savepoint, using=self.using)
        self._savepoint = None
        self.next_observer.end_block(block, files)

    def on_block_error(self, block: Block, exc: BaseException) -> bool:
        """Skip the model when its rows cannot be read; re-raise anything else."""
        if not isinstance(exc, DatabaseError):
            return False
        transaction.savepoint_rollback(self._savepoint, using=self.using)
        self._savepoint = None
        return True
