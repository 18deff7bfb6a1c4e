#!/usr/bin/env python
"""The demo, in one command: back up a small shop with dump2py and restore it
into a new database.

    python demo/run.py                       # SQLite files in demo/work/
    python demo/run.py --shop-database URL --restore-database URL   # e.g. PostgreSQL -> MariaDB

Steps: create the shop in an empty database and fill it with made-up data;
`manage.py dump2py` it; run the dump's own `restore.py` into another empty
database (which it migrates); compare both databases table by table.

The demo writes only into databases that hold no table yet, and refuses any
other: it never touches a site's data. Without options it uses SQLite files
of its own, in its work directory.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

DEMO_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(DEMO_DIR)
WORK_DIR = os.path.join(DEMO_DIR, "work")


def step(title):
    print("\n=== %s" % title, flush=True)


def demo_environment(database_url, restored_url=None):
    """The environment of the demo project's commands, on the given databases."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="demoproject.settings",
               DEMO_DATABASE_URL=database_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_DIR, env.get("PYTHONPATH")]))
    env.pop("DEMO_RESTORED_URL", None)
    if restored_url:
        env["DEMO_RESTORED_URL"] = restored_url
    return env


def run(*args, database_url, restored_url=None, stdin=None):
    """Run a command in the demo project directory, on the given database."""
    shown = [os.path.relpath(arg, DEMO_DIR) if arg.startswith(DEMO_DIR + os.sep) else arg
             for arg in args]
    print("$ python %s" % " ".join(shown), flush=True)
    subprocess.run([sys.executable, *args], cwd=DEMO_DIR, check=True, input=stdin, text=True,
                   env=demo_environment(database_url, restored_url))


def tables_in(database_url):
    """The tables the database holds."""
    code = ("import django; django.setup(); from django.db import connection; "
            "print('\\n'.join(connection.introspection.table_names()))")
    result = subprocess.run([sys.executable, "-c", code], cwd=DEMO_DIR, check=True,
                            capture_output=True, text=True,
                            env=demo_environment(database_url))
    return result.stdout.split()


def refuse_unless_empty(option, database_url):
    tables = tables_in(database_url)
    if tables:
        sys.exit("%s %s is not empty (%d tables, e.g. %s). The demo writes only into an "
                 "empty database, so that it never touches a site's data: create an "
                 "empty one and give its URL." % (option, database_url, len(tables), tables[0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", default=WORK_DIR,
                        help="where the SQLite files and the dump go (default: demo/work)")
    parser.add_argument("--shop-database", metavar="URL",
                        help="an EMPTY database to create the demo shop in "
                        "(default: a new SQLite file in the work directory)")
    parser.add_argument("--restore-database", metavar="URL",
                        help="an EMPTY database to restore the dump into "
                        "(default: a new SQLite file in the work directory)")
    parser.add_argument("--orders", type=int, default=3000, help="how many orders to create")
    args = parser.parse_args()
    started = time.monotonic()
    work_dir = os.path.abspath(args.work_dir)
    backup = os.path.join(work_dir, "backup")
    os.makedirs(work_dir, exist_ok=True)
    databases = {}
    for option, given, default in [
        ("--shop-database", args.shop_database, "site.sqlite3"),
        ("--restore-database", args.restore_database, "restored.sqlite3"),
    ]:
        if given is None:
            own_file = os.path.join(work_dir, default)  # the demo's own, from an earlier run
            if os.path.exists(own_file):
                os.remove(own_file)
            given = "sqlite:///" + own_file
        refuse_unless_empty(option, given)
        databases[option] = given
    source, target = databases["--shop-database"], databases["--restore-database"]
    shutil.rmtree(backup, ignore_errors=True)

    step("1. Create the shop in an empty database and fill it with data")
    run("manage.py", "migrate", "-v", "0", database_url=source)
    run("manage.py", "make_demo_data", "--orders", str(args.orders), database_url=source)

    step("2. Back it up with dump2py")
    run("manage.py", "dump2py", backup, "--max-row-count", "2000", database_url=source)
    print("The dump: %s" % ", ".join(sorted(os.listdir(backup))))

    step("3. Restore it into a new database with the dump's own restore.py")
    run(os.path.join(backup, "restore.py"), "--noinput", "-v", "1", database_url=target)

    step("4. Compare both databases, table by table")
    run("manage.py", "compare_databases", "default", "restored", "-v", "2",
        database_url=source, restored_url=target)
    print("\nThe demo worked (%.0f seconds): the restored database equals the original."
          % (time.monotonic() - started))


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit("\nThe demo FAILED: %s exited with status %d." % (" ".join(exc.cmd[1:2]), exc.returncode))
