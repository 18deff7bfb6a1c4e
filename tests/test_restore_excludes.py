"""Leaving models out at restore time (-e), and what a failing restore tells the user."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpers import chunk_names, populate, reseal
from pyserializer.errors import DumpError
from pyserializer.restoring.plan import NotRestorable
from pyserializer.restoring.run import restore
from testapp.models import Book, Country, Person, Tag


def dump2py(directory):
    call_command("dump2py", str(directory), "--noinput", verbosity=0)
    return directory / "restore.py"


def rename_model(manifest, old, new):
    """The dump holds model ``new`` where this code has ``old`` (a model made only on
    another backend, say); restore.py lists it so."""
    for path in [manifest] + [manifest.parent / name for name in chunk_names(manifest)]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"%s"' % old, '"%s"' % new), encoding="utf-8")
    reseal(manifest)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["restore", "restore_dump"])
def test_an_excluded_model_is_not_loaded_and_its_table_is_left_empty(tmp_path, how):
    populate()
    people, books = Person.objects.count(), Book.objects.count()
    assert Tag.objects.exists()
    manifest = dump2py(tmp_path / "backup")
    Tag.objects.create(label="made after the dump", content_type_id=Tag.objects.first().content_type_id,
                       object_id=1)

    if how == "restore":
        out = io.StringIO()
        restore(str(manifest), interactive=False, excludes=["testapp.Tag"], stdout=out)
        assert "Left out (their tables will be empty): testapp.tag." in out.getvalue()
    else:
        call_command("restore_dump", str(manifest), "--noinput", "-e", "testapp.tag",
                     stdout=io.StringIO())

    assert not Tag.objects.exists()
    assert (Person.objects.count(), Book.objects.count()) == (people, books)


@pytest.mark.django_db(transaction=True)
def test_a_model_the_code_does_not_have_can_be_left_out_by_its_app_or_label(tmp_path):
    Country.objects.create(code="be", name="Belgium")
    Person.objects.create(pk=1, name="Ann")
    manifest = dump2py(tmp_path / "backup")
    rename_model(manifest, "testapp.country", "testapp.ftsindexentry")

    with pytest.raises(DumpError) as failure:
        restore(str(manifest), interactive=False)
    message = str(failure.value)
    assert "unknown model" in message and "model testapp.ftsindexentry" in message
    assert "leave it out: python %s -e testapp.ftsindexentry" % manifest in message
    assert "Nothing was changed" in message

    restore(str(manifest), interactive=False, excludes=["testapp.ftsindexentry"])
    assert not Country.objects.exists() and Person.objects.get().name == "Ann"


@pytest.mark.django_db
def test_an_unknown_exclude_is_an_error_before_anything_changes(tmp_path):
    Person.objects.create(pk=1, name="Ann")
    manifest = dump2py(tmp_path / "backup")
    with pytest.raises(CommandError, match="Unknown model in excludes: testapp.nosuchmodel"):
        restore(str(manifest), interactive=False, excludes=["testapp.nosuchmodel"])
    with pytest.raises(CommandError, match="Unknown app in excludes: nosuchapp"):
        restore(str(manifest), interactive=False, excludes=["nosuchapp"])
    assert Person.objects.get().name == "Ann"


@pytest.mark.django_db
@pytest.mark.parametrize("exclude", ["contenttypes", "auth.Permission", "auth"])
def test_content_types_or_permissions_held_by_id_cannot_be_left_out(tmp_path, exclude):
    Person.objects.create(pk=1, name="Ann")
    manifest = dump2py(tmp_path / "backup")
    Person.objects.all().delete()
    label = {"contenttypes": "contenttypes.contenttype"}.get(exclude, "auth.permission")
    with pytest.raises(NotRestorable) as refused:
        restore(str(manifest), interactive=False, excludes=[exclude])
    assert str(refused.value) == (
        "Cannot leave out %s: the dump %s holds its rows with their ids, and other rows "
        "refer to them by id. Nothing was changed. Restore without -e %s."
        % (label, manifest, exclude.lower() if "." in exclude else exclude))
    assert not Person.objects.exists()


def with_duplicate_country(tmp_path):
    """(restore.py, chunk) of a dump with two countries of one code: the
    database rejects the second."""
    Person.objects.create(pk=1, name="Ann")
    Country.objects.create(pk=1, code="be", name="Belgium")
    Country.objects.create(pk=2, code="nl", name="Netherlands")
    manifest = dump2py(tmp_path / "backup")
    chunk = tmp_path / "backup" / next(
        name for name in chunk_names(manifest) if name.startswith("testapp_country"))
    text = chunk.read_text(encoding="utf-8")
    chunk.write_text(text.replace('"nl"', '"be"'), encoding="utf-8")  # breaks code's uniqueness
    reseal(manifest)
    return manifest, chunk


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_rejects_says_how_to_leave_its_model_out(tmp_path):
    manifest, chunk = with_duplicate_country(tmp_path)
    Person.objects.filter(pk=1).update(name="Changed")

    with pytest.raises(DumpError) as failure:
        restore(str(manifest), interactive=False)

    message = str(failure.value)
    assert chunk.name in message and "model testapp.country" in message
    assert "python %s -e testapp.country" % manifest in message
    assert Person.objects.get().name == "Changed"


def test_the_hint_for_a_rebuildable_app_says_how_to_rebuild_it():
    from pyserializer.restoring.hints import leave_out

    assert "rebuilt after the restore with python manage.py update_index" in leave_out(
        "wagtailsearch.indexentry")
    assert "rebuilt" not in leave_out("testapp.country")


@pytest.mark.django_db(transaction=True)
def test_loaddata_of_an_older_dump_rejected_by_a_constraint_says_to_restore_through_migrations(
        tmp_path):
    """Rows that newer migrations create (with other ids) clash with an older dump's."""
    Country.objects.create(pk=5, code="be", name="Belgium")
    manifest = dump2py(tmp_path / "backup")
    text = manifest.read_text(encoding="utf-8")
    older = '["testapp", "0003_listing"],\n'
    assert older in text
    manifest.write_text(text.replace(older, ""), encoding="utf-8")
    Country.objects.all().delete()
    Country.objects.create(pk=1, code="be", name="Belgium, made by a migration")

    with pytest.raises(DumpError) as failure:
        call_command("loaddata", str(manifest), verbosity=0)

    message = str(failure.value)
    assert "the database rejected this row" in message and "model testapp.country" in message
    assert "The dump was taken at an older migration state (testapp: dump at 0002_auditentry, " \
        "code at 0003_listing); restore it through the project's migrations" in message
    assert list(Country.objects.values_list("pk", flat=True)) == [1]
