"""A real Lino site for tests/test_lino.py: Lino Amici's ``amici1`` demo.

Run with the Python of the Lino virtualenv (``make test-lino`` builds it), from
any directory::

    python tests/lino_site.py cache-dir                 # where the virtualenv and site are kept
    python tests/lino_site.py build CACHE_DIR           # the demo site, built once
    python tests/lino_site.py snapshot SITE_DIR DB_URL JSON_PATH

``cache-dir`` names ``~/.cache/pyserializer/lino-<hash of lino-requirements.txt>``:
``make test-lino`` keeps the virtualenv there, outside the repository, so
that a new clone on the same machine reuses it. ``build`` makes the demo
database with Lino's own ``prep`` command (its ``initdb_demo``) in
``CACHE_DIR/amici1-<hash of the site's settings>/`` and prints that
directory; a later call finds it there and builds nothing.
The site is dumped with ``python -m django pydump`` in ``site_environment``:
Lino ships a ``dump2py`` of its own (and its own "py" serializer), which
``manage.py dump2py`` runs. ``snapshot`` writes every row of every model,
exactly, as JSON.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
SETTINGS = "linosite.settings"
SOURCE_DATABASE = "source.sqlite3"
REQUIREMENTS = TESTS_DIR / "lino-requirements.txt"


def cache_dir():
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    return Path.home() / ".cache" / "pyserializer" / ("lino-%s" % digest)


def site_environment(site_dir, database_url):
    """The environment a process of the site runs in (tests/linosite/settings.py reads it)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        LINOSITE_DIR=str(site_dir),
        LINOSITE_DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])),
    )
    return env


def source_url(site_dir):
    return "sqlite:///%s" % (Path(site_dir) / SOURCE_DATABASE)


def build(cache_dir):
    """The site directory of the demo (its database and media), built once per
    settings. Lino links files in it by absolute path: it is built in place, and
    a directory without the ``built`` mark (an interrupted build) is built anew."""
    settings_hash = hashlib.sha256(
        (TESTS_DIR / "linosite" / "settings.py").read_bytes()).hexdigest()[:12]
    site_dir = Path(cache_dir) / ("amici1-%s" % settings_hash)
    built = site_dir / "built"
    if built.exists():
        return site_dir
    shutil.rmtree(site_dir, ignore_errors=True)
    site_dir.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "django", "prep", "--noinput", "-v", "0"],
        cwd=TESTS_DIR, env=site_environment(site_dir, source_url(site_dir)), check=True,
        stdout=sys.stderr,  # Lino's report; this script's output is the directory
    )
    built.touch()
    return site_dir


def setup(site_dir, database_url):
    os.environ.update(site_environment(site_dir, database_url))
    sys.path.insert(0, str(TESTS_DIR))
    import django

    django.setup()


def comparable(value):
    """``value`` as JSON in which equal means identical: its type, and its
    exact text (datetimes to the microsecond, in UTC when aware)."""
    import datetime
    import decimal

    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return ["datetime", value.astimezone(datetime.timezone.utc).isoformat()]
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return [type(value).__name__, str(value)]
    if isinstance(value, decimal.Decimal):
        return ["Decimal", str(value)]
    if isinstance(value, float):
        return ["float", value.hex()]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return [type(value).__name__, repr(value)]


def snapshot(path):
    """Every row of every model with a table, all concrete columns, as JSON:
    {model label: [row, ...]}; rows of a model are {"pk": ..., column: value}
    in pk order, and the rows of an automatic many-to-many table are its
    links (the two keys, without the table's own id), sorted."""
    from django.apps import apps

    rows = {}
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        if opts.auto_created:
            columns = [field.attname for field in opts.concrete_fields if not field.primary_key]
            links = model._base_manager.values_list(*columns)
            rows[opts.label_lower] = sorted(
                (dict(zip(columns, map(comparable, link))) for link in links),
                key=lambda row: json.dumps(row, sort_keys=True))
            continue
        columns = [field.attname for field in opts.concrete_fields]
        rows[opts.label_lower] = [
            dict(zip(["pk"] + columns, map(comparable, (pk, *values))))
            for pk, *values in model._base_manager.order_by("pk").values_list("pk", *columns)
        ]
    Path(path).write_text(json.dumps(rows, indent=1, sort_keys=True), encoding="utf-8")


def main(argv):
    command, *args = argv
    if command == "cache-dir":
        print(cache_dir())
    elif command == "build":
        print(build(*args))
    elif command == "snapshot":
        site_dir, database_url, target = args
        setup(site_dir, database_url)
        snapshot(target)
    else:
        sys.exit("usage: lino_site.py cache-dir | build CACHE_DIR | "
                 "snapshot SITE_DIR DB_URL JSON_PATH")


if __name__ == "__main__":
    main(sys.argv[1:])
