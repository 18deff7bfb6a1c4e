"""Models that a dump could get wrong by trusting their managers or its own names."""

from django.db import models


class VisibleManager(models.Manager):
    """Hides the rows marked hidden, as soft-deletion managers do."""

    def get_queryset(self):
        return super().get_queryset().filter(hidden=False)


class Hideable(models.Model):
    """Its base manager hides rows: a whole-site dump must read them all the same,
    or the restore, which empties the table, deletes them. Its default manager
    shows them, so that ``dumpdata`` (without ``--all``) hands them over."""

    name = models.CharField(max_length=50)
    hidden = models.BooleanField(default=False)
    data = models.JSONField(null=True)

    objects = models.Manager()
    visible = VisibleManager()

    class Meta:
        base_manager_name = "visible"


class Shadow(models.Model):
    """Fields named like the aliases that dump2py --jobs adds to its queries,
    and a table named like the manifest, so that its chunk would be restore.py."""

    position = models.IntegerField()
    phase = models.IntegerField()
    hideable = models.ForeignKey(Hideable, models.CASCADE, null=True, related_name="+")
    hideables = models.ManyToManyField(Hideable, related_name="shadows")

    class Meta:
        db_table = "restore"


class ShadowPart(models.Model):
    """A table named like the first chunk of the table "restore", were that
    table's files named after it."""

    position = models.IntegerField()

    class Meta:
        db_table = "restore_1"
