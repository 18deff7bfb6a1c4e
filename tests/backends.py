"""Decide which database backends `make test` runs the suite on.

Prints one `name=DATABASE_URL` line per backend to run on stdout, and a line
per backend on stderr saying whether it runs or is skipped (and why).
SQLite always runs. PostgreSQL and MariaDB run when a connection succeeds.
With PYSERIALIZER_REQUIRE_ALL_BACKENDS=1, an unreachable backend is an error
(exit status 1), as in CI.
"""

import os
import sys

import dj_database_url

DEFAULT_URLS = {
    "sqlite": "sqlite:///test.sqlite3",
    "postgresql": "postgres://postgres@127.0.0.1:5432/pyserializer",
    "mariadb": "mysql://root@127.0.0.1:3306/pyserializer",
}
URL_VARIABLES = {
    "sqlite": "SQLITE_URL",
    "postgresql": "POSTGRES_URL",
    "mariadb": "MARIADB_URL",
}


def connect_postgresql(db):
    import psycopg

    # Connect to the maintenance database: pytest-django creates its own.
    conn = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
        password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
    )
    conn.close()


def connect_mariadb(db):
    import pymysql

    conn = pymysql.connect(
        host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"],
        password=db["PASSWORD"] or "", connect_timeout=3,
    )
    conn.close()


CONNECT = {"postgresql": connect_postgresql, "mariadb": connect_mariadb}


def main():
    require_all = os.environ.get("PYSERIALIZER_REQUIRE_ALL_BACKENDS") == "1"
    unreachable = []
    for name, default in DEFAULT_URLS.items():
        url = os.environ.get(URL_VARIABLES[name]) or default
        if name in CONNECT:
            try:
                CONNECT[name](dj_database_url.parse(url))
            except Exception as exc:  # any failure to connect means "not reachable"
                print(f"backends: skip {name}: {url} not reachable: {exc}", file=sys.stderr)
                unreachable.append(name)
                continue
        print(f"backends: run {name}: {url}", file=sys.stderr)
        print(f"{name}={url}")
    if require_all and unreachable:
        print(
            "backends: PYSERIALIZER_REQUIRE_ALL_BACKENDS=1 but not reachable: "
            + ", ".join(unreachable),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
