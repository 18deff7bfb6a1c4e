"""An app without migrations, as many older and internal apps are (all of Lino's):
``migrate`` leaves it alone, only ``migrate --run-syncdb`` creates its tables."""

from django.db import models


class Visit(models.Model):
    """A ForeignKey from an app without migrations to one with them.

    Without a database constraint: ``migrate --run-syncdb`` (which creates the
    test database) makes the tables of apps without migrations before it
    migrates, and PostgreSQL and MariaDB refuse a constraint to a table not
    made yet (Django: "unmigrated apps cannot depend on migrated apps").
    Lino migrates first and syncs after; so does a restore.
    """

    person = models.ForeignKey("testapp.Person", on_delete=models.CASCADE,
                               related_name="visits", db_constraint=False)
    when = models.DateTimeField()
    note = models.CharField(max_length=100, blank=True)


class Keyword(models.Model):
    """A model that nothing refers to."""

    word = models.CharField(max_length=50, unique=True)
