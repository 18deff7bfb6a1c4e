"""The dump2py command: its options, what it writes and what it tells the user."""

import io
import os
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from helpers import (
    assert_same_rows, blocks, chunk_names, db_snapshot, load, populate, restore_files, wipe,
)
from pyserializer.cli.progress import human_size
from pyserializer.management.commands.dump2py import Command
from renumber import renumber_content_types_and_permissions
from testapp.models import AuditEntry, Country, Everything, Tag

# The unmanaged models of legacyapp on a view, on no table, and on the table of a
# managed model (see test_left_out.py).
NOT_DUMPED = {"legacyapp.accountbalance", "legacyapp.archivedentry", "legacyapp.accountname"}


def dump2py(*args, stderr=None, **options):
    """Run dump2py; return what it printed on stdout and stderr."""
    out = io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    call_command("dump2py", *[str(arg) for arg in args], stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def listing(directory):
    """{file name: bytes} of every file in a directory."""
    return {path.name: path.read_bytes() for path in Path(directory).iterdir()}


def dumped_models(directory):
    return {entry[1] for entry in restore_files(Path(directory) / "restore.py")}


@pytest.fixture
def old_dump(tmp_path):
    """An existing directory holding an older dump (and a stray file)."""
    directory = tmp_path / "backup"
    directory.mkdir()
    (directory / "restore.py").write_text("# an older dump\nFILES = [\n]\n")
    (directory / "testapp_gone.py").write_text("# the chunk of a model that no longer exists\n")
    (directory / "notes.txt").write_text("not part of any dump\n")
    return directory


def test_help_lists_every_option_with_lino_s_names_and_short_forms():
    help_text = Command().create_parser("manage.py", "dump2py").format_help()
    for option in [
        "--noinput", "-t, --tolerate", "-s, --simulate", "-o, --overwrite",
        "-m NUM, --max-row-count NUM", "--database", "-e EXCLUDE, --exclude EXCLUDE",
        "output_dir",
    ]:
        assert option in help_text


@pytest.mark.django_db
def test_a_dump_loaded_with_loaddata_gives_back_every_row(tmp_path):
    populate()
    before = db_snapshot()
    dump2py(tmp_path / "backup", "-m", "2")
    wipe()
    load(tmp_path / "backup" / "restore.py")
    assert_same_rows(before, db_snapshot())


@pytest.mark.django_db
def test_the_whole_site_is_dumped_every_table_once_but_proxies_views_and_missing_tables(tmp_path):
    populate()
    dump2py(tmp_path / "backup")
    expected = {
        model._meta.label_lower for model in apps.get_models()
        if not model._meta.proxy and model._meta.label_lower not in NOT_DUMPED
    }
    assert "testapp.placeproxy" not in expected
    assert {"contenttypes.contenttype", "auth.permission", "auth.user", "sessions.session",
            "testapp.tag", "legacyapp.ledgerentry"} <= expected
    assert dumped_models(tmp_path / "backup") == expected


def dumped_fields_and_rows(restore):
    """({model: FIELDS}, {model: [row values]}) of every chunk of a dump."""
    fields = {}
    rows = {}
    for name in chunk_names(restore):
        for block in blocks(restore.parent / name):
            fields[block["model"]] = block["fields"]
            rows.setdefault(block["model"], []).extend(values for _, values in block["rows"])
    return fields, rows


@pytest.mark.django_db
def test_content_types_and_permissions_are_written_with_their_ids_like_every_row(tmp_path):
    populate()
    dump2py(tmp_path / "backup")
    fields, rows = dumped_fields_and_rows(tmp_path / "backup" / "restore.py")
    assert fields["contenttypes.contenttype"][0] == "id"
    assert fields["auth.permission"][0] == "id"
    assert sorted(row[0] for row in rows["contenttypes.contenttype"]) == sorted(
        ContentType.objects.values_list("pk", flat=True))
    content_type = fields["testapp.tag"].index("content_type")
    pointed_at = sorted(row[content_type] for row in rows["testapp.tag"])
    assert pointed_at == sorted(Tag.objects.values_list("content_type_id", flat=True))
    assert all(isinstance(row[fields["auth.permission"].index("content_type")], int)
               for row in rows["auth.permission"])


@pytest.mark.django_db
def test_references_to_content_types_left_out_of_the_dump_are_written_by_natural_key(tmp_path):
    """Without the rows, an id would point at whatever the target database numbered so."""
    populate()
    dump2py(tmp_path / "backup", "-e", "contenttypes")
    fields, rows = dumped_fields_and_rows(tmp_path / "backup" / "restore.py")
    assert "contenttypes.contenttype" not in fields
    assert fields["auth.permission"][0] == "id"
    content_type = fields["testapp.tag"].index("content_type")
    pointed_at = sorted(tuple(row[content_type]) for row in rows["testapp.tag"])
    assert pointed_at == [("testapp", "book"), ("testapp", "person")]
    # A foreign key to a model that migrate does not rebuild keeps its id.
    mentor = fields["testapp.person"].index("mentor")
    assert all(isinstance(row[mentor], int) for row in rows["testapp.person"])


@pytest.mark.django_db
def test_a_dump_without_content_types_loads_into_a_database_that_numbered_them_otherwise(
        tmp_path):
    populate()
    expected = sorted((tag.pk, tag.content_type.natural_key()) for tag in Tag.objects.all())
    ids_at_dump = {ct.natural_key(): ct.pk for ct in ContentType.objects.all()}
    dump2py(tmp_path / "backup", "-e", "contenttypes", "-e", "auth.permission")
    renumber_content_types_and_permissions()  # deletes the tags with their content types
    assert not Tag.objects.exists()
    assert {ct.natural_key(): ct.pk for ct in ContentType.objects.all()} != ids_at_dump

    load(tmp_path / "backup" / "restore.py")

    ContentType.objects.clear_cache()
    assert sorted((tag.pk, tag.content_type.natural_key()) for tag in Tag.objects.all()) == expected


@pytest.mark.django_db
def test_a_reference_to_a_deleted_row_is_dumped_and_restored_as_its_id(tmp_path):
    """An audit log keeps ids of deleted rows (db_constraint=False): they are
    written as they are, like its content type's id."""
    kept = Country.objects.create(code="be", name="Belgium")
    gone = Country.objects.create(code="xx", name="Deleted since")
    content_type = ContentType.objects.get_for_model(Country)
    AuditEntry.objects.create(content_type=content_type, country=kept, action="create")
    AuditEntry.objects.create(content_type=content_type, country=gone, action="delete")
    AuditEntry.objects.create(content_type=content_type, country=None, action="none")
    gone_id = gone.pk
    Country.objects.filter(pk=gone_id).delete()
    before = db_snapshot()

    dump2py(tmp_path / "backup")
    restore = tmp_path / "backup" / "restore.py"
    [block] = [
        block for name in chunk_names(restore) for block in blocks(tmp_path / "backup" / name)
        if block["model"] == "testapp.auditentry"
    ]
    columns = block["fields"]
    dumped = [dict(zip(columns, values)) for _, values in block["rows"]]
    assert [row["content_type"] for row in dumped] == [content_type.pk] * 3
    assert [row["country"] for row in dumped] == [kept.pk, gone_id, None]

    wipe()
    load(restore)
    assert_same_rows(before, db_snapshot())
    assert AuditEntry.objects.get(action="delete").country_id == gone_id


@pytest.mark.django_db
@pytest.mark.parametrize("content", ["empty", "old dump"])
def test_an_existing_output_dir_is_refused_and_left_unchanged(tmp_path, old_dump, content):
    if content == "empty":
        for path in old_dump.iterdir():
            path.unlink()
    before = listing(old_dump)
    with pytest.raises(CommandError, match="already exists; nothing was changed.*--overwrite"):
        dump2py(old_dump, "--noinput")
    assert listing(old_dump) == before


@pytest.mark.django_db
def test_overwrite_replaces_the_old_dump_and_leaves_none_of_its_files(tmp_path, old_dump):
    populate()
    dump2py(old_dump, "--overwrite", "--noinput")
    restore = old_dump / "restore.py"
    assert set(listing(old_dump)) == set(chunk_names(restore)) | {"restore.py"}
    assert sorted(os.listdir(tmp_path)) == ["backup"]  # no staging or old directory left
    wipe()
    load(restore)
    assert Everything.objects.count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["n", "y"])
