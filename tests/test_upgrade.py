"""Restoring a dump taken at older migrations into the current code (migrapp's history:
0001 initial, 0002 renames a field, 0003 splits one with RunPython, 0004 removes one and
adds a required one, 0005 adds a model), what happens when that cannot be done, and the
row-transform hook.

Each old dump is made as the old code would have made it: migrapp is migrated back to
that state, filled through the historical models, and dumped by the Serializer."""

import builtins
import datetime
import io

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext, override_settings

from helpers import chunk_names, reseal
from migrapp.models import Note, Player, Team
from pyserializer.cli.interrupts import Terminated
from pyserializer.dumping.serializer import Serializer
from pyserializer.dumping.wholesite import REBUILT_BY_MIGRATE, natural_keys_for
from pyserializer.errors import DumpError
from pyserializer.restoring import run as restoring
from pyserializer.restoring.plan import NotRestorable
from pyserializer.restoring.run import Interrupted, restore
from renumber import renumber_content_types_and_permissions, shift_content_type_and_permission_ids

UTC = datetime.timezone.utc


def restore_through_migrations(manifest, stdout=None, jobs=1):
    """Restore without asking; return the report's text."""
    return restore(manifest, interactive=False, stdout=stdout, jobs=jobs).text

# (pk, name, owner's username)
TEAMS = [(1, "Analytical Engines \u2713", "alice"), (5, "\u00d8rsted Lab", None)]
# (pk, first name, last name, nickname, born, team pk, joined)
PEOPLE = [
    (3, "Ada", "Lovelace", "ada", 1815, 1, datetime.datetime(1833, 6, 5, 12, 0, 0, 123456, UTC)),
    (7, "Plato", "", "", None, None, None),
    (10, "Jean-Paul", "Sartre de Beauvoir", 'JP "quoted" \\ \U0001F600', 1905, 5,
     datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, UTC)),
]
OLD_STATES = ["0001_initial", "0002_rename_nick", "0003_split_fullname"]


@pytest.fixture
def migrapp_db(transactional_db):
    """A transactional test database that is migrated to the latest state again at the end.

    On MariaDB the migrapp tables are then rebuilt: its instant ALTER TABLE keeps
    every column dropped since in the table's format, and after enough tests
    that migrate them back and forth a DROP COLUMN fails ("Row size too large").
    """
    yield
    ContentType.objects.clear_cache()
    call_command("migrate", verbosity=0)
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            for table in ("migrapp_team", "migrapp_player"):
                cursor.execute("ALTER TABLE %s FORCE" % connection.ops.quote_name(table))


def migrate_migrapp(name):
    call_command("migrate", "migrapp", name, verbosity=0)


def models_at(name):
    """migrapp's Team and Player as they were at migration ``name``."""
    apps = MigrationLoader(connection).project_state(("migrapp", name)).apps
    return apps.get_model("migrapp", "Team"), apps.get_model("migrapp", "Player")


def old_player_fields(name, first, last, nickname, born):
    fullname = " ".join(part for part in (first, last) if part)
    if name == "0001_initial":
        return {"fullname": fullname, "nick": nickname, "born": born}
    if name == "0002_rename_nick":
        return {"fullname": fullname, "nickname": nickname, "born": born}
    return {"first_name": first, "last_name": last, "nickname": nickname, "born": born}


def fill_old(name):
    """Migrate migrapp back to ``name`` and fill it with the historical models."""
    migrate_migrapp(name)
    alice = User.objects.create_user("alice")
    Team, Player = models_at(name)
    for pk, team_name, owner in TEAMS:
        Team.objects.create(pk=pk, name=team_name, owner_id=alice.pk if owner else None)
    for pk, first, last, nickname, born, team, joined in PEOPLE:
        Player.objects.create(pk=pk, team_id=team, joined=joined,
                              **old_player_fields(name, first, last, nickname, born))
    return Team, Player


def dump(directory, querysets, **options):
    """The Serializer's directory dump of ``querysets``; returns the path of restore.py."""
    directory.mkdir()
    manifest = directory / "restore.py"
    with open(manifest, "w", encoding="utf-8") as stream:
        Serializer().serialize(querysets, stream=stream, **options)
    return manifest


