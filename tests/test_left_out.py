"""Every row of every table, and every model left out named.

An unmanaged model on a real table (legacyapp.ledgerentry, its table made by
a migration's RunSQL) is dumped and restored; a model on a view
(legacyapp.accountbalance), one without a table (legacyapp.archivedentry),
one on the table of a managed model (legacyapp.accountname), one excluded
with -e and one a router keeps off the database are left out, and named by
dump2py, in restore.py, by restore_dump --check and --list.
"""

import datetime
import io
import json
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings

from helpers import read_lines, replace_line
from legacyapp.models import Account, AccountBalance, LedgerEntry
from pyserializer.errors import DumpError
from pyserializer.files import manifest as manifests
from pyserializer.files.resealing import reseal as reseal_dump
from pyserializer.restoring.plan import Cancelled
from pyserializer.restoring.run import restore
from processes import project_env
from test_restore_script import TESTS_DIR, run_script

VIEW = "legacyapp.accountbalance"
NO_TABLE = "legacyapp.archivedentry"
ON_A_DUMPED_TABLE = "legacyapp.accountname"
UNMANAGED_ON_A_TABLE = "legacyapp.ledgerentry"
LEGACY_LABELS = ["legacyapp.account", UNMANAGED_ON_A_TABLE, VIEW]


