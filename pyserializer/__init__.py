"""pyserializer: lossless Python dumps of Django databases, in bounded chunks.

Register the format with ``SERIALIZATION_MODULES = {"py": "pyserializer"}``;
add ``"pyserializer"`` to ``INSTALLED_APPS`` for the ``dump2py`` command.
The pipeline, one folder per stage, one module per step:

- dumping/: rows -> values/codec -> writer (dump2py, dumpdata);
- loading/: files/reader -> values/codec -> deserializer -> saving (loaddata);
- restoring/: plan -> empty -> load -> migrate -> report (restore.py, restore_dump);
- files/ (grammar, manifest, compression, safe files) is what both sides share
  on disk, cli/ gives the commands one voice; errors and tables serve every stage.

restore.py, literals.py and foreign.py stay at the top: every dump imports them.
"""

__version__ = "0.2.0.dev0"


def __getattr__(name: str) -> type:
    """Django looks up Serializer and Deserializer here; import them lazily so
    that listing the package in INSTALLED_APPS stays cheap."""
    if name == "Serializer":
        from .dumping.serializer import Serializer

        return Serializer
    if name == "Deserializer":
        from .loading.deserializer import Deserializer

        return Deserializer
    raise AttributeError("module 'pyserializer' has no attribute %r" % name)