def dump_old(name, directory):
    """A dump of migrapp (and the users its teams point to) taken when its code was
    at migration ``name``."""
    Team, Player = fill_old(name)
    return dump(directory, [User.objects.all(), Team.objects.all(), Player.objects.all()])


def expected_rows():
    """What migrations 0002-0005 make of PEOPLE and TEAMS."""
    return {
        "teams": [(pk, team_name, owner) for pk, team_name, owner in TEAMS],
        "people": [
            (pk, first, last, nickname, joined, team, "active")
            for pk, first, last, nickname, born, team, joined in PEOPLE
        ],
        "notes": [],
    }


def current_rows():
    return {
        "teams": list(Team.objects.order_by("pk").values_list("pk", "name", "owner__username")),
        "people": list(Player.objects.order_by("pk").values_list(
            "pk", "first_name", "last_name", "nickname", "joined", "team_id", "status")),
        "notes": list(Note.objects.order_by("pk").values_list("pk", "player_id", "text")),
    }


def fill_current():
    """Rows at the latest state: what a restore must replace, or must leave alone."""
    bob = User.objects.create_user("bob")
    team = Team.objects.create(pk=100, name="Current team", owner=bob)
    player = Player.objects.create(pk=100, first_name="Current", team=team, status="away")
    Note.objects.create(pk=100, player=player, text="a note")


def database_state():
    """Every row a restore could touch, and the applied migrations."""
    rows = current_rows()
    rows["users"] = list(User.objects.order_by("pk").values_list("pk", "username"))
    rows["content types"] = list(ContentType.objects.order_by("pk").values_list("pk", "model"))
    rows["migrations"] = sorted(MigrationRecorder(connection).applied_migrations())
    return rows


def assert_fully_migrated():
    """Every migration of the graph migrate uses (squashes standing for what they
    replace) is applied, and nothing else but what the squashes replace."""
    loader = MigrationLoader(connection)
    applied = set(loader.applied_migrations)
    assert set(loader.graph.nodes) <= applied
    replaced = {key for squash in loader.replacements.values() for key in squash.replaces}
    assert applied - set(loader.graph.nodes) <= replaced