def test_overwrite_asks_before_replacing_a_non_empty_directory(old_dump, monkeypatch, answer):
    populate()
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or answer)
    before = listing(old_dump)
    if answer == "n":
        with pytest.raises(CommandError, match="Cancelled; nothing was changed"):
            dump2py(old_dump, "--overwrite")
        assert listing(old_dump) == before
    else:
        dump2py(old_dump, "--overwrite")
        assert "testapp_gone.py" not in listing(old_dump)
    assert len(prompts) == 1
    assert str(old_dump) in prompts[0] and "Are you sure (y/n)?" in prompts[0]


@pytest.mark.django_db
def test_overwrite_of_an_empty_directory_does_not_ask(tmp_path, monkeypatch):
    (tmp_path / "backup").mkdir()
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked: %s" % prompt))
    dump2py(tmp_path / "backup", "--overwrite")
    assert (tmp_path / "backup" / "restore.py").exists()


@pytest.mark.django_db
def test_simulate_reports_the_rows_of_each_model_and_writes_nothing(tmp_path):
    populate()
    out, _ = dump2py(tmp_path / "backup", "--simulate")
    assert os.listdir(tmp_path) == []
    reported = dict(
        (label, int(rows.replace(",", "")))
        for label, rows in re.findall(r"^(\S+)\s+([\d,]+) rows$", out, re.MULTILINE)
    )
    expected = {
        model._meta.label_lower: model._base_manager.count() for model in apps.get_models()
        if not model._meta.proxy and model._meta.label_lower not in NOT_DUMPED
    }
    assert reported == expected
    assert "nothing was written" in out
    assert "read %d objects" % sum(expected.values()) in out


