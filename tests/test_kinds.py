"""Decisions go by kind, never by wording: a DumpError carries its kind, the
hint to leave a model out is chosen by it, and each step of a restore carries
its own advice. Rewording every message, or every step, changes neither; and
the small rules with one home each (which labels -e leaves out, the y/yes
question, a progress bar that may show nothing) behave as one."""

import io
import subprocess
import sys

import pytest
from django.db import connection

from helpers import chunk_names, reseal
from pyserializer import errors
from pyserializer.cli.progress import RestoreProgress
from pyserializer.cli.refusals import ARE_YOU_SURE, agreed
from pyserializer.dumping.wholesite import is_excluded
from pyserializer.errors import DumpError, Kind
from pyserializer.restoring import hints
from pyserializer.restoring.plan import Cancelled
from pyserializer.restoring.run import RestoreFailed, load_dump, restore
from pyserializer.restoring.steps import Step, Steps
from testapp.models import Country, Person
from test_restore_excludes import dump2py, rename_model, with_duplicate_country


@pytest.fixture
def reworded(monkeypatch):
    """Every DumpError's problem reworded where it is raised: shouted, and
    behind a word that no message starts with."""
    init = DumpError.__init__

    def reworded_init(self, problem, *args, **kwargs):
        init(self, "Reworded, %s" % str(problem).upper(), *args, **kwargs)

    monkeypatch.setattr(DumpError, "__init__", reworded_init)


@pytest.mark.django_db(transaction=True)
def test_a_reworded_rejected_row_still_gets_the_hint_and_the_steps_advice(tmp_path, reworded):
    manifest, _ = with_duplicate_country(tmp_path)
    Person.objects.filter(pk=1).update(name="Changed")

    with pytest.raises(DumpError) as failure:
        restore(str(manifest), interactive=False)

    error = failure.value
    assert error.kind is Kind.ROW_REJECTED and error.model == "testapp.country"
    message = str(error)
    assert "Reworded, THE DATABASE REJECTED THIS ROW" in message
    assert message.count("leave it out: python %s -e testapp.country" % manifest) == 1
    assert message.endswith("\n" + Step.INTO_CURRENT.after_failure)
    assert Person.objects.get().name == "Changed"


@pytest.mark.django_db(transaction=True)
def test_a_reworded_unknown_model_is_hinted_once(tmp_path, reworded):
    Country.objects.create(code="be", name="Belgium")
    manifest = dump2py(tmp_path / "backup")
    rename_model(manifest, "testapp.country", "testapp.ftsindexentry")

    with pytest.raises(DumpError) as failure:
        restore(str(manifest), interactive=False)
    assert failure.value.kind is Kind.UNKNOWN_MODEL
    assert str(failure.value).count("leave it out") == 1
    assert "python %s -e testapp.ftsindexentry" % manifest in str(failure.value)

    # The loader's own message has a hint already: the restore adds no second one.
    with pytest.raises(DumpError) as failure:
        with connection.constraint_checks_disabled():
            load_dump(str(manifest), connection)
    assert failure.value.kind is Kind.UNKNOWN_MODEL
    assert str(failure.value).count("leave it out") == 1
    assert "leave it out with -e testapp.ftsindexentry" in str(failure.value)


@pytest.mark.parametrize("kind, hinted", [
    (Kind.ROW_REJECTED, True),
    (Kind.UNKNOWN_MODEL, True),
    (Kind.INVALID, False),
    (Kind.DANGLING_REFERENCE, False),
    (Kind.ALTERED_FILE, False),
])
@pytest.mark.parametrize("problem", ["unknown model", "the database rejected this row", "odd"])
def test_the_restore_hint_is_chosen_by_kind_whatever_the_problem_says(kind, hinted, problem):
    error = hints.with_restore_hint(
        DumpError(problem, "dump/restore.py", 3, "testapp.country", kind=kind), "dump/restore.py")
    assert ("-e testapp.country" in str(error)) is hinted
    assert str(error).startswith("dump/restore.py, line 3, model testapp.country: %s" % problem)


def test_a_hint_is_added_once_and_not_to_an_error_without_a_model():
    advised = DumpError("unknown model.", "x.py", model="a.b", kind=Kind.UNKNOWN_MODEL).advise(
        "Left out it can be.", " ")
    assert hints.with_restore_hint(advised, "x.py").args == (
        "x.py, model a.b: unknown model. Left out it can be.",)
    nameless = DumpError("rejected", "x.py", kind=Kind.ROW_REJECTED)
    assert str(hints.with_restore_hint(nameless, "x.py")) == "x.py: rejected"


@pytest.fixture
def steps_reworded(monkeypatch):
    """Every step doing the same, as far as its text says."""
    for step in Step:
        monkeypatch.setattr(step, "doing", "doing a step")


def fail(exc):
    raise exc


