"""dump2py --jobs N: the same files as one process, from one snapshot, on
PostgreSQL and MariaDB; refused where connections cannot share a snapshot, and
on MariaDB for a user without the RELOAD privilege."""

import errno
import io
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.db.models import F

from helpers import (
    TESTS_DIR, KeepWriting, assert_same_rows, db_snapshot, load, on_creating, populate, raising,
    read_lines, restore_files, wipe,
)
from processes import project_env
from pyserializer.dumping import rows, snapshot, writer
from test_backup_consistency import (
    ACCOUNTS, TOTAL, database_total, dumped_total, open_accounts, transfer, transfer_after,
)
from testapp.models import Author, Book, Everything

shares_snapshots = pytest.mark.skipif(
    connection.vendor not in ("postgresql", "mysql"),
    reason="--jobs needs a snapshot that several connections can read",
)


def dump2py(directory, *args, **options):
    """Run dump2py; return the path of restore.py."""
    options.setdefault("verbosity", 0)
    call_command("dump2py", str(directory), "--noinput", *[str(arg) for arg in args], **options)
    return Path(directory) / "restore.py"


def files_of(directory):
    """{file name: bytes} of a dump, restore.py without its `created` line."""
    files = {path.name: path.read_bytes() for path in Path(directory).iterdir()}
    manifest = read_lines(Path(directory) / "restore.py")
    files["restore.py"] = [line for line in manifest if not line.startswith("CREATED = ")]
    return files


def populate_more():
    """populate(), plus enough rows that every table of the test app has
    several chunks: many-to-many keys, natural keys, a multi-table child."""
    populate()
    Everything.objects.bulk_create(Everything(pk=100 + pk, integer=pk) for pk in range(23))
    authors = Author.objects.bulk_create(
        Author(pk=100 + n, name="author %d" % n) for n in range(11))
    for n in range(17):
        book = Book.objects.create(pk=100 + n, title="book %d" % n, author=authors[n % 11])
        book.coauthors.set(authors[: n % 5])


# ---------------------------------------------------------------------------
# The same dump as with one process.


@shares_snapshots
@pytest.mark.parametrize("jobs, max_rows, compress", [
    (2, 3, "none"), (3, 1, "none"), (2, 4, "gzip"), (4, 50000, "none"),
])
def test_jobs_write_the_same_files_as_one_process(tmp_path, transactional_db, jobs, max_rows,
                                                  compress):
    populate_more()
    one = dump2py(tmp_path / "one", "-m", max_rows, "-z", compress)
    parallel = dump2py(tmp_path / "parallel", "-m", max_rows, "-z", compress, "--jobs", jobs)
    assert restore_files(parallel) == restore_files(one)  # names, rows, sizes, sha256, order
    assert files_of(tmp_path / "parallel") == files_of(tmp_path / "one")
    assert len(restore_files(one)) > 20
    with connection.cursor() as cursor:  # the workers left the parent's session alone
        cursor.execute("SELECT 1")


@shares_snapshots
def test_a_parallel_dump_restores_every_row(tmp_path, transactional_db):
    populate_more()
    before = db_snapshot()
    manifest = dump2py(tmp_path / "backup", "-m", 2, "--jobs", 2)
    wipe()
    load(manifest)
    assert_same_rows(before, db_snapshot())


@shares_snapshots
def test_the_summary_counts_every_row_and_a_bar_counts_the_files(tmp_path, transactional_db):
    populate_more()

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    outputs = {}
    for jobs in (1, 2):
        out, err = io.StringIO(), Terminal()
        dump2py(tmp_path / str(jobs), "-m", 3, "--jobs", jobs, verbosity=1, stdout=out,
                stderr=err)
        outputs[jobs] = out.getvalue().split(" to ")[0], err.getvalue()
    assert outputs[2][0] == outputs[1][0]
    assert outputs[2][0].startswith("Dumped ")
    assert "Dumping" in outputs[2][1] and " files" in outputs[2][1]


