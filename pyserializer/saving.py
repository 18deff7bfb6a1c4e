"""Batched saves: the last step of a load.

``loaddata`` saves one object at a time: an UPDATE attempt, then an INSERT,
per row. When that is equivalent, rows are queued here and written with
multi-row INSERTs instead, batch by batch. The rule (documented in
docs/format.rst): a row goes into a batch when it is new (its primary key is
not in the table yet: checked with one query per batch), it has a primary
key, it has no forward references waiting, and nothing listens to the
model's ``pre_save``/``post_save`` signals (or to ``m2m_changed`` on its
many-to-many tables). Every other row is saved exactly as ``loaddata`` would
save it. Values are inserted raw, as ``save(raw=True)`` does, so
``auto_now`` fields keep the dumped values.
"""

from django.db import connections, models, transaction
from django.db.models import signals

from .errors import DumpError

BATCH_SIZE = 500


def batchable(model):
    """Whether rows of ``model`` may skip save(): nobody listens to their saving."""
    if signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model):
        return False
    return not any(
        signals.m2m_changed.has_listeners(field.remote_field.through)
        for field in model._meta.local_many_to_many
    )


class BatchSaver:
    """Queues new rows of one model at a time and inserts them together."""

    def __init__(self, using):
        self.using = using
        self.pending = []
        self.model = None

    def add(self, dumped):
        model = type(dumped.object)
        if model is not self.model:
            self.flush()
            self.model = model
        self.pending.append(dumped)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self):
        pending, self.pending = self.pending, []
        if not pending:
            return
        model = self.model._meta.concrete_model
        existing = set(
            model._base_manager.using(self.using)
            .filter(pk__in=[dumped.object.pk for dumped in pending])
            .values_list("pk", flat=True)
        )
        new = []
        for dumped in pending:
            if dumped.object.pk in existing:
                dumped.save_one(using=self.using)
            else:
                new.append(dumped)
        if new:
            self._insert(model, new)

    def _insert(self, model, batch):
        fields = model._meta.local_concrete_fields
        try:
            with transaction.atomic(using=self.using):
                _insert_rows(model, fields, [dumped.object for dumped in batch], self.using)
                _insert_many_to_many(model, batch, self.using)
        except Exception as exc:
            self._find_failing_row(batch)
            first = batch[0]
            raise DumpError(
                "the database rejected the rows from here to line %d: %s"
                % (batch[-1].line, exc),
                first.path,
                first.line,
                model._meta.label_lower,
            ) from exc
        for dumped in batch:
            dumped.object._state.adding = False
            dumped.object._state.db = self.using
            dumped.m2m_data = None

    def _find_failing_row(self, batch):
        """Save the rows one by one, undoing each, so the one rejected is named."""
        for dumped in batch:
            with transaction.atomic(using=self.using):
                dumped.save_one(using=self.using)
                transaction.set_rollback(True, using=self.using)


def _insert_rows(model, fields, objects, using):
    """INSERT the objects' raw values: one executemany with a prepared statement."""
    connection = connections[using]
    if any(_special_placeholder(field, connection) for field in fields):
        size = max(1, connection.ops.bulk_batch_size(fields, objects))
        manager = model._base_manager.using(using)
        for start in range(0, len(objects), size):
            manager._insert(objects[start : start + size], fields=fields, using=using, raw=True)
        return
    quote = connection.ops.quote_name
    sql = "INSERT INTO %s (%s) VALUES (%s)" % (
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    columns = [(field.attname, _db_value(field, connection)) for field in fields]
    params = []
    for obj in objects:
        values = obj.__dict__
        params.append([convert(values[attname]) for attname, convert in columns])
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _special_placeholder(field, connection):
    """Whether the field needs SQL around its parameter (MySQL's _binary %s)."""
    if not hasattr(field, "get_placeholder"):
        return False
    return field.get_placeholder(b"", None, connection) != "%s"


# Fields whose database value is the Python value itself when it has this type.
_PLAIN_TYPES = {
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.BooleanField: bool,
    models.FloatField: float,
    models.CharField: str,
    models.TextField: str,
    models.SlugField: str,
    models.EmailField: str,
    models.URLField: str,
    models.FilePathField: str,
    models.FileField: str,
    models.ImageField: str,
}


def _db_value(field, connection):
    """A function giving what the database gets for an attribute value."""
    prepare = field.get_db_prep_save
    plain = _PLAIN_TYPES.get(type(field))
    if plain is None:
        return lambda value: prepare(value, connection)

    def convert(value):
        if type(value) is plain or value is None:
            return value
        return prepare(value, connection)

    return convert


def _insert_many_to_many(model, batch, using):
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        source = through._meta.get_field(field.m2m_field_name())
        target = through._meta.get_field(field.m2m_reverse_field_name())
        links = []
        for dumped in batch:
            keys = (dumped.m2m_data or {}).get(field.name)
            if not keys:
                continue
            pk = dumped.object.pk
            for key in dict.fromkeys(keys):
                link = through(**{source.attname: pk, target.attname: key})
                links.append(link)
        if links:
            fields = [source, target]
            _insert_rows(through, fields, links, using)

