"""The ledger table and its view are made by SQL, as another system would make
them; the models on them are unmanaged. The SQL is the same on SQLite,
PostgreSQL and MariaDB."""

import django.db.models.deletion
from django.db import migrations, models

LEDGER = """
CREATE TABLE legacy_ledger (
    entry_id INTEGER NOT NULL PRIMARY KEY,
    account_id INTEGER NOT NULL,
    amount DECIMAL(10, 2) NOT NULL,
    booked DATE NOT NULL
)
"""

BALANCES = """
CREATE VIEW legacy_balances AS
SELECT account_id, SUM(amount) AS balance FROM legacy_ledger GROUP BY account_id
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=40)),
            ],
        ),
        migrations.RunSQL(LEDGER, "DROP TABLE legacy_ledger"),
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("entry_id", models.IntegerField(primary_key=True, serialize=False)),
                ("account", models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to="legacyapp.account")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=10)),
                ("booked", models.DateField()),
            ],
            options={
                "db_table": "legacy_ledger",
                "managed": False,
            },
        ),
        migrations.RunSQL(BALANCES, "DROP VIEW legacy_balances"),
        migrations.CreateModel(
            name="AccountBalance",
            fields=[
                ("account", models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, serialize=False, to="legacyapp.account")),
                ("balance", models.DecimalField(decimal_places=2, max_digits=12)),
            ],
            options={
                "db_table": "legacy_balances",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="ArchivedEntry",
            fields=[
                ("entry_id", models.IntegerField(primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "legacy_archive",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="AccountName",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=40)),
            ],
            options={
                "db_table": "legacyapp_account",
                "managed": False,
            },
        ),
    ]
