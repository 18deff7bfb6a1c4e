"""Squashed migrations: dumps taken before and after a squash restore through the
project's migrations, whether the replaced migrations ship beside the squash
(squashapp.migrations) or were deleted after squashing (squashapp.squashed_only)."""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import override_settings

from pyserializer.dumping.serializer import Serializer
from pyserializer.files.manifest import Manifest
from pyserializer.restoring.migration_state import ProjectMigrations, read_dump_state
from pyserializer.restoring.plan import NotRestorable, plan_restore
from pyserializer.restoring.run import restore
from squashapp.models import Item

SQUASH = "0001_squashed_0003_rename_name_title"
REPLACED = ["0001_initial", "0002_item_size", "0003_rename_name_title"]
ITEMS = [(4, "four", 4), (9, "nine \u2713", 0)]
DELETED_AFTER_SQUASHING = override_settings(
    MIGRATION_MODULES={"squashapp": "squashapp.squashed_only"})


@pytest.fixture
def squashapp_db(transactional_db):
    """A transactional test database that is migrated to the latest state again at the end."""
    yield
    ContentType.objects.clear_cache()
    call_command("migrate", verbosity=0)


def dump_at_squash(directory, recorded_squash=True):
    """A dump of squashapp taken at the squash (before 0004). Without
    ``recorded_squash`` it is as the code before the squash wrote it: the
    replaced migrations recorded, the squash unknown."""
    call_command("migrate", "squashapp", SQUASH, verbosity=0)
    historical = MigrationLoader(connection).project_state(("squashapp", SQUASH)).apps
    OldItem = historical.get_model("squashapp", "Item")
    for pk, title, size in ITEMS:
        OldItem.objects.create(pk=pk, title=title, size=size)
    directory.mkdir()
    manifest = directory / "restore.py"
    with open(manifest, "w", encoding="utf-8") as stream:
        Serializer().serialize([OldItem.objects.all()], stream=stream)
    text = manifest.read_text(encoding="utf-8")
    assert '["squashapp", "%s"],\n' % SQUASH in text
    if not recorded_squash:
        manifest.write_text(text.replace('["squashapp", "%s"],\n' % SQUASH, ""), encoding="utf-8")
    call_command("migrate", verbosity=0)
    Item.objects.create(pk=100, title="made after the dump", note="gone after the restore")
    return manifest


def restored_items():
    return list(Item.objects.order_by("pk").values_list("pk", "title", "size", "note"))


def dump_recording(migrations):
    """A Manifest (no rows) that records ``migrations`` of squashapp, and every
    other app's migrations as the code has them."""
    others = [
        list(key) for key in MigrationLoader(None, replace_migrations=False).graph.nodes
        if key[0] != "squashapp"
    ]
    return Manifest(migrations=others + [["squashapp", name] for name in migrations])


@pytest.mark.parametrize("recorded", [
    REPLACED, REPLACED + [SQUASH], [SQUASH],
], ids=["before the squash", "after the squash", "the squash alone"])
@pytest.mark.parametrize("deleted", [False, True], ids=["beside", "deleted"])
def test_a_squash_stands_for_the_migrations_it_replaces(recorded, deleted):
    with DELETED_AFTER_SQUASHING if deleted else override_settings():
        project = ProjectMigrations.load()
        state = read_dump_state(dump_recording(recorded + ["0004_item_note"]), project)
        assert state.missing == [] and state.inside_squashes == {}
        assert state.differing_apps(project) == {}
        assert ("squashapp", "0004_item_note") in state.targets(project)

        state = read_dump_state(dump_recording(recorded), project)
        assert state.differing_apps(project) == {"squashapp": (SQUASH, "0004_item_note")}
        assert ("squashapp", SQUASH) in state.targets(project)


@pytest.mark.parametrize("deleted", [False, True], ids=["beside", "deleted"])
def test_a_dump_taken_part_way_through_a_squash_is_refused_naming_it(deleted):
    with DELETED_AFTER_SQUASHING if deleted else override_settings():
        project = ProjectMigrations.load()
        state = read_dump_state(dump_recording(REPLACED[:2]), project)
        assert state.inside_squashes == {
            ("squashapp", SQUASH): [("squashapp", name) for name in REPLACED[:2]]}
        assert state.missing == []


def test_a_migration_no_file_has_is_missing_even_beside_a_squash():
    project = ProjectMigrations.load()
    state = read_dump_state(dump_recording(REPLACED + ["0004_item_note", "0005_gone"]), project)
    assert state.missing == [("squashapp", "0005_gone")]


@pytest.mark.parametrize("recorded_squash", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("deleted", [False, True], ids=["beside", "deleted"])
def test_a_dump_taken_at_a_squash_restores_through_the_migrations_after_it(
        squashapp_db, tmp_path, recorded_squash, deleted):
    manifest = dump_at_squash(tmp_path / "dump", recorded_squash)

    with DELETED_AFTER_SQUASHING if deleted else override_settings():
        report = restore(str(manifest), interactive=False)

    assert report.text.startswith(
        "dump taken at squashapp 0001_squashed_0003, restored 2 objects of 1 model, "
        "migrated forward through squashapp 0004")
    assert restored_items() == [(pk, title, size, "") for pk, title, size in ITEMS]
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("squashapp", "0004_item_note") in applied and ("squashapp", SQUASH) in applied


def test_a_dump_taken_with_the_same_code_is_an_ordinary_restore(squashapp_db, tmp_path):
    for pk, title, size in ITEMS:
        Item.objects.create(pk=pk, title=title, size=size, note="n%d" % pk)
    call_command("dump2py", str(tmp_path / "dump"), "--noinput", verbosity=0)
    manifest = tmp_path / "dump" / "restore.py"
    Item.objects.all().delete()

    plan = plan_restore(manifest)
    report = restore(str(manifest), interactive=False)

    assert not plan.through_migrations
    assert report.text.startswith("dump taken at the code's migration state")
    assert restored_items() == [(pk, title, size, "n%d" % pk) for pk, title, size in ITEMS]


def test_restoring_a_dump_from_part_way_through_a_squash_changes_nothing(squashapp_db, tmp_path):
    manifest = dump_at_squash(tmp_path / "dump", recorded_squash=False)
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace('["squashapp", "0003_rename_name_title"],\n', ""),
                        encoding="utf-8")
    before = restored_items()

    with pytest.raises(NotRestorable) as failure:
        restore(str(manifest), interactive=False)

    assert "part-way through migrations that a squashed migration replaces" in str(failure.value)
    assert "squashapp.%s" % SQUASH in str(failure.value)
    assert "0001_initial, 0002_item_size" in str(failure.value)
    assert restored_items() == before


def test_check_of_an_older_dump_says_it_restores_through_migrations(squashapp_db, tmp_path):
    manifest = dump_at_squash(tmp_path / "dump", recorded_squash=False)
    before = restored_items()
    out = io.StringIO()

    call_command("restore_dump", str(manifest), "--check", stdout=out)

    assert "is good: 2 objects of 1 model (1 chunk file, " in out.getvalue()
    assert "A restore would restore it at the dump's migration state (squashapp " \
        "0001_squashed_0003) and migrate forward to the code's (squashapp 0004)." in out.getvalue()
    assert restored_items() == before
