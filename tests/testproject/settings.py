"""Settings of the test project: the "py" format plus the test app.

The database comes from DATABASE_URL (see `make test`); without it, a SQLite file
in a temporary directory. Tests change USE_TZ and PYSERIALIZER_MAX_ROW_COUNT with
override_settings.
"""

import os
import tempfile

import dj_database_url

SCRATCH = os.path.join(tempfile.gettempdir(), "pyserializer-tests")
os.makedirs(SCRATCH, exist_ok=True)

SECRET_KEY = "pyserializer-tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Europe/Brussels"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "pyserializer",
    "testapp",
    "migrapp",
    "squashapp",
]

SERIALIZATION_MODULES = {"py": "pyserializer"}

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(SCRATCH, "db.sqlite3")
    ),
}

_engine = DATABASES["default"]["ENGINE"]


def mysql_driver():
    """mysqlclient, Django's recommended driver, where it is installed (``make
    mysqlclient``); else PyMySQL in its place. PYSERIALIZER_MYSQL_DRIVER=pymysql
    asks for PyMySQL even so. Returns the driver's name and version."""
    import pymysql

    if os.environ.get("PYSERIALIZER_MYSQL_DRIVER") != "pymysql":
        try:
            import MySQLdb._mysql  # noqa: F401  (mysqlclient's C module; PyMySQL has none)
        except ImportError:
            pass
        else:
            import MySQLdb

            return "mysqlclient %d.%d.%d" % MySQLdb.version_info[:3]
    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    return "PyMySQL %s" % pymysql.VERSION_STRING


if _engine == "django.db.backends.mysql":
    MYSQL_DRIVER = mysql_driver()
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    })
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}

MEDIA_ROOT = os.path.join(SCRATCH, "media")
