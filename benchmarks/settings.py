"""Settings of the benchmark: the test project's, with only the apps it fills
and the receivers a real site has.

The database comes from DATABASE_URL, which bench.py sets for each process.
Pinning INSTALLED_APPS keeps the benchmark's tables the same when the test
project gains apps for its own tests. On MariaDB the test project's settings
choose the driver (mysqlclient where it is installed) and name it.
"""

from testproject.settings import *  # noqa: F401,F403  (DATABASES, USE_TZ, the py format)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "pyserializer",
    "testapp",
    "benchmarks.benchapp",  # signal receivers, as on a real site
]
