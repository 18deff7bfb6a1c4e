"""A backup that can be trusted: consistent while the site writes, never
half-written after a crash, readable by its owner only."""

import contextlib
import errno
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F

from helpers import (
    KeepWriting, blocks, file_mode, in_thread, load, on_creating, populate, raising,
    restore_files, wipe,
)
from pyserializer.cli.progress import DumpProgress
from pyserializer.dumping.snapshot import read_snapshot
from pyserializer.files import safefiles
from testapp.models import Everything, Restaurant

ACCOUNTS = 200  # rows of Everything holding an amount in "integer"
ACCOUNT_AMOUNT = 1_000
RESTAURANTS = 3  # rows of Restaurant holding an amount in "seats"
RESTAURANT_AMOUNT = 1_000_000
TOTAL = ACCOUNTS * ACCOUNT_AMOUNT + RESTAURANTS * RESTAURANT_AMOUNT
DUMP_COMMAND = "pyserializer.management.commands.dump2py"


def dump2py(directory, *args):
    call_command("dump2py", str(directory), "--noinput", *args, verbosity=0)
    return Path(directory) / "restore.py"


# ---------------------------------------------------------------------------
# Consistency: amounts keep moving between two tables during the dump.


@pytest.fixture
def live_database(tmp_path, transactional_db):
    """The database of a live site: other connections write to it while it is
    dumped. Returns a function that a writer thread calls first.

    The SQLite test database lives in memory, which is not how a site's
    database is shared; there the test uses a file database in WAL mode.
    """
    if connection.vendor != "sqlite":
        yield lambda: None
        return
    from django.contrib.contenttypes.models import ContentType

    original = connections["default"]
    settings_dict = dict(original.settings_dict, NAME=str(tmp_path / "live.sqlite3"))

    def use_file_database():
        wrapper = type(original)(dict(settings_dict), "default")
        connections["default"] = wrapper
        return wrapper

    main = use_file_database()
    try:
        with main.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode = WAL")
        call_command("migrate", run_syncdb=True, verbosity=0)
        yield use_file_database
    finally:
        main.close()
        connections["default"] = original
        ContentType.objects.clear_cache()  # it cached the file database's ids


def open_accounts():
    Everything.objects.bulk_create(
        Everything(pk=pk, integer=ACCOUNT_AMOUNT) for pk in range(1, ACCOUNTS + 1)
    )
    for pk in range(1, RESTAURANTS + 1):
        Restaurant.objects.create(pk=pk, name="R%d" % pk, seats=RESTAURANT_AMOUNT)
    assert database_total() == TOTAL


def database_total():
    return (sum(Everything.objects.values_list("integer", flat=True))
            + sum(Restaurant.objects.values_list("seats", flat=True)))


def transfer(amount, account, restaurant):
    """Move ``amount`` from a restaurant to an account, in one transaction."""
    with transaction.atomic():
        Restaurant.objects.filter(pk=restaurant).update(seats=F("seats") - amount)
        Everything.objects.filter(pk=account).update(integer=F("integer") + amount)


def dumped_total(manifest):
    """The sum of the amounts as the dump holds them, read from its files."""
    total = 0
    for name, model, *_ in restore_files(manifest):
        column = {"testapp.everything": "integer", "testapp.restaurant": "seats"}.get(model)
        if column is None:
            continue
        for block in blocks(Path(manifest).parent / name):
            index = block["fields"].index(column)
            total += sum(values[index] for _, values in block["rows"])
    return total


def transfer_after(monkeypatch, cls, name, when, setup=lambda: None, amount=7):
    """Commit one transfer (account 1 <- restaurant 1), on another connection,
    after each call of ``cls.name`` whose arguments ``when`` accepts. Returns
    the list of the amounts transferred."""
    done = []
    original = getattr(cls, name)

    def call_then_transfer(self, *args):
        original(self, *args)
        if when(*args):
            thread, failures = in_thread(setup, transfer, amount, 1, 1)
            thread.join(30)
            assert not failures, failures
            done.append(amount)

    monkeypatch.setattr(cls, name, call_then_transfer)
    return done


@contextlib.contextmanager
def transfer_between_the_two_tables(monkeypatch, setup, amount=7):
    """Commit one transfer, on another connection, after the dump has read the
    accounts and before it reads the restaurants."""
    done = transfer_after(monkeypatch, DumpProgress, "end_block",
                          lambda block, files: block.label == "testapp.everything",
                          setup, amount)
    yield done
    assert done == [amount], "the dump read no accounts"


def test_a_transfer_committed_while_the_dump_runs_is_not_half_in_the_dump(
    tmp_path, live_database, monkeypatch
):
    open_accounts()
    with transfer_between_the_two_tables(monkeypatch, live_database):
        manifest = dump2py(tmp_path / "backup", "-m", "50")
    assert database_total() == TOTAL
    assert Everything.objects.get(pk=1).integer == ACCOUNT_AMOUNT + 7  # it did commit
    assert dumped_total(manifest) == TOTAL


