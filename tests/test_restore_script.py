"""Restoring a dump2py dump: `python DIR/restore.py` (and its in-process core,
pyserializer.restore.restore), into the same database or a new one."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from helpers import (
    assert_same_rows, blocks, chunk_names, db_snapshot, line_number, populate, reseal,
    restore_files, replace_line,
)
from pyserializer.dumping.wholesite import REBUILT_BY_MIGRATE
from pyserializer.errors import DumpError
from pyserializer.restoring.plan import Cancelled
from pyserializer.restoring.run import restore
from renumber import renumber_content_types_and_permissions, shift_content_type_and_permission_ids
from testapp.models import AuditEntry, Club, Country, Everything, Person, Tag

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent


def dump2py(directory, *args):
    call_command("dump2py", str(directory), "--noinput", *args, verbosity=0)
    return Path(directory) / "restore.py"


def run_restore(manifest, *options, ask=None, stdout=None):
    """restore() as the script calls it; returns what it printed."""
    out = stdout or io.StringIO()
    restore(
        manifest, interactive=ask is not None, verbosity=1, stdout=out,
        ask=ask or (lambda prompt: pytest.fail("asked without --noinput")), **dict(options),
    )
    return out.getvalue()


@pytest.mark.django_db
def test_restore_replaces_all_data_of_the_database_by_the_dump(tmp_path):
    populate()
    dumped = db_snapshot()
    manifest = dump2py(tmp_path / "backup")
    Person.objects.create(pk=99, name="Added after the dump")
    Everything.objects.filter(pk=7).update(text="changed after the dump")
    Club.objects.all().delete()
    out = run_restore(manifest)
    assert_same_rows(dumped, db_snapshot())
    objects = sum(entry[2] for entry in restore_files(manifest))
    models = len({entry[1] for entry in restore_files(manifest) if entry[2]})
    assert "restored %d objects of %d models.\nRestored into database 'default' (%s: " % (
        objects, models, connection.vendor) in out


@pytest.mark.django_db
def test_restore_names_the_database_asks_and_a_no_changes_nothing(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    Person.objects.create(pk=99, name="Added after the dump")
    before = db_snapshot()
    prompts = []
    out = io.StringIO()
    with pytest.raises(Cancelled):
        run_restore(manifest, ask=lambda prompt: prompts.append(prompt) or "n", stdout=out)
    assert prompts == ["Are you sure (y/n)? "]
    assert "This replaces ALL data of database 'default' (%s: %s" % (
        connection.vendor, connection.settings_dict["NAME"]) in out.getvalue()
    assert_same_rows(before, db_snapshot())


@pytest.mark.django_db
def test_restore_with_a_yes_restores(tmp_path):
    populate()
    dumped = db_snapshot()
    manifest = dump2py(tmp_path / "backup")
    Person.objects.all().delete()
    run_restore(manifest, ask=lambda prompt: "y")
    assert_same_rows(dumped, db_snapshot())


@pytest.mark.django_db(transaction=True)
def test_a_failing_restore_leaves_the_database_exactly_as_it_was(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    Person.objects.create(pk=99, name="Added after the dump")
    Club.objects.all().delete()
    before = db_snapshot()
    users_before = list(User.objects.values_list("username", flat=True))
    # An invalid value in the last row of the last file loaded: everything else
    # has been emptied and loaded again by then.
    last = tmp_path / "backup" / restore_files(manifest)[-1][0]
    row = line_number(last, lambda line: line == "]") - 1
    replace_line(last, row, '["not a row"],')
    reseal(manifest)
    with pytest.raises(DumpError, match=last.name):
        run_restore(manifest)
    assert_same_rows(before, db_snapshot())
    assert list(User.objects.values_list("username", flat=True)) == users_before


@pytest.mark.django_db
def test_new_rows_get_fresh_ids_after_a_restore(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    run_restore(manifest)
    highest = max(Everything.objects.values_list("pk", flat=True))
    assert Everything.objects.create().pk > highest
    assert Person.objects.create(name="New").pk > 2**40


@pytest.mark.filterwarnings("ignore:.*incomplete dump:RuntimeWarning")  # loaddata warns too
@pytest.mark.django_db
def test_an_incomplete_dump_is_named_so_before_the_restore(tmp_path):
    populate()
    manifest = dump2py(tmp_path / "backup")
    skipped = line_number(manifest, lambda line: line.startswith("SKIPPED = "))
    replace_line(manifest, skipped, 'SKIPPED = [["testapp.tag", "testapp_tag", "no such table"]]')
    out = run_restore(manifest)
    assert "WARNING: this dump is INCOMPLETE" in out and "testapp_tag" in out


# ---------------------------------------------------------------------------
# A whole site into a database where migrate gave content types and
# permissions other ids.


@pytest.fixture
def fresh_content_type_cache():
    """Content type ids cached in a test whose rows are rolled back must not outlive it."""
    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


def content_type_ids():
    return {ct.natural_key(): ct.pk for ct in ContentType.objects.all()}


def permission_ids():
    return {p.natural_key(): p.pk for p in Permission.objects.all()}


def site_by_natural_keys():
    """Users, groups, permissions, sessions and generic references, described by
    what they point to rather than by ids."""
    return {
        "users": [
            (u.pk, u.username, u.password, u.is_superuser,
             sorted(g.name for g in u.groups.all()),
             sorted(p.natural_key() for p in u.user_permissions.all()),
             sorted(u.get_all_permissions()))
            for u in User.objects.order_by("pk")
        ],
        "groups": [
            (g.pk, g.name, sorted(p.natural_key() for p in g.permissions.all()))
            for g in Group.objects.order_by("pk")
        ],
        "permissions": sorted((p.natural_key(), p.name) for p in Permission.objects.all()),
        "content types": sorted(ct.natural_key() for ct in ContentType.objects.all()),
        "sessions": [
            (key, SessionStore(session_key=key).load())
            for key in SessionStore.get_model_class().objects.order_by("pk")
            .values_list("pk", flat=True)
        ],
        "tags": [
            (t.pk, t.label, t.content_type.natural_key(), t.object_id,
             type(t.content_object).__name__, t.content_object.pk)
            for t in Tag.objects.order_by("pk")
        ],
    }


def populate_site():
    """populate(), users, a group, a session, and content type ids kept where no
    foreign key describes them: an audit log's key and a JSON value."""
    populate()
    belgium = Country.objects.create(code="be", name="Belgium")
    country_type = ContentType.objects.get_for_model(Country)
    AuditEntry.objects.create(content_type=country_type, country=belgium, action="create")
    Everything.objects.create(pk=101, json={"content_type": country_type.pk, "pk": belgium.pk})
    editors = Group.objects.create(name="editors")
    editors.permissions.set(Permission.objects.filter(codename__in=["change_book", "add_book"]))
    ann = User.objects.create_user("ann", "ann@example.com", "secret", is_staff=True)
    ann.groups.add(editors)
    ann.user_permissions.add(Permission.objects.get(codename="delete_person"))
    User.objects.create_superuser("root", "root@example.com", "secret")
    session = SessionStore()
    session["_auth_user_id"] = str(ann.pk)
    session["cart"] = [1, 2, 3]
    session.create()


