"""Settings of the benchmark: the test project's, with only the apps it fills.

The database comes from DATABASE_URL, which bench.py sets for each process.
Pinning INSTALLED_APPS keeps the benchmark's tables the same when the test
project gains apps for its own tests.
"""

from testproject.settings import *  # noqa: F401,F403  (DATABASES, USE_TZ, the py format)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "pyserializer",
    "testapp",
]