@pytest.mark.parametrize("step", list(Step))
def test_each_step_gives_its_own_advice_whatever_its_text(step, steps_reworded):
    with pytest.raises(RestoreFailed) as failure:
        Steps()(step, fail, ValueError("no such table"))
    assert str(failure.value) == (
        "Restore failed while doing a step: no such table\n%s" % step.after_failure)
    assert failure.value.failure == "Restore failed while doing a step: no such table"

    with pytest.raises(DumpError) as failure:
        Steps()(step, fail, DumpError("truncated", "x.py", 3))
    assert str(failure.value) == "x.py, line 3: truncated\n%s" % step.after_failure


@pytest.mark.parametrize("step", list(Step))
def test_a_signal_after_a_step_says_what_is_true_then_whatever_its_text(step, steps_reworded):
    steps = Steps()
    steps(Step.TO_CODE, lambda: None)  # something had changed before
    steps(step, lambda: None)
    said = str(steps.interrupted(KeyboardInterrupt()))
    if step.after_ending is None:
        assert said == "Interrupted while doing a step. %s" % step.after_failure
    else:
        assert said == "Interrupted after doing a step; %s" % step.after_ending


def test_a_signal_during_the_first_load_into_the_current_models_changed_nothing(steps_reworded):
    steps = Steps()
    with pytest.raises(KeyboardInterrupt):
        steps(Step.INTO_CURRENT, fail, KeyboardInterrupt())
    assert str(steps.interrupted(KeyboardInterrupt())) == "Interrupted; nothing was changed."


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("damage, kind", [
    ("delete", Kind.MISSING_FILE),
    ("append", Kind.ALTERED_FILE),
    ("field", Kind.UNKNOWN_FIELD),
])
def test_a_damaged_dump_is_refused_with_the_kind_of_its_damage(tmp_path, damage, kind):
    Country.objects.create(code="be", name="Belgium")
    manifest = dump2py(tmp_path / "backup")
    chunk = tmp_path / "backup" / next(
        name for name in chunk_names(manifest) if name.startswith("testapp_country"))
    if damage == "delete":
        chunk.unlink()
    elif damage == "append":
        chunk.write_bytes(chunk.read_bytes() + b"\n")
    else:
        chunk.write_text(chunk.read_text(encoding="utf-8").replace('"name"', '"title"'),
                         encoding="utf-8")
        reseal(manifest)
    with pytest.raises(DumpError) as failure:
        restore(str(manifest), interactive=False)
    assert failure.value.kind is kind


def test_a_file_that_cannot_be_opened_is_unreadable(tmp_path):
    with pytest.raises(DumpError) as failure:
        restore(str(tmp_path / "nothing" / "restore.py"), interactive=False)
    assert failure.value.kind is Kind.UNREADABLE


@pytest.mark.parametrize("label, excludes, excluded", [
    ("testapp.country", {"testapp.country"}, True),
    ("testapp.Country", {"testapp.country"}, True),
    ("testapp.country", {"testapp"}, True),
    ("testapp.country", {"testapp.person"}, False),
    ("testapp.country", {"test"}, False),
    ("testapp.country", set(), False),
])
def test_one_rule_says_which_models_minus_e_leaves_out(label, excludes, excluded):
    assert is_excluded(label, excludes) is excluded


@pytest.mark.parametrize("answer, yes", [
    ("y", True), ("YES\n", True), (" Yes ", True), ("n", False), ("", False), ("yess", False),
])
def test_one_question_takes_y_or_yes(answer, yes):
    asked = []
    assert agreed(lambda question: asked.append(question) or answer) is yes
    assert asked == [ARE_YOU_SURE]


def test_the_end_of_the_input_is_no():
    def ask(question):
        raise EOFError

    assert agreed(ask) is False
    with pytest.raises(Cancelled):
        from pyserializer.restoring.plan import confirm

        class Plan:
            def describe(self, connection):
                return "This replaces ALL data."

        confirm(Plan(), None, interactive=True, stdout=io.StringIO(), ask=ask)


def test_a_restore_progress_without_a_bar_is_itself_and_shows_nothing(capsys):
    with RestoreProgress(3) as progress:
        assert isinstance(progress, RestoreProgress)
        for count in range(1, RestoreProgress.EVERY * 2):
            progress.loaded(count)
        progress.finished(3)
    assert capsys.readouterr() == ("", "")


def test_text_is_shortened_and_put_on_one_line_in_one_place():
    assert errors.shorten("x" * 80) == "x" * 80
    assert errors.shorten("x" * 81) == "x" * 77 + "..."
    assert errors.shorten("abcdef", 5) == "ab..."
    assert errors.one_line(ValueError("two\n  lines\t")) == "two lines"
    assert errors.one_line(KeyError()) == "KeyError"


def test_importing_pyserializer_restore_leaves_sys_path_alone(tmp_path):
    """restore_dump imports pyserializer.restore: whatever the script run, its
    directory stays on sys.path (the dump's restore.py takes its own off)."""
    script = tmp_path / "restore.py"
    script.write_text(
        "import sys, os\n"
        "here = os.path.dirname(os.path.abspath(__file__))\n"
        "import pyserializer.restore\n"
        "print(any(os.path.abspath(p or os.curdir) == here for p in sys.path))\n",
        encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "True", result.stderr
