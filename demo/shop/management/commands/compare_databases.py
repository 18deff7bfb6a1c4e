"""``manage.py compare_databases [ALIAS ALIAS]``: are two databases equal, table by table?

Compares every model that dump2py dumps, row by row and field by field
(many-to-many links included). Content types and permissions, whose ids are
chosen by each database's own ``migrate``, are compared by natural key, and
so are the references to them, exactly as dump2py writes them.
"""

from django.core import serializers
from django.core.management.base import BaseCommand, CommandError

from pyserializer.dumping import wholesite


def rows(model, using, natural_foreign, natural_primary):
    """Every row of ``model`` in ``using`` as (key, fields), sorted by key."""
    objects = list(model._base_manager.using(using).order_by("pk"))
    data = serializers.serialize(
        "python", objects, use_natural_foreign_keys=natural_foreign,
        use_natural_primary_keys=natural_primary,
    )
    keys = [
        obj.natural_key() if natural_primary and hasattr(obj, "natural_key") else obj.pk
        for obj in objects
    ]
    many_to_many = [field.name for field in model._meta.many_to_many]
    for item in data:  # the links of a many-to-many field have no order
        for name in many_to_many:
            if name in item["fields"]:
                item["fields"][name] = sorted(item["fields"][name], key=str)
    return sorted(
        ((key, item["fields"]) for key, item in zip(keys, data)), key=lambda pair: str(pair[0])
    )


class Command(BaseCommand):
    help = "Say whether two databases hold the same rows, table by table."

    def add_arguments(self, parser):
        parser.add_argument("first", nargs="?", default="default")
        parser.add_argument("second", nargs="?", default="restored")

    def handle(self, first, second, **options):
        labels = wholesite.natural_key_labels()
        differences = 0
        total = 0
        models = wholesite.models_to_dump(first)
        for model in models:
            natural = wholesite.natural_keys_for(model, labels)
            left = rows(model, first, *natural)
            right = rows(model, second, *natural)
            total += len(left)
            label = model._meta.label_lower
            if left == right:
                if options["verbosity"] >= 2:
                    self.stdout.write("  %-28s %6d rows, equal" % (label, len(left)))
                continue
            differences += 1
            self.stdout.write(self.style.ERROR(
                "  %-28s %d rows in %s, %d in %s: %s"
                % (label, len(left), first, len(right), second, _first_difference(left, right))
            ))
        if differences:
            raise CommandError("%d of %d tables differ." % (differences, len(models)))
        self.stdout.write(self.style.SUCCESS(
            "The databases %r and %r are equal: %d rows in %d tables, compared field by field."
            % (first, second, total, len(models))
        ))


def _first_difference(left, right):
    for (left_key, left_fields), (right_key, right_fields) in zip(left, right):
        if left_key != right_key:
            return "row %s is not in both" % min(str(left_key), str(right_key))
        for name in left_fields:
            if left_fields[name] != right_fields.get(name):
                return "row %s, field %s: %r != %r" % (
                    left_key, name, left_fields[name], right_fields.get(name))
    return "one has more rows"
