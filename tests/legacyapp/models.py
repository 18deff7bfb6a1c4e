"""Models on tables the project does not manage: a ledger that another system
writes (its table made by a migration's RunSQL), a view over it, a model
whose table exists on no server of this project, and one on the table of a
managed model."""

from django.db import models


class Account(models.Model):
    name = models.CharField(max_length=40)


class LedgerEntry(models.Model):
    """A row of the other system's ledger: unmanaged, on a real table."""

    entry_id = models.IntegerField(primary_key=True)
    account = models.ForeignKey(Account, models.DO_NOTHING, db_constraint=False)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    booked = models.DateField()

    class Meta:
        managed = False
        db_table = "legacy_ledger"


class AccountBalance(models.Model):
    """The balance of each account: a view that sums the ledger."""

    account = models.OneToOneField(
        Account, models.DO_NOTHING, primary_key=True, db_constraint=False)
    balance = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        managed = False
        db_table = "legacy_balances"


class ArchivedEntry(models.Model):
    """A table that only the other system's archive server has."""

    entry_id = models.IntegerField(primary_key=True)

    class Meta:
        managed = False
        db_table = "legacy_archive"


class AccountName(models.Model):
    """A read-only view of the accounts' names, on the managed model's table."""

    name = models.CharField(max_length=40)

    class Meta:
        managed = False
        db_table = "legacyapp_account"
