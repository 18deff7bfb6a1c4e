"""Fixtures shared by the tests; the helper functions are in helpers.py."""

import pytest


@pytest.fixture
def dump_dir_path(tmp_path):
    """An empty directory for a directory dump."""
    path = tmp_path / "dump"
    path.mkdir()
    return path
