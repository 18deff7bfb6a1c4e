"""The physical limit of a backend: moving rows with the plain database driver.

No Django here, only the driver (sqlite3, psycopg or PyMySQL), so that the
time is what reading and writing the rows costs at the least:

    python benchmarks/driver_limit.py read CONNECTION OUTPUT TABLE [TABLE ...]
    python benchmarks/driver_limit.py insert CONNECTION INPUT

``read`` selects every row of each table and writes its ``repr`` to OUTPUT,
one line per row, after a ``#`` line naming the table and its columns.
``insert`` reads such a file back, turns every line into a tuple with
``eval`` and inserts the rows with the driver's ``executemany``, in batches,
in one transaction, into tables that must exist and be empty. CONNECTION is a
JSON object: ``{"vendor": "sqlite", "name": PATH}`` or the vendor plus
``host``, ``port``, ``user``, ``password`` and ``name``.
"""

import datetime
import decimal
import ipaddress
import json
import sys
import uuid
import zoneinfo

BATCH_SIZE = 1000

# What repr() of the drivers' values needs to be evaluated back.
EVAL_NAMES = {
    "__builtins__": {},
    "datetime": datetime,
    "zoneinfo": zoneinfo,
    "Decimal": decimal.Decimal,
    "UUID": uuid.UUID,
    "IPv4Address": ipaddress.IPv4Address,
    "IPv6Address": ipaddress.IPv6Address,
    "IPv4Interface": ipaddress.IPv4Interface,
    "IPv6Interface": ipaddress.IPv6Interface,
}


def connect(params):
    vendor = params["vendor"]
    if vendor == "sqlite":
        import sqlite3

        # isolation_level=None: we say where the one transaction begins.
        return sqlite3.connect(params["name"], isolation_level=None)
    if vendor == "postgresql":
        import psycopg
        from psycopg.types.string import TextLoader

        conn = psycopg.connect(
            host=params["host"], port=params["port"] or 5432, user=params["user"],
            password=params["password"] or None, dbname=params["name"],
        )
        # JSON columns stay text, as they are written back.
        conn.adapters.register_loader("jsonb", TextLoader)
        conn.adapters.register_loader("json", TextLoader)
        return conn
    if vendor == "mysql":
        import pymysql

        return pymysql.connect(
            host=params["host"], port=int(params["port"] or 3306), user=params["user"],
            password=params["password"] or "", database=params["name"], charset="utf8mb4",
        )
    raise SystemExit("unknown vendor %r" % vendor)


def quote(vendor, name):
    return "`%s`" % name if vendor == "mysql" else '"%s"' % name


def read_cursor(conn, vendor):
    """A cursor that streams rows instead of fetching a whole table at once."""
    if vendor == "postgresql":
        cursor = conn.cursor(name="pyser_bench_read")
        cursor.itersize = BATCH_SIZE
        return cursor
    if vendor == "mysql":
        import pymysql.cursors

        return conn.cursor(pymysql.cursors.SSCursor)
    return conn.cursor()


def read(params, output, tables):
    vendor = params["vendor"]
    conn = connect(params)
    rows = 0
    with open(output, "w", encoding="utf-8") as out:
        for table in tables:
            cursor = read_cursor(conn, vendor)
            cursor.execute("SELECT * FROM %s" % quote(vendor, table))
            columns = [column[0] for column in cursor.description]
            out.write("# %s %s\n" % (table, json.dumps(columns)))
            while True:
                batch = cursor.fetchmany(BATCH_SIZE)
                if not batch:
                    break
                rows += len(batch)
                out.write("".join([repr(row) + "\n" for row in batch]))
            cursor.close()
    conn.close()
    return rows


def insert(params, source):
    vendor = params["vendor"]
    conn = connect(params)
    cursor = conn.cursor()
    if vendor == "sqlite":
        cursor.execute("BEGIN")
    elif vendor == "mysql":
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
    rows = 0
    statement, batch = None, []
    with open(source, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("# "):
                if batch:
                    cursor.executemany(statement, batch)
                    batch = []
                table, columns = line[2:].split(" ", 1)
                columns = json.loads(columns)
                mark = "?" if vendor == "sqlite" else "%s"
                statement = "INSERT INTO %s (%s) VALUES (%s)" % (
                    quote(vendor, table),
                    ", ".join(quote(vendor, column) for column in columns),
                    ", ".join([mark] * len(columns)),
                )
                continue
            batch.append(eval(line, EVAL_NAMES))
            rows += 1
            if len(batch) >= BATCH_SIZE:
                cursor.executemany(statement, batch)
                batch = []
    if batch:
        cursor.executemany(statement, batch)
    if vendor == "sqlite":
        cursor.execute("COMMIT")
    else:
        conn.commit()
    conn.close()
    return rows


def main(argv):
    if len(argv) < 3 or argv[0] not in ("read", "insert"):
        raise SystemExit(__doc__)
    action, params, path = argv[0], json.loads(argv[1]), argv[2]
    if action == "read":
        rows = read(params, path, argv[3:])
    else:
        rows = insert(params, path)
    print("%s: %d rows" % (action, rows))


if __name__ == "__main__":
    main(sys.argv[1:])
