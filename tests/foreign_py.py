"""A "py" deserializer that is not pyserializer's, as Lino's (lino.utils.dpy) is:
it runs a ``.py`` fixture as a module and yields what its ``objects()`` gives;
a module without ``objects`` yields nothing. Registered by test_foreign_py.py
through SERIALIZATION_MODULES, in the place of pyserializer's format."""

import importlib.util
import sys

from django.core.serializers import base


class Serializer(base.Serializer):
    def end_object(self, obj):
        pass


def Deserializer(stream, **options):
    name = "foreign_py_fixture_%d" % abs(hash(stream.name))
    spec = importlib.util.spec_from_file_location(name, stream.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    objects = getattr(module, "objects", None)
    if objects is None:
        return
    for obj in objects():
        yield base.DeserializedObject(obj)
