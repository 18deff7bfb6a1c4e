"""A user's table as our queries address it: every row, its key, our names.

Three rules that every query the package makes on a user's table follows:

- It sees every row, whatever the model's managers filter. A whole-site dump
  reads tables, and a restore empties them: a row that ``Meta.base_manager_name``
  hides and the dump leaves out is a row the restore deletes.
- It takes the primary key as columns: one field, or the fields of Django
  5.2's ``CompositePrimaryKey``, whose ``pk`` is no column of its own.
- What it adds to a user's query (an alias, an annotation) has a name that no
  field, relation or annotation of the user's model has.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Field, Model, QuerySet


def every_row(model: type[Model], using: str) -> QuerySet:
    """All rows of ``model``'s table in database ``using``, through no manager."""
    return QuerySet(model=model, using=using)


def key_fields(model: type[Model]) -> list[Field]:
    """The concrete fields that make up ``model``'s primary key, in order."""
    opts = model._meta
    return list(getattr(opts, "pk_fields", None) or [opts.pk])  # pk_fields: Django 5.2


def key_attnames(model: type[Model]) -> list[str]:
    return [field.attname for field in key_fields(model)]


def keys_of(queryset: QuerySet) -> Any:
    """The primary key of each row of ``queryset``, as ``instance.pk`` gives it."""
    names = key_attnames(queryset.model)
    if len(names) == 1:
        return queryset.values_list(names[0], flat=True)
    return queryset.values_list(*names)


def unused_name(queryset: QuerySet, wanted: str, taken: Iterable[str] = ()) -> str:
    """``wanted``, or ``wanted`` with a number, so that it names nothing that
    ``queryset`` already has (a field, a relation, an annotation) nor ``taken``:
    a name to add to a user's query."""
    used = {"pk", *taken, *queryset.query.annotations}
    for field in queryset.model._meta.get_fields():
        used.update((field.name, getattr(field, "attname", field.name)))
    name, number = wanted, 1
    while name in used:
        number += 1
        name = "%s_%d" % (wanted, number)
    return name