# ---------------------------------------------------------------------------
# One moment, while another connection keeps writing.


def transfer_when_adopted(monkeypatch, label, part):
    """Commit one transfer (account 1 <- restaurant 1) on another connection as
    soon as the parent has the finished chunk ``part`` of model ``label``."""
    return transfer_after(
        monkeypatch, writer.DirectoryWriter, "adopt",
        lambda chunks: any(chunk.label == label and chunk.part == part for chunk in chunks),
    )


@shares_snapshots
def test_a_transfer_committed_while_workers_read_is_not_half_in_the_dump(
    tmp_path, transactional_db, monkeypatch
):
    """Account 1 is in the first chunk of testapp.everything; the restaurants
    are read by a chunk handed out after that chunk is done."""
    open_accounts()
    done = transfer_when_adopted(monkeypatch, "testapp.everything", 1)
    manifest = dump2py(tmp_path / "backup", "-m", 20, "--jobs", 2)
    assert done == [7]
    assert Everything.objects.get(pk=1).integer == 1007  # it did commit
    assert dumped_total(manifest) == TOTAL


@shares_snapshots
def test_the_check_above_catches_workers_that_do_not_share_the_snapshot(
    tmp_path, transactional_db, monkeypatch
):
    """The control: workers each in their own READ COMMITTED transaction."""
    from django.db import transaction

    for shared in (snapshot.ExportedSnapshot, snapshot.LockedMoment):
        monkeypatch.setattr(shared, "opened", lambda self: transaction.atomic(using=self.using))
    open_accounts()
    done = transfer_when_adopted(monkeypatch, "testapp.everything", 1)
    manifest = dump2py(tmp_path / "backup", "-m", 20, "--jobs", 2)
    assert done == [7]
    assert dumped_total(manifest) == TOTAL - 7


@shares_snapshots
def test_rows_keep_moving_and_appearing_while_the_workers_read(
    tmp_path, transactional_db, monkeypatch
):
    """A writer moves amounts between two tables (three, with the restaurant's
    parent) and opens accounts between existing keys, which would shift every
    chunk boundary after them: the parallel dump holds one moment, byte for
    byte the one-process dump taken in the snapshot the parent exported."""
    open_accounts()
    # Accounts 10, 20, ... 2000, leaving room for new keys between them.
    Everything.objects.update(id=F("id") + 1_000_000)
    Everything.objects.update(id=(F("id") - 1_000_000) * 10)
    taken = set()

    def move_or_open(rng):
        transfer(rng.randint(-50, 50), rng.randint(1, ACCOUNTS) * 10, rng.randint(1, 3))
        new_pk = rng.randrange(1, ACCOUNTS * 10)
        if new_pk % 10 and new_pk not in taken:
            Everything.objects.create(pk=new_pk, integer=0)
            taken.add(new_pk)

    def dump_with_one_process_too(all_opened):
        """Also dump the shared moment in one process, in the parent's
        transaction, once the workers have opened it."""
        def wrapped(self):
            if not (tmp_path / "one").exists():
                dump2py(tmp_path / "one", "-m", 7)
            all_opened(self)
        return wrapped

    for shared in (snapshot.ExportedSnapshot, snapshot.LockedMoment):
        monkeypatch.setattr(shared, "all_opened", dump_with_one_process_too(shared.all_opened))
    with KeepWriting(move_or_open, seed=2) as writes:
        # The next chunk is handed out only once the writer has committed twice more.
        writes.pause_after(monkeypatch, writer.DirectoryWriter, "adopt")
        started = writes.count
        manifest = dump2py(tmp_path / "parallel", "-m", 7, "--jobs", 2)
        during = writes.count - started
    assert during >= 20, "too few writes during the dump to prove anything"
    assert database_total() == TOTAL
    assert dumped_total(manifest) == TOTAL
    assert Everything.objects.count() > ACCOUNTS + 10  # accounts were opened meanwhile
    assert files_of(tmp_path / "parallel") == files_of(tmp_path / "one")


