"""References a dump or a restore would leave dangling: the one rule for them.

A row refers to other rows through its foreign keys and one-to-one keys
(a multi-table child's link to its parent row among them), its many-to-many
links (an explicit through model is a model of its own, with foreign keys)
and its GenericForeignKeys (through the content types its rows use). Two
ways a restored database could end up with references to nothing:

- a model is left out (``dump2py -e``, ``dumpdata -e`` of a whole-site dump,
  ``loaddata -e`` of a directory dump, ``restore_dump -e``, ``restore.py -e``,
  ``restore_dump --check -e``) while a model kept refers to it:
  refused by ``refuse_excluded_targets`` before anything is written or
  changed, naming each relation and what to leave out too;
- a row the dump refers to is not in the dump (a hand edit): ``MissingRows``
  finds each one while ``restore_dump --check`` reads the dump, and
  ``first_invalid_reference`` names one after the database rejected a load.

Not dangling: references to rows the target database keeps rather than
replaces (``matched``: the models written by natural key, content types and
permissions of a dump that holds them so), to rows of unmanaged models (a
restore leaves their tables alone), and a ``db_constraint=False`` foreign key to a row that
is missing: such a key is made to outlive its row (an audit log keeping the
id of a deleted row). Leaving out the whole model it points at is refused
all the same: then every one of its references would point at nothing.
"""

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.core.management.base import CommandError
from django.db.models import Model

from ..dumping.wholesite import excluded_labels, natural_key_labels
from ..files.manifest import Manifest
from ..loading.deserializer import Deserializer
from ..loading.objects import DumpedObject
from ..tables import every_row


@dataclass(frozen=True)
class Relation:
    """``model.field -> target``, as the user reads it: labels with their case."""

    model: str
    field: str
    target: str

    def __str__(self) -> str:
        return "%s.%s -> %s" % (self.model, self.field, self.target)


class DanglingReferences(CommandError):
    """Models left out, or rows missing, that rows kept refer to; nothing was changed."""


def outgoing(model: type[Model]) -> Iterator[tuple[Any, type[Model]]]:
    """(field, target model) of each reference that rows of ``model`` carry in a dump:
    foreign and one-to-one keys, and many-to-many links stored with the row (an
    explicit through model's keys are its own rows' foreign keys)."""
    opts = model._meta.concrete_model._meta
    for field in opts.local_fields:
        if field.is_relation and field.concrete and field.related_model is not None:
            yield field, field.related_model
    for field in opts.local_many_to_many:
        if field.remote_field.through._meta.auto_created:
            yield field, field.related_model


def generic_foreign_keys(model: type[Model]) -> list[Any]:
    """The GenericForeignKeys of ``model`` (historical models have none)."""
    return [
        field for field in model._meta.private_fields
        if hasattr(field, "ct_field") and hasattr(field, "fk_field")
    ]


def references_to_excluded(
    kept: Iterable[type[Model]], excluded: Callable[[str], bool],
    generic_targets: Callable[[Any, Any], set[Any]] | None = None, matched: Collection[str] = frozenset(),
) -> list[Relation]:
    """Every Relation from a model of ``kept`` to a model that ``excluded(label_lower)``
    says is left out, but to the models ``matched`` (labels), whose rows the
    target database keeps and the dump refers to by natural key.

    ``generic_targets(model, field)``, when given, returns the models that the
    rows of ``model`` point at through the GenericForeignKey ``field``.
    """
    found = []
    for model in kept:
        for field, target in outgoing(model):
            if _left_out(target, excluded, matched):
                found.append(Relation(model._meta.label, field.name, target._meta.label))
        if generic_targets is None:
            continue
        for field in generic_foreign_keys(model):
            for target in sorted(generic_targets(model, field), key=lambda m: m._meta.label):
                if _left_out(target, excluded, matched):
                    found.append(Relation(model._meta.label, field.name, target._meta.label))
    return list(dict.fromkeys(found))


def _left_out(target: type[Model], excluded: Callable[[str], bool], matched: Collection[str]) -> bool:
    label = target._meta.concrete_model._meta.label_lower
    return excluded(label) and label not in matched


def refuse_excluded_targets(relations: list[Relation], nothing_done: str) -> None:
    """Raise DanglingReferences naming ``relations`` and what to leave out too.

    ``nothing_done`` says what was not done ("Nothing was written.").
    """
    if not relations:
        return
    referring = sorted({relation.model for relation in relations})
    targets = sorted({relation.target for relation in relations})
    raise DanglingReferences(
        "Cannot leave out %s: rows kept refer to %s, and these references would point at "
        "nothing: %s. %s Leave out the referring models too (%s), or keep %s." % (
            ", ".join(targets), "it" if len(targets) == 1 else "them",
            ", ".join(str(relation) for relation in relations), nothing_done,
            " ".join("-e %s" % label for label in referring),
            "it" if len(targets) == 1 else "them"))


