"""A restore's ``--jobs N``: worker processes read the chunks, this one writes.
The database, the signals and their order, and every refusal are those of
one process; a failing worker is named with its chunk; a stop (an error,
Ctrl-C, SIGTERM, a dying worker) leaves the database as it was and no worker
behind."""

import io
import os
import re
import signal
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import signals

from helpers import (
    as_json, chunk_names, db_snapshot, db_snapshot_in, line_number, populate, read_lines,
    replace_line, reseal, restore_files, wipe,
)
from processes import project_env
from test_restore_script import TESTS_DIR, run_script
from pyserializer.errors import DumpError
from pyserializer.files import manifest as manifests
from pyserializer.files.reader import DumpReader
from pyserializer.files.safefiles import open_chunk
from pyserializer.loading import readahead
from pyserializer.loading.deserializer import Deserializer
from pyserializer.restoring.run import restore
from testapp.models import Everything, Person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dump(tmp_path):
    """A dump of many small chunks (two rows each), and the database it was taken of."""
    populate()
    call_command("dump2py", str(tmp_path / "dump"), "--noinput", "--max-row-count", "2",
                 verbosity=0)
    return tmp_path / "dump" / "restore.py", db_snapshot()


def restore_dump(manifest, *options):
    out = io.StringIO()
    call_command("restore_dump", str(manifest), "--noinput", *options, verbosity=1,
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


class Events:
    """Every pre_save and post_save, in order: sender, primary key, created."""

    def __init__(self):
        self.seen = []

    def receive(self, signal, sender, instance, **kwargs):
        self.seen.append((signal is signals.pre_save, sender._meta.label_lower, instance.pk,
                          kwargs.get("created")))

    def __enter__(self):
        signals.pre_save.connect(self.receive, weak=False)
        signals.post_save.connect(self.receive, weak=False)
        return self

    def __exit__(self, *exc_info):
        signals.pre_save.disconnect(self.receive)
        signals.post_save.disconnect(self.receive)


def test_more_jobs_restore_the_same_rows_with_the_same_signals_in_the_same_order(dump):
    manifest, dumped = dump
    assert len(chunk_names(manifest)) > 6  # more chunks than workers, several per worker
    outcomes = []
    for jobs in ("1", "2", "4"):
        wipe()
        with Events() as events:
            said = restore_dump(manifest, "--jobs", jobs)
        outcomes.append((db_snapshot(), events.seen, said.splitlines()[-2]))
    assert outcomes[0][0] == dumped
    assert outcomes[1] == outcomes[0] and outcomes[2] == outcomes[0]
    assert outcomes[0][1]  # signals were sent, and compared


def test_more_jobs_without_signals_restore_the_same_rows(dump):
    manifest, dumped = dump
    wipe()
    with Events() as events:
        restore(manifest, interactive=False, verbosity=0, signals=False, jobs=3)
    assert events.seen == [] and db_snapshot() == dumped


def test_more_jobs_than_chunks_and_compressed_chunks(tmp_path):
    populate()
    call_command("dump2py", str(tmp_path / "dump"), "--noinput", "--compress", "gzip",
                 verbosity=0)
    manifest = tmp_path / "dump" / "restore.py"
    dumped = db_snapshot()
    wipe()
    restore(manifest, interactive=False, verbosity=0, jobs=len(chunk_names(manifest)) + 5)
    assert db_snapshot() == dumped


def changed_after_the_dump():
    """Change the database after the dump; a failed restore must leave it so."""
    Person.objects.create(name="after the dump")
    Everything.objects.filter(pk=7).update(text="changed after the dump")
    return db_snapshot()


def broken_row(manifest, breaking):
    """Break the first row of a chunk well after the first with ``breaking``
    (resealed: only its content is wrong); return the chunk's path and the line."""
    names = chunk_names(manifest)
    path = manifest.parent / names[len(names) // 2 + 1]
    number = line_number(path, lambda line: line.startswith("["))
    replace_line(path, number, breaking(read_lines(path)[number - 1]))
    reseal(manifest)
    return path, number


def refused_with_one_and_more_jobs(manifest, *options):
    """What ``restore_dump`` (with ``options``) says when it refuses the dump,
    with one process and with three; the database, changed after the dump, is
    left as it was."""
    before = changed_after_the_dump()
    refusals = []
    for jobs in ("1", "3"):
        with pytest.raises(CommandError) as refused:
            restore_dump(manifest, *options, "--jobs", jobs)
        refusals.append(str(refused.value))
        assert db_snapshot() == before
    return refusals


@pytest.mark.parametrize("breaking", [
    lambda row: "[1, 2, os.system('true')],",  # the reader refuses it
    lambda row: re.sub(r"^\[\d+,", '["one",', row),  # the primary key's codec refuses it
])
def test_a_bad_row_read_by_a_worker_is_refused_as_one_process_refuses_it(dump, breaking):
    manifest, _ = dump
    path, number = broken_row(manifest, breaking)
    refusals = refused_with_one_and_more_jobs(manifest)
    assert refusals[0] == refusals[1]
    assert "%s, line %d" % (path, number) in refusals[0]


def test_an_altered_chunk_read_by_a_worker_is_refused_as_one_process_refuses_it(dump):
    manifest, _ = dump
    names = chunk_names(manifest)
    path = manifest.parent / names[-2]
    path.write_bytes(path.read_bytes().replace(b"[", b"[ ", 1)[:-1] + b"\n")
    refusals = refused_with_one_and_more_jobs(manifest)
    assert refusals[0] == refusals[1]
    assert str(path) in refusals[0] and "it was truncated or altered" in refusals[0], refusals[0]


def test_a_worker_that_dies_is_named_with_its_chunk_and_nothing_changes(dump, monkeypatch):
    manifest, _ = dump
    name, model = restore_files(manifest)[5][:2]
    doomed = str(manifest.parent / name)
    send_chunk = readahead._send_chunk

    def dying(pipe, path, model, *rest):  # runs in the forked worker
        if path == doomed:
            os._exit(9)
        return send_chunk(pipe, path, model, *rest)

    monkeypatch.setattr(readahead, "_send_chunk", dying)
    before = changed_after_the_dump()
    with pytest.raises(DumpError) as refused:
        restore(manifest, interactive=False, verbosity=0, jobs=3)
    assert str(refused.value).startswith(
        "%s, model %s: the worker process reading this chunk ended unexpectedly "
        "(exit code 9)" % (doomed, model))
    assert db_snapshot() == before


def test_a_worker_decodes_only_the_values_that_are_plain_data(dump):
    """What a worker sends must come back as the same value without the
    project's code: a JSONField's values (its decoder may be the project's,
    JSON null is an expression) and a field's own ``to_python`` (any object)
    are decoded by the restoring process."""
    manifest, _ = dump
    deserializer = Deserializer(manifests.read_file(str(manifest)))
    path = manifest.parent / next(
        name for name in chunk_names(manifest) if name.startswith("testapp_everything"))
    with open_chunk(path) as stream:
        reader = DumpReader(stream, str(path))
        block = next(reader.blocks())
        decode, _ = deserializer._decoder_for_worker(reader, block)
        sent_decoded = {field.name for _, field, _, _ in decode.keywords["decoders"]}
        for _ in block.rows:
            pass
    assert {"datetime", "date", "time", "duration", "decimal", "uuid", "binary"} <= sent_decoded
    assert not {"json", "integers"} & sent_decoded


def test_jobs_must_be_a_number_of_processes(dump):
    manifest, _ = dump
    for value, problem in (("0", "--jobs must be at least 1"),
                           ("two", "'two' is not a number of processes")):
        with pytest.raises(CommandError) as refused:
            restore_dump(manifest, "--jobs", value)
        assert str(refused.value) == "Error: argument -j/--jobs: %s" % problem


def test_check_reads_with_more_jobs_as_with_one(dump):
    manifest, _ = dump
    said = [restore_dump(manifest, "--check", "--jobs", jobs) for jobs in ("1", "3")]
    assert said[0] == said[1] and "objects" in said[0]
    broken_row(manifest, lambda row: re.sub(r"^\[\d+,", '["one",', row))
    refusals = refused_with_one_and_more_jobs(manifest, "--check")
    assert refusals[0] == refusals[1] and "invalid value 'one'" in refusals[0]


def test_verify_reads_with_more_jobs(dump):
    manifest, _ = dump
    out = io.StringIO()
    call_command("restore_dump", str(manifest), "--verify", "--jobs", "2", verbosity=1,
                 stdout=out)
    assert out.getvalue().startswith("Verified")


# A restore.py run that stops in the middle of its load: it says which worker
# processes read for it, then waits, its transaction open, for a signal.
RESTORE_UNTIL_STOPPED = """
import os, sys, time
from pyserializer.loading import readahead, saving

started = readahead.ReadAhead.__enter__

def enter(self):
    chunks = started(self)
    print("workers", *[process.pid for process, _ in self.workers], flush=True)
    return chunks

flush = saving.BatchSaver.flush
flushes = []

def flush_then_wait(self):
    flush(self)
    flushes.append(1)
    if len(flushes) == 3:
        print("loading", flush=True)
        for _ in range(6000):
            time.sleep(0.1)

readahead.ReadAhead.__enter__ = enter
saving.BatchSaver.flush = flush_then_wait
from pyserializer.restore import main
main(sys.argv[1], ["--noinput", "--jobs", "3"])
"""


def gone(pid):
    """Whether process ``pid`` is gone (or a zombie nobody waits for)."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("stop, said", [
    (signal.SIGTERM, "Terminated (SIGTERM)"), (signal.SIGINT, "Interrupted"),
])
def test_sigterm_and_ctrl_c_leave_the_database_unchanged_and_no_worker(
        dump, tmp_path, new_database_url, stop, said):
    first, dumped = dump
    assert run_script(first, "--noinput", database_url=new_database_url).returncode == 0
    before = db_snapshot_in(new_database_url, "testapp")
    assert before == as_json(dumped)
    changed_after_the_dump()
    call_command("dump2py", str(tmp_path / "second"), "--noinput", "--max-row-count", "2",
                 verbosity=0)
    assert as_json(db_snapshot()) != before  # what the second dump would restore
    env = project_env(new_database_url)
    process = subprocess.Popen(
        [sys.executable, "-c", RESTORE_UNTIL_STOPPED, str(tmp_path / "second" / "restore.py")],
        cwd=TESTS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        said_first = []
        while not said_first or said_first[-1] != "loading\n":
            said_first.append(process.stdout.readline())
            assert said_first[-1], process.stderr.read()
        workers = [int(pid) for line in said_first if line.startswith("workers ")
                   for pid in line.split()[1:]]
        assert len(workers) == 2
        os.killpg(process.pid, stop)  # Ctrl-C reaches the whole process group
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1
    assert stderr.startswith(said), stderr
    assert "Traceback" not in stderr
    assert all(gone(pid) for pid in workers)
    assert db_snapshot_in(new_database_url, "testapp") == before
