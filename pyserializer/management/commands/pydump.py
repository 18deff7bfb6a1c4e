"""``manage.py pydump OUTPUT_DIR``: ``dump2py`` under a name no other app uses.

Lino ships a ``dump2py`` command of its own; on a Lino site, as wherever an
app listed before ``"pyserializer"`` in INSTALLED_APPS has a command of that
name, ``manage.py dump2py`` runs that app's command. ``pydump`` is always
pyserializer's: the same command, options and dump.
"""

from .dump2py import Command  # noqa: F401
