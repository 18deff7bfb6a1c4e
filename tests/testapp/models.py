"""Test models, each named after what it proves survives a dump and a load."""

import tempfile

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Lower

from .fields import CommaSeparatedIntegersField


def file_path_root():
    return tempfile.gettempdir()


class Everything(models.Model):
    """One column of each of Django's concrete field types, nullable where possible."""

    small = models.SmallIntegerField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    positive_small = models.PositiveSmallIntegerField(null=True)
    positive = models.PositiveIntegerField(null=True)
    positive_big = models.PositiveBigIntegerField(null=True)
    boolean = models.BooleanField(default=False)
    null_boolean = models.BooleanField(null=True)
    char = models.CharField(max_length=100, null=True)
    text = models.TextField(null=True)
    slug = models.SlugField(null=True)
    email = models.EmailField(null=True)
    url = models.URLField(null=True)
    file_path = models.FilePathField(path=file_path_root, max_length=200, null=True)
    decimal = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    floating = models.FloatField(null=True)
    date = models.DateField(null=True)
    time = models.TimeField(null=True)
    datetime = models.DateTimeField(null=True)
    duration = models.DurationField(null=True)
    uuid = models.UUIDField(null=True)
    binary = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)
    file = models.FileField(upload_to="files/", max_length=200, null=True)
    image = models.ImageField(upload_to="images/", max_length=200, null=True)
    json = models.JSONField(null=True)
    integers = CommaSeparatedIntegersField(null=True)


class Person(models.Model):
    """A self-reference (mentor), and a BigAutoField primary key."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100)
    mentor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="mentees"
    )


class Author(models.Model):
    """A OneToOneField."""

    name = models.CharField(max_length=100)
    person = models.OneToOneField(Person, null=True, blank=True, on_delete=models.SET_NULL)


class Book(models.Model):
    """A ForeignKey and a ManyToManyField with an automatic through table."""

    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    coauthors = models.ManyToManyField(Author, blank=True, related_name="coauthored")


class Club(models.Model):
    """A ManyToManyField with an explicit through model carrying its own fields."""

    name = models.CharField(max_length=100)
    members = models.ManyToManyField(Person, through="Membership", related_name="clubs")


class Membership(models.Model):
    club = models.ForeignKey(Club, on_delete=models.CASCADE)
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    since = models.DateField()
    role = models.CharField(max_length=50, blank=True)


class Left(models.Model):
    """Left and Right point at each other: a cycle between two models."""

    name = models.CharField(max_length=50)
    right = models.ForeignKey(
        "Right", null=True, blank=True, on_delete=models.SET_NULL, related_name="lefts"
    )


class Right(models.Model):
    name = models.CharField(max_length=50)
    left = models.ForeignKey(Left, on_delete=models.CASCADE, related_name="rights")


class Place(models.Model):
    """The parent of a multi-table inheritance."""

    name = models.CharField(max_length=100)
    address = models.CharField(max_length=200, blank=True)


class Restaurant(Place):
    """A multi-table child: its rows live in two tables."""

    serves_pizza = models.BooleanField(default=False)
    seats = models.PositiveIntegerField(null=True)


class PlaceProxy(Place):
    """A proxy model: no table of its own."""

    class Meta:
        proxy = True


class Tag(models.Model):
    """A GenericForeignKey: a content type and an object id."""

    label = models.CharField(max_length=50)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")


class CountryManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class Country(models.Model):
    """A natural key (code), for --natural-foreign and --natural-primary."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)

    objects = CountryManager()

    def natural_key(self):
        return (self.code,)


class City(models.Model):
    """A ForeignKey to a model with a natural key."""

    name = models.CharField(max_length=100)
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="cities")


class AuditEntry(models.Model):
    """An audit log as Wagtail keeps one: a content type, and the id of a row
    that may have been deleted since (no database constraint)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    country = models.ForeignKey(
        Country, on_delete=models.DO_NOTHING, db_constraint=False, null=True,
        related_name="+",
    )
    action = models.CharField(max_length=50)


class Listing(models.Model):
    """Indexes and constraints a restore builds again after its load, exactly:
    an indexed foreign key (deferrable on PostgreSQL), a slug (with its
    pattern index on PostgreSQL), a unique constraint with a condition, an
    expression index and a partial index. MariaDB has the first two only."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="listings")
    slug = models.SlugField()
    title = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["city", "slug"], condition=models.Q(active=True),
                name="testapp_listing_active_slug_per_city",
            ),
        ]
        indexes = [
            models.Index(Lower("title"), name="testapp_listing_title_lower"),
            models.Index(fields=["title"], condition=models.Q(active=True),
                         name="testapp_listing_active_title"),
        ]
