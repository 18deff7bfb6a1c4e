"""A FloatField holding -0.0 is loaded as -0.0 where the database can store it:
PostgreSQL. SQLite stores a REAL without a fraction as an integer, and MariaDB
has no -0 in a DOUBLE: both store 0.0, whatever the client sends."""

import math

import pytest
from django.db import connection

from helpers import dump_stdout, load
from testapp.models import Everything

pytestmark = pytest.mark.django_db(transaction=True)

DUMP = (
    "# pyserializer dump, format 1. Data only: loaders parse this file, they never run it.\n"
    "from pyserializer.literals import null, true, false, NaN, Infinity\n"
    "FORMAT = 1\n"
    'MODEL = "testapp.everything"\n'
    'FIELDS = ["id", "floating"]\n'
    "ROWS = [\n"
    "[1, -0.0],\n"
    "[2, 0.0],\n"
    "]\n"
)


def sign(value):
    return math.copysign(1.0, value)


def stored_sign():
    """The sign the database keeps for a -0.0."""
    return -1.0 if connection.vendor == "postgresql" else 1.0


@pytest.mark.parametrize("existing", [False, True], ids=["inserted", "updated"])
def test_negative_zero_is_loaded_as_negative_zero(tmp_path, existing):
    """New rows take the batched INSERT, existing ones an UPDATE through save()."""
    if existing:
        Everything.objects.create(pk=1, floating=1.0)
        Everything.objects.create(pk=2, floating=1.0)
    path = tmp_path / "zeros.py"
    path.write_text(DUMP)
    load(path)
    floats = dict(Everything.objects.values_list("pk", "floating"))
    assert floats == {1: 0.0, 2: 0.0}
    assert (sign(floats[1]), sign(floats[2])) == (stored_sign(), 1.0)


def test_negative_zero_is_dumped_as_negative_zero(tmp_path):
    path = tmp_path / "zeros.py"
    path.write_text(DUMP)
    load(path)
    assert ("-0.0" in dump_stdout("testapp.everything")) == (stored_sign() < 0)
