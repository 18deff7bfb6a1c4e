"""The test project in another process: its environment, and a run on a
pseudo-terminal, for the tests of what a command does outside pytest's process
(a progress bar on a terminal, `python DIR/restore.py`, memory of a fresh
interpreter)."""

import fcntl
import os
import pty
import struct
import subprocess
import termios

from helpers import REPO_DIR, TESTS_DIR


def project_env(database_url, *paths):
    """The environment of the test project on ``database_url``, in another process."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO_DIR), *paths]),
               DJANGO_SETTINGS_MODULE="testproject.settings", DATABASE_URL=database_url)
    return env


def run_on_a_terminal(args, env, stdout=True):
    """Run ``args`` in the tests' folder, with no input, standard error on a
    pseudo-terminal of 80 columns and standard output on it too (thrown away
    with ``stdout=False``, so that only standard error is a terminal); return
    the exit status and the bytes the terminal got."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    try:
        process = subprocess.Popen(
            args, cwd=TESTS_DIR, env=env, stdin=subprocess.DEVNULL,
            stdout=terminal if stdout else subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other end closed: Linux says EIO
                break
            if not chunk:
                break
            shown += chunk
        status = process.wait(timeout=300)
    finally:
        os.close(controller)
    return status, shown