def test_migrapp_models_are_the_state_after_its_last_migration(migrapp_db):
    out = io.StringIO()
    call_command("makemigrations", "migrapp", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


# ---------------------------------------------------------------------------
# Restoring old dumps through the migrations.


@pytest.mark.parametrize("state", OLD_STATES)
@pytest.mark.parametrize("jobs", [1, 3])  # 3: the old models' rows read by worker processes
def test_a_dump_taken_at_an_older_migration_restores_into_the_current_models(
        migrapp_db, tmp_path, state, jobs):
    manifest = dump_old(state, tmp_path / "dump")
    call_command("migrate", verbosity=0)
    fill_current()

    out = io.StringIO()
    report = restore_through_migrations(str(manifest), stdout=out, jobs=jobs)

    forward = {"0001_initial": "0002-0005", "0002_rename_nick": "0003-0005",
               "0003_split_fullname": "0004-0005"}[state]
    assert report == "dump taken at migrapp %s, restored 6 objects of 3 models, migrated " \
        "forward through migrapp %s" % (state[:4], forward)
    assert report[0].upper() + report[1:] + ".\n" in out.getvalue()
    assert current_rows() == expected_rows()
    assert_fully_migrated()
    # The new model works with the restored rows, and sequences continue after them.
    ada = Player.objects.get(pk=3)
    Note.objects.create(player=ada, text="first note")
    assert Player.objects.create(first_name="New").pk > 10
    assert Team.objects.create(name="New").pk > 5


def test_an_app_added_since_the_dump_is_created_after_the_restore(migrapp_db, tmp_path):
    """The dump predates testapp; the database is behind the dump in migrapp: going
    to the dump's state takes migrapp forward and testapp back to zero."""
    manifest = dump_old("0003_split_fullname", tmp_path / "dump")
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '["testapp", "0001_initial"],\n' in lines
    manifest.write_text("".join(line for line in lines if not line.startswith('["testapp", ')),
                        encoding="utf-8")
    migrate_migrapp("0001_initial")

    report = restore_through_migrations(str(manifest))

    assert report.startswith("dump taken at migrapp 0003, testapp zero, restored 6 objects "
                             "of 3 models, migrated forward through ")
    assert "migrapp 0004-0005" in report and "testapp 0001-0003" in report
    assert current_rows() == expected_rows()
    assert_fully_migrated()
    from testapp.models import Club

    assert Club.objects.create(name="works").pk


def test_a_whole_site_dump_with_natural_keys_restores_users_permissions_and_owners(
        migrapp_db, tmp_path):
    """As the previous pyserializer wrote them: content types and permissions by
    natural key, matched to the rows migrate made."""
    Team, Player = fill_old("0001_initial")
    # The old code's User had natural_key(), as the current one has: its dump wrote
    # Team.owner as ["alice"].
    Team._meta.get_field("owner").related_model.natural_key = lambda user: (user.username,)
    alice = User.objects.get(username="alice")
    alice.user_permissions.add(Permission.objects.get_by_natural_key("add_team", "migrapp", "team"))
    editors = Group.objects.create(name="editors")
    editors.permissions.add(
        Permission.objects.get_by_natural_key("change_player", "migrapp", "player"))
    alice.groups.add(editors)
    labels = set(REBUILT_BY_MIGRATE)
    manifest = dump(
        tmp_path / "dump",
        [ContentType.objects.all(), Permission.objects.all(), Group.objects.all(),
         User.objects.all(), Team.objects.all(), Player.objects.all()],
        natural_keys=lambda model: (True, model._meta.label_lower in labels),
    )
    assert '"alice"' in (tmp_path / "dump" / "migrapp_team.py").read_text()
    call_command("migrate", verbosity=0)
    fill_current()

    report = restore_through_migrations(str(manifest))

    assert "dump taken at migrapp 0001, restored" in report
    assert current_rows() == expected_rows()
    alice = User.objects.get(username="alice")
    assert alice.has_perm("migrapp.add_team") and alice.has_perm("migrapp.change_player")
    assert not alice.has_perm("migrapp.delete_team")
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]
    # Content types and permissions of the model added since (0005) exist again.
    note_type = ContentType.objects.get_by_natural_key("migrapp", "note")
    assert Permission.objects.filter(content_type=note_type, codename="add_note").exists()


def test_content_type_and_permission_ids_come_back_through_migrations(migrapp_db, tmp_path):
    from testapp.models import AuditEntry

    shift_content_type_and_permission_ids(500)
    Team, Player = fill_old("0001_initial")
    ContentType.objects.get_by_natural_key("migrapp", "note").delete()  # its model is 0005's
    alice = User.objects.get(username="alice")
    alice.user_permissions.add(Permission.objects.get_by_natural_key("add_team", "migrapp", "team"))
    team_type = ContentType.objects.get_by_natural_key("migrapp", "team")
    AuditEntry.objects.create(content_type=team_type, action="create")
    ids_at_dump = ({ct.natural_key(): ct.pk for ct in ContentType.objects.all()},
                   {p.natural_key(): p.pk for p in Permission.objects.all()})
    querysets = [ContentType.objects.all(), Permission.objects.all(), User.objects.all(),
                 Team.objects.all(), Player.objects.all(), AuditEntry.objects.all()]
    manifest = dump(tmp_path / "dump", querysets,
                    natural_keys=lambda model: natural_keys_for(model, set()))
    call_command("migrate", verbosity=0)
    fill_current()
    renumber_content_types_and_permissions()  # as another database's migrate numbers them

    report = restore_through_migrations(str(manifest))

    assert "dump taken at migrapp 0001, restored" in report
    assert current_rows() == expected_rows()
    ContentType.objects.clear_cache()
    content_types = {ct.natural_key(): ct.pk for ct in ContentType.objects.all()}
    permissions = {p.natural_key(): p.pk for p in Permission.objects.all()}
    note_type = content_types.pop(("migrapp", "note"))  # made by the forward migrate
    assert content_types == ids_at_dump[0]
    assert note_type > max(ids_at_dump[0].values())
    note_permissions = {key: pk for key, pk in permissions.items() if key[1:] == ("migrapp", "note")}
    assert len(note_permissions) == 4 and min(note_permissions.values()) > max(ids_at_dump[1].values())
    assert {key: pk for key, pk in permissions.items() if key not in note_permissions} == ids_at_dump[1]
    assert User.objects.get(username="alice").has_perm("migrapp.add_team")
    assert AuditEntry.objects.get().content_type_id == team_type.pk


