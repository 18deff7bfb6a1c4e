"""What every pyserializer file looks like: shared by the writer and the reader.

See docs/format.rst for the full description of the formats. Format 2 is
format 1 with one more part in restore.py's script (see ``manifest``); the
data grammar of the two is the same, and both are read.
"""

import json
import json.scanner
import re
from collections.abc import Callable, Mapping
from typing import Any

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
IMPORT_LINE = "from pyserializer.literals import null, true, false, NaN, Infinity"


def data_only_note(version: int = FORMAT_VERSION) -> str:
    """The first comment of every file: what it is, and that nothing runs it."""
    return ("# pyserializer dump, format %d. Data only: loaders parse this file, "
            "they never run it." % version)


SCRIPT_TRAILER_START = 'if __name__ == "__main__":'


def format_problem(names: Mapping[str, Any]) -> str | None:
    """Why a file whose names (FORMAT, ...) are ``names`` cannot be read, or None."""
    if "FORMAT" not in names:
        return "this is not a pyserializer dump (no FORMAT line)"
    version = names["FORMAT"]
    if type(version) is int and version in READABLE_FORMATS:
        return None
    return "unsupported dump format: FORMAT = %r (this pyserializer reads formats %s)" % (
        version, " and ".join(map(str, READABLE_FORMATS)))
MANIFEST_NAME = "restore.py"
# The folder of a directory dump that holds its media files, each at its storage name.
MEDIA_FOLDER = "media"


def _encode_natural_key_part(value: Any) -> str:
    """Natural keys may hold dates, decimals or UUIDs: write them as text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("bytes cannot be part of a natural key in a dump")
    return str(value)


def _value_encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """``JSONEncoder(ensure_ascii=False, separators=(", ", ": "), default=default)
    .encode``, the same text with less work per call: json's C encoder made
    once, where ``encode`` makes one per call (a dump calls it once per row).
    Without a circular-reference check, which a row (of scalars and lists of
    keys) never needs and which could not be shared between threads."""
    encoder = json.JSONEncoder(
        ensure_ascii=False, allow_nan=True, separators=(", ", ": "), default=default)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without json's C part (PyPy)
        return encoder.encode
    encode = make(None, default, json.encoder.encode_basestring, None,
                  encoder.key_separator, encoder.item_separator, False, False, True)
    join = "".join
    return lambda value: join(encode(value, 0))


json_value = _value_encoder(_encode_natural_key_part)
"""A value (a row, a list of keys...) as the JSON text every file holds."""


def parse_json_value(text: str) -> Any:
    """``json.loads(text)``, with less work when the value fills the text, as
    in every line pyserializer writes (it skips the two passes for blanks around
    the value); any other text takes json's full path, so what is accepted,
    and the error, is json's."""
    try:
        value, end = _scan_json_value(text, 0)
    except StopIteration:
        return _full_json_decode(text)
    if end != len(text):
        return _full_json_decode(text)
    return value


_full_json_decode = json.JSONDecoder().decode
_scan_json_value = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def assignment(name: str, value: Any) -> str:
    """One ``NAME = <JSON value>`` line."""
    return "%s = %s\n" % (name, json_value(value))


def block_start(name: str) -> str:
    return "%s = [\n" % name


BLOCK_END = "]\n"


def safe_file_stem(text: str) -> str:
    """A table name made safe to use as a file name."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "table"
