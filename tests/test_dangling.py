"""Nothing dangling: a dump or a restore that would leave references pointing at
nothing is refused before anything is written or changed, naming each one; a
reference the database rejects anyway is named by model, pk, field and value."""

import io
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from helpers import chunk_names, db_snapshot, populate
from pyserializer.errors import DumpError
from pyserializer.restoring.references import DanglingReferences
from pyserializer.restoring.run import restore
from test_restore_script import run_script
from testapp.models import AuditEntry, Book, Country, Everything, Person, Tag


def dump2py(directory, *excludes):
    call_command("dump2py", str(directory), "--noinput", *excludes, verbosity=0)
    return directory / "restore.py"


def restore_dump(manifest, *args):
    out = io.StringIO()
    call_command("restore_dump", str(manifest), "--noinput", *args, stdout=out,
                 stderr=io.StringIO())
    return out.getvalue()


def edit_row(manifest, table, pk, field, value):
    """Set ``field`` of the row ``pk`` in the chunk of ``table``, then reseal the
    dump as a person does after a hand edit."""
    name = next(name for name in chunk_names(manifest) if name.startswith(table + "."))
    path = manifest.parent / name
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = json.loads(next(line for line in lines if line.startswith("FIELDS = "))[9:])
    pk_index = fields.index(next(name for name in fields if name in ("id", "pk")))
    for index, line in enumerate(lines):
        if line.startswith("[") and json.loads(line[:-1])[pk_index] == pk:
            row = json.loads(line[:-1])
            row[fields.index(field)] = value
            lines[index] = json.dumps(row, ensure_ascii=False) + ","
            break
    else:
        raise AssertionError("no row %r in %s" % (pk, path))
    path.write_text("\n".join(lines), encoding="utf-8")
    call_command("reseal_dump", str(manifest), stdout=io.StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize("excluded, relations, also", [
    ("testapp.author", ["testapp.Book.author -> testapp.Author",
                        "testapp.Book.coauthors -> testapp.Author"], "-e testapp.Book"),
    ("testapp.club", ["testapp.Membership.club -> testapp.Club"], "-e testapp.Membership"),
    ("testapp.place", ["testapp.Restaurant.place_ptr -> testapp.Place"], "-e testapp.Restaurant"),
    ("testapp.person", ["testapp.Author.person -> testapp.Person",
                        "testapp.Membership.person -> testapp.Person",
                        "testapp.Tag.content_object -> testapp.Person",
                        "nomigapp.Visit.person -> testapp.Person"],
     "-e nomigapp.Visit -e testapp.Author -e testapp.Membership -e testapp.Tag"),
    ("testapp.book", ["testapp.Tag.content_object -> testapp.Book"], "-e testapp.Tag"),
])
def test_dump2py_refuses_to_leave_out_a_model_kept_rows_refer_to_and_writes_nothing(
        tmp_path, excluded, relations, also):
    populate()
    target = tmp_path / "backup"

    with pytest.raises(DanglingReferences) as refused:
        dump2py(target, "-e", excluded)

    message = str(refused.value)
    for relation in relations:
        assert relation in message
    assert "Leave out the referring models too (%s)" % also in message
    assert "Nothing was written." in message and "\n" not in message
    assert not target.exists()


@pytest.mark.django_db
def test_dump2py_leaves_out_a_model_with_the_models_that_refer_to_it(tmp_path):
    populate()
    with pytest.raises(DanglingReferences, match="testapp.Tag.content_object -> testapp.Book"):
        dump2py(tmp_path / "refused", "-e", "testapp.book", "-e", "testapp.author")

    manifest = dump2py(tmp_path / "backup", "-e", "testapp.book", "-e", "testapp.author",
                       "-e", "testapp.tag")

    names = chunk_names(manifest)
    assert not any(name.startswith(("testapp_book", "testapp_author", "testapp_tag"))
                   for name in names)
    assert any(name.startswith("testapp_person") for name in names)


@pytest.mark.django_db
def test_a_generic_foreign_key_counts_only_for_the_content_types_its_rows_use(tmp_path):
    populate()
    dump2py(tmp_path / "first", "-e", "testapp.everything")

    Tag.objects.create(label="on a row of everything", object_id=Everything.objects.first().pk,
                       content_type=ContentType.objects.get_for_model(Everything))
    with pytest.raises(DanglingReferences,
                       match="testapp.Tag.content_object -> testapp.Everything"):
        dump2py(tmp_path / "second", "-e", "testapp.everything")
    assert not (tmp_path / "second").exists()


@pytest.mark.django_db
def test_dumpdata_of_the_whole_site_refuses_the_same_excludes(tmp_path):
    populate()
    directory = tmp_path / "dump"
    directory.mkdir()
    output = directory / "restore.py"

    with pytest.raises(DanglingReferences, match="testapp.Book.author -> testapp.Author"):
        call_command("dumpdata", format="py", output=str(output), exclude=["testapp.author"],
                     verbosity=0)
    assert list(directory.iterdir()) == []

    call_command("dumpdata", "testapp", format="py", output=str(output),
                 exclude=["testapp.author"], verbosity=0)  # app labels: not a whole site
    assert output.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["restore", "restore_dump", "check"])