# ---------------------------------------------------------------------------
# Refused where it cannot give one consistent dump.


@pytest.mark.skipif(connection.vendor in ("postgresql", "mysql"), reason="shares snapshots")
@pytest.mark.django_db
def test_jobs_are_refused_where_connections_cannot_share_a_snapshot(tmp_path):
    with pytest.raises(CommandError, match=r"with --jobs 2: .* cannot share one snapshot "
                       r".*only PostgreSQL and MariaDB/MySQL can\. Nothing was written; "
                       r"dump it with one process"):
        dump2py(tmp_path / "backup", "--jobs", 2)
    assert os.listdir(tmp_path) == []
    dump2py(tmp_path / "backup", "--jobs", 1)  # one process is the default
    assert (tmp_path / "backup" / "restore.py").exists()


@shares_snapshots
@pytest.mark.django_db
def test_jobs_are_refused_inside_a_transaction(tmp_path):
    """pytest-django's test transaction: the workers would not see its rows."""
    with pytest.raises(CommandError, match="inside a transaction"):
        dump2py(tmp_path / "backup", "--jobs", 2)
    assert os.listdir(tmp_path) == []


@pytest.mark.django_db
@pytest.mark.parametrize("option", ["--tolerate", "--simulate"])
def test_jobs_are_refused_with_options_that_work_in_one_process(tmp_path, option):
    with pytest.raises(CommandError, match="%s works with one process only" % option):
        dump2py(tmp_path / "backup", option, "--jobs", 2)
    assert os.listdir(tmp_path) == []


@pytest.mark.django_db
def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(CommandError, match="--jobs must be at least 1"):
        dump2py(tmp_path / "backup", "--jobs", 0)


# ---------------------------------------------------------------------------
# A worker's failure: the usual error, naming the table, and nothing left.


def no_worker_left():
    return not multiprocessing.active_children()


@shares_snapshots
def test_a_table_a_worker_cannot_read_is_named_and_nothing_is_left(
    tmp_path, transactional_db, monkeypatch
):
    populate_more()
    def read_or_fail(read):
        def reading(values, using, pk_position):
            if values.model._meta.label_lower == "testapp.book":
                with connections[using].cursor() as cursor:
                    cursor.execute("SELECT * FROM no_such_table")  # a real database error
            return read(values, using, pk_position)
        return reading

    for reader in ("_stream", "_pages"):  # PostgreSQL's way to read rows, MariaDB's
        monkeypatch.setattr(rows, reader, read_or_fail(getattr(rows, reader)))
    with pytest.raises(CommandError, match=r"Cannot read table testapp_book \(model "
                       r"testapp\.book\): .*no_such_table.* No dump was written\."):
        dump2py(tmp_path / "backup", "-m", 3, "--jobs", 2)
    assert os.listdir(tmp_path) == []
    assert no_worker_left()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@shares_snapshots
