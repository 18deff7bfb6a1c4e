"""Post-data after data: a restore loads into tables without their secondary
indexes and foreign keys, then builds them, as ``pg_restore`` does.

Keeping an index up to date row by row costs more than building it once from
the loaded rows, and on PostgreSQL each row written into a table with a
foreign key queues a check that runs, row by row, before the commit; adding
the key afterwards checks every row with one query. So, inside the restore's
transaction, ``PostData.drop`` reads the definitions of these indexes and
keys from the database catalog and drops them; after the load,
``check_references`` (``restoring/run.py``) checks the constraints and calls
``rebuild``, which creates them again exactly as they were. A failed or
interrupted load never gets there: the rollback brings them back. Everything
is still checked before the commit: adding a foreign key checks every row,
and ``check_references`` names a row that breaks one.

What is left alone, and why:

- primary keys and every unique index and constraint: a natural-key lookup
  during the load needs them, a foreign key of another table may depend on
  them, and a duplicate stays refused where it is written, naming its line;
- tables that the load fills with fewer than ``MIN_ROWS`` rows: for them the
  DDL costs more than it saves;
- on PostgreSQL, what a plain ``CREATE INDEX`` or ``ADD CONSTRAINT`` could not
  give back exactly (a comment, a tablespace, a statistics target, a CLUSTER
  mark, an invalid index, partitions and inherited keys), and the tables of
  another owner;
- on SQLite, foreign keys, which are part of the table's definition (they are
  deferred inside the transaction anyway, and ``check_constraints`` runs
  ``PRAGMA foreign_key_check``), and the indexes on their columns: with a
  forward reference outstanding SQLite looks up the referring rows of every
  row inserted into the referenced table, which without that index is a scan
  of the table per row;
- MariaDB and MySQL, where DDL would commit the transaction: there the load
  already runs with ``foreign_key_checks=0`` (Django's
  ``constraint_checks_disabled``), and ``check_constraints`` queries every
  foreign key afterwards. ``unique_checks=0`` was measured to bring nothing
  on MariaDB 10.11, whose InnoDB has no change buffering, and would let a
  duplicate in, so it is not used.

``PYSERIALIZER_INDEXES_AFTER_LOAD = False`` keeps every index during the load,
for a site whose signal receivers query the tables being loaded by a
non-unique indexed column.
"""

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..dumping.wholesite import is_excluded
from ..files.manifest import Manifest

# Below this many rows to load, the DDL costs more than it saves: measured on
# PostgreSQL 15 (a table with three indexes and a foreign key breaks even at
# about 1,000 rows and loads 3 times faster at 100,000); SQLite gains from a
# few hundred rows.
MIN_ROWS = 1000


@dataclass(frozen=True)
class Deferred:
    """An index or a constraint dropped for the load: how to drop and recreate it."""

    table: str
    name: str
    drop: str
    create: str


def enabled() -> bool:
    """Whether a restore builds secondary indexes and foreign keys after its load."""
    return bool(getattr(settings, "PYSERIALIZER_INDEXES_AFTER_LOAD", True))


def tables_worth_deferring(dump: Manifest, registry: Any, empty_tables: Collection[str],
                           excludes: Collection[str] = ()) -> list[str]:
    """The tables of ``empty_tables`` that the load fills with at least ``MIN_ROWS``
    rows, as the manifest counts them; a many-to-many table counts its model's rows."""
    rows: Counter[str] = Counter()
    excluded = frozenset(excludes)
    for entry in dump.files:
        if is_excluded(entry.model, excluded):
            continue
        try:
            model = registry.get_model(entry.model)
        except (LookupError, ValueError):  # refused or skipped by the load
            continue
        opts = model._meta
        rows[opts.db_table] += entry.rows
        for field in opts.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                rows[field.remote_field.through._meta.db_table] += entry.rows
    return [table for table in empty_tables if rows[table] >= MIN_ROWS]


