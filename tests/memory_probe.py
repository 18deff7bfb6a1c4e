"""The peak memory of a load or a dump, each step in a fresh interpreter on its
own SQLite database, so that nothing measured in one run stays in the next.

`measure()` runs in the test; each step runs this file in another process:

- "make" writes a dump of ROWS rows by repeating one real row with new keys: a
  single file (dump.py) or a directory (restore.py and one chunk holding every
  row), its chunk compressed with COMPRESS when given;
- "load" loads it with loaddata;
- "dump" dumps the loaded database again with dump2py.

"load" and "dump" print their peak RSS in KiB, the rows in the database and
the bytes of the chunk as a JSON object.
"""

import datetime
import decimal
import hashlib
import json
import os
import resource
import subprocess
import sys
import uuid

FORMS = ("single", "directory")


def measure(tmp_path, rows, form, compress=None, steps=("make", "load")):
    """Run ``steps`` on a dump of ``rows`` rows of ``form`` (one of FORMS),
    compressed with ``compress`` (a directory only), each in a fresh process;
    return what the last one printed: {"peak_kib", "rows", "bytes"}."""
    # Here, not at the top: the measured processes must not import the tests' helpers.
    from helpers import TESTS_DIR
    from processes import project_env

    assert form in FORMS and not (compress and form == "single"), (form, compress)
    work = tmp_path / "-".join([form, compress or "plain", str(rows)])
    work.mkdir()
    env = project_env("sqlite:///%s" % (work / "db.sqlite3"), str(TESTS_DIR))
    options = [compress] if compress else []
    for step in steps:
        result = subprocess.run(
            [sys.executable, __file__, step, str(work), str(rows), form, *options],
            env=env, capture_output=True, text=True, check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def chunk_path(work, form, compress):
    """The file that holds the rows: the single file, or the directory's one chunk."""
    if form == "single":
        return os.path.join(work, "dump.py")
    from pyserializer.files.compression import SUFFIXES

    return os.path.join(work, "everything.py" + (SUFFIXES[compress] if compress else ""))


def make(work, rows, form, compress):
    from django.core import serializers
    from testapp.models import Everything

    sample = Everything(
        id=1, small=-5, integer=123456, big=2**40, char="Grüße aus Köln",
        text="a longer text " * 8, decimal=decimal.Decimal("1234.567800"),
        floating=0.1, date=datetime.date(2024, 2, 29),
        time=datetime.time(1, 2, 3, 456789),
        datetime=datetime.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone.utc),
        duration=datetime.timedelta(days=1, microseconds=5), uuid=uuid.uuid4(),
        binary=b"\x00\x01" * 16, ip="192.0.2.1", json={"k": [1, 2, {"x": "y"}]},
    )
    head, rest = serializers.serialize("py", [sample]).split("ROWS = [\n")
    body = rest.splitlines()[0]
    body = body[body.index(","):]
    chunk = chunk_path(work, form, compress)
    with open(chunk, "wb") as out:
        write_rows(out, compress, head, body, rows)
    if form == "directory":
        write_manifest(work, chunk, rows)


def write_rows(out, compress, head, body, rows):
    """``head`` then ``rows`` row lines of ``body`` with keys 1, 2, ... into
    ``out``, through a compressor when ``compress`` is given."""
    if compress:
        from pyserializer.files.compression import compressing_writer

        writer, _stored = compressing_writer(compress, out)
    else:
        writer = out
    writer.write((head + "ROWS = [\n").encode())
    for pk in range(1, rows + 1):
        writer.write(("[%d%s\n" % (pk, body)).encode())
    writer.write(b"]\n")
    if compress:
        writer.close()


def write_manifest(work, chunk, rows):
    """restore.py of a directory whose one chunk holds every row of Everything."""
    from pyserializer.files import manifest
    from pyserializer.files.manifest import FileEntry

    digest = hashlib.sha256()
    with open(chunk, "rb") as written:
        for block in iter(lambda: written.read(1 << 20), b""):
            digest.update(block)
    entry = FileEntry(os.path.basename(chunk), "testapp.everything", rows,
                      os.path.getsize(chunk), digest.hexdigest())
    with open(os.path.join(work, "restore.py"), "w", encoding="utf-8") as out:
        out.write(manifest.render(manifest.Manifest(files=[entry])))


def main(step, work, rows, form, compress=None):
    import django

    django.setup()
    from django.core.management import call_command
    from testapp.models import Everything

    rows = int(rows)
    call_command("migrate", run_syncdb=True, verbosity=0)
    if step == "make":
        make(work, rows, form, compress)
        return
    if step == "load":
        dump = "restore.py" if form == "directory" else "dump.py"
        call_command("loaddata", os.path.join(work, dump), verbosity=0)
    else:
        assert step == "dump", step
        call_command("dump2py", os.path.join(work, "backup"), "--noinput", verbosity=0)
    print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "rows": Everything.objects.count(),
                      "bytes": os.path.getsize(chunk_path(work, form, compress))}))


if __name__ == "__main__":
    main(*sys.argv[1:])
