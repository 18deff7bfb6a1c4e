"""An app without migrations, as many older and internal apps are (all of Lino's):
``migrate`` leaves it alone, only ``migrate --run-syncdb`` creates its tables."""

from django.db import models


class Visit(models.Model):
    """A ForeignKey and a ManyToManyField from an app without migrations to one with them."""

    person = models.ForeignKey("testapp.Person", on_delete=models.CASCADE, related_name="visits")
    clubs = models.ManyToManyField("testapp.Club", blank=True, related_name="visits")
    when = models.DateTimeField()
    note = models.CharField(max_length=100, blank=True)


class Keyword(models.Model):
    """A model that nothing refers to."""

    word = models.CharField(max_length=50, unique=True)
