"""What a user's models cannot make a dump miss or overwrite: rows that a
filtering base manager hides, fields named like the aliases we add to a query,
tables named like the manifest or like another table's chunks."""

import io
import json

import pytest
from django.core.management import call_command
from django.db.models import JSONField, Value

from helpers import (
    assert_same_rows, blocks, db_snapshot, dump_file, load, restore_files, wipe,
)
from paths import (
    IN_PROCESS, assert_jobs_write_the_same_files_and_restore,
    assert_the_script_restores_into_a_new_database, dump2py, postgresql_only, restore_dump,
)
from pyserializer.dumping import writer
from pyserializer.dumping.parallel import chunk_starts
from pyserializer.tables import every_row
from shadowapp.models import Hideable, Shadow, ShadowPart

def populate_shadows():
    """Rows hidden by Hideable's base manager (one with JSON null, one with SQL
    NULL), referred to by foreign keys and many-to-many links; five Shadows,
    so that chunks of 2 rows split them."""
    Hideable.objects.create(pk=1, name="shown", data={"a": 1})
    hidden = [
        Hideable.objects.create(pk=2, name="hidden", hidden=True, data=Value(None, JSONField())),
        Hideable.objects.create(pk=3, name="hidden too", hidden=True, data=None),
        Hideable.objects.create(pk=4, name="hidden, with data", hidden=True, data=[1, None]),
    ]
    for pk in range(1, 6):
        shadow = Shadow.objects.create(pk=pk, position=-pk, phase=pk % 2, hideable=hidden[pk % 2])
        shadow.hideables.set(hidden[: pk % 4])
    ShadowPart.objects.create(pk=7, position=1)
    assert Hideable._base_manager.count() == 1


# ---------------------------------------------------------------------------
# Rows that a filtering base manager hides.


@pytest.mark.django_db
@pytest.mark.parametrize("dump_and_restore", IN_PROCESS,
                         ids=lambda function: function.__name__)
def test_rows_hidden_by_the_base_manager_are_dumped_and_restored(tmp_path, dump_and_restore):
    """dumpdata reads through the default manager, which shows every row here."""
    populate_shadows()
    before = db_snapshot("shadowapp")
    dump_and_restore(tmp_path, "shadowapp")
    assert_same_rows(before, db_snapshot("shadowapp"))
    assert Hideable.objects.get(pk=2).data is None
    assert Hideable.objects.filter(pk=2, data__isnull=True).count() == 0  # JSON null, not SQL NULL


@pytest.mark.django_db
def test_dump2py_writes_the_hidden_rows(tmp_path):
    populate_shadows()
    manifest = dump2py(tmp_path / "backup")
    [entry] = [entry for entry in restore_files(manifest) if entry[1] == "shadowapp.hideable"]
    assert entry[2] == 4
    [block] = blocks(tmp_path / "backup" / entry[0])
    assert [values[0] for _, values in block["rows"]] == [1, 2, 3, 4]


@pytest.mark.django_db
@pytest.mark.parametrize("use_base_manager", [False, True], ids=["default manager", "--all"])
def test_dumpdata_reads_through_the_managers_that_json_reads_through(tmp_path, use_base_manager):
    """Without --all, the default manager (every row here); with --all, the base
    manager, which hides rows: dumpdata's own rules, whatever the format."""
    populate_shadows()
    options = {"use_base_manager": use_base_manager}
    path = dump_file(tmp_path / "hideable.py", "shadowapp.hideable", **options)
    dumped = [values[0] for block in blocks(path) for _, values in block["rows"]]
    out = io.StringIO()
    call_command("dumpdata", "shadowapp.hideable", format="json", stdout=out, **options)
    assert dumped == [obj["pk"] for obj in json.loads(out.getvalue())]
    assert dumped == ([1] if use_base_manager else [1, 2, 3, 4])


@postgresql_only
def test_dump2py_jobs_writes_the_hidden_rows_and_fields_named_like_its_aliases(
    tmp_path, transactional_db
):
    """dump2py --jobs numbers the rows of a table in a window query: fields named
    position and phase, the names it would choose, get it no other names."""
    populate_shadows()
    assert_jobs_write_the_same_files_and_restore(tmp_path, "shadowapp")


