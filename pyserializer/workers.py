"""What a forked worker process does first (``dump2py --jobs``, a restore's ``--jobs``).

A worker is forked from a process that may hold open database connections,
an open transaction, and the signal handlers of a command. It leaves all of
them to the parent: Ctrl-C is the parent's to handle (it stops the workers),
SIGTERM ends a worker at once, the parent's ends of the pipes are closed (so
that the parent's death ends them), and the inherited connections are
replaced by new ones, kept referenced and never closed, so that nothing the
worker does can touch or end the parent's session.
"""

import signal
from collections.abc import Iterable
from multiprocessing.connection import Connection
from typing import Any

from django.db import connections

# The parent's connections, as a worker inherited them.
_inherited_connections: list[Any] = []


def start_worker(parent_ends: Iterable[Connection]) -> None:
    """Make this forked process a worker; ``parent_ends`` are the parent's pipe ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for parent_end in parent_ends:
        parent_end.close()
    for alias in connections:
        inherited = connections[alias]
        _inherited_connections.append(inherited)
        connections[alias] = type(inherited)(dict(inherited.settings_dict), alias)
