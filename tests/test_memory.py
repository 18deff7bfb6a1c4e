"""Loading keeps memory flat: peak RSS does not grow with the size of a dump.

Each measurement is a whole process (a fresh interpreter running loaddata on
its own SQLite database), so that nothing measured in one run stays in the
next. The same rows are loaded from a single file and from a directory dump
whose one chunk holds every row: neither the number of rows nor the size of
one file may make the peak grow.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# Step "make" builds a dump of `rows` rows by repeating one real row with new
# keys; step "load" (another process) loads it with loaddata, and step "dump"
# (a third) dumps the loaded database with dump2py; both print their peak RSS
# in KiB and the rows in the database.
PROBE = textwrap.dedent(
    """
    import datetime, decimal, json, os, re, resource, sys, uuid
    import django
    django.setup()
    from django.core import serializers
    from django.core.management import call_command
    from testapp.models import Everything

    rows, form, work, step = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    name = "restore.py" if form == "directory" else "dump.py"
    chunk = os.path.join(work, "everything.py" if form == "directory" else name)
    call_command("migrate", run_syncdb=True, verbosity=0)
    if step == "dump":
        call_command("dump2py", os.path.join(work, "backup"), "--noinput", verbosity=0)
        print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                          "rows": Everything.objects.count(),
                          "bytes": os.path.getsize(chunk)}))
        sys.exit()
    if step == "load":
        call_command("loaddata", os.path.join(work, name), verbosity=0)
        print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                          "rows": Everything.objects.count(),
                          "bytes": os.path.getsize(chunk)}))
        sys.exit()
    sample = Everything(
        id=1, small=-5, integer=123456, big=2**40, char="Grüße aus Köln",
        text="a longer text " * 8, decimal=decimal.Decimal("1234.567800"),
        floating=0.1, date=datetime.date(2024, 2, 29),
        time=datetime.time(1, 2, 3, 456789),
        datetime=datetime.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone.utc),
        duration=datetime.timedelta(days=1, microseconds=5), uuid=uuid.uuid4(),
        binary=b"\\x00\\x01" * 16, ip="192.0.2.1", json={"k": [1, 2, {"x": "y"}]},
    )
    text = serializers.serialize("py", [sample])
    head, rest = text.split("ROWS = [\\n")
    row_line = rest.splitlines()[0]
    body = row_line[row_line.index(","):]
    with open(chunk, "w", encoding="utf-8") as out:
        out.write(head + "ROWS = [\\n")
        for pk in range(1, rows + 1):
            out.write("[%d%s\\n" % (pk, body))
        out.write("]\\n")
    if form == "directory":
        import hashlib
        from pyserializer import manifest
        from pyserializer.manifest import FileEntry
        digest = hashlib.sha256()
        with open(chunk, "rb") as written:
            for block in iter(lambda: written.read(1 << 20), b""):
                digest.update(block)
        entry = FileEntry("everything.py", "testapp.everything", rows,
                          os.path.getsize(chunk), digest.hexdigest())
        with open(os.path.join(work, name), "w", encoding="utf-8") as out:
            out.write(manifest.render(manifest.Manifest(files=[entry])))
    Everything.objects.all().delete()
    """
)


def load_in_fresh_process(tmp_path, rows, form, steps=("make", "load")):
    work = tmp_path / ("%s-%d" % (form, rows))
    work.mkdir()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="testproject.settings",
        DATABASE_URL="sqlite:///%s" % (work / "db.sqlite3"),
        PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]),
    )
    for step in steps:
        result = subprocess.run(
            [sys.executable, "-c", PROBE, str(rows), form, str(work), step],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("form", ["single", "directory"])
def test_peak_memory_of_a_load_does_not_grow_with_rows_or_file_size(tmp_path, form):
    small = load_in_fresh_process(tmp_path, 5_000, form)
    large = load_in_fresh_process(tmp_path, 100_000, form)
    assert small["rows"] == 5_000 and large["rows"] == 100_000
    assert large["bytes"] > 15 * small["bytes"]
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    # 20 times the rows and the bytes in one file: the peak may move by noise only.
    assert growth_mib < 8, (small, large)


@pytest.mark.slow
def test_peak_memory_of_dump2py_does_not_grow_with_rows(tmp_path):
    steps = ("make", "load", "dump")
    small = load_in_fresh_process(tmp_path, 5_000, "directory", steps)
    large = load_in_fresh_process(tmp_path, 100_000, "directory", steps)
    assert small["rows"] == 5_000 and large["rows"] == 100_000
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < 8, (small, large)