@pytest.mark.django_db
def test_the_restore_script_restores_hidden_rows_and_shadowing_names(tmp_path, new_database_url):
    populate_shadows()
    assert_the_script_restores_into_a_new_database(tmp_path, new_database_url, "shadowapp")


# ---------------------------------------------------------------------------
# Names we add to a query.


@pytest.mark.django_db
def test_chunk_starts_of_a_model_with_fields_named_like_its_aliases():
    populate_shadows()
    assert chunk_starts(every_row(Shadow, "default"), 2) == [3, 5]
    assert chunk_starts(every_row(ShadowPart, "default"), 1) == []


# ---------------------------------------------------------------------------
# Names of files.


@pytest.mark.django_db
@pytest.mark.parametrize("options", [[], ["-m", 2], ["-z", "gzip"]],
                         ids=["one chunk", "chunks of 2 rows", "gzip"])
def test_a_table_named_restore_gets_no_file_named_like_the_manifest(tmp_path, options):
    """Not restore.py, nor restore_1.py beside a table restore_1, nor
    restore.py.gz, which loaddata DIR/restore.py takes for a second manifest."""
    populate_shadows()
    before = db_snapshot("shadowapp")
    manifest = dump2py(tmp_path / "backup", *options)
    by_model = {}
    for name, label, *_ in restore_files(manifest):
        by_model.setdefault(label, []).append(name)
    assert not [name for name in sum(by_model.values(), []) if name.startswith("restore.")]
    assert by_model["shadowapp.shadow"] and all(
        name.startswith("restore_shadowapp_shadow") for name in by_model["shadowapp.shadow"])
    assert by_model["shadowapp.shadowpart"][0].startswith("restore_1.py")
    wipe("shadowapp")
    load(manifest)
    assert_same_rows(before, db_snapshot("shadowapp"))


def write_models(directory, tables):
    """A directory dump of one row for each (label, table, rows) in ``tables``
    through the chunk writer (chunks of 1 row); returns the manifest entries."""
    chunks = writer.DirectoryWriter(str(directory), max_row_count=1)
    for label, table, rows in tables:
        chunks.start_model(label, table, ["id"])
        chunks.write_rows(["[%d],\n" % row for row in range(rows)])
        chunks.end_model()
    return chunks.publish([label for label, _, _ in tables])


def test_models_whose_tables_make_the_same_file_names_get_different_files(tmp_path):
    """Each fallback name taken in turn by another table: a stem, then a stem with
    the model label, then that with a number."""
    entries = write_models(tmp_path, [
        ("p.q", "t_a_b", 1),  # takes the stem t_a_b
        ("e.f", "t", 1),  # takes the stem t
        ("a.b", "t", 1),  # t is taken, and so is t_a_b: t_a_b_2
        ("x.one", "r_1", 1),  # r_1.py
        ("x.two", "r_x_y_1", 1),  # r_x_y_1.py
        ("x.y", "r", 2),  # r_1.py is taken, and so is r_x_y_1.py
        ("z.z", "restore", 1),  # restore.py is the manifest's
        ("z.y", "restore", 2),  # the stem restore is the manifest's, split or not
    ])
    names = {entry.model: [] for entry in entries}
    for entry in entries:
        names[entry.model].append(entry.name)
    assert names == {
        "p.q": ["t_a_b.py"], "e.f": ["t.py"], "a.b": ["t_a_b_2.py"],
        "x.one": ["r_1.py"], "x.two": ["r_x_y_1.py"], "x.y": ["r_x_y_2_1.py", "r_2.py"],
        "z.z": ["restore_z_z.py"], "z.y": ["restore_z_y_1.py", "restore_z_y_2.py"],
    }
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        name for model_names in names.values() for name in model_names)


def test_tables_named_like_our_temporary_files_get_plain_chunk_names(tmp_path):
    """A chunk's name is letters, digits and _ before .py: never a hidden name
    (.restore.py.partial, .dump2py.lock, a staging directory's), nor a path."""
    entries = write_models(tmp_path, [
        ("a.partial", ".restore.py.partial", 1),
        ("a.lock", ".dump2py.lock", 1),
        ("a.path", "../../etc/passwd", 1),
        ("a.manifest", "restore.py", 1),
    ])
    names = [entry.name for entry in entries]
    assert names == ["restore_py_partial.py", "dump2py_lock.py", "etc_passwd.py", "restore_py.py"]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)
