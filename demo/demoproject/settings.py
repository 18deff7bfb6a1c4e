"""Settings of the demo: a small shop whose site is backed up with dump2py.

The database comes from DEMO_DATABASE_URL (default: a SQLite file in
demo/work/). run.py sets DEMO_RESTORED_URL too, for the comparison of the
original database with the restored one.
"""

import os

import dj_database_url

DEMO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK_DIR = os.path.join(DEMO_DIR, "work")

SECRET_KEY = "pyserializer-demo-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Europe/Brussels"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "pyserializer",
    "shop",
]

SERIALIZATION_MODULES = {"py": "pyserializer"}


def _database(url):
    database = dj_database_url.parse(url)
    if database["ENGINE"] == "django.db.backends.mysql":
        # PyMySQL stands in for mysqlclient, which needs C headers to build.
        import pymysql

        pymysql.version_info = (2, 2, 1, "final", 0)
        pymysql.install_as_MySQLdb()
        database.setdefault("OPTIONS", {})["charset"] = "utf8mb4"
    return database


DATABASES = {
    "default": _database(
        os.environ.get("DEMO_DATABASE_URL")
        or "sqlite:///" + os.path.join(WORK_DIR, "site.sqlite3")
    ),
}
if os.environ.get("DEMO_RESTORED_URL"):
    DATABASES["restored"] = _database(os.environ["DEMO_RESTORED_URL"])
