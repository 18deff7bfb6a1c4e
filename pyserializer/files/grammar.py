"""What every pyserializer file looks like: shared by the writer and the reader.

See docs/format.rst for the full description of the formats. Format 2 is
format 1 with one more part in restore.py's script (see ``manifest``); the
data grammar of the two is the same, and both are read.
"""

import json
import re
from collections.abc import Mapping
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


_encoder = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=True,
    separators=(", ", ": "),
    default=_encode_natural_key_part,
)
json_value = _encoder.encode


def assignment(name: str, value: Any) -> str:
    """One ``NAME = <JSON value>`` line."""
    return "%s = %s\n" % (name, json_value(value))


def block_start(name: str) -> str:
    return "%s = [\n" % name


BLOCK_END = "]\n"


def safe_file_stem(text: str) -> str:
    """A table name made safe to use as a file name."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "table"
