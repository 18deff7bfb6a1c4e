"""pyserializer beside another app's "py" format (Lino registers one of its own).

Another app's "py" deserializer loads a ``.py`` fixture by running it as a
module and collecting what the module yields. A pyserializer file yields
nothing, so run that way it would load no object and report success. Instead
it stops that loader with one message that says what the file is and how to
load it: ``restore.py`` refuses to be imported (its script part), and a data
file refuses to be run by ``loaddata`` (``pyserializer.literals``, which its
import line names).
"""

import os
from types import FrameType

from django.core.management.base import CommandError

from .files.grammar import MANIFEST_NAME

# The modules whose frames, on the stack of a data file being run, show that
# loaddata runs it as a fixture. pyserializer's own loader only parses files.
_LOADDATA_MODULES = ("django.core.management.commands.loaddata",)


def refuse_import(module_name: str, path: str) -> None:
    """Called by ``restore.py`` when it is imported instead of run as a script.

    ``__mp_main__`` is the name multiprocessing gives the main script in a
    child process of ``python DIR/restore.py``: that import is left alone."""
    if module_name == "__mp_main__":
        return
    raise CommandError(
        "%s is the manifest of a pyserializer dump, not a fixture to run: a loader "
        "that is not pyserializer's imported it, and would have loaded nothing. %s"
        % (path, how_to_load(os.path.dirname(os.path.abspath(path))))
    )


def refuse_fixture_run(frame: FrameType) -> None:
    """Called by ``pyserializer.literals`` as a data file imports its names;
    ``frame`` is that file's. Refuse when ``loaddata`` is running it."""
    if not _run_by_loaddata(frame):
        return
    path = os.path.abspath(frame.f_globals.get("__file__") or "?")
    directory: str | None = os.path.dirname(path)
    if not os.path.exists(os.path.join(os.path.dirname(path), MANIFEST_NAME)):
        directory = None
    raise CommandError(
        "%s is %s, data to parse, not a fixture to run: the \"py\" loader that ran it "
        "is not pyserializer's, and would have loaded nothing. %s" % (
            path, "a chunk of the pyserializer dump %s" % directory if directory
            else "a pyserializer dump", how_to_load(directory, path)))


def how_to_load(directory: str | None, path: str | None = None) -> str:
    """The ways to load a dump (a directory, or the single file ``path``) when
    "py" is another app's format."""
    if directory is None:
        return ("Load it with pyserializer's format under a name of its own: "
                "SERIALIZATION_MODULES = {\"pyser\": \"pyserializer\"} and "
                "`manage.py loaddata --format pyser - < %s`." % path)
    return ("Restore the dump with `manage.py restore_dump %s` (or `python %s`), "
            "or register pyserializer's format as \"py\": "
            "SERIALIZATION_MODULES = {\"py\": \"pyserializer\"}."
            % (directory, os.path.join(directory, MANIFEST_NAME)))


def is_our_format(name: str | None) -> bool:
    """Whether the serialization format ``name`` is pyserializer's, under
    whatever name the project registered it."""
    from django.core import serializers

    from .dumping.serializer import Serializer

    try:
        return issubclass(serializers.get_serializer(name), Serializer)
    except serializers.SerializerDoesNotExist:
        return False


def _run_by_loaddata(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_globals.get("__name__") in _LOADDATA_MODULES:
            return True
        frame = frame.f_back
    return False