def drop_content_type_of(model):
    """As if ``model`` had been added after the dump: no content type, no permissions."""
    ContentType.objects.get_for_model(model).delete()
    ContentType.objects.clear_cache()


@pytest.mark.django_db
def test_a_whole_site_gets_back_its_content_type_and_permission_ids_where_migrate_gave_others(
    tmp_path, fresh_content_type_cache
):
    shift_content_type_and_permission_ids(500)  # a site whose apps came over the years
    populate_site()
    expected = site_by_natural_keys()
    rows = db_snapshot()
    drop_content_type_of(Club)
    ids_at_dump = content_type_ids(), permission_ids()
    manifest = dump2py(tmp_path / "backup")
    renumber_content_types_and_permissions()  # as in another database, freshly migrated
    assert content_type_ids() != ids_at_dump[0] and permission_ids() != ids_at_dump[1]

    run_restore(manifest)

    ContentType.objects.clear_cache()
    assert site_by_natural_keys() == expected
    assert_same_rows(rows, db_snapshot())  # every reference, and the id inside the JSON
    club = ContentType.objects.get_by_natural_key("testapp", "club")
    assert content_type_ids() == {**ids_at_dump[0], ("testapp", "club"): club.pk}
    club_permissions = {p.natural_key(): p.pk for p in Permission.objects.filter(content_type=club)}
    assert len(club_permissions) == 4
    assert permission_ids() == {**ids_at_dump[1], **club_permissions}
    # Created after the load: above every restored id, as later rows will be.
    assert club.pk > max(ids_at_dump[0].values())
    assert min(club_permissions.values()) > max(ids_at_dump[1].values())
    assert ContentType.objects.create(app_label="x", model="y").pk > club.pk
    assert User.objects.get(username="ann").has_perm("testapp.add_book")
    assert AuditEntry.objects.get().content_type.model_class() is Country


