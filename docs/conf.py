"""Sphinx configuration of the pyserializer documentation.

Build with ``make docs`` or ``sphinx-build -W docs docs/_build/html``; it needs
no network and no Sphinx extension.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import pyserializer  # noqa: E402  (needs no Django: it imports it lazily)

project = "pyserializer"
author = "The pyserializer authors"
copyright = "the pyserializer authors"
release = pyserializer.__version__
version = ".".join(release.split(".")[:2])

extensions = []
root_doc = "index"
exclude_patterns = ["_build"]
highlight_language = "none"

html_theme = "alabaster"
html_theme_options = {"description": "Lossless Python dumps for Django"}
html_static_path = []
