"""What every pyserializer file looks like: shared by the writer and the reader.

See docs/format.rst for the full description of format version 1.
"""

import json
import re

FORMAT_VERSION = 1
IMPORT_LINE = "from pyserializer.literals import null, true, false, NaN, Infinity"
DATA_ONLY_NOTE = (
    "# pyserializer dump, format %d. Data only: loaders parse this file, "
    "they never run it." % FORMAT_VERSION
)
SCRIPT_TRAILER_START = 'if __name__ == "__main__":'
MANIFEST_NAME = "restore.py"


def _encode_natural_key_part(value):
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


def assignment(name, value):
    """One ``NAME = <JSON value>`` line."""
    return "%s = %s\n" % (name, json_value(value))


def block_start(name):
    return "%s = [\n" % name


BLOCK_END = "]\n"


def safe_file_stem(text):
    """A table name made safe to use as a file name."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "table"
