"""Settings of the test project: the "py" format plus the test app.

The database comes from DATABASE_URL (see `make test`); without it, a SQLite file
in a temporary directory. Tests change USE_TZ and PYSERIALIZER_MAX_ROW_COUNT with
override_settings.
"""

import os
import tempfile

import dj_database_url
import django

from mysql_driver import mysql_driver

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
    "legacyapp",
    "shadowapp",
    "nomigapp",
    "mediaapp",
]
if django.VERSION >= (5, 2):  # CompositePrimaryKey
    INSTALLED_APPS.append("compositeapp")

SERIALIZATION_MODULES = {"py": "pyserializer"}

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(SCRATCH, "db.sqlite3")
    ),
}

_engine = DATABASES["default"]["ENGINE"]


if _engine == "django.db.backends.mysql":
    MYSQL_DRIVER = mysql_driver()
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    })
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
    # testapp.Listing: MariaDB has no unique constraint with a condition and no
    # expression index (Django leaves them out), and makes a partial index whole.
    SILENCED_SYSTEM_CHECKS = ["models.W036", "models.W037", "models.W043"]

# tests/test_media.py gives `python DIR/restore.py` a media folder of its own.
MEDIA_ROOT = os.environ.get("PYSERIALIZER_TEST_MEDIA_ROOT") or os.path.join(SCRATCH, "media")