@pytest.mark.parametrize("reads", ["in autocommit", "in a READ COMMITTED transaction"])
def test_the_check_above_catches_a_dump_that_is_not_one_snapshot(
    tmp_path, live_database, monkeypatch, reads
):
    """The control: the same dump without the snapshot gives a wrong total."""
    if reads == "in autocommit":
        monkeypatch.setattr(DUMP_COMMAND + ".read_snapshot", lambda using: contextlib.nullcontext())
    else:
        if connection.vendor == "sqlite":
            pytest.skip("SQLite has no READ COMMITTED: any transaction reads one snapshot")
        monkeypatch.setattr(DUMP_COMMAND + ".read_snapshot",
                            lambda using: transaction.atomic(using=using))
    open_accounts()
    with transfer_between_the_two_tables(monkeypatch, live_database):
        manifest = dump2py(tmp_path / "backup", "-m", "50")
    assert dumped_total(manifest) == TOTAL - 7


def test_the_dump_total_is_the_constant_while_amounts_keep_moving(
    tmp_path, live_database, monkeypatch
):
    open_accounts()

    def move(rng):
        transfer(rng.randint(-50, 50), rng.randint(1, ACCOUNTS), rng.randint(1, RESTAURANTS))

    with KeepWriting(move, live_database, seed=1) as transfers:
        # Transfers happen while the dump reads: it waits for a few after each batch.
        transfers.pause_after(monkeypatch, DumpProgress, "rows_read")
        started = transfers.count
        manifest = dump2py(tmp_path / "backup", "-m", "20")
        during = transfers.count - started
    assert during >= 10, "too few transfers during the dump to prove anything"
    assert database_total() == TOTAL
    assert dumped_total(manifest) == TOTAL


def test_the_snapshot_is_read_only(live_database):
    with pytest.raises(DatabaseError):
        with read_snapshot("default"):
            Everything.objects.create(pk=1)
    assert not Everything.objects.exists()
    Everything.objects.create(pk=2)  # the connection is writable again afterwards


# ---------------------------------------------------------------------------
# Crash safety: an interrupted dump never looks complete.


class Injected(Exception):
    pass


def fail_on_call(monkeypatch, cls, name, number, exception):
    """Make the ``number``-th call of ``cls.name`` raise ``exception``."""
    original = getattr(cls, name)
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise exception
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, failing)
    return calls


FAILURES = {
    "full disk": (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "Cannot write the dump"),
    "Ctrl-C": (KeyboardInterrupt(), "Interrupted"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("when", ["in the middle of the chunks", "writing restore.py"])
def test_an_interrupted_dump_leaves_nothing_behind(tmp_path, monkeypatch, failure, when):
    populate()
    exception, message = FAILURES[failure]
    if when == "writing restore.py":
        calls = fail_on_call(monkeypatch, safefiles.AtomicFile, "write", 1, exception)
    else:
        calls = on_creating(monkeypatch, "*_*.py", raising(exception), number=3)
    with pytest.raises(CommandError, match=message):
        dump2py(tmp_path / "backup", "-m", "2")
    assert calls, "the failure was not injected"
    assert os.listdir(tmp_path) == []


@pytest.mark.django_db
def test_an_interrupted_overwrite_keeps_the_old_dump_whole(tmp_path, monkeypatch):
    populate()
    manifest = dump2py(tmp_path / "backup", "-m", "2")
    before = {path.name: path.read_bytes() for path in (tmp_path / "backup").iterdir()}
    Everything.objects.all().delete()
    on_creating(monkeypatch, "*_*.py", raising(KeyboardInterrupt()), number=3)
    with pytest.raises(CommandError, match="Interrupted.*left as it was"):
        dump2py(tmp_path / "backup", "-m", "2", "--overwrite")
    assert {path.name: path.read_bytes() for path in (tmp_path / "backup").iterdir()} == before
    assert os.listdir(tmp_path) == ["backup"]
    wipe()
    load(manifest)
    assert Everything.objects.count() == 5


@pytest.mark.django_db
def test_restore_py_appears_last_after_every_chunk_is_flushed_to_disk(tmp_path, monkeypatch):
    populate()
    events = []
    real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink("/proc/self/fd/%d" % fd))))
        return real_fsync(fd)

    def replace(source, target):
        events.append(("replace", os.path.basename(source), os.path.basename(target)))
        return real_replace(source, target)

    def rename(source, target):
        events.append(("rename", os.path.basename(source), os.path.basename(target)))
        return real_rename(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", rename)
    manifest = dump2py(tmp_path / "backup", "-m", "2")
    chunks = [entry[0] for entry in restore_files(manifest)]
    partial_of = {event[2]: event[1] for event in events if event[0] == "replace"}
    manifest_appears = events.index(("replace", ".restore.py.partial", "restore.py"))
    for chunk in chunks:
        partial = partial_of[chunk]
        assert partial.endswith(".partial")
        assert events.index(("fsync", partial)) < manifest_appears
        assert events.index(("replace", partial, chunk)) < manifest_appears
    assert events.index(("fsync", ".restore.py.partial")) < manifest_appears
    published = [event for event in events if event[0] == "rename" and event[2] == "backup"]
    assert len(published) == 1 and events.index(published[0]) > manifest_appears


@pytest.mark.django_db
def test_the_dump_is_readable_by_its_owner_only(tmp_path):
    populate()
    umask = os.umask(0)  # even when the process would create world-readable files
    try:
        dump2py(tmp_path / "backup", "-m", "2")
    finally:
        os.umask(umask)
    assert file_mode(tmp_path / "backup") == 0o700
    modes = {file_mode(path) for path in (tmp_path / "backup").iterdir()}
    assert modes == {0o600}
