"""A real third-party site: a small Wagtail site (tests/wagtailsite), built through
Wagtail's own APIs, is dumped with `dump2py --media`, restored into a new database
and an empty MEDIA_ROOT by the dump's restore.py, and compared with its source row
by row, page by page and file by file: every image, rendition and document file
must come back with its SHA-256, before any page is served (a rendition Wagtail
had to make again would be a file the dump lost).

The site runs in subprocesses with its own settings (the rest of the suite uses
testproject.settings), on databases the tests create and drop. The source is
always SQLite; the target is SQLite in the SQLite run of `make test`, and
PostgreSQL or MariaDB in the run on that backend, so that each cross-backend
test runs once.
"""

import difflib
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import dj_database_url
import pytest

pytest.importorskip("wagtail")

import backends  # noqa: E402  (tests/backends.py: how `make test` reaches the servers)
from pyserializer.cli.progress import media_files  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
SITE_SETTINGS = "wagtailsite.settings"
# The search index: SQLite keeps it in FTS tables, PostgreSQL in tsvector columns.
# Across backends it is left out at restore time; `update_index` rebuilds it.
SEARCH_INDEX = "wagtailsearch"
MAX_REPORTED = 40
# The rows that name uploaded files, and their file field.
MEDIA_FIELDS = {
    "wagtailimages.image": "file",
    "wagtailimages.rendition": "file",
    "wagtaildocs.document": "file",
}


def run_vendor():
    """The backend of this pytest run (`make test` sets DATABASE_URL per run)."""
    url = os.environ.get("DATABASE_URL")
    return vendor_of(url) if url else "sqlite"


def vendor_of(url):
    return {
        "django.db.backends.sqlite3": "sqlite",
        "django.db.backends.postgresql": "postgresql",
        "django.db.backends.mysql": "mariadb",
    }[dj_database_url.parse(url)["ENGINE"]]


def require_all_backends():
    return os.environ.get("PYSERIALIZER_REQUIRE_ALL_BACKENDS") == "1"


def target_server(vendor):
    """The URL of the `vendor` server for this run's cross-backend test, or a skip:
    when the server is not reachable (a failure under PYSERIALIZER_REQUIRE_ALL_BACKENDS=1),
    or when another run of `make test` (the one on `vendor`) has the test."""
    own_run = run_vendor() == vendor
    url = os.environ["DATABASE_URL"] if own_run else (
        os.environ.get(backends.URL_VARIABLES[vendor]) or backends.DEFAULT_URLS[vendor]
    )
    try:
        backends.CONNECT[vendor](dj_database_url.parse(url))
    except Exception as exc:  # any failure to connect means "not reachable"
        message = f"{vendor} not reachable at {url}: {exc}"
        if require_all_backends():
            pytest.fail(message + " (PYSERIALIZER_REQUIRE_ALL_BACKENDS=1)")
        pytest.skip(message)
    if not own_run:
        pytest.skip(f"runs once, in the test run on {vendor} (DATABASE_URL={vendor} in make test)")
    return url


def admin_execute(server_url, sql):
    """Run one statement on the server's maintenance database, outside a transaction."""
    db = dj_database_url.parse(server_url)
    if db["ENGINE"] == "django.db.backends.postgresql":
        import psycopg

        with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                             password=db["PASSWORD"] or None, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)
    else:
        import pymysql

        conn = pymysql.connect(host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"],
                               password=db["PASSWORD"] or "")
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()


@pytest.fixture
def new_server_database():
    """A function: (vendor) -> URL of a new, empty database with a unique name on that
    server; the database is dropped after the test."""
    created = []

    def create(vendor):
        server = target_server(vendor)
        name = "pyser_wt_%s" % uuid.uuid4().hex[:12]
        if vendor == "postgresql":
            admin_execute(server, 'CREATE DATABASE "%s"' % name)
            created.append((server, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name))
        else:
            admin_execute(server, "CREATE DATABASE `%s` CHARACTER SET utf8mb4" % name)
            created.append((server, "DROP DATABASE IF EXISTS `%s`" % name))
        db = dj_database_url.parse(server)
        auth = db["USER"] + (":%s" % db["PASSWORD"] if db["PASSWORD"] else "")
        port = ":%s" % db["PORT"] if db["PORT"] else ""
        scheme = "postgres" if vendor == "postgresql" else "mysql"
        return "%s://%s@%s%s/%s" % (scheme, auth, db["HOST"], port, name)

    yield create
    for server, drop in created:
        admin_execute(server, drop)