def test_a_restore_that_leaves_out_a_model_kept_rows_refer_to_is_refused_changing_nothing(
        tmp_path, how):
    populate()
    manifest = dump2py(tmp_path / "backup")
    Person.objects.filter(pk=1).update(name="Changed after the dump")
    before = db_snapshot()

    with pytest.raises(DanglingReferences) as refused:
        if how == "restore":
            restore(str(manifest), interactive=False, excludes=["testapp.Author"])
        elif how == "restore_dump":
            restore_dump(manifest, "-e", "testapp.author")
        else:
            restore_dump(manifest, "--check", "-e", "testapp.author")

    message = str(refused.value)
    assert "testapp.Book.author -> testapp.Author" in message
    assert "testapp.Book.coauthors -> testapp.Author" in message
    assert "-e testapp.Book" in message and "Nothing was changed." in message
    assert db_snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_a_restore_refuses_to_leave_out_the_target_of_a_generic_foreign_key(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    before = db_snapshot()

    with pytest.raises(DanglingReferences, match="testapp.Tag.content_object -> testapp.Book"):
        restore(str(manifest), interactive=False,
                excludes=["testapp.book", "testapp.author"])
    assert db_snapshot() == before

    restore(str(manifest), interactive=False,
            excludes=["testapp.book", "testapp.author", "testapp.tag"])
    assert not Book.objects.exists() and not Tag.objects.exists()
    assert Person.objects.count() == len(before["testapp.person"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table, field, value, problem", [
    ("testapp_book", "author", 99, "testapp.Book pk 1, field author: no testapp.Author 99"),
    ("testapp_book", "coauthors", [1, 99],
     "testapp.Book pk 1, field coauthors: no testapp.Author 99"),
])
def test_a_hand_edited_reference_to_a_missing_row_is_named_by_check_and_restore(
        tmp_path, table, field, value, problem):
    populate()
    manifest = dump2py(tmp_path / "backup")
    edit_row(manifest, table, 1, field, value)
    Person.objects.filter(pk=1).update(name="Changed after the dump")
    before = db_snapshot()

    with pytest.raises(DanglingReferences) as found:
        restore_dump(manifest, "--check")
    assert problem in str(found.value)
    assert "reseal_dump" in str(found.value)

    with pytest.raises(DumpError) as rejected:
        restore(str(manifest), interactive=False)
    message = str(rejected.value)
    assert "the database rejected a reference: %s" % problem in message
    assert message.startswith("%s: the database rejected a reference: " % manifest)
    assert "--check" in message and "-e" in message
    assert "The load was rolled back" in message
    assert db_snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_restore_dump_reports_a_rejected_reference_on_one_line_without_a_traceback(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    edit_row(manifest, "testapp_book", 2, "author", 77)

    with pytest.raises(CommandError) as failed:
        restore_dump(manifest)

    first_line = str(failed.value).split("\n")[0]
    assert first_line.startswith("Restore failed: ")
    assert "testapp.Book pk 2, field author: no testapp.Author 77" in first_line
    assert "Traceback" not in str(failed.value)


@pytest.mark.django_db(transaction=True)
def test_a_key_without_database_constraint_to_a_deleted_row_dumps_checks_and_restores(tmp_path):
    """An audit log keeps the id of a row deleted since: that is what db_constraint=False
    is for. Leaving out the whole model it points at is still refused."""
    populate()
    gone = Country.objects.create(pk=999, code="XX", name="Deleted since")
    AuditEntry.objects.create(pk=1, action="delete", country=gone,
                              content_type=ContentType.objects.get_for_model(Country))
    gone.delete()
    manifest = dump2py(tmp_path / "backup")
    expected = db_snapshot()

    assert "is good" in restore_dump(manifest, "--check")
    AuditEntry.objects.all().delete()
    restore(str(manifest), interactive=False)
    assert db_snapshot() == expected
    assert AuditEntry.objects.get().country_id == 999

    with pytest.raises(DanglingReferences, match="testapp.AuditEntry.country -> testapp.Country"):
        dump2py(tmp_path / "refused", "-e", "testapp.country")


@pytest.mark.django_db(transaction=True)
def test_loaddata_of_a_directory_dump_refuses_the_same_excludes_loading_nothing(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    Person.objects.filter(pk=1).update(name="Changed after the dump")
    before = db_snapshot()

    with pytest.raises(DanglingReferences) as refused:
        call_command("loaddata", str(manifest), exclude=["testapp.Club"], verbosity=0)

    message = str(refused.value)
    assert "testapp.Membership.club -> testapp.Club" in message
    assert "Nothing was loaded." in message and "-e testapp.Membership" in message
    assert db_snapshot() == before


@pytest.mark.django_db
def test_the_restore_script_refuses_the_excludes_before_it_asks_or_migrates(
        tmp_path, new_database_url):
    populate()
    manifest = dump2py(tmp_path / "backup")

    result = run_script(manifest, "-e", "testapp.author", database_url=new_database_url,
                        stdin="y\n")

    assert result.returncode == 1
    assert "testapp.Book.author -> testapp.Author" in result.stderr
    assert "Nothing was changed." in result.stderr and "Traceback" not in result.stderr
    assert "Are you sure" not in result.stdout and "Applying" not in result.stdout


@pytest.mark.django_db
def test_content_types_dumped_with_ids_are_followed_by_generic_keys_and_found_by_check(tmp_path):
    populate()
    with override_settings(PYSERIALIZER_NATURAL_KEY_MODELS=[]):
        manifest = dump2py(tmp_path / "backup")

        assert "is good" in restore_dump(manifest, "--check")
        with pytest.raises(DanglingReferences,
                           match="testapp.Tag.content_object -> testapp.Book"):
            restore_dump(manifest, "--check", "-e", "testapp.book", "-e", "testapp.author")
