"""Write the whole site as canonical JSON: the HTML of every live page, every row of
every table, and what ``fixtree`` says. The same site on any backend gives the same
JSON, so a restored copy is compared with its source by comparing two files."""

import datetime
import decimal
import io
import json
import re
import uuid

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import models
from django.test import Client
from wagtail.models import Page

CSRF_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*"')


def canonical(field, value):
    """`value` of `field` as read from any backend, in a form that is equal across
    backends exactly when the data is: datetimes in UTC, decimals as text, JSON
    (and StreamField) parsed."""
    if value is None:
        return None
    if hasattr(field, "stream_block"):
        return json.loads(json.dumps(field.get_prep_value(value), cls=DecimalEncoder))
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return repr(value.total_seconds())
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(field, models.JSONField):
        return json.loads(json.dumps(value, cls=DecimalEncoder))
    return value


class DecimalEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, decimal.Decimal):
            return str(o)
        return super().default(o)


def natural_keys():
    """{label: {id: natural key}} of the models a dump writes by natural key (the
    setting PYSERIALIZER_NATURAL_KEY_MODELS, none by default): a restore matches
    them by natural key, and so does the comparison. All others, content types and
    permissions too, are compared by id."""
    labels = getattr(settings, "PYSERIALIZER_NATURAL_KEY_MODELS", ())
    keys = {}
    for label in labels:
        model = apps.get_model(label)
        keys[model._meta.label_lower] = {
            obj.pk: list(obj.natural_key()) for obj in model._base_manager.all()
        }
    return keys


def row_order(row):
    """Rows in pk order whatever the backend's collation: numbers, then the rest."""
    pk = row["pk"]
    return (0, pk, "") if isinstance(pk, int) else (1, 0, json.dumps(pk))


def table_rows():
    """{model label: [row, ...]} for every concrete model. An automatic many-to-many
    table gives its (from, to) pairs without its own id: like every Django
    serializer, a dump stores the pairs with the object, and the restore numbers
    them anew. Rows of the models of natural_keys(), and references to them, are
    given by natural key."""
    keys = natural_keys()

    def value(field, raw):
        if field.is_relation and raw is not None:
            related = keys.get(field.related_model._meta.concrete_model._meta.label_lower)
            if related is not None:
                return related.get(raw, "<no such row: id %r>" % raw)
        return canonical(field, raw)

    tables = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        own_keys = keys.get(meta.label_lower)
        keyed_by_id = not (meta.auto_created or own_keys)
        fields = [field for field in meta.concrete_fields if keyed_by_id or not field.primary_key]
        rows = []
        for pk, *values in model._base_manager.values_list("pk", *[f.attname for f in fields]):
            row = {}
            if keyed_by_id:
                row["pk"] = canonical(meta.pk, pk)
            elif own_keys:
                row["pk"] = own_keys[pk]
            row.update((f.attname, value(f, v)) for f, v in zip(fields, values))
            rows.append(row)
        if meta.auto_created:
            rows.sort(key=lambda row: json.dumps(row, sort_keys=True))
        else:
            rows.sort(key=row_order)
        tables[meta.label_lower] = rows
    return tables


def page_html():
    """{url: HTML} of every live page, served as a visitor sees it."""
    client = Client()
    html = {}
    for page in Page.objects.live().filter(depth__gt=1).order_by("path"):
        response = client.get(page.url, HTTP_HOST="localhost")
        text = response.content.decode()
        html[page.url] = "%d %s" % (response.status_code, CSRF_TOKEN.sub(r'\1…"', text))
    return html


class Command(BaseCommand):
    help = "Write the site's pages, rows and tree check as canonical JSON."

    def add_arguments(self, parser):
        parser.add_argument("output")

    def handle(self, output, **options):
        # Pages first: serving them must not add a row (an image rendition, say)
        # that the restored site lacks.
        html = page_html()
        rows = table_rows()
        fixtree = io.StringIO()
        call_command("fixtree", interactive=False, stdout=fixtree)
        with open(output, "w", encoding="utf-8") as out:
            json.dump({"html": html, "rows": rows, "fixtree": fixtree.getvalue()}, out,
                      indent=1, sort_keys=True, ensure_ascii=False)