def test_a_chunk_a_worker_cannot_write_is_named_and_nothing_is_left(
    tmp_path, transactional_db, monkeypatch
):
    populate_more()
    on_creating(monkeypatch, "auth_permission_3.py",
                raising(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    with pytest.raises(CommandError, match=r"Cannot write the dump of table auth_permission "
                       r"\(model auth\.permission\): .*No space left on device"):
        dump2py(tmp_path / "backup", "-m", 3, "--jobs", 3)
    assert os.listdir(tmp_path) == []
    assert no_worker_left()


@shares_snapshots
def test_a_worker_that_dies_is_an_error_and_nothing_is_left(
    tmp_path, transactional_db, monkeypatch
):
    populate_more()
    on_creating(monkeypatch, "testapp_everything_2.py", lambda: os._exit(3))
    with pytest.raises(CommandError, match=r"testapp_everything \(model testapp\.everything\)"
                       r": its worker process ended \(exit code 3\)"):
        dump2py(tmp_path / "backup", "-m", 3, "--jobs", 2)
    assert os.listdir(tmp_path) == []
    assert no_worker_left()


@shares_snapshots
def test_an_interrupted_parallel_dump_stops_its_workers_and_leaves_nothing(
    tmp_path, transactional_db, monkeypatch
):
    populate_more()
    adopted = []
    adopt = writer.DirectoryWriter.adopt

    def adopt_then_interrupt(self, chunks):
        adopt(self, chunks)
        adopted.append(chunks)
        if len(adopted) == 3:
            raise KeyboardInterrupt()

    monkeypatch.setattr(writer.DirectoryWriter, "adopt", adopt_then_interrupt)
    with pytest.raises(CommandError, match="Interrupted. No dump was written."):
        dump2py(tmp_path / "backup", "-m", 2, "--jobs", 2)
    assert os.listdir(tmp_path) == []
    assert no_worker_left()


def test_help_lists_jobs():
    from pyserializer.management.commands.dump2py import Command

    help_text = Command().create_parser("manage.py", "dump2py").format_help()
    assert "-j N, --jobs N" in help_text


@shares_snapshots
def test_verbosity_2_says_per_model_the_rows_and_files_the_workers_wrote(tmp_path, transactional_db):
    populate_more()
    lines = {}
    for jobs in (1, 2):
        out = io.StringIO()
        dump2py(tmp_path / str(jobs), "-m", 3, "--jobs", jobs, verbosity=2, stdout=out)
        lines[jobs] = sorted(line.rpartition(", ")[0] for line in out.getvalue().splitlines()
                             if " in " in line and line.endswith(" seconds"))
    books = Book.objects.count()
    assert lines[2] == lines[1]
    assert "testapp.book: %d rows in %d files" % (books, -(-books // 3)) in "\n".join(lines[2])


# ---------------------------------------------------------------------------
# MariaDB: the global read lock needs the RELOAD privilege.


@pytest.mark.skipif(connection.vendor != "mysql", reason="MariaDB's global read lock")
def test_a_mariadb_user_without_reload_is_refused_before_anything_is_written(
    tmp_path, transactional_db
):
    """As the user meets it, in a process of its own: one line, nothing
    written; the same user with RELOAD dumps with two processes."""
    settings = connection.settings_dict
    user, password = "pys_dumpfast_noreload", "pys-dumpfast-pw"
    url = "mysql://%s:%s@%s:%s/%s" % (user, password, settings["HOST"] or "127.0.0.1",
                                      settings["PORT"] or 3306, settings["NAME"])

    def dump(name):
        return subprocess.run(
            [sys.executable, "-m", "django", "dump2py", "--jobs", "2", str(tmp_path / name)],
            cwd=TESTS_DIR, env=project_env(url), capture_output=True, text=True, timeout=300)

    with connection.cursor() as cursor:
        cursor.execute("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'" % (user, password))
        try:
            cursor.execute("GRANT SELECT ON `%s`.* TO '%s'@'%%'" % (settings["NAME"], user))
            refused = dump("refused")
            cursor.execute("GRANT RELOAD ON *.* TO '%s'@'%%'" % user)
            allowed = dump("allowed")
        finally:
            cursor.execute("DROP USER '%s'@'%%'" % user)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "CommandError: Cannot dump database 'default' with --jobs 2: the database user "
        "%s@%% lacks the RELOAD privilege, which the brief global read lock (FLUSH TABLES "
        "WITH READ LOCK) that gives every worker the same snapshot needs (GRANT RELOAD ON "
        "*.* TO ...). Nothing was written; dump it with one process (leave out --jobs)." % user
    ]
    assert not (tmp_path / "refused").exists()
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "allowed" / "restore.py").exists()
