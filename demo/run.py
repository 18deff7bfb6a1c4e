#!/usr/bin/env python
"""The demo, in one command: back up a small shop with dump2py and restore it
into a new database.

    python demo/run.py                       # SQLite files in demo/work/
    python demo/run.py --source URL --target URL   # e.g. PostgreSQL -> MariaDB

Steps: create the shop's database and fill it with data; `manage.py dump2py`
it; run the dump's own `restore.py` into a new database (which it migrates);
compare both databases table by table. A --target other than SQLite must be
an empty database that exists.
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


def run(*args, database_url, restored_url=None, stdin=None):
    """Run a command in the demo project directory, on the given database."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="demoproject.settings",
               DEMO_DATABASE_URL=database_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_DIR, env.get("PYTHONPATH")]))
    env.pop("DEMO_RESTORED_URL", None)
    if restored_url:
        env["DEMO_RESTORED_URL"] = restored_url
    shown = [os.path.relpath(arg, DEMO_DIR) if arg.startswith(DEMO_DIR + os.sep) else arg
             for arg in args]
    print("$ python %s" % " ".join(shown), flush=True)
    subprocess.run([sys.executable, *args], cwd=DEMO_DIR, env=env, check=True, input=stdin,
                   text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", default=WORK_DIR,
                        help="where the SQLite files and the dump go (default: demo/work)")
    parser.add_argument("--source", help="database URL of the site to back up "
                        "(default: a SQLite file in the work directory)")
    parser.add_argument("--target", help="database URL to restore into "
                        "(default: a new SQLite file in the work directory)")
    parser.add_argument("--orders", type=int, default=3000, help="how many orders to create")
    args = parser.parse_args()
    started = time.monotonic()
    work_dir = os.path.abspath(args.work_dir)
    source = args.source or "sqlite:///" + os.path.join(work_dir, "site.sqlite3")
    target = args.target or "sqlite:///" + os.path.join(work_dir, "restored.sqlite3")
    backup = os.path.join(work_dir, "backup")
    os.makedirs(work_dir, exist_ok=True)
    for url in (source, target):
        if url.startswith("sqlite:///") and os.path.exists(url[len("sqlite:///"):]):
            os.remove(url[len("sqlite:///"):])
    shutil.rmtree(backup, ignore_errors=True)

    step("1. Create the shop's database and fill it with data")
    run("manage.py", "migrate", "-v", "0", database_url=source)
    run("manage.py", "flush", "--noinput", "-v", "0", database_url=source)
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
