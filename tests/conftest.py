"""Fixtures shared by the tests; the helper functions are in helpers.py."""

import pytest


@pytest.fixture
def dump_dir_path(tmp_path):
    """An empty directory for a directory dump."""
    path = tmp_path / "dump"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def fresh_content_type_cache():
    """Content types are cached by id; a rolled-back test may leave stale ids."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()