class Site:
    """The Wagtail site on one database, run as `python -m django` in a subprocess."""

    def __init__(self, database_url, media_root):
        self.database_url = database_url
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        self.env.update(
            DJANGO_SETTINGS_MODULE=SITE_SETTINGS,
            WAGTAILSITE_DATABASE_URL=database_url,
            WAGTAILSITE_MEDIA_ROOT=str(media_root),
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])
            ),
        )

    def run(self, *args, what):
        """Run `args` from the tests directory (the project directory of the site);
        returns (stdout, wall time in seconds) or fails the test with the output."""
        started = time.perf_counter()
        result = subprocess.run(args, cwd=TESTS_DIR, env=self.env, capture_output=True,
                                text=True, timeout=900)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            pytest.fail(f"{what} failed (exit status {result.returncode}) on {self.database_url}:\n"
                        f"{result.stderr[-6000:]}\n--- stdout (end) ---\n{result.stdout[-2000:]}",
                        pytrace=False)
        return result.stdout, elapsed

    def manage(self, *args, what=None):
        return self.run(sys.executable, "-m", "django", *args,
                        what=what or "manage.py %s" % args[0])

    def snapshot(self, path):
        """The site as canonical JSON (see the site_snapshot command of wagtailsite.home)."""
        self.manage("site_snapshot", str(path))
        return json.loads(Path(path).read_text(encoding="utf-8"))


def excluded(label, exclude):
    """Whether model `label` is left out by `-e` options `exclude` (apps or models)."""
    exclude = {item.lower() for item in exclude}
    return label in exclude or label.split(".")[0] in exclude


def short(value, limit=300):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def row_differences(label, source_rows, target_rows):
    """Lines naming each row missing, added or changed, field by field."""
    if source_rows and "pk" not in source_rows[0] or target_rows and "pk" not in target_rows[0]:
        # An automatic many-to-many table: its pairs, as a multiset.
        want = Counter(json.dumps(row, sort_keys=True) for row in source_rows)
        got = Counter(json.dumps(row, sort_keys=True) for row in target_rows)
        return ([f"{label}: pair missing in target: {row}" for row in (want - got).elements()]
                + [f"{label}: pair only in target: {row}" for row in (got - want).elements()])
    source_by_pk = {json.dumps(row["pk"]): row for row in source_rows}
    target_by_pk = {json.dumps(row["pk"]): row for row in target_rows}
    lines = []
    for pk, row in source_by_pk.items():
        other = target_by_pk.get(pk)
        if other is None:
            lines.append(f"{label} pk={pk}: missing in target: {short(row)}")
            continue
        for field in sorted(set(row) | set(other)):
            want, got = row.get(field, "<no such field>"), other.get(field, "<no such field>")
            if want != got:
                lines.append(f"{label} pk={pk} {field}: "
                             f"source {short(want)} != target {short(got)}")
    lines += [f"{label} pk={pk}: only in target: {short(row)}"
              for pk, row in target_by_pk.items() if pk not in source_by_pk]
    return lines


def site_differences(source, target, exclude=()):
    """Every difference between two snapshots, one line each; models in `exclude`
    (app labels or model labels) must be empty in the target."""
    lines = []
    for label in sorted(set(source["rows"]) | set(target["rows"])):
        target_rows = target["rows"].get(label)
        if excluded(label, exclude):
            if target_rows:
                lines.append(f"{label}: left out of the restore, but the target has "
                             f"{len(target_rows)} rows")
            continue
        if label not in target["rows"]:
            lines.append(f"{label}: no such model in the target")
        elif label not in source["rows"]:
            lines.append(f"{label}: no such model in the source")
        else:
            lines += row_differences(label, source["rows"][label], target_rows)
    for url in sorted(set(source["html"]) | set(target["html"])):
        want, got = source["html"].get(url), target["html"].get(url)
        if want is None or got is None:
            lines.append(f"page {url}: live only in the {'target' if want is None else 'source'}")
        elif want != got:
            diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "source", "target",
                                        lineterm="", n=0)
            lines.append(f"page {url}: HTML differs:\n  " + "\n  ".join(list(diff)[:12]))
    if target["fixtree"] != source["fixtree"] or target["fixtree"].count("No problems found") != 2:
        lines.append("fixtree on the target:\n" + target["fixtree"])
    return lines


def row_count(snapshot):
    return sum(len(rows) for rows in snapshot["rows"].values())


