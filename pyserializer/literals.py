"""The few names a dump file uses besides Python literals.

Dump files write JSON's spellings of null, booleans and non-finite floats so
that the loader can parse every row with the C JSON parser. Importing these
names makes the same files meaningful Python too; the loader never imports or
runs a dump, it only parses it. The names are looked up through
``__getattr__``, so that a data file run as a fixture by another app's "py"
loader stops it with a clear message (``pyserializer.foreign``).
"""

import sys
from typing import Any

__all__ = ["null", "true", "false", "NaN", "Infinity"]
_VALUES = {
    "null": None,
    "true": True,
    "false": False,
    "NaN": float("nan"),
    "Infinity": float("inf"),
}


def __getattr__(name: str) -> Any:
    if name not in _VALUES:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    from .foreign import refuse_fixture_run

    refuse_fixture_run(sys._getframe(1))
    return _VALUES[name]


def __dir__() -> list[str]:
    return sorted(_VALUES)
