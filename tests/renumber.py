"""Give content types and permissions other ids, as on a site whose apps were added
over the years: a fresh ``migrate`` of the same code numbers them otherwise.

Used by the test project and, in its subprocesses, by the Wagtail site; it imports
no model of either.
"""

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction


def shift_content_type_and_permission_ids(by=500, using="default"):
    """Add ``by`` to the id of every content type and permission, and to every
    foreign key that points at one. ``by`` must exceed the highest id, so that
    no new id meets an old one."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.constraint_checks_disabled():
        with connection.cursor() as cursor:
            for target in (Permission, ContentType):
                for table, column in _references_to(target) + [
                        (target._meta.db_table, target._meta.pk.column)]:
                    cursor.execute("UPDATE {table} SET {column} = {column} + %s".format(
                        table=connection.ops.quote_name(table),
                        column=connection.ops.quote_name(column)), [by])
    ContentType.objects.clear_cache()


def renumber_content_types_and_permissions(using="default"):
    """Recreate content types and permissions with new ids, as another
    database's migrate would have created them (deleting the content types
    deletes every row that refers to them too)."""
    ContentType.objects.db_manager(using).all().delete()
    ContentType.objects.clear_cache()
    emit_post_migrate_signal(0, False, using)
    ContentType.objects.clear_cache()


def _references_to(target):
    """(table, column) of every foreign key column, in any model's table, to ``target``."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        for field in opts.local_fields:
            if (field.is_relation and field.related_model is target
                    and field.target_field == target._meta.pk):
                found.append((opts.db_table, field.column))
    return found
