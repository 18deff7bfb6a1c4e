"""Compressed directory dumps (gzip, zstd): written by dump2py --compress and by
dumpdata with PYSERIALIZER_COMPRESS, loaded back exactly, refused when a compressed
chunk is truncated or altered, and loaded in bounded memory."""

import gzip
import hashlib
import io
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.base import DeserializationError
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

try:
    import zstandard
except ImportError:  # the zstd extra is not installed: its tests are skipped
    zstandard = None

from helpers import (
    assert_same_rows, db_snapshot, dump_dir, file_mode, load, populate, read_lines,
    restore_files, wipe,
)
from memory_probe import measure
from test_roundtrip import (
    CHUNK_SIZE, EMPTY_DUMP_WARNING, HYPOTHESIS, draw_relations, everything_values,
    example_transaction,
)
from pyserializer.errors import DumpError
from pyserializer.files.reader import DumpReader
from pyserializer.files.safefiles import open_chunk
from testapp.models import Country, Everything

# Keys up to each column's maximum: MariaDB's counters need setting back after.
pytestmark = pytest.mark.usefixtures("auto_increment_reset")

needs_zstd = pytest.mark.skipif(zstandard is None, reason="needs pip install .[zstd]")
KINDS = ["gzip", pytest.param("zstd", marks=needs_zstd)]
SUFFIX = {"gzip": ".py.gz", "zstd": ".py.zst"}


def decompress(kind, data):
    if kind == "gzip":
        return gzip.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def dump2py(*args, **options):
    out = io.StringIO()
    call_command("dump2py", *[str(arg) for arg in args], "--noinput", stdout=out,
                 stderr=io.StringIO(), **options)
    return out.getvalue()


def assert_sealed_as_stored(restore, kind):
    """Every chunk has the compressed name; restore.py lists the stored file's size
    and SHA-256 (what sha256sum says), and is itself plain text."""
    restore = Path(restore)
    assert read_lines(restore)[0].startswith("#!")
    for name, _model, _rows, size, sha256 in restore_files(restore):
        assert name.endswith(SUFFIX[kind]), name
        data = (restore.parent / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256)
        assert decompress(kind, data).startswith(b"# pyserializer dump, format 2.")
        assert file_mode(restore.parent / name) == 0o600


def compressed_dump_wipe_load(kind):
    before = db_snapshot()
    with tempfile.TemporaryDirectory() as tmp, \
            override_settings(PYSERIALIZER_COMPRESS=kind):
        path = dump_dir(Path(tmp) / "dump")
        assert_sealed_as_stored(path, kind)
        wipe()
        load(path)
        assert_same_rows(before, db_snapshot())
        again = dump_dir(Path(tmp) / "again")
        assert restore_files(again) == restore_files(path)


# ---------------------------------------------------------------------------
# Round trips.


@pytest.mark.django_db
@pytest.mark.filterwarnings(EMPTY_DUMP_WARNING)
@pytest.mark.parametrize("kind", KINDS)
@HYPOTHESIS
@given(data=st.data())
def test_every_field_value_survives_a_compressed_dump(kind, data):
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=CHUNK_SIZE), example_transaction():
        rows = data.draw(st.dictionaries(st.integers(1, 2**31 - 1), everything_values(True),
                                         max_size=5), label="rows")
        for pk, values in rows.items():
            Everything.objects.create(pk=pk, **values)
        compressed_dump_wipe_load(kind)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
@HYPOTHESIS
@given(data=st.data())
def test_relations_survive_a_compressed_dump(kind, data):
    from django.contrib.contenttypes.models import ContentType

    from testapp.models import Book, Person, Place

    ContentType.objects.get_for_models(Person, Book, Place)
    with override_settings(PYSERIALIZER_MAX_ROW_COUNT=CHUNK_SIZE), example_transaction():
        draw_relations(data.draw)
        compressed_dump_wipe_load(kind)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", KINDS)
def test_dump2py_compress_writes_compressed_chunks_that_restore(tmp_path, kind):
    populate()
    before = db_snapshot()
    output = dump2py(tmp_path / "backup", compress=kind, max_row_count=2)
    assert "Dumped" in output
    restore = tmp_path / "backup" / "restore.py"
    assert_sealed_as_stored(restore, kind)
    assert not [p for p in (tmp_path / "backup").iterdir()
                if p.name != "restore.py" and not p.name.endswith(SUFFIX[kind])]
    wipe()
    load(restore)
    assert_same_rows(before, db_snapshot())


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_restore_dump_restores_a_compressed_dump(tmp_path, kind):
    populate()
    before = db_snapshot()
    dump2py(tmp_path / "backup", compress=kind)
    Country.objects.filter(code="BE").update(name="changed after the dump")
    call_command("restore_dump", str(tmp_path / "backup" / "restore.py"), "--noinput",
                 stdout=io.StringIO(), stderr=io.StringIO(), verbosity=0)
    assert_same_rows(before, db_snapshot())