@pytest.mark.django_db
def test_simulate_leaves_an_existing_directory_alone(old_dump):
    before = listing(old_dump)
    dump2py(old_dump, "--simulate")
    assert listing(old_dump) == before


@pytest.mark.django_db
def test_max_row_count_caps_the_rows_of_every_file(tmp_path):
    populate()
    dump2py(tmp_path / "backup", "--max-row-count", "2")
    entries = restore_files(tmp_path / "backup" / "restore.py")
    assert max(entry[2] for entry in entries) == 2
    assert [entry[0] for entry in entries if entry[1] == "testapp.everything"] == [
        "testapp_everything_1.py", "testapp_everything_2.py", "testapp_everything_3.py",
    ]


@pytest.mark.django_db
def test_max_row_count_must_be_positive(tmp_path):
    with pytest.raises(CommandError, match="at least 1"):
        dump2py(tmp_path / "backup", "-m", "0")
    assert not (tmp_path / "backup").exists()


@pytest.mark.django_db
def test_exclude_leaves_out_apps_and_models(tmp_path):
    populate()
    dump2py(tmp_path / "backup", "-e", "sessions", "--exclude", "testapp.Tag")
    models = dumped_models(tmp_path / "backup")
    assert "sessions.session" not in models and "testapp.tag" not in models
    assert {"auth.user", "testapp.person", "testapp.everything"} <= models


