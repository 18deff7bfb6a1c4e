"""Row transforms: the escape hatch for changes no migration describes.

A project registers, per model label, a function that receives each dumped
row of that model as a dict (field name -> the value as written in the dump)
and yields ``(label, row)`` pairs: the same label with the row changed
(rename, drop or map fields), other labels (split a model), or nothing (drop
the row). It receives data, never code from the dump. Register them with the
setting::

    PYSERIALIZER_TRANSFORMS = {"shop.product": "myproject.dumpfixes.product"}

or pass ``transforms={"shop.product": function}`` to the deserializer.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from ..errors import DumpError

# A row transform: (label, row as a dict) -> (label, row) pairs.
Transform = Callable[[str, dict[str, Any]], Iterable[tuple[str, dict[str, Any]]]]


def configured_transforms(extra: Mapping[str, Transform] | None = None) -> dict[str, Transform]:
    """{label: function} from the setting, updated with ``extra``."""
    found = {}
    for label, function in getattr(settings, "PYSERIALIZER_TRANSFORMS", {}).items():
        found[label.lower()] = import_string(function) if isinstance(function, str) else function
    for label, function in (extra or {}).items():
        found[label.lower()] = function
    return found


def apply_transform(
    transform: Transform, label: str, field_names: Sequence[str], values: Sequence[Any],
    reader: Any, line: int,
) -> list[tuple[str, dict[str, Any]]]:
    """Run ``transform`` on one row (one value per field name, as the reader
    checked); check and return its (label, row) pairs."""
    try:
        produced = list(transform(label, dict(zip(field_names, values))))
    except Exception as exc:
        raise DumpError(
            "the row transform %s failed: %s" % (getattr(transform, "__name__", transform), exc),
            reader.path,
            line,
            label,
        ) from exc
    for pair in produced:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], dict)):
            raise DumpError(
                "a row transform must yield (label, row dict) pairs, not %r" % (pair,),
                reader.path,
                line,
                label,
            )
    return [(new_label.lower(), row) for new_label, row in produced]