def test_a_dump_taken_at_the_current_state_is_an_ordinary_restore(migrapp_db, tmp_path):
    call_command("migrate", verbosity=0)
    fill_current()
    dumped = current_rows()
    manifest = dump(tmp_path / "dump", [Team.objects.all(), Player.objects.all(),
                                        Note.objects.all(), User.objects.all()])
    Player.objects.create(first_name="Added after the dump")
    Note.objects.all().delete()

    report = restore_through_migrations(str(manifest))

    assert report == "dump taken at the code's migration state, restored 4 objects of 4 models"
    assert current_rows() == dumped


def test_restore_dump_command_asks_and_a_no_changes_nothing(migrapp_db, tmp_path, monkeypatch):
    manifest = dump_old("0002_rename_nick", tmp_path / "dump")
    call_command("migrate", verbosity=0)
    fill_current()
    before = database_state()
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda prompt: prompts.append(prompt) or "n")

    out = io.StringIO()
    with pytest.raises(CommandError, match="Cancelled; nothing was changed"):
        call_command("restore_dump", str(manifest), stdout=out)

    assert prompts == ["Are you sure (y/n)? "]
    assert "This replaces ALL data of database 'default'" in out.getvalue()
    assert "The dump was taken at migrapp 0002; the code is at migrapp 0005" in out.getvalue()
    assert database_state() == before


def test_restore_dump_command_with_noinput_restores_and_reports(migrapp_db, tmp_path):
    manifest = dump_old("0002_rename_nick", tmp_path / "dump")
    call_command("migrate", verbosity=0)
    out = io.StringIO()

    call_command("restore_dump", str(manifest), "--noinput", stdout=out)

    assert "Dump taken at migrapp 0002, restored 6 objects of 3 models, migrated forward " \
        "through migrapp 0003-0005." in out.getvalue()
    assert current_rows() == expected_rows()


def test_the_restore_script_of_an_old_dump_restores_it_through_migrations(migrapp_db, tmp_path):
    manifest = dump_old("0001_initial", tmp_path / "dump")
    call_command("migrate", verbosity=0)
    fill_current()
    out = io.StringIO()

    restore(str(manifest), interactive=False, stdout=out)

    assert "Dump taken at migrapp 0001, restored 6 objects of 3 models, migrated forward " \
        "through migrapp 0002-0005." in out.getvalue()
    assert current_rows() == expected_rows()


# ---------------------------------------------------------------------------
# When it cannot be done: a clear message, and the database untouched.


def squash_away_0002(manifest):
    """The dump records migrapp 0002 under a name the project no longer has."""
    text = manifest.read_text(encoding="utf-8")
    assert '["migrapp", "0002_rename_nick"],\n' in text
    manifest.write_text(text.replace('["migrapp", "0002_rename_nick"],\n',
                                     '["migrapp", "0002_squashed_away"],\n'), encoding="utf-8")


