"""pyserializer: lossless Python dumps of Django databases, in bounded chunks.

Register the format with ``SERIALIZATION_MODULES = {"py": "pyserializer"}``;
add ``"pyserializer"`` to ``INSTALLED_APPS`` for the ``dump2py`` command.
The pipeline, one module per step: rows -> codec -> writer (dump);
reader -> codec -> deserializer (load).
"""

__version__ = "0.2.0.dev0"


def __getattr__(name):
    """Django looks up Serializer and Deserializer here; import them lazily so
    that listing the package in INSTALLED_APPS stays cheap."""
    if name == "Serializer":
        from .serializer import Serializer

        return Serializer
    if name == "Deserializer":
        from .deserializer import Deserializer

        return Deserializer
    raise AttributeError("module 'pyserializer' has no attribute %r" % name)
