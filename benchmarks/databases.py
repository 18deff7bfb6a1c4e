"""The benchmark's own databases, on one backend: names, creation, copies.

From one base URL (say ``postgres://postgres@127.0.0.1:5432/pyser_bench``)
the benchmark makes four databases, named after the base:

- ``<base>_src``: the generated data that every dump reads;
- ``<base>_tpl``: freshly migrated, the state a load starts from;
- ``<base>_tpl0``: migrated, then emptied of every row (content types and
  permissions too), the state the driver's insert limit starts from;
- ``<base>_dst``: re-created from a template before each load.

On SQLite they are files next to the base path; PostgreSQL copies a template
with ``CREATE DATABASE ... TEMPLATE``; MySQL/MariaDB has no templates, so the
target is migrated again each time (outside the timing). The base name must
start with ``pyser_bench`` so that no one else's database is ever dropped.
"""

import os
import shutil

import dj_database_url

NAME_PREFIX = "pyser_bench"
ROLES = ("src", "tpl", "tpl0", "dst")


class Backend:
    vendor = None
    has_templates = True

    def __init__(self, url):
        self.url = url
        self.settings = dj_database_url.parse(url)
        self.base = self._base_name()
        if not os.path.basename(self.base).startswith(NAME_PREFIX):
            raise SystemExit(
                "the benchmark database name must start with %r (got %r): it drops "
                "and re-creates its databases" % (NAME_PREFIX, os.path.basename(self.base))
            )

    def _base_name(self):
        return self.settings["NAME"]

    def name(self, role):
        return "%s_%s" % (self.base, role)

    def url_for(self, role):
        """DATABASE_URL of one of the benchmark's databases."""
        scheme, rest = self.url.split("://", 1)
        server = rest.split("/", 1)[0]
        query = rest.split("?", 1)[1] if "?" in rest else ""
        url = "%s://%s/%s" % (scheme, server, self.name(role))
        return url + ("?" + query if query else "")

    def connection(self, role):
        """What driver_limit.py needs to connect to the database ``role``."""
        s = self.settings
        return {
            "vendor": self.vendor, "host": s["HOST"], "port": s["PORT"],
            "user": s["USER"], "password": s["PASSWORD"], "name": self.name(role),
        }

    def recreate(self, role):
        self.drop(role)
        self.create(role)

    def drop_all(self):
        for role in ROLES:
            self.drop(role)


class SQLite(Backend):
    vendor = "sqlite"

    def _base_name(self):
        name = self.settings["NAME"]
        return name[: -len(".sqlite3")] if name.endswith(".sqlite3") else name

    def name(self, role):
        return "%s_%s.sqlite3" % (self.base, role)

    def url_for(self, role):
        return "sqlite:///" + os.path.abspath(self.name(role))

    def connection(self, role):
        return {"vendor": "sqlite", "name": self.name(role)}

    def drop(self, role):
        for suffix in ("", "-journal", "-wal", "-shm"):
            path = self.name(role) + suffix
            if os.path.exists(path):
                os.remove(path)

    def create(self, role):
        os.makedirs(os.path.dirname(os.path.abspath(self.name(role))), exist_ok=True)

    def copy(self, template, role):
        self.drop(role)
        shutil.copyfile(self.name(template), self.name(role))


class PostgreSQL(Backend):
    vendor = "postgresql"

    def _admin(self):
        import psycopg

        s = self.settings
        return psycopg.connect(
            host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"],
            password=s["PASSWORD"] or None, dbname="postgres", autocommit=True,
        )

    def _run(self, sql):
        with self._admin() as conn:
            conn.execute(sql)

    def drop(self, role):
        self._run('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name(role))

    def create(self, role):
        self._run('CREATE DATABASE "%s" ENCODING \'UTF8\' TEMPLATE template0' % self.name(role))

    def copy(self, template, role):
        self.drop(role)
        self._run('CREATE DATABASE "%s" TEMPLATE "%s"' % (self.name(role), self.name(template)))


class MySQL(Backend):
    vendor = "mysql"
    has_templates = False

    def _run(self, sql):
        import pymysql

        s = self.settings
        conn = pymysql.connect(
            host=s["HOST"], port=int(s["PORT"] or 3306), user=s["USER"],
            password=s["PASSWORD"] or "", charset="utf8mb4",
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def drop(self, role):
        self._run("DROP DATABASE IF EXISTS `%s`" % self.name(role))

    def create(self, role):
        self._run(
            "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" % self.name(role)
        )


ENGINES = {
    "django.db.backends.sqlite3": SQLite,
    "django.db.backends.postgresql": PostgreSQL,
    "django.db.backends.mysql": MySQL,
}


def backend_for(url):
    engine = dj_database_url.parse(url)["ENGINE"]
    if engine not in ENGINES:
        raise SystemExit("no benchmark support for %s (%s)" % (engine, url))
    return ENGINES[engine](url)