def refuse_dump_without(kept: list[type[Model]], excludes: Iterable[str], using: str) -> None:
    """``dump2py -e``, ``dumpdata -e`` of a whole site: before anything is written,
    refuse to leave out models that the ``kept`` models refer to."""
    if not excludes:
        return
    generic = None
    if global_apps.is_installed("django.contrib.contenttypes"):
        generic = generic_targets_in_database(using)
    matched = natural_key_labels(kept)
    refuse_excluded_targets(
        references_to_excluded(kept, excluded_labels(excludes), generic, matched),
        "Nothing was written.")


def generic_targets_in_database(using: str) -> Callable[[Any, Any], set[Any]]:
    """``generic_targets`` for ``references_to_excluded``: the models of the content
    types that the rows of database ``using`` actually use."""
    from django.contrib.contenttypes.models import ContentType

    def targets(model: type[Model], field: Any) -> set[Any]:
        content_type = model._meta.get_field(field.ct_field)
        ids = every_row(model, using).order_by().values_list(
            content_type.attname, flat=True).distinct()
        manager = ContentType.objects.db_manager(using)
        models = (manager.get_for_id(id).model_class() for id in ids if id is not None)
        return {model for model in models if model is not None}

    return targets


def refuse_loading_without(dump: Manifest, excluded: Callable[[str], bool],
                           registry: Any = global_apps, matched: Collection[str] = frozenset(),
                           nothing_done: str = "Nothing was changed.") -> None:
    """A restore or ``loaddata`` of the directory dump ``dump`` with models left out
    (``excluded(label_lower)``): before anything is changed, refuse to leave out
    models that the rows it loads (into the models of ``registry``) refer to."""
    kept = []
    for entry in dump.files:
        if excluded(entry.model):
            continue
        try:
            kept.append(registry.get_model(entry.model))
        except (LookupError, ValueError):  # refused by the restore, or transformed
            continue
    kept = list(dict.fromkeys(kept))
    generic = generic_targets_in_dump(dump, kept, registry)
    refuse_excluded_targets(references_to_excluded(kept, excluded, generic, matched), nothing_done)


def generic_targets_in_dump(
    dump: Manifest, kept: Iterable[type[Model]], registry: Any,
) -> Callable[[Any, Any], set[Any]] | None:
    """``generic_targets`` for ``references_to_excluded``: the models of the content
    types that the dump's rows of the models of ``kept`` with GenericForeignKeys
    use. Reads the chunks of these models only (and of the content types, when
    they are dumped with ids); None when no model of ``kept`` has one."""
    holders = {model._meta.label_lower for model in kept if generic_foreign_keys(model)}
    if not holders:
        return None
    read = holders | {CONTENT_TYPES}
    others = {entry.model for entry in dump.files if entry.model not in read}
    used: dict[Any, set[Any]] = {}  # (model, field name): {natural key tuple or content type id}
    content_types = {}  # id: (app_label, model)
    for dumped in Deserializer(dump, apps=registry, excludes=others, resolve_natural_keys=False):
        obj = dumped.object
        if obj._meta.label_lower == CONTENT_TYPES:
            content_types[obj.pk] = (obj.app_label, obj.model)
            continue
        for field in generic_foreign_keys(type(obj)):
            content_type = obj._meta.get_field(field.ct_field)
            value = dumped.deferred_fields.get(content_type, getattr(obj, content_type.attname))
            used.setdefault((type(obj), field.name), set()).add(
                tuple(value) if isinstance(value, list) else value)

    def targets(model: type[Model], field: Any) -> set[Any]:
        found = set()
        for value in used.get((model, field.name), ()):
            natural_key: Any = value if isinstance(value, tuple) else content_types.get(value)
            try:
                found.add(registry.get_model(*natural_key))
            except (LookupError, TypeError, ValueError):  # a stale content type
                continue
        return found

    return targets


CONTENT_TYPES = "contenttypes.contenttype"


