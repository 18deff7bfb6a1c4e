"""A small Wagtail project (as made by ``wagtail start``) that tests/test_wagtail.py
fills, dumps with dump2py and restores: a real third-party site for pyserializer."""