def files_on_disk(media_root: Path) -> dict[str, tuple[int, str]]:
    """{storage name: (bytes, SHA-256)} of every file under `media_root`, as read from disk."""
    files = {}
    for path in sorted(media_root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            files[path.relative_to(media_root).as_posix()] = (len(data), hashlib.sha256(data).hexdigest())
    return files


def named_media(snapshot: dict) -> set[str]:
    """The storage names of the image, rendition and document files the site's rows name."""
    return {row[field] for label, field in MEDIA_FIELDS.items()
            for row in snapshot["rows"][label] if row[field]}


def renditions_not_shown(snapshot: dict) -> list[str]:
    """Renditions that no live page shows: a page must show each, so that the HTML
    comparison would see one that the restore lost or made again."""
    html = "".join(snapshot["html"].values())
    return [row["file"] for row in snapshot["rows"]["wagtailimages.rendition"]
            if 'src="/media/%s"' % row["file"] not in html]


def media_differences(names: set[str], source: dict[str, tuple[int, str]],
                      restored: dict[str, tuple[int, str]],
                      served: dict[str, tuple[int, str]]) -> list[str]:
    """Every file of `names` must be in the target as in the source right after the
    restore, and nothing else; serving the pages must then change nothing."""
    lines = []
    for name in sorted(names):
        if name not in restored:
            lines.append(f"media file {name}: missing in the target after the restore")
        elif restored[name] != source[name]:
            lines.append(f"media file {name}: source has {source[name]}, target {restored[name]} "
                         "(bytes, SHA-256)")
    lines += [f"media file {name}: in the target, but no row names it"
              for name in sorted(set(restored) - names)]
    lines += [f"media file {name}: made or changed while the target served its pages "
              "(a rendition made again?)"
              for name in sorted(served) if served[name] != restored.get(name)]
    return lines


def assert_round_trip(tmp_path, target_url, exclude=()):
    """Build the site on SQLite with its own MEDIA_ROOT, dump it with its files,
    restore it into `target_url` (a new, empty database) and an empty MEDIA_ROOT,
    and compare both; print what was measured."""
    source = Site("sqlite:///%s" % (tmp_path / "source.sqlite3"), tmp_path / "source-media")
    source.manage("build_site")
    source_snapshot = source.snapshot(tmp_path / "source.json")
    assert source_snapshot["fixtree"].count("No problems found") == 2, source_snapshot["fixtree"]
    assert "wagtailcore.pagelogentry" in source_snapshot["rows"]
    # Renumbered by build_site: a fresh migrate of the target numbers them from 1.
    assert min(row["pk"] for row in source_snapshot["rows"]["contenttypes.contenttype"]) > 500
    media = named_media(source_snapshot)
    source_files = files_on_disk(tmp_path / "source-media")
    assert media <= set(source_files), sorted(media - set(source_files))
    assert source_snapshot["rows"]["wagtailimages.rendition"], "no page made a rendition"
    hidden = renditions_not_shown(source_snapshot)
    assert not hidden, f"no live page shows these renditions: {hidden}"

    dump = tmp_path / "dump"
    dumped, dump_time = source.manage("dump2py", "--noinput", "--media", str(dump),
                                      what="dump2py --media")

    target_media = tmp_path / "target-media"
    target_media.mkdir()
    target = Site(target_url, target_media)
    exclude_args = [arg for label in exclude for arg in ("-e", label)]
    restored, restore_time = target.run(
        sys.executable, str(dump / "restore.py"), "--noinput", *exclude_args,
        what="python DUMP/restore.py --noinput %s" % " ".join(exclude_args),
    )
    restored_files = files_on_disk(target_media)  # before any page is served
    target_snapshot = target.snapshot(tmp_path / "target.json")
    served_files = files_on_disk(target_media)

    media_bytes = sum(source_files[name][0] for name in media)
    print(f"\nwagtail site, sqlite -> {vendor_of(target_url)}: "
          f"{row_count(source_snapshot)} rows in {len(source_snapshot['rows'])} tables, "
          f"{media_files(len(media), media_bytes)}; "
          f"dump2py --media {dump_time:.1f} s ({dumped.strip()}); "
          f"restore {restore_time:.1f} s ({restored.strip().splitlines()[-1]})")
    differences = (site_differences(source_snapshot, target_snapshot, exclude)
                   + media_differences(media, source_files, restored_files, served_files))
    if differences:
        more = len(differences) - MAX_REPORTED
        pytest.fail(f"The restored site differs from its source in {len(differences)} ways "
                    f"(snapshots: {tmp_path}/source.json, target.json):\n"
                    + "\n".join(differences[:MAX_REPORTED])
                    + (f"\n... and {more} more" if more > 0 else ""), pytrace=False)
    # Last, as it publishes the drafts: editors can work on the restored site.
    target.manage("check_editing")
    return target


def test_a_wagtail_site_comes_back_row_for_row_and_page_for_page_on_sqlite(tmp_path):
    if run_vendor() != "sqlite":
        pytest.skip("runs once, in the SQLite run")
    assert_round_trip(tmp_path, "sqlite:///%s" % (tmp_path / "target.sqlite3"))


@pytest.mark.parametrize("vendor", ["postgresql", "mariadb"])
def test_a_wagtail_site_moves_from_sqlite_to_another_backend_without_its_search_index(
    tmp_path, new_server_database, vendor
):
    target = assert_round_trip(tmp_path, new_server_database(vendor), exclude=[SEARCH_INDEX])
    # What was left out can be rebuilt on the new backend.
    target.manage("update_index", "-v", "0")