@pytest.mark.django_db
def test_a_dump_with_content_types_by_natural_key_matches_them_to_migrate_s_rows(
    tmp_path, fresh_content_type_cache
):
    """A dump of the previous pyserializer (content types and permissions by natural
    key, FIELDS without their ids) restores as it did: the rows migrate made stay."""
    populate_site()
    Everything.objects.filter(pk=101).delete()  # an id inside JSON: what such dumps got wrong
    expected = site_by_natural_keys()
    rows = db_snapshot()
    with override_settings(PYSERIALIZER_NATURAL_KEY_MODELS=REBUILT_BY_MIGRATE):
        manifest = dump2py(tmp_path / "backup")
    renumber_content_types_and_permissions()
    ids_before = content_type_ids(), permission_ids()
    assert "id" not in next(block for name in chunk_names(manifest)
                            for block in blocks(manifest.parent / name)
                            if block["model"] == "contenttypes.contenttype")["fields"]

    run_restore(manifest)

    ContentType.objects.clear_cache()
    assert (content_type_ids(), permission_ids()) == ids_before
    assert site_by_natural_keys() == expected
    restored = db_snapshot()
    for label in ("testapp.tag", "testapp.auditentry"):  # their content_type_id rightly differs
        for row in rows[label] + restored[label]:
            del row["content_type_id"]
    assert_same_rows(rows, restored)


# ---------------------------------------------------------------------------
# The script itself, run from the project directory into a new database.


