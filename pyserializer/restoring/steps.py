"""The steps of a restore that change the database, and what is true after each.

``run.run_restore`` runs them one by one through ``Steps``. When one
fails, or Ctrl-C or SIGTERM stops the restore, the error says where the
database stands and what the user can do: each ``Step`` carries its own
text and advice, so that rewording one changes nothing else.
"""

import enum
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError

from ..cli.refusals import interrupted, stopped_by
from ..errors import DumpError


class RestoreFailed(CommandError):
    """A step after the database was changed failed; the message says where it stands.

    ``failure`` is the message without the advice after it.
    """

    def __init__(self, message: str, failure: str | None = None) -> None:
        super().__init__(message)
        self.failure = message if failure is None else failure


class Interrupted(CommandError):
    """Ctrl-C or SIGTERM stopped a restore; the message says where things stand."""


class Step(enum.Enum):
    """A step: what it is doing, what is true when it fails, and, for a step
    that leaves the rows restored, what is true when a signal comes just
    after it ran to its end (None for the others)."""

    TO_CODE = (
        "migrating the database to the code's state",
        "The data of the database was not replaced; see python manage.py showmigrations.",
        None,
    )
    TO_DUMP = (
        "migrating the database to the dump's state",
        "The dump was not loaded. The tables may already be empty (they are emptied "
        "before migrating backwards), and the migration state may lie between the old "
        "one and the dump's (see python manage.py showmigrations).",
        None,
    )
    INTO_CURRENT = (
        "loading the rows into the current models",
        "The load was rolled back: the data of the database is as it was before.",
        "the dump was restored.",
    )
    AT_DUMP_STATE = (
        "loading the rows",
        "The load was rolled back; the database is at the dump's migration state. "
        "Fix the cause and restore again, or run python manage.py migrate to go back "
        "to the code's state.",
        "the rows were restored at the dump's migration state; run python "
        "manage.py migrate to migrate them forward to the code's state.",
    )
    MEDIA = (
        "putting the media files into storage",
        "The rows were restored; the media files named above are in storage, the others "
        "are not. Fix the cause and restore again: a file already there with the same "
        "content is kept.",
        "the rows were restored, and the media files may be in storage only in part: "
        "restore again to put the others there.",
    )
    FORWARD = (
        "migrating forward",
        "The rows were restored at the dump's migration state and migrated forward as "
        "far as the migrations succeeded (see python manage.py showmigrations). Fix the "
        "failing migration, then run python manage.py migrate.",
        "the dump was restored and migrated forward.",
    )

    def __init__(self, doing: str, after_failure: str, after_ending: str | None) -> None:
        self.doing = doing
        self.after_failure = after_failure
        self.after_ending = after_ending


class Steps:
    """Runs the steps of a restore that change the database, one by one, and
    knows what is true when one fails or a signal stops the restore."""

    def __init__(self) -> None:
        self.current: Step | None = None  # the Step under way, or the last one run
        self.finished = False  # whether self.current ran to its end
        self.runs = 0

    def __call__(self, step: Step, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.current, self.finished = step, False
        self.runs += 1
        try:
            result = function(*args, **kwargs)
        except DumpError as exc:  # stays a DumpError: it names the file and line
            exc.advise(step.after_failure)
            raise
        except Exception as exc:
            failure = "Restore failed while %s: %s" % (step.doing, exc)
            raise RestoreFailed("%s\n%s" % (failure, step.after_failure), failure) from exc
        self.finished = True
        return result

    def interrupted(self, exc: BaseException) -> Interrupted:
        """The Interrupted error to raise for KeyboardInterrupt ``exc``."""
        step = self.current
        if step is None or (step is Step.INTO_CURRENT and not self.finished and self.runs == 1):
            return Interrupted(interrupted(exc))  # nothing had changed, or it was rolled back
        if self.finished and step.after_ending is not None:
            return Interrupted("%s after %s; %s" % (stopped_by(exc), step.doing, step.after_ending))
        return Interrupted("%s while %s. %s" % (stopped_by(exc), step.doing, step.after_failure))
