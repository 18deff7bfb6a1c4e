"""A custom field subclass: its value survives a dump only through its own methods."""

from django.core.exceptions import ValidationError
from django.db import models


class CommaSeparatedIntegersField(models.TextField):
    """A list of ints, stored as text "1,-2,3"; the empty list is stored as ""."""

    description = "A list of integers"

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        if value == "":
            return []
        try:
            return [int(part) for part in value.split(",")]
        except ValueError:
            raise ValidationError(f"{value!r} is not a comma-separated list of integers")

    def get_prep_value(self, value):
        if value is None:
            return None
        return ",".join(str(int(item)) for item in value)

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))