def run_script(manifest, *args, database_url=None, settings="testproject.settings", stdin=""):
    """`python DIR/restore.py ARGS` from the test project's directory."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH")}
    env["PYTHONPATH"] = str(REPO_DIR)  # pyserializer installed; the project is the cwd
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, str(manifest), *args], cwd=TESTS_DIR, env=env, input=stdin,
        capture_output=True, text=True, timeout=300,
    )


def dump_for_comparison(directory, database_url=None):
    """`dumpdata --format py` of the project's data, ids of content types and
    permissions replaced by natural keys; in this process, or in another one
    on ``database_url``. Returns {chunk file name: bytes}."""
    labels = ["testapp", "nomigapp", "auth.user", "auth.group", "sessions"]
    manifest = Path(directory) / "restore.py"
    Path(directory).mkdir()
    if database_url is None:
        call_command("dumpdata", *labels, format="py", natural_foreign=True,
                     output=str(manifest), verbosity=0)
    else:
        env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="testproject.settings",
                   PYTHONPATH="%s:%s" % (REPO_DIR, TESTS_DIR))
        subprocess.run(
            [sys.executable, "-m", "django", "dumpdata", *labels, "--format", "py",
             "--natural-foreign", "-o", str(manifest), "-v", "0"],
            env=env, check=True, timeout=300,
        )
    return {entry[0]: (Path(directory) / entry[0]).read_bytes() for entry in restore_files(manifest)}


@pytest.mark.django_db
def test_the_script_migrates_a_new_database_and_restores_the_dump_into_it(
    tmp_path, new_database_url
):
    populate_site()
    manifest = dump2py(tmp_path / "backup")
    result = run_script(manifest, "--noinput", database_url=new_database_url)
    assert result.returncode == 0, result.stderr
    assert "Are you sure" not in result.stdout
    assert "Applying testapp.0001_initial" in result.stdout
    objects = sum(entry[2] for entry in restore_files(manifest))
    assert "restored %d objects of " % objects in result.stdout
    expected = dump_for_comparison(tmp_path / "expected")
    assert dump_for_comparison(tmp_path / "restored", new_database_url) == expected


def rows_by_id(database_url=None):
    """{(model, pk): fields} of content types, permissions, users and testapp, by
    ``dumpdata`` (no natural keys): in this process, or in another on ``database_url``."""
    labels = ["contenttypes", "auth.permission", "auth.user", "auth.group", "testapp"]
    if database_url is None:
        out = io.StringIO()
        call_command("dumpdata", *labels, format="json", stdout=out, verbosity=0)
        text = out.getvalue()
    else:
        env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="testproject.settings",
                   PYTHONPATH="%s:%s" % (REPO_DIR, TESTS_DIR))
        text = subprocess.run(
            [sys.executable, "-m", "django", "dumpdata", *labels, "--format", "json", "-v", "0"],
            env=env, check=True, timeout=300, capture_output=True, text=True,
        ).stdout
    return {(row["model"], row["pk"]): row["fields"] for row in json.loads(text)}


@pytest.mark.django_db
def test_a_site_restored_into_a_new_database_keeps_its_content_type_and_permission_ids(
    tmp_path, new_database_url, fresh_content_type_cache
):
    shift_content_type_and_permission_ids(500)  # a fresh migrate numbers them from 1
    populate_site()
    drop_content_type_of(Club)
    source = rows_by_id()
    manifest = dump2py(tmp_path / "backup")

    result = run_script(manifest, "--noinput", database_url=new_database_url)

    assert result.returncode == 0, result.stderr
    restored = rows_by_id(new_database_url)
    assert {key: restored.get(key) for key in source} == source
    # The content type of the model the dump lacks, and its permissions, were made anew.
    added = {key: fields for key, fields in restored.items() if key not in source}
    assert sorted((key[0], fields.get("codename", fields.get("model")))
                  for key, fields in added.items()) == [
        ("auth.permission", "add_club"), ("auth.permission", "change_club"),
        ("auth.permission", "delete_club"), ("auth.permission", "view_club"),
        ("contenttypes.contenttype", "club"),
    ]
    club_type = next(key[1] for key in added if key[0] == "contenttypes.contenttype")
    assert club_type > max(pk for model, pk in source if model == "contenttypes.contenttype")
    assert all(fields["content_type"] == club_type for key, fields in added.items()
               if key[0] == "auth.permission")


@pytest.mark.django_db
def test_the_script_asks_first_and_a_no_leaves_the_database_untouched(tmp_path, new_database_url):
    populate()
    manifest = dump2py(tmp_path / "backup")
    refused = run_script(manifest, database_url=new_database_url, stdin="n\n")
    assert refused.returncode == 1
    assert "This replaces ALL data of database 'default'" in refused.stdout
    assert "Are you sure (y/n)?" in refused.stdout
    assert "Cancelled; nothing was changed." in refused.stderr
    accepted = run_script(manifest, database_url=new_database_url, stdin="y\n")
    assert accepted.returncode == 0, accepted.stderr
    # Still a new database when the "yes" came: nothing had been done before.
    assert "Applying testapp.0001_initial" in accepted.stdout
    assert "Restored " in accepted.stdout


def test_the_script_says_which_settings_it_needs(tmp_path):
    manifest = tmp_path / "restore.py"
    manifest.write_text("from pyserializer.restore import main\nmain(__file__)\n")
    result = run_script(manifest, "--noinput", settings=None)
    assert result.returncode == 2
    assert "DJANGO_SETTINGS_MODULE" in result.stderr and "--settings" in result.stderr


def test_the_script_accepts_settings_on_its_command_line(tmp_path):
    manifest = tmp_path / "restore.py"
    manifest.write_text("from pyserializer.restore import main\nmain(__file__)\n")
    result = run_script(manifest, "--noinput", "--settings=testproject.settings", settings=None,
                        database_url="sqlite:///%s" % (tmp_path / "db.sqlite3"))
    # The settings were found (the project dir is importable); the manifest is refused.
    assert result.returncode == 1
    assert "Restore failed: %s" % manifest in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()


def test_the_demo_backs_up_its_shop_and_finds_the_restored_copy_equal(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the demo runs on its own SQLite files: once per test run is enough")
    result = subprocess.run(
        [sys.executable, str(REPO_DIR / "demo" / "run.py"), "--work-dir", str(tmp_path),
         "--orders", "40"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "are equal: " in result.stdout
    assert "The demo worked" in result.stdout
    assert (tmp_path / "backup" / "restore.py").exists()


@pytest.mark.django_db
def test_files_in_the_dump_directory_are_never_imported_as_modules(tmp_path, new_database_url):
    """python DIR/restore.py puts DIR first on sys.path: a chunk named after a
    table called "json" (json.py) must not shadow the json module."""
    populate()
    manifest = dump2py(tmp_path / "backup")
    for module in ["argparse", "json", "decimal", "email"]:
        (tmp_path / "backup" / ("%s.py" % module)).write_text(
            "raise SystemExit('the dump directory was imported from: %s.py')\n" % module
        )
    result = run_script(manifest, "--noinput", database_url=new_database_url)
    assert result.returncode == 0, result.stderr
    assert "Restored " in result.stdout
