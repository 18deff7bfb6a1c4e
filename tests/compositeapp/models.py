"""Models keyed by several columns, each named after what its key is made of."""

from django.db import models


class Pair(models.Model):
    """Two integer key parts, as a probe of real sites found them."""

    pk = models.CompositePrimaryKey("a", "b")
    a = models.IntegerField()
    b = models.IntegerField()
    value = models.CharField(max_length=50)


class Release(models.Model):
    """Key parts that are text, a date and a UUID; a JSON column whose SQL NULL
    and JSON null rows are told apart by their keys."""

    pk = models.CompositePrimaryKey("product", "released", "tag")
    product = models.CharField(max_length=40)
    released = models.DateField()
    tag = models.UUIDField()
    notes = models.JSONField(null=True)


class Course(models.Model):
    name = models.CharField(max_length=50)


class Enrolment(models.Model):
    """A key part that is a foreign key."""

    pk = models.CompositePrimaryKey("course", "student")
    course = models.ForeignKey(Course, models.CASCADE)
    student = models.CharField(max_length=50)
    grade = models.DecimalField(max_digits=4, decimal_places=1, null=True)


class PairNote(models.Model):
    """Refers to a Pair by both its key columns: Django has no ForeignKey to a
    composite key, a ForeignObject over two ordinary columns does it."""

    pair_a = models.IntegerField()
    pair_b = models.IntegerField()
    pair = models.ForeignObject(
        Pair, models.CASCADE, from_fields=("pair_a", "pair_b"), to_fields=("a", "b"),
    )
    text = models.TextField()