def django_in(database_url, *args):
    """``python -m django ARGS`` in the test project on ``database_url``; its output."""
    result = subprocess.run([sys.executable, "-m", "django", *args], cwd=TESTS_DIR,
                            env=project_env(database_url, str(TESTS_DIR)),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def legacy_rows(database_url=None):
    """The accounts, the ledger and the balances its view computes, as JSON data."""
    if database_url is None:
        out = io.StringIO()
        call_command("dumpdata", *LEGACY_LABELS, format="json", stdout=out)
        return json.loads(out.getvalue())
    return json.loads(django_in(database_url, "dumpdata", *LEGACY_LABELS, "--format", "json"))


def populate_ledger():
    shop = Account.objects.create(name="Shop")
    bank = Account.objects.create(name="Bank")
    day = datetime.date(2026, 11, 30)
    for number, (account, amount) in enumerate(
            [(shop, "12.50"), (shop, "-2.25"), (bank, "1000.00")], start=1):
        LedgerEntry.objects.create(entry_id=number, account=account, amount=Decimal(amount),
                                   booked=day + datetime.timedelta(days=number))


def dump2py(directory, *args):
    out = io.StringIO()
    call_command("dump2py", str(directory), "--noinput", *args, stdout=out)
    return directory / "restore.py", out.getvalue()


def left_out(manifest_path):
    with open(manifest_path, encoding="utf-8") as stream:
        return dict(manifests.read(stream, str(manifest_path)).left_out)


def dumped_models(manifest_path):
    with open(manifest_path, encoding="utf-8") as stream:
        return {entry.model for entry in manifests.read(stream, str(manifest_path)).files}


@pytest.mark.django_db
def test_the_rows_of_an_unmanaged_table_round_trip_into_a_new_database(tmp_path, new_database_url):
    populate_ledger()
    assert AccountBalance.objects.get(account__name="Shop").balance == Decimal("10.25")
    manifest, _ = dump2py(tmp_path / "backup")
    assert UNMANAGED_ON_A_TABLE in dumped_models(manifest)
    result = run_script(manifest, "--noinput", database_url=new_database_url)
    assert result.returncode == 0, result.stderr
    restored = legacy_rows(new_database_url)
    assert len([row for row in restored if row["model"] == UNMANAGED_ON_A_TABLE]) == 3
    assert restored == legacy_rows()


@pytest.mark.django_db
def test_a_restore_replaces_the_rows_of_an_unmanaged_table(tmp_path):
    populate_ledger()
    dumped = legacy_rows()
    manifest, _ = dump2py(tmp_path / "backup")
    LedgerEntry.objects.create(entry_id=99, account=Account.objects.first(),
                               amount=Decimal("1.00"), booked=datetime.date(2026, 12, 7))
    LedgerEntry.objects.filter(entry_id=1).update(amount=Decimal("0.01"))
    restore(manifest, interactive=False, verbosity=0)
    assert legacy_rows() == dumped


@pytest.mark.django_db
def test_a_restore_leaves_an_unmanaged_table_alone_when_the_dump_does_not_hold_its_rows(tmp_path):
    populate_ledger()
    manifest, _ = dump2py(tmp_path / "backup", "-e", UNMANAGED_ON_A_TABLE)
    Account.objects.create(name="Added after the dump")
    ledger = list(LedgerEntry.objects.values_list("entry_id", "amount"))
    restore(manifest, interactive=False, verbosity=0)
    assert list(Account.objects.values_list("name", flat=True)) == ["Shop", "Bank"]
    assert list(LedgerEntry.objects.values_list("entry_id", "amount")) == ledger


@pytest.mark.django_db
def test_a_target_without_the_table_is_refused_naming_model_and_table_and_e_lets_it_through(
        tmp_path, new_database_url):
    populate_ledger()
    manifest, _ = dump2py(tmp_path / "backup")
    django_in(new_database_url, "migrate", "--run-syncdb", "-v", "0")
    django_in(new_database_url, "shell", "-c", "from django.db import connection\n"
              "with connection.cursor() as cursor:\n"
              "    cursor.execute('DROP VIEW legacy_balances')\n"
              "    cursor.execute('DROP TABLE legacy_ledger')\n")
    everything_else = ["dumpdata", "--format", "json", "-e", UNMANAGED_ON_A_TABLE, "-e", VIEW,
                       "-e", NO_TABLE]
    before = django_in(new_database_url, *everything_else)

    refused = run_script(manifest, "--noinput", database_url=new_database_url)

    assert refused.returncode == 1
    message = refused.stderr
    assert "has no table legacy_ledger for the 3 rows of %s" % UNMANAGED_ON_A_TABLE in message
    assert "unmanaged model" in message and "Nothing was changed." in message
    assert "-e %s" % UNMANAGED_ON_A_TABLE in message
    assert django_in(new_database_url, *everything_else) == before

    accepted = run_script(manifest, "--noinput", "-e", UNMANAGED_ON_A_TABLE,
                          database_url=new_database_url)

    assert accepted.returncode == 0, accepted.stderr
    accounts = json.loads(django_in(new_database_url, "dumpdata", "legacyapp.account"))
    assert [row["fields"]["name"] for row in accounts] == ["Shop", "Bank"]


@pytest.mark.django_db
def test_models_on_a_view_no_table_or_a_dumped_table_are_named_by_dump2py_restore_py_and_restore_dump(
        tmp_path):
    populate_ledger()
    _, simulated = dump2py(tmp_path / "simulated", "--simulate")
    manifest, summary = dump2py(tmp_path / "backup")
    check, listing = io.StringIO(), io.StringIO()
    call_command("restore_dump", str(manifest), "--check", stdout=check)
    call_command("restore_dump", str(manifest), "--list", stdout=listing)

    reasons = left_out(manifest)
    assert reasons == {
        VIEW: "backed by the view legacy_balances, not a table: its rows are those of the "
              "tables it reads",
        NO_TABLE: "unmanaged, and database 'default' has no table legacy_archive",
        ON_A_DUMPED_TABLE: "its table legacyapp_account holds the rows of legacyapp.account, "
                           "which are dumped",
    }
    assert not set(reasons) & dumped_models(manifest)
    for text in (simulated, summary, check.getvalue(), listing.getvalue()):
        assert "Left out 3 models (no rows of them are in the dump):" in text
        for label, reason in reasons.items():
            assert "  %s: %s\n" % (label, reason) in text + "\n"
    asked = io.StringIO()
    with pytest.raises(Cancelled):
        restore(manifest, stdout=asked, ask=lambda prompt: "n")
    assert "Not in the dump (see restore_dump --list for why): %s, %s, %s." % (
        VIEW, ON_A_DUMPED_TABLE, NO_TABLE) in asked.getvalue()


@pytest.mark.django_db
def test_every_model_excluded_with_e_is_named_as_left_out(tmp_path):
    manifest, summary = dump2py(tmp_path / "backup", "-e", "legacyapp", "-e", "sessions.Session")
    reasons = left_out(manifest)
    assert {label: reasons[label] for label in ["legacyapp.account", UNMANAGED_ON_A_TABLE, VIEW,
                                                NO_TABLE, ON_A_DUMPED_TABLE, "sessions.session"]} == {
        "legacyapp.account": "excluded with -e legacyapp",
        ON_A_DUMPED_TABLE: "excluded with -e legacyapp",
        UNMANAGED_ON_A_TABLE: "excluded with -e legacyapp",
        VIEW: "excluded with -e legacyapp",
        NO_TABLE: "excluded with -e legacyapp",
        "sessions.session": "excluded with -e sessions.Session",
    }
    assert "  sessions.session: excluded with -e sessions.Session" in summary
    assert not set(reasons) & dumped_models(manifest)
    assert "testapp.placeproxy" not in reasons  # a proxy's rows are its concrete model's


class NoSessionsHere:
    def allow_migrate(self, db, app_label, **hints):
        return False if app_label == "sessions" else None


@pytest.mark.django_db
def test_a_model_that_a_router_keeps_off_the_database_is_named_as_left_out(tmp_path):
    with override_settings(DATABASE_ROUTERS=["%s.NoSessionsHere" % __name__]):
        manifest, summary = dump2py(tmp_path / "backup")
    assert left_out(manifest)["sessions.session"] == (
        "a database router does not allow it on database 'default'")
    assert "sessions.session" not in dumped_models(manifest)
    assert "  sessions.session: a database router does not allow it" in summary


@pytest.mark.django_db
def test_a_dump_without_left_out_models_reads_and_reseals_as_before(tmp_path):
    manifest, _ = dump2py(tmp_path / "backup")
    lines = read_lines(manifest)
    start = lines.index("LEFT_OUT = [")
    end = lines.index("]", start)
    assert lines[start - 1].startswith("# Models whose rows are not in the dump")
    manifest.write_text("\n".join(lines[:start - 1] + lines[end + 1:]), encoding="utf-8")
    assert left_out(manifest) == {}
    before = manifest.read_bytes()
    reseal_dump(manifest)
    assert manifest.read_bytes() == before


@pytest.mark.django_db
def test_resealing_keeps_the_models_left_out(tmp_path):
    populate_ledger()
    manifest, _ = dump2py(tmp_path / "backup")
    before = left_out(manifest)
    accounts = tmp_path / "backup" / "legacyapp_account.py"
    accounts.write_text(accounts.read_text(encoding="utf-8").replace('"Shop"', '"Shop 2"'),
                        encoding="utf-8")
    reseal_dump(manifest)
    assert left_out(manifest) == before
    assert '"Shop 2"' in accounts.read_text(encoding="utf-8")
    assert restore(manifest, interactive=False, verbosity=0).objects > 0
    assert Account.objects.filter(name="Shop 2").exists()


@pytest.mark.django_db
def test_a_left_out_entry_that_is_not_a_model_and_a_reason_is_refused_naming_the_line(tmp_path):
    manifest, _ = dump2py(tmp_path / "backup")
    number = read_lines(manifest).index("LEFT_OUT = [") + 2
    replace_line(manifest, number, '["legacyapp.archivedentry", 3],')
    with pytest.raises(DumpError, match="line %d.*a model left out is written as "
                                        r"\[model, reason\]" % number):
        left_out(manifest)