def rename_app_to_shop(manifest):
    """The dump comes from when migrapp was called shop: its rows and migrations say shop."""
    for path in [manifest] + [manifest.parent / name for name in chunk_names(manifest)]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"migrapp.', '"shop.').replace('["migrapp", ', '["shop", '),
                        encoding="utf-8")
    reseal(manifest)


@pytest.mark.parametrize("edit, missing", [
    (squash_away_0002, "migrapp.0002_squashed_away"),
    (rename_app_to_shop, "shop.0001_initial (no app 'shop' has migrations here), "
                         "shop.0002_rename_nick (no app 'shop' has migrations here), "
                         "shop.0003_split_fullname (no app 'shop' has migrations here)"),
])
def test_a_dump_with_migrations_the_project_lacks_fails_before_touching_the_database(
        migrapp_db, tmp_path, edit, missing):
    manifest = dump_old("0003_split_fullname", tmp_path / "dump")
    edit(manifest)
    call_command("migrate", verbosity=0)
    fill_current()
    before = database_state()

    with CaptureQueriesContext(connection) as queries, pytest.raises(NotRestorable) as failure:
        restore_through_migrations(str(manifest))
    with pytest.raises(CommandError) as command_failure:
        call_command("restore_dump", str(manifest), "--noinput")

    message = str(failure.value)
    assert message == str(command_failure.value)
    assert "it was taken at migrations that this project does not have: %s. " \
        "Nothing was changed." % missing in message
    assert "keep (or bring back) these migration files until the dump is restored" in message
    assert "python manage.py loaddata --ignorenonexistent %s" % manifest in message
    assert len(queries) == 0
    assert database_state() == before


def test_migrations_of_an_app_removed_from_the_project_are_ignored(migrapp_db, tmp_path):
    """An app removed from the project leaves its rows in django_migrations; a dump
    holding none of its rows restores as if they were not there."""
    recorder = MigrationRecorder(connection)
    recorder.record_applied("oldapp", "0001_initial")
    try:
        fill_current()
        dumped = current_rows()
        manifest = dump(tmp_path / "dump", [User.objects.all(), Team.objects.all(),
                                            Player.objects.all(), Note.objects.all()])
        assert '["oldapp", "0001_initial"]' in manifest.read_text(encoding="utf-8")
        Note.objects.all().delete()

        report = restore_through_migrations(str(manifest))
    finally:
        recorder.record_unapplied("oldapp", "0001_initial")

    assert report == "dump taken at the code's migration state, restored 4 objects of 4 models"
    assert current_rows() == dumped


def test_a_load_that_fails_is_rolled_back_and_says_where_the_database_stands(
        migrapp_db, tmp_path):
    Team, Player = fill_old("0002_rename_nick")
    # Without the users, the teams' owners point nowhere once the tables are emptied.
    manifest = dump(tmp_path / "dump", [Team.objects.all(), Player.objects.all()])
    call_command("migrate", verbosity=0)
    fill_current()

    with pytest.raises(DumpError) as failure:
        restore_through_migrations(str(manifest))

    message = str(failure.value)
    assert "the database rejected a reference: migrapp.Team pk 1, field owner: no auth.User " \
        in message
    assert message.endswith(
        "The load was rolled back; the database is at the dump's migration state. Fix the "
        "cause and restore again, or run python manage.py migrate to go back to the code's "
        "state.")
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("migrapp", "0002_rename_nick") in applied
    assert ("migrapp", "0003_split_fullname") not in applied
    assert not Team.objects.exists() and not User.objects.exists()


def test_a_signal_while_migrating_forward_says_where_the_database_stands(
        migrapp_db, tmp_path, monkeypatch):
    """After the load committed, a signal cannot promise that nothing changed."""
    manifest = dump_old("0001_initial", tmp_path / "dump")
    call_command("migrate", verbosity=0)

    def terminated(*args):
        raise Terminated()

    monkeypatch.setattr(restoring, "_migrate_forward", terminated)
    with pytest.raises(Interrupted) as stopped:
        restore_through_migrations(str(manifest))

    assert str(stopped.value) == (
        "Terminated (SIGTERM) while migrating forward. The rows were restored at the dump's "
        "migration state and migrated forward as far as the migrations succeeded (see python "
        "manage.py showmigrations). Fix the failing migration, then run python manage.py "
        "migrate.")
    assert ("migrapp", "0002_rename_nick") not in MigrationRecorder(connection).applied_migrations()
    assert migrapp_player_count() == len(PEOPLE)


def migrapp_player_count():
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM migrapp_player")
        return cursor.fetchone()[0]


def loaddata_refusal(manifest):
    """The message that loaddata of ``manifest`` stops with."""
    with pytest.raises(Exception) as failure:
        call_command("loaddata", str(manifest), verbosity=0)
    return str(failure.value)


def test_loaddata_of_an_old_dump_says_which_fields_differ_and_how_to_restore_it(
        migrapp_db, tmp_path):
    manifest = dump_old("0001_initial", tmp_path / "dump")
    call_command("migrate", verbosity=0)
    fill_current()
    before = database_state()

    message = loaddata_refusal(manifest)
    assert "migrapp_player.py, line " in message
    assert "model migrapp.player, field fullname: this field does not exist in the current " \
        "model (in the dump only: born, fullname, nick; in the model only: first_name, " \
        "last_name, nickname, status)" in message
    assert "The dump was taken at an older migration state (migrapp: dump at 0001_initial, " \
        "code at 0005_note); restore it through the project's migrations instead" in message
    assert "manage.py restore_dump %s" % manifest in message
    assert database_state() == before


def test_loaddata_of_a_dump_from_other_code_does_not_say_to_restore_it_through_migrations(
        migrapp_db, tmp_path):
    """A dump that records a migration this project lacks cannot be restored
    through the project's migrations: the hint says where it comes from instead."""
    manifest = dump_old("0001_initial", tmp_path / "dump")
    text = manifest.read_text(encoding="utf-8")
    assert '["migrapp", "0001_initial"],\n' in text
    manifest.write_text(text.replace('["migrapp", "0001_initial"],\n', '["migrapp", "0001_initial"],\n'
                                     '["migrapp", "0009_from_newer_code"],\n'), encoding="utf-8")
    call_command("migrate", verbosity=0)

    message = loaddata_refusal(manifest)
    assert "model migrapp.player, field fullname: this field does not exist" in message
    assert "The dump was taken at migrations that this project cannot migrate a database " \
        "to (migrapp.0009_from_newer_code): it comes from another project, from newer " \
        "code, or from before a squash, and cannot be restored through this project's " \
        "migrations" in message
    assert "restore it through the project's migrations" not in message
    assert "restore_dump" not in message


# ---------------------------------------------------------------------------
# The row-transform hook, for changes no migration describes.


def test_a_transform_from_the_setting_lets_loaddata_load_an_old_dump(migrapp_db, tmp_path):
    manifest = dump_old("0001_initial", tmp_path / "dump")
    call_command("migrate", verbosity=0)
    Player.objects.all().delete()
    Team.objects.all().delete()

    with override_settings(
            PYSERIALIZER_TRANSFORMS={"migrapp.player": "migrapp.dumpfixes.player_from_0001"}):
        call_command("loaddata", str(manifest), verbosity=0)

    assert current_rows() == expected_rows()


def test_a_transform_can_split_a_model_and_drop_rows(migrapp_db, tmp_path):
    manifest = dump_old("0001_initial", tmp_path / "dump")
    call_command("migrate", verbosity=0)
    Player.objects.all().delete()
    Team.objects.all().delete()
    seen = []

    def player(label, row):
        seen.append((label, sorted(row)))
        if row["fullname"] == "Plato":
            return  # dropped
        first, _, last = row["fullname"].partition(" ")
        yield label, {"id": row["id"], "first_name": first, "last_name": last,
                      "nickname": row["nick"], "team": row["team"]}
        if row["born"] is not None:
            yield "migrapp.Note", {"player": row["id"], "text": "born %d" % row["born"]}

    with open(manifest, "rb") as stream, transaction.atomic():
        for dumped in serializers.deserialize("py", stream, transforms={"migrapp.player": player}):
            dumped.save()

    assert seen == [("migrapp.player", ["born", "fullname", "id", "joined", "nick", "team"])] * 3
    assert list(Player.objects.order_by("pk").values_list(
        "pk", "first_name", "last_name", "nickname", "joined", "status")) == [
        (3, "Ada", "Lovelace", "ada", None, "active"),
        (10, "Jean-Paul", "Sartre de Beauvoir", PEOPLE[2][3], None, "active"),
    ]
    assert sorted(Note.objects.values_list("player_id", "text")) == [
        (3, "born 1815"), (10, "born 1905")]


def test_migrate_s_lines_stay_whole_when_a_restore_migrates_the_database_first(
        migrapp_db, tmp_path):
    call_command("migrate", verbosity=0)
    fill_current()
    manifest = dump(tmp_path / "dump", [Team.objects.all(), Player.objects.all(),
                                        Note.objects.all(), User.objects.all()])
    migrate_migrapp("0002_rename_nick")
    out = io.StringIO()

    call_command("restore_dump", str(manifest), "--noinput", stdout=out)

    applying = [line for line in out.getvalue().splitlines() if "Applying" in line or
                line.strip() == "OK"]
    assert applying == ["  Applying migrapp.%s... OK" % name
                        for name in ("0003_split_fullname", "0004_status", "0005_note")]
