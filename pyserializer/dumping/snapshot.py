"""One consistent, read-only view of the database for the whole of a dump.

A dump that reads table after table while the site keeps writing must see
every table as it was at one moment, or it can hold an order line without
its order, or money counted twice. So all tables are read inside a single
read-only transaction with snapshot isolation: REPEATABLE READ on PostgreSQL
and MariaDB/MySQL, one read transaction on SQLite (which reads from one
snapshot in WAL mode, and holds writers back in rollback-journal mode).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
                    # No statement has run in this transaction yet. SET TRANSACTION
                    # applies to the next transaction only (Django's own default,
                    # READ COMMITTED, comes back after it); START TRANSACTION
                    # takes the snapshot now rather than at the first read.
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                elif vendor == "sqlite":
                    cursor.execute("PRAGMA query_only = ON")
            yield
    finally:
        if vendor == "sqlite":
            # A connection setting, not part of the transaction: undo it after.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")


def export_snapshot(using: str) -> str:
    """The id of the snapshot that ``read_snapshot`` holds, for other
    connections to read the same moment (PostgreSQL only; see parallel.py).
    It stays valid while that transaction is open."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        return cursor.fetchone()[0]


@contextmanager
def imported_snapshot(using: str, snapshot_id: str) -> Iterator[None]:
    """Like ``read_snapshot``, but reading the moment that another connection
    exported with ``export_snapshot``, as the workers of ``pg_dump -j`` do."""
    # SET takes no query parameters (with server-side binding): the id, made
    # of hex digits and dashes, is checked and written into the statement.
    if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot_id):
        raise ValueError("not a snapshot id: %r" % snapshot_id)
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT '%s'" % snapshot_id)
        yield


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
