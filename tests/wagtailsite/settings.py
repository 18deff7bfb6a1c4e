"""Settings of the Wagtail test site: the apps of a ``wagtail start`` project plus
pyserializer. The test runs it in subprocesses, so that it never mixes with the
main suite's settings.

WAGTAILSITE_DATABASE_URL says which database (default: a SQLite file in a
temporary directory) and WAGTAILSITE_MEDIA_ROOT where uploads go; the test gives
the source and the restored site each their own, as two servers have, and the
dump carries the files from one to the other (dump2py --media).
"""

import os
import tempfile

import dj_database_url

from mysql_driver import mysql_driver

SCRATCH = os.path.join(tempfile.gettempdir(), "pyserializer-wagtailsite")
os.makedirs(SCRATCH, exist_ok=True)

SECRET_KEY = "pyserializer-wagtail-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "Europe/Brussels"
LANGUAGE_CODE = "en-us"
USE_I18N = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "wagtailsite.home",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pyserializer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "wagtailsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("WAGTAILSITE_DATABASE_URL")
        or "sqlite:///" + os.path.join(SCRATCH, "db.sqlite3")
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    MYSQL_DRIVER = mysql_driver()
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
    })

# Users are made by the test: fast hashing keeps it quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(SCRATCH, "static")
MEDIA_ROOT = os.environ.get("WAGTAILSITE_MEDIA_ROOT") or os.path.join(SCRATCH, "media")
MEDIA_URL = "/media/"

SERIALIZATION_MODULES = {"py": "pyserializer"}

WAGTAIL_SITE_NAME = "pyserializer test site"
WAGTAILADMIN_BASE_URL = "http://localhost"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt"]

# Workflow notifications go nowhere.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
