"""The models as migration 0004 leaves them."""

from django.db import models


class Item(models.Model):
    title = models.CharField(max_length=100)
    size = models.IntegerField(default=0)
    note = models.CharField(max_length=100, blank=True, default="")
