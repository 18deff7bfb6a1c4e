"""Loading keeps memory flat: peak RSS does not grow with the size of a dump.

Each measurement is a whole process (a fresh interpreter running loaddata on
its own SQLite database), so that nothing measured in one run stays in the
next. The same rows are loaded from a single file and from a directory dump
whose one chunk holds every row: neither the number of rows nor the size of
one file may make the peak grow.
"""

import pytest

from memory_probe import measure


@pytest.mark.slow
@pytest.mark.parametrize("form", ["single", "directory"])
def test_peak_memory_of_a_load_does_not_grow_with_rows_or_file_size(tmp_path, form):
    small = measure(tmp_path, 5_000, form)
    large = measure(tmp_path, 100_000, form)
    assert small["rows"] == 5_000 and large["rows"] == 100_000
    assert large["bytes"] > 15 * small["bytes"]
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    # 20 times the rows and the bytes in one file: the peak may move by noise only.
    assert growth_mib < 8, (small, large)


@pytest.mark.slow
def test_peak_memory_of_dump2py_does_not_grow_with_rows(tmp_path):
    steps = ("make", "load", "dump")
    small = measure(tmp_path, 5_000, "directory", steps=steps)
    large = measure(tmp_path, 100_000, "directory", steps=steps)
    assert small["rows"] == 5_000 and large["rows"] == 100_000
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < 8, (small, large)