@dataclass
class PostData:
    """The secondary indexes and foreign keys dropped for a load, until ``rebuild``."""

    connection: Any
    deferred: list[Deferred]

    @classmethod
    def drop(cls, connection: Any, tables: Collection[str]) -> "PostData":
        """Drop the secondary indexes and foreign keys of ``tables`` that can be
        recreated exactly. Only inside a transaction, where the DDL rolls back
        with a failed or interrupted load: nothing else puts them back."""
        reader = CATALOGS.get(connection.vendor)
        if not tables or reader is None or not enabled() or not connection.in_atomic_block:
            return cls(connection, [])
        with connection.cursor() as cursor:
            deferred = reader(cursor, sorted(tables))
            for item in deferred:
                cursor.execute(item.drop)
        return cls(connection, deferred)

    def rebuild(self) -> None:
        """Create again, as they were, the indexes and then the foreign keys
        (adding one checks every row: a row that breaks it is an IntegrityError).
        Call it after ``check_constraints``: on PostgreSQL, CREATE INDEX refuses
        a table with checks still pending from the load."""
        with self.connection.cursor() as cursor:
            for item in reversed(self.deferred):
                cursor.execute(item.create)
        self.deferred = []


def postgresql_post_data(cursor: Any, tables: list[str]) -> list[Deferred]:
    """The foreign keys, then the secondary indexes, of ``tables`` (visible on the
    search path) that can be dropped and recreated exactly, from the catalog."""
    cursor.execute(
        """
        SELECT t.oid::regclass::text, quote_ident(con.conname), pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
        WHERE con.contype = 'f' AND t.relname = ANY(%s) AND pg_table_is_visible(t.oid)
          AND t.relkind = 'r' AND NOT t.relispartition
          AND con.conparentid = 0 AND con.conislocal AND con.coninhcount = 0
          AND obj_description(con.oid, 'pg_constraint') IS NULL
          AND pg_has_role(t.relowner, 'USAGE')
          AND has_table_privilege(con.confrelid, 'REFERENCES')
        ORDER BY 1, 2
        """,
        [tables],
    )
    deferred = [
        Deferred(table, name, "ALTER TABLE %s DROP CONSTRAINT %s" % (table, name),
                 "ALTER TABLE %s ADD CONSTRAINT %s %s" % (table, name, definition))
        for table, name, definition in cursor.fetchall()
    ]
    cursor.execute(
        """
        SELECT t.oid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_class ix ON ix.oid = i.indexrelid
        WHERE t.relname = ANY(%s) AND pg_table_is_visible(t.oid)
          AND t.relkind = 'r' AND NOT t.relispartition
          AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisclustered
          AND i.indisvalid AND i.indisready AND i.indislive
          AND ix.reltablespace = 0
          AND obj_description(i.indexrelid, 'pg_class') IS NULL
          AND pg_has_role(t.relowner, 'USAGE')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid
                          AND COALESCE(a.attstattarget, -1) >= 0)
        ORDER BY 1, 2
        """,
        [tables],
    )
    deferred += [
        Deferred(table, name, "DROP INDEX %s" % name, definition)
        for table, name, definition in cursor.fetchall()
    ]
    return deferred


def sqlite_post_data(cursor: Any, tables: list[str]) -> list[Deferred]:
    """The indexes of ``tables`` made by CREATE INDEX, but the unique ones and
    those a foreign key's lookups use (its columns first), from sqlite_master."""
    deferred = []
    for table in tables:
        quoted = cursor.db.ops.quote_name(table)
        cursor.execute("PRAGMA foreign_key_list(%s)" % quoted)
        keys: dict[int, list[str]] = {}
        for row in cursor.fetchall():  # id, seq, table, from, to, ...
            keys.setdefault(row[0], []).append(row[3])
        cursor.execute("PRAGMA index_list(%s)" % quoted)
        candidates = [row[1] for row in cursor.fetchall() if not row[2] and row[3] == "c"]
        for name in sorted(candidates):
            cursor.execute("PRAGMA index_info(%s)" % cursor.db.ops.quote_name(name))
            columns = [row[2] for row in sorted(cursor.fetchall())]
            if any(set(columns[:len(key)]) == set(key) for key in keys.values()):
                continue
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s AND sql IS NOT NULL",
                [name],
            )
            found = cursor.fetchone()
            if found is not None:
                deferred.append(Deferred(
                    table, name, "DROP INDEX %s" % cursor.db.ops.quote_name(name), found[0]))
    return deferred


CATALOGS = {
    "postgresql": postgresql_post_data,
    "sqlite": sqlite_post_data,
}
