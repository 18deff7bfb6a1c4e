"""Ctrl-C and SIGTERM: one way to stop, and a way to finish cleaning up first.

A command that must leave nothing behind (``dump2py``'s staging directory,
``restore_dump --verify``'s scratch database) unwinds on SIGTERM as on
Ctrl-C, through its ``finally`` blocks; while those blocks remove what the
command made, a second signal waits until they are done.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind like Ctrl-C, so that what was made goes."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises Terminated (a KeyboardInterrupt)."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block (a clean-up) has run to its end.

    A signal that arrives meanwhile is delivered when the block ends.
    """
    if (threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "pthread_sigmask")):  # signals are not ours, or Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