@pytest.mark.django_db
@pytest.mark.parametrize("exclude, message", [
    ("nosuchapp", "Unknown app in excludes: nosuchapp"),
    ("testapp.NoSuchModel", "Unknown model in excludes: testapp.NoSuchModel"),
])
def test_an_unknown_exclude_is_an_error(tmp_path, exclude, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        dump2py(tmp_path / "backup", "-e", exclude)
    assert not (tmp_path / "backup").exists()


@pytest.mark.django_db
def test_an_unknown_database_is_an_error(tmp_path):
    with pytest.raises(CommandError, match=re.escape(
            "Error: argument --database: invalid choice: 'other' (choose from 'default')")):
        dump2py(tmp_path / "backup", "--database", "other")


@pytest.mark.django_db
def test_the_summary_counts_objects_models_files_bytes_and_seconds(tmp_path):
    populate()
    out, err = dump2py(tmp_path / "backup")
    entries = restore_files(tmp_path / "backup" / "restore.py")
    objects = sum(entry[2] for entry in entries)
    models = len({entry[1] for entry in entries if entry[2]})
    empty = len({entry[1] for entry in entries}) - models
    files = [name for name in os.listdir(tmp_path / "backup") if name != "restore.py"]
    size = sum(os.path.getsize(tmp_path / "backup" / name) for name in files)
    summary, left_out = out.split("\n", 1)
    match = re.fullmatch(
        r"Dumped (\d+) objects of (\d+) models \(and (\d+) empty models\) to (.+) "
        r"\((\d+) chunk files, ([\d.]+) kB\) in ([\d.]+) seconds\.",
        summary,
    )
    assert match, out
    assert left_out.startswith("Left out %d models" % len(NOT_DUMPED))
    assert empty > 0
    assert [int(match[1]), int(match[2]), int(match[3]), match[4], int(match[5])] == [
        objects, models, empty, str(tmp_path / "backup"), len(files),
    ]
    assert float(match[6]) == round(size / 1000, 1)
    assert err == ""


@pytest.mark.django_db
def test_verbosity_0_prints_nothing(tmp_path):
    populate()
    assert dump2py(tmp_path / "backup", verbosity=0, stderr=TerminalStream()) == ("", "")
    assert (tmp_path / "backup" / "restore.py").exists()


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.django_db
def test_a_terminal_gets_a_progress_bar_per_model_with_row_counts(tmp_path):
    populate()
    _, err = dump2py(tmp_path / "backup", "-m", "2", stderr=TerminalStream())
    assert re.search(r"testapp\.everything: 100%.*\| 5/5 ", err), err
    assert re.search(r"testapp\.person: 100%.*\| 3/3 ", err), err


@pytest.mark.django_db
def test_no_progress_bar_when_not_on_a_terminal(tmp_path):
    populate()
    _, err = dump2py(tmp_path / "backup")
    assert err == ""


# ---------------------------------------------------------------------------
# A table that cannot be read: the database is out of sync with the code.


@pytest.fixture
def unreadable_tag_table(transactional_db):
    """Drop the table of testapp.Tag for the test, as a broken upgrade might."""
    with connection.schema_editor() as editor:
        editor.delete_model(Tag)
    ContentType.objects.clear_cache()
    yield Tag._meta.db_table
    with connection.schema_editor() as editor:
        editor.create_model(Tag)


@pytest.mark.filterwarnings("ignore:.*incomplete dump:RuntimeWarning")  # loaddata warns too
def test_tolerate_skips_an_unreadable_table_records_it_and_says_the_dump_is_incomplete(
    tmp_path, unreadable_tag_table
):
    populate_without_tags()
    before = db_snapshot_without_tags()
    with pytest.raises(CommandError) as raised:
        dump2py(tmp_path / "backup", "--tolerate", "-m", "2")
    message = str(raised.value)
    assert "INCOMPLETE" in message and "1 table(s)" in message
    assert "%s (model testapp.tag)" % unreadable_tag_table in message
    restore = tmp_path / "backup" / "restore.py"
    skipped_line = next(line for line in restore.read_text().splitlines()
                        if line.startswith("SKIPPED = "))
    assert '"testapp.tag", "testapp_tag"' in skipped_line
    assert "testapp.tag" not in dumped_models(tmp_path / "backup")
    # Every other table was dumped, after the error, from the same transaction.
    assert {"testapp.tag"} | dumped_models(tmp_path / "backup") >= {
        "testapp.person", "testapp.right", "testapp.restaurant", "sessions.session",
    }
    wipe_without_tags()
    load(restore)
    assert db_snapshot_without_tags() == before


def test_without_tolerate_the_first_database_error_stops_and_leaves_no_dump(
    tmp_path, unreadable_tag_table
):
    populate_without_tags()
    with pytest.raises(CommandError) as raised:
        dump2py(tmp_path / "backup")
    message = str(raised.value)
    assert "Cannot read table %s (model testapp.tag)" % unreadable_tag_table in message
    assert "No dump was written" in message and "--tolerate" in message
    assert os.listdir(tmp_path) == []


def test_simulate_fails_on_an_unreadable_table_as_a_real_dump_would(tmp_path, unreadable_tag_table):
    populate_without_tags()
    with pytest.raises(CommandError, match="Cannot read table %s" % unreadable_tag_table):
        dump2py(tmp_path / "backup", "--simulate")
    with pytest.raises(CommandError, match="INCOMPLETE") as raised:
        dump2py(tmp_path / "backup", "--simulate", "--tolerate")
    assert "restore.py" not in str(raised.value)
    assert os.listdir(tmp_path) == []


def test_overwrite_that_fails_on_a_database_error_keeps_the_old_dump(tmp_path, old_dump,
                                                                      unreadable_tag_table):
    before = listing(old_dump)
    with pytest.raises(CommandError, match="was left as it was"):
        dump2py(old_dump, "--overwrite", "--noinput")
    assert listing(old_dump) == before


def tables_without_tags():
    from helpers import table_models

    return [model for model in table_models() if model is not Tag]


def populate_without_tags():
    """populate(), less its two tags: their table is gone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Tag.objects, "create", lambda **kwargs: None)
        populate()


def wipe_without_tags():
    for model in tables_without_tags():
        model._base_manager.all().delete()


def db_snapshot_without_tags():
    from helpers import m2m_pairs, model_rows

    snapshot = {}
    for model in tables_without_tags():
        snapshot[model._meta.label_lower] = model_rows(model)
        snapshot.update(m2m_pairs(model))
    return snapshot


@pytest.mark.django_db
def test_overwrite_refuses_a_directory_that_is_more_than_a_dump(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "manage.py").write_text("# the project\n")
    with pytest.raises(CommandError, match=r"holds directories \(app\), so it is not a dump"):
        dump2py(project, "--overwrite", "--noinput")
    assert (project / "manage.py").exists()
    monkeypatch.chdir(project / "app")
    (project / "app" / "models.py").write_text("# models\n")
    with pytest.raises(CommandError, match="holds the current directory"):
        dump2py(project / "app", "--overwrite", "--noinput")
    assert sorted(os.listdir(project / "app")) == ["models.py"]


# ---------------------------------------------------------------------------
# What dump2py says: the same counts with --simulate, and per model at -v 2.

COUNTS = re.compile(r"(\d[\d,]*) objects? of (\d+) models?(?: \(and (\d+) empty models?\))?")


@pytest.mark.django_db
def test_simulate_and_a_real_dump_count_the_same_and_so_does_every_look_at_the_dump(tmp_path):
    populate()
    simulated, _ = dump2py("--simulate")
    real, _ = dump2py(tmp_path / "backup")
    manifest = tmp_path / "backup" / "restore.py"
    said = {"simulate": simulated.partition("Simulated: ")[2], "dump": real}
    for option in ("--list", "--check", "--verify"):
        out = io.StringIO()
        call_command("restore_dump", option, str(manifest), "--noinput", stdout=out)
        said[option] = out.getvalue()
    out = io.StringIO()
    call_command("restore_dump", str(manifest), "--noinput", stdout=out)
    said["restore"] = out.getvalue()

    counts = {what: COUNTS.search(text).groups() for what, text in said.items()}
    objects, models, empty = counts["dump"]
    assert empty is not None and int(models) > 1
    assert counts["simulate"] == counts["--list"] == (objects, models, empty), said
    assert {counts[what][:2] for what in ("--check", "--verify", "restore")} == {
        (objects, models)}, said


@pytest.mark.django_db
def test_simulate_needs_no_output_dir_and_a_dump_refuses_to_go_without_one(tmp_path):
    populate()
    out, _ = dump2py("--simulate")
    assert "nothing was written" in out
    with pytest.raises(CommandError, match=r"^Name the directory to write the dump to: "):
        dump2py()


@pytest.mark.django_db
def test_verbosity_2_says_rows_files_and_bytes_of_each_model(tmp_path):
    populate()
    out, _ = dump2py(tmp_path / "backup", "-m", "2", verbosity=2)
    expected = {}
    for _, label, rows, size, _ in restore_files(tmp_path / "backup" / "restore.py"):
        count, files, total = expected.get(label, (0, 0, 0))
        expected[label] = (count + rows, files + 1, total + size)
    lines = {}
    for line in out.splitlines():
        match = re.fullmatch(r"(\S+): (\d+) rows? in (\d+) files? \((.+)\), [\d.]+ seconds", line)
        if match:
            lines[match[1]] = (int(match[2]), int(match[3]), match[4])
    assert lines == {label: (rows, files, human_size(size))
                     for label, (rows, files, size) in expected.items()}
    assert lines["testapp.everything"][:2] == (5, 3)


@pytest.mark.django_db
def test_a_dump_stopped_by_an_unreadable_table_ends_the_bar_s_line(unreadable_tag_table, tmp_path):
    err = TerminalStream()
    with pytest.raises(CommandError, match="Cannot read table"):
        dump2py(tmp_path / "backup", stderr=err)
    assert "%s:" % Tag._meta.label_lower in err.getvalue()
    assert err.getvalue().endswith("\n")