@pytest.mark.django_db
def test_compress_none_overrides_the_setting(tmp_path):
    populate()
    with override_settings(PYSERIALIZER_COMPRESS="gzip"):
        dump2py(tmp_path / "backup", "-e", "auth", "-e", "sessions", "-e", "migrapp",
                compress="none")
    names = [entry[0] for entry in restore_files(tmp_path / "backup" / "restore.py")]
    assert names and all(name.endswith(".py") for name in names)


@pytest.mark.django_db
def test_an_unknown_compression_setting_is_an_error(tmp_path):
    with override_settings(PYSERIALIZER_COMPRESS="bzip2"), pytest.raises(CommandError) as info:
        dump2py(tmp_path / "backup")
    assert "bzip2" in str(info.value) and "gzip, zstd" in str(info.value)
    assert not (tmp_path / "backup").exists()


# ---------------------------------------------------------------------------
# Refused.


@pytest.fixture(params=KINDS)
def compressed(request, tmp_path, db):
    """A compressed directory dump of the test data: (restore.py, kind, a chunk)."""
    populate()
    with override_settings(PYSERIALIZER_COMPRESS=request.param, PYSERIALIZER_MAX_ROW_COUNT=2):
        restore = dump_dir(tmp_path / "dump")
    chunk = restore.parent / ("testapp_everything_2" + SUFFIX[request.param])
    assert chunk.exists()
    return restore, request.param, chunk


def assert_refused(restore, *parts):
    before = db_snapshot()
    with pytest.raises(DeserializationError) as info:
        load(restore)
    for part in parts:
        assert part in str(info.value)
    assert_same_rows(before, db_snapshot())
    return str(info.value)


@pytest.mark.parametrize("cut", ["half", "last byte"])
def test_a_truncated_compressed_chunk_is_refused(compressed, cut):
    restore, _kind, chunk = compressed
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2] if cut == "half" else data[:-1])
    assert_refused(restore, chunk.name)


@pytest.mark.parametrize("where", ["middle", "end"])
def test_an_altered_compressed_chunk_is_refused(compressed, where):
    restore, _kind, chunk = compressed
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2 if where == "middle" else -2] ^= 0x55
    chunk.write_bytes(bytes(data))
    assert_refused(restore, chunk.name)


def test_a_chunk_recompressed_without_resealing_is_refused(compressed):
    """Same text, other compressed bytes: the checksum is of the stored file."""
    restore, kind, chunk = compressed
    text = decompress(kind, chunk.read_bytes())
    if kind == "gzip":
        chunk.write_bytes(gzip.compress(text, compresslevel=1))
    else:
        chunk.write_bytes(zstandard.ZstdCompressor(level=19).compress(text))
    assert_refused(restore, chunk.name, "altered")


def test_a_compressed_chunk_that_is_a_link_is_refused(compressed):
    restore, _kind, chunk = compressed
    real = chunk.with_name("elsewhere")
    chunk.rename(real)
    chunk.symlink_to(real)
    assert_refused(restore, chunk.name, "symbolic link")


def test_the_manifest_accepts_only_chunk_names(compressed):
    restore, _kind, chunk = compressed
    text = restore.read_text().replace(chunk.name, chunk.name + ".bz2")
    restore.write_text(text)
    assert_refused(restore, "is not a chunk file name")


# ---------------------------------------------------------------------------
# zstd without its package.


@needs_zstd
@pytest.mark.django_db
def test_zstd_without_its_package_is_a_clear_error(tmp_path, monkeypatch):
    populate()
    with override_settings(PYSERIALIZER_COMPRESS="zstd", PYSERIALIZER_MAX_ROW_COUNT=2):
        restore = dump_dir(tmp_path / "dump")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(CommandError) as info:
        dump2py(tmp_path / "backup", compress="zstd")
    assert "pip install django-pyserializer[zstd]" in str(info.value)
    assert not (tmp_path / "backup").exists()
    wipe()
    assert_refused(restore, "pip install django-pyserializer[zstd]")


# ---------------------------------------------------------------------------
# Memory.


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_peak_memory_of_a_compressed_load_does_not_grow_with_rows(tmp_path, kind):
    small = measure(tmp_path, 5_000, "directory", compress=kind)
    large = measure(tmp_path, 100_000, "directory", compress=kind)
    assert small["rows"] == 5_000 and large["rows"] == 100_000
    assert large["bytes"] > 10 * small["bytes"]
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < 8, (small, large)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cut", [0, 1, 10, -4, -1])
def test_reading_a_truncated_compressed_chunk_names_the_file(tmp_path, kind, cut):
    """Without restore.py's size check in front (as reseal_dump reads): the
    decompressor's own end-of-data error, as a DumpError naming the file."""
    text = b"".join(b'[%d, "row %d"],\n' % (n, n) for n in range(5000))
    data = gzip.compress(text) if kind == "gzip" else zstandard.ZstdCompressor().compress(text)
    path = tmp_path / ("chunk" + SUFFIX[kind])
    path.write_bytes(data[:cut] if cut > 0 else data[:len(data) + cut] if cut else b"")
    with pytest.raises(DumpError) as info, open_chunk(str(path)) as chunk:
        for _number, _line in DumpReader(chunk, str(path))._lines:
            pass
    assert str(path) in str(info.value) and "truncated" in str(info.value)