class MissingRows:
    """Finds, while every row of a dump is read, the references to rows it lacks.

    ``add`` each DumpedObject; ``dangling()`` then returns one Dangling per
    missing target value and referring field. Keys given as natural keys are
    looked up by a restore, not here.
    """

    def __init__(self, registry: Any = global_apps, matched: Collection[str] = frozenset()) -> None:
        self.matched = matched
        # (target model label, attname): {value, ...}
        self.present: dict[tuple[str, str], set[Any]] = {}
        # (target model label, attname): {value: [first Dangling, count]}
        self.wanted: dict[tuple[str, str], dict[Any, list[Any]]] = {}
        # model: [(field, target key, many)]
        self._references: dict[type[Model], list[tuple[Any, tuple[str, str], bool]]] = {}
        for model in registry.get_models():
            self._references_of(model)
        # model: the keys that references point at in its rows
        self._targeted: dict[type[Model], list[tuple[str, str]]] = {}

    def add(self, dumped: DumpedObject) -> None:
        obj = dumped.object
        model = type(obj)
        if model not in self._targeted:
            self._targeted[model] = [key for key in self.present if key[0] == model._meta.label]
        for key in self._targeted[model]:
            self.present[key].add(getattr(obj, key[1]))
        for field, key, many in self._references_of(model):
            if field in dumped.deferred_fields:
                continue
            if many:
                values = (dumped.m2m_data or {}).get(field.name) or ()
            else:
                value = getattr(obj, field.attname)
                values = () if value is None else (value,)
            for value in values:
                wanted = self.wanted[key].setdefault(value, [None, 0])
                if wanted[0] is None:
                    wanted[0] = Dangling(model._meta.label, obj.pk, field.name, key[0], value,
                                         dumped.path, dumped.line)
                wanted[1] += 1

    def dangling(self) -> list[tuple["Dangling", int]]:
        """[(Dangling, how many rows refer to the same missing value)]."""
        found: list[Any] = []
        for key, wanted in self.wanted.items():
            present = self.present[key]
            found.extend(tuple(item) for value, item in wanted.items() if value not in present)
        return found

    def _references_of(self, model: type[Model]) -> list[tuple[Any, tuple[str, str], bool]]:
        if model not in self._references:
            references = []
            for field, target in outgoing(model):
                target = target._meta.concrete_model
                if not (field.many_to_many or field.db_constraint) or not _replaced(
                        target, self.matched):
                    continue
                target_field = target._meta.pk if field.many_to_many else field.target_field
                key = (target._meta.label, target_field.attname)
                self.present.setdefault(key, set())
                self.wanted.setdefault(key, {})
                references.append((field, key, field.many_to_many))
            self._references[model] = references
        return self._references[model]


@dataclass(frozen=True)
class Dangling:
    """A row's reference to a row the dump does not hold."""

    model: str
    pk: object
    field: str
    target: str
    value: object
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = "%s, line %d: " % (self.path, self.line) if self.path and self.line else ""
        return "%s%s pk %r, field %s: no %s %r" % (
            where, self.model, self.pk, self.field, self.target, self.value)


def refuse_missing_rows(dangling: list[tuple[Dangling, int]], manifest_path: str) -> None:
    """Raise DanglingReferences naming every reference to a row the dump lacks."""
    if not dangling:
        return
    lines = []
    for item, count in dangling:
        more = count - 1
        lines.append("  %s%s" % (item, " (and %d more rows refer to it)" % more if more else ""))
    raise DanglingReferences(
        "The dump %s refers to %d row%s it does not hold; a restore would be rejected by the "
        "database:\n%s\nFix these rows (edit the chunk, then manage.py reseal_dump %s), or "
        "leave their models out with -e." % (
            manifest_path, len(dangling), "" if len(dangling) == 1 else "s",
            "\n".join(lines), manifest_path))


def _replaced(model: type[Model], matched: Collection[str]) -> bool:
    """Whether a restore fills ``model``'s table from the dump alone."""
    opts = model._meta
    return opts.managed and not opts.proxy and opts.label_lower not in matched


def first_invalid_reference(models: Iterable[type[Model]], using: str) -> Dangling | None:
    """After the database rejected a load: a Dangling for one row of ``models`` (or of
    their many-to-many tables) whose enforced reference points at nothing, or None.

    Asks with one query per reference, the way Django's ``check_constraints``
    does on MySQL, but names the model, primary key and field.
    """
    for model in models:
        for field, target in outgoing(model):
            if not (field.many_to_many or field.db_constraint):
                continue
            if field.many_to_many:
                found = _first_missing_link(model, field, using)
            else:
                found = _first_missing(model, field, using)
            if found is not None:
                return found
    return None


def _first_missing(model: type[Model], field: Any, using: str) -> Dangling | None:
    attname, target_field = field.attname, field.target_field
    target = every_row(target_field.model, using).values(target_field.attname)
    row = (
        every_row(model, using).order_by()
        .filter(**{"%s__isnull" % attname: False})
        .exclude(**{"%s__in" % attname: target})
        .values_list("pk", attname).first()
    )
    if row is None:
        return None
    return Dangling(model._meta.label, row[0], field.name, target_field.model._meta.label, row[1])


def _first_missing_link(model: type[Model], field: Any, using: str) -> Dangling | None:
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    linked = through._meta.get_field(field.m2m_reverse_field_name())
    target_field = linked.target_field
    target = every_row(target_field.model, using).values(target_field.attname)
    row = (
        every_row(through, using).order_by()
        .exclude(**{"%s__in" % linked.attname: target})
        .values_list(source, linked.attname).first()
    )
    if row is None:
        return None
    return Dangling(model._meta.label, row[0], field.name, target_field.model._meta.label, row[1])
