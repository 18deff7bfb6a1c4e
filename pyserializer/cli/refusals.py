"""One voice for every refusal: what a command prints when it stops.

Our errors have kinds (``NotRestorable``, ``DanglingReferences``,
``DumpError``, ...) that code and tests tell apart, but the user reads only
the message. Django prints a CommandError subclass with its class name in
front (``NotRestorable: ...``), and any other exception as a traceback; so
from the command line a command of ours turns each refusal into a plain
``CommandError`` here, and ``python DIR/restore.py`` prints the same text.
A signal (Ctrl-C, SIGTERM) is a refusal too: it says what is true after it.
"""

from argparse import ArgumentParser
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.core.management.base import CommandError, SystemCheckError
from django.core.serializers.base import DeserializationError
from django.db import connections

from .interrupts import Terminated, terminate_as_interrupt

NOTHING_CHANGED = "nothing was changed."
ARE_YOU_SURE = "Are you sure (y/n)? "


def stopped_by(exc: BaseException) -> str:
    """How a KeyboardInterrupt came: "Interrupted" (Ctrl-C) or "Terminated (SIGTERM)"."""
    return "Terminated (SIGTERM)" if isinstance(exc, Terminated) else "Interrupted"


def interrupted(exc: BaseException, promise: str = NOTHING_CHANGED) -> str:
    """E.g. "Interrupted; nothing was changed." """
    return "%s; %s" % (stopped_by(exc), promise)


def refusal_text(exc: BaseException, failed: str | None = None) -> str:
    """The message of ``exc`` as the user reads it: a CommandError's own; any
    other error's (a DumpError names file and line) after ``failed``, e.g.
    "Restore failed", when given."""
    if isinstance(exc, CommandError) or not failed:
        return str(exc)
    return "%s: %s" % (failed, exc)


def agreed(ask: Callable[[str], str], question: str = ARE_YOU_SURE) -> bool:
    """Whether the user answers ``question``, asked with ``ask`` (``input``),
    with y or yes; the end of the input is no. The caller refuses on no."""
    try:
        answer = ask(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def add_database_argument(
    parser: ArgumentParser, help: str, name: str = "--database", **kwargs: Any,
) -> None:
    """``--database`` as Django's own commands take it: an alias that the
    settings do not have is refused by the parser, with Django's wording,
    before anything is read or changed."""
    parser.add_argument(name, choices=tuple(connections), help=help, **kwargs)


class OneVoice:
    """Mixin for a management command: run from the command line, it prints
    every refusal as ``CommandError: message`` (exit status 1, no traceback).

    ``failed`` (e.g. "Restore failed") comes before the message of an error
    that is not a CommandError (a DumpError); ``after_interrupt``, when set,
    is what is true after Ctrl-C or SIGTERM stopped the command (SIGTERM then
    unwinds as Ctrl-C does), e.g. ``NOTHING_CHANGED``. A call_command()
    caller gets the errors of their own kinds.
    """

    failed: str | None = None
    after_interrupt: str | None = None
    refused = (CommandError, DeserializationError)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        """The parser, whose ``--database`` takes only the aliases of the
        settings, also where a parent command (Django 4.2's loaddata and
        dumpdata) added it without choices and would end in a traceback."""
        parser = super().create_parser(  # type: ignore[misc]  # a mixin of BaseCommand
            prog_name, subcommand, **kwargs)
        for action in parser._actions:
            if "--database" in action.option_strings:
                action.choices = tuple(connections)
        return parser

    def execute(self, *args: Any, **options: Any) -> Any:
        if not getattr(self, "_called_from_command_line", False):
            return super().execute(*args, **options)  # type: ignore[misc]
        try:
            with terminate_as_interrupt() if self.after_interrupt else nullcontext():
                return super().execute(*args, **options)  # type: ignore[misc]
        except KeyboardInterrupt as exc:
            if not self.after_interrupt:
                raise
            raise CommandError(interrupted(exc, self.after_interrupt)) from exc
        except SystemCheckError:
            raise
        except self.refused as exc:
            if type(exc) is CommandError:
                raise
            raise CommandError(refusal_text(exc, self.failed),
                               returncode=getattr(exc, "returncode", 1)) from exc
