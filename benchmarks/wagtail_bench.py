"""Benchmark on a real site: a Wagtail site restored, rows and uploaded files, by
its ``dump2py --media`` dump against stock ``loaddata`` of its json dump.

    python benchmarks/wagtail_bench.py                        # SQLite, ~40,000 rows, 3 runs
    python benchmarks/wagtail_bench.py --database-url mysql://root@127.0.0.1:3306/pyser_bench_wagtail
    python benchmarks/wagtail_bench.py --database-url postgres://postgres@127.0.0.1:5432/pyser_bench_wagtail
    python benchmarks/wagtail_bench.py --rows 10000 --repeat 1 --results /tmp/wagtail_results
    python benchmarks/wagtail_bench.py --profile              # also py-spy of one restore

The site is built once (benchmarks/wagtail_site.py: Wagtail's own APIs on the
test site's models, seeded), in ``<base>_src``. Then, round after round, each
step runs as a whole process (bench.py's runner: wall time, CPU time, and the
peak RSS that ``os.wait4`` reports for the child):

- ``dump2py --media DIR`` (the rows, and every image, rendition and document
  file they name, copied into ``DIR/media``) and stock ``dumpdata --format
  json``, plain, which holds rows only: the natural-key
  options Django advises for a backup (``--json natural``) make stock
  dumpdata fail on any Wagtail site that has deleted a page ("Unable to
  serialize database: Page matching query does not exist": the audit log
  keeps the ids of deleted pages, and Page has a natural key);
- ``python DIR/restore.py --noinput`` (rows and files), the same with
  ``--jobs 2`` (a second process reads the chunks), ``loaddata
  DIR/restore.py`` and stock ``loaddata dump.json`` (rows only: loaddata
  restores no files), each into a freshly migrated empty database copied
  from a template outside the timing (SQLite: a file copy; PostgreSQL: CREATE
  DATABASE ... TEMPLATE; MariaDB: the template's mysqldump replayed) and an
  empty MEDIA_ROOT of its own.

After the first run of each load the restored database is compared with the
source: row counts per table, and a checksum of every column of every model
(content types and permissions by natural key; a difference is named down to
the field); and the target's MEDIA_ROOT with the source's, file by file
(size and SHA-256). The built site's page and collection trees are checked with
treebeard's ``find_problems``. The report, with the target "restore at least
6x (SQLite) or 8x (PostgreSQL, MariaDB) faster than stock loaddata", goes to ``RESULTS/wagtail-<vendor>.md`` and
``.json`` (default benchmarks/results; ``--profile`` adds
``wagtail-<vendor>-profile-restore.txt``). The database name must start with
``pyser_bench``: its ``_src``, ``_tpl`` and ``_dst`` databases are dropped and
re-created, and dropped at the end.

Building the default site (about 40,000 rows, some 1,100 pages) takes 2 to 6
minutes on a busy 2-core machine (SQLite fastest, PostgreSQL slowest); a run
on one backend, 3 runs per step, takes about 5 more. On MariaDB the test
site's settings use mysqlclient where it is installed (``make mysqlclient``),
else PyMySQL.
"""

import argparse
import datetime
import hashlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import bench
import databases
import profiles
from bench import Measure, Step, remove, run_process, size_of, tail

HERE = bench.HERE
REPO = bench.REPO
SETTINGS = "benchmarks.wagtail_settings"
# How many times faster than stock loaddata ``python DIR/restore.py`` should be, per vendor.
TARGET_RATIOS = {"sqlite": 6.0, "postgresql": 8.0, "mysql": 8.0}
JSON_OPTIONS = {
    "natural": ["--natural-foreign", "--natural-primary", "-e", "contenttypes", "-e", "auth.permission"],
    "plain": [],
}
STEPS = [
    Step("dump2py", "dump2py --media DIR", "dump"),
    Step("dumpdata-json", "dumpdata --format json", "dump"),
    Step("restore-script", "python DIR/restore.py --noinput", "load", needs="dump2py"),
    Step("restore-script-jobs2", "python DIR/restore.py --noinput --jobs 2", "load",
         needs="dump2py"),
    Step("loaddata-dump2py", "loaddata DIR/restore.py", "load", needs="dump2py"),
    Step("loaddata-json", "loaddata dump.json (stock)", "load", needs="dumpdata-json"),
]
OURS, STOCK = "restore-script", "loaddata-json"
# The loads that put the dump's files back; loaddata restores rows only.
FILES_RESTORED = {"restore-script", "restore-script-jobs2"}


class WagtailBench:
    def __init__(self, args):
        self.args = args
        self.work = args.workdir
        self.out = os.path.join(self.work, "out")
        self.logs = os.path.join(self.work, "logs")
        # The source site's uploads, and the empty MEDIA_ROOT each load starts with.
        self.media = {"src": os.path.join(self.work, "media-src"), "dst": os.path.join(self.work, "media-dst")}
        for directory in (self.out, self.logs, *self.media.values()):
            os.makedirs(directory, exist_ok=True)
        url = args.database_url or "sqlite:///" + os.path.join(self.work, "pyser_bench_wagtail.sqlite3")
        self.db = databases.backend_for(url)
        self.python = sys.executable
        self.code = os.path.join(self.work, "code")
        snapshot_code(self.code)
        self.measures = {step.key: Measure() for step in STEPS}
        self.loads = {step.key: [] for step in STEPS}
        self.checks = {}
        self.load_average = [os.getloadavg()]
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.template_sql = None

    # -- processes -----------------------------------------------------------

    def env(self, role):
        env = {key: value for key, value in os.environ.items() if key != "PYTHONSTARTUP"}
        env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS,
            PYTHONPATH=os.pathsep.join(
                [os.path.join(self.code, "tests"), self.code]
                + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
            ),
            PYSER_BENCH_CODE=self.code,
            WAGTAILSITE_DATABASE_URL=self.db.url_for(role),
            WAGTAILSITE_MEDIA_ROOT=self.media["src" if role == "src" else "dst"],
        )
        return env

    def helper(self, role, *arguments):
        """Run wagtail_site.py (untimed work); return its standard output."""
        command = [self.python, os.path.join(HERE, "wagtail_site.py")] + list(arguments)
        done = subprocess.run(command, env=self.env(role), cwd=self.code, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit("wagtail_bench: %s failed on %s:\n%s" % (
                shlex.join(arguments), role, done.stderr[-3000:]))
        return done.stdout

    def path(self, name):
        return os.path.join(self.out, name)

    def command(self, key):
        django = [self.python, "-m", "django"]
        if key == "dump2py":
            return django + ["dump2py", "--noinput", "--media", self.path("dump")], "src"
        if key == "dumpdata-json":
            return django + ["dumpdata", "--format", "json"] + JSON_OPTIONS[self.args.json] + [
                "-o", self.path("dump.json")], "src"
        if key == "restore-script":
            return [self.python, self.path("dump/restore.py"), "--noinput"], "dst"
        if key == "restore-script-jobs2":
            return [self.python, self.path("dump/restore.py"), "--noinput", "--jobs", "2"], "dst"
        if key == "loaddata-dump2py":
            return django + ["loaddata", self.path("dump/restore.py")], "dst"
        if key == "loaddata-json":
            return django + ["loaddata", self.path("dump.json")], "dst"
        raise KeyError(key)

    def output_of(self, key):
        return {"dump2py": "dump", "dumpdata-json": "dump.json"}.get(key)

    # -- databases -----------------------------------------------------------

    def prepare(self):
        """The template (migrated, empty) and the source (the built site)."""
        self.db.recreate("tpl")
        start = time.perf_counter()
        self.helper("tpl", "migrate")
        self.migrate_s = time.perf_counter() - start
        self.info = json.loads(self.helper("tpl", "info"))
        if not self.db.has_templates and shutil.which("mysqldump") and shutil.which("mysql"):
            self.template_sql = os.path.join(self.work, "template.sql")
            with open(self.template_sql, "wb") as sql:
                subprocess.run(["mysqldump"] + self.mysql_server() + [self.db.name("tpl")],
                               stdout=sql, check=True)
        self.db.recreate("src")
        print("wagtail_bench: building the site (about %d rows) ..." % self.args.rows, flush=True)
        start = time.perf_counter()
        built = json.loads(self.helper("src", "build", "--rows", str(self.args.rows), "--seed", str(self.args.seed)))
        self.generation_s = time.perf_counter() - start
        self.generation_parts = built["timings"]
        self.counts = built["counts"]
        self.tree_problems = built["tree_problems"]
        if self.tree_problems:
            print("wagtail_bench: the built site's trees have problems: %s" % self.tree_problems, flush=True)
        self.checksums = json.loads(self.helper("src", "checksums"))
        self.models = {key for key in self.checksums if key.count(".") == 1}
        self.source_media = media_files(self.media["src"])
        print("wagtail_bench: %d rows in %d tables, %d media files (%s bytes), built in %.1f s" % (
            sum(self.counts.values()), len(self.counts), len(self.source_media),
            "{:,}".format(media_bytes(self.source_media)), self.generation_s), flush=True)

    def mysql_server(self):
        c = self.db.connection("tpl")
        server = ["--default-character-set=utf8mb4", "-h", c["host"] or "127.0.0.1", "-P", str(c["port"] or 3306)]
        return server + (["-u", c["user"]] if c["user"] else [])

    def fresh_target(self):
        remove(self.media["dst"])
        os.makedirs(self.media["dst"])
        if self.db.has_templates:
            self.db.copy("tpl", "dst")
            return
        self.db.recreate("dst")
        if self.template_sql:
            with open(self.template_sql, "rb") as sql:
                subprocess.run(["mysql"] + self.mysql_server() + [self.db.name("dst")], stdin=sql, check=True)
        else:
            self.helper("dst", "migrate")

    def verify(self, key):
        """The loaded database must hold the source's rows, value for value."""
        counts = json.loads(self.helper("dst", "count"))
        checksums = json.loads(self.helper("dst", "checksums"))
        wrong_counts = {t: (counts.get(t), n) for t, n in self.counts.items() if counts.get(t) != n}
        wrong = sorted(key for key, digest in self.checksums.items() if checksums.get(key) != digest)
        wrong_models = [key for key in wrong if key in self.models]
        restored_media = media_files(self.media["dst"])
        wrong_media = sorted(name for name in set(self.source_media) | set(restored_media)
                             if restored_media.get(name) != self.source_media.get(name))
        self.checks[key] = {
            "counts_equal": not wrong_counts,
            "values_equal": not wrong,
            "wrong_counts": {t: {"loaded": got, "source": want} for t, (got, want) in wrong_counts.items()},
            "models_with_other_values": wrong_models,
            "fields_with_other_values": [key for key in wrong if key not in wrong_models],
            "media_files": len(restored_media),
            "media_equal": not wrong_media,
            "media_differing": wrong_media,
        }
        if wrong_counts or wrong:
            print("wagtail_bench: %s: the loaded site differs: counts %s, values of %s" % (
                key, wrong_counts or "equal", some(wrong)), flush=True)
        if wrong_media and key in FILES_RESTORED:
            print("wagtail_bench: %s: the restored media differ from the source's: %s" % (
                key, some(wrong_media)), flush=True)

    # -- the run -------------------------------------------------------------

    def run(self):
        print("wagtail_bench: work directory %s" % self.work, flush=True)
        self.prepare()
        self.startup = self.measure_startup()
        for repeat in range(1, self.args.repeat + 1):
            for step in STEPS:
                self.measure_once(step, repeat)
        if self.args.profile:
            self.profile()
        self.load_average.append(os.getloadavg())

    def measure_startup(self):
        """The fixed cost of every step: Python, Django, Wagtail and the settings."""
        log = os.path.join(self.logs, "startup.log")
        runs = [run_process([self.python, "-m", "django", "check"], self.env("src"), log)
                for _ in range(max(1, self.args.repeat))]
        return {"command": "python -m django check", "median_s": statistics.median(r.seconds for r in runs),
                "peak_rss_mb": max(r.peak_kb for r in runs) / 1024}

    def measure_once(self, step, repeat):
        measure = self.measures[step.key]
        if measure.status != "ok":
            return
        if step.needs and self.measures[step.needs].status != "ok":
            measure.status, measure.note = "skipped", "its dump (%s) failed" % step.needs
            return
        output = self.output_of(step.key)
        if output:
            remove(self.path(output))
        if step.kind == "load":
            self.fresh_target()
        command, role = self.command(step.key)
        log = os.path.join(self.logs, "%s-%d.log" % (step.key, repeat))
        load = os.getloadavg()[0]
        run = run_process(command, self.env(role), log)
        if run.code != 0:
            measure.status = "failed"
            measure.note = "exit status %d: %s" % (run.code, error_of(log))
            print("wagtail_bench: %-16s run %d: FAILED (exit %d), see %s" % (step.key, repeat, run.code, log),
                  flush=True)
            return
        measure.times.append(run.seconds)
        measure.peaks_kb.append(run.peak_kb)
        measure.cpu.append(run.cpu)
        self.loads[step.key].append(load)
        if output:
            measure.output_bytes = size_of(self.path(output))
        print("wagtail_bench: %-16s run %d/%d: %7.2f s wall %7.2f s CPU %6.1f MB (load %.2f)" % (
            step.key, repeat, self.args.repeat, run.seconds, run.cpu, run.peak_kb / 1024, load), flush=True)
        if step.kind == "load" and repeat == 1:
            self.verify(step.key)

    def profile(self):
        """One more restore under py-spy; its top functions go next to the report."""
        spy = shutil.which("py-spy") or os.path.join(os.path.dirname(self.python), "py-spy")
        if not os.path.exists(spy):
            print("wagtail_bench: --profile needs py-spy: pip install py-spy", flush=True)
            return
        if self.measures["dump2py"].status != "ok":
            return
        self.fresh_target()
        command, role = self.command(OURS)
        raw = os.path.join(self.logs, "profile-restore.raw")
        run = run_process([spy, "record", "--rate", "250", "--format", "raw", "--output", raw, "--"] + command,
                          self.env(role), os.path.join(self.logs, "profile-restore.log"))
        os.makedirs(self.args.results, exist_ok=True)
        path = os.path.join(self.args.results, "wagtail-%s-profile-restore.txt" % self.db.vendor)
        title = "python DIR/restore.py --noinput, Wagtail site of %s rows on %s, %.1f s under py-spy (exit %d)" % (
            "{:,}".format(sum(self.counts.values())), self.info["server"], run.seconds, run.code)
        with open(path, "w", encoding="utf-8") as out:
            out.write(profiles.summarize(raw, title))
        self.profile_path = path
        print("wagtail_bench: profile: %s" % path, flush=True)

    # -- report --------------------------------------------------------------

    def summary(self):
        total = sum(self.counts.values())
        steps = {}
        for step in STEPS:
            entry = self.measures[step.key].as_dict(total)
            entry.update(title=self.title(step), kind=step.kind,
                         load_average=self.loads[step.key], check=self.checks.get(step.key))
            steps[step.key] = entry
        ours, stock = steps[OURS]["median_s"], steps[STOCK]["median_s"]
        ratio = stock / ours if ours and stock else None
        jobs2 = steps["restore-script-jobs2"]["median_s"]
        wanted = TARGET_RATIOS[self.db.vendor]
        return {
            "command": self.args.command_line,
            "started": self.started.isoformat(timespec="seconds"),
            "repeat": self.args.repeat,
            "seed": self.args.seed,
            "json_dump": self.args.json,
            "site": {
                "requested_rows": self.args.rows, "total_rows": total, "tables": self.counts,
                "media": {"files": len(self.source_media), "bytes": media_bytes(self.source_media)},
                "generated_s": self.generation_s, "generation_parts_s": self.generation_parts,
                "migrate_s": self.migrate_s, "tree_problems": self.tree_problems,
            },
            "machine": dict(bench.machine_info(self.info, self.db), git=bench.git_revision(),
                            wagtail=wagtail_version(),
                            load_average_start=self.load_average[0], load_average_end=self.load_average[-1]),
            "startup": self.startup,
            "steps": steps,
            "target": {
                "ratio": ratio, "wanted": wanted,
                "verdict": None if ratio is None else ("MET" if ratio >= wanted else "NOT MET"),
                "jobs2_ratio": stock / jobs2 if jobs2 and stock else None,
                "stock_failure": steps[STOCK]["note"] if steps[STOCK]["status"] != "ok" else "",
            },
        }

    def title(self, step):
        if step.key == "dumpdata-json":
            return " ".join(["dumpdata --format json"] + JSON_OPTIONS[self.args.json])
        return step.title


def error_of(log):
    """The error message of a failed step: its last unindented line naming an
    error (a traceback's own last line may be noise from a generator's cleanup)."""
    lines = [line for line in tail(log, 200).splitlines() if line and not line.startswith(" ")]
    errors = [line for line in lines if "Error" in line.split(":", 1)[0] and not line.startswith("Traceback")]
    return (errors[0] if errors else "\n".join(lines[-4:]))[:2000]


def snapshot_code(target):
    """bench.py's snapshot of the code under test, plus the Wagtail site."""
    bench.snapshot_code(target)
    shutil.copytree(os.path.join(REPO, "tests", "wagtailsite"), os.path.join(target, "tests", "wagtailsite"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
    shutil.copy(os.path.join(HERE, "wagtail_settings.py"), os.path.join(target, "benchmarks"))


def wagtail_version():
    import wagtail

    return wagtail.__version__


def media_files(root):
    """{name under `root`: [bytes, SHA-256]} of every file in a MEDIA_ROOT."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            digest = hashlib.sha256()
            with open(path, "rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
            files[os.path.relpath(path, root)] = [os.path.getsize(path), digest.hexdigest()]
    return files


def media_bytes(files):
    return sum(size for size, _ in files.values())


def media_verdict(key, check):
    """What a load did with the files: a restore must bring back every one."""
    if key not in FILES_RESTORED:
        return "no files (loaddata restores rows only)" if not check["media_files"] else (
            "%d media files, but loaddata restores none" % check["media_files"])
    if check["media_equal"]:
        return "%d media files equal" % check["media_files"]
    return "MEDIA DIFFER: %s" % some(check["media_differing"])


def media_note(summary):
    """The closing note: the site's files, and what carrying them cost."""
    media, steps = summary["site"]["media"], summary["steps"]
    note = ("The site's MEDIA_ROOT held %s files, %s bytes (original images, renditions, "
            "documents). " % ("{:,}".format(media["files"]), "{:,}".format(media["bytes"])))
    timed = [(steps[key], what) for key, what in (
        ("dump2py", "`dump2py --media` copied them into the dump"),
        (OURS, "`python DIR/restore.py` put them back into an empty MEDIA_ROOT"),
    ) if steps[key]["status"] == "ok"]
    if timed:
        note += ", and ".join("%s (%.2f s wall, %.2f s CPU, with the rows)" % (
            what, step["median_s"], step["cpu_s"]) for step, what in timed)
        note += ". "
    return note + ("The json dump and both `loaddata` steps carry rows only: with them, the files "
                   "are copied apart, and their times leave that out.")


def some(names, shown=6):
    if not names:
        return "none"
    more = len(names) - shown
    return ", ".join(names[:shown]) + (" and %d more" % more if more > 0 else "")


def fmt(value, pattern):
    return "" if value is None else pattern % value


def markdown(summary):
    site, machine, target = summary["site"], summary["machine"], summary["target"]
    lines = [
        "# Wagtail site: restore against stock loaddata (%s)" % machine["backend"],
        "",
        "`%s`, %s, %d run(s) per step, median." % (summary["command"], summary["started"], summary["repeat"]),
        "",
        "| step | wall (s) | CPU (s) | peak RSS (MB) | output | load avg at each run | check |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for key, step in summary["steps"].items():
        if step["status"] != "ok":
            lines.append("| %s | %s | | | | | %s |" % (step["title"], step["status"].upper(),
                                                       step["note"].replace("\n", " ").replace("|", "\\|")))
            continue
        check = step["check"]
        verdict = "" if check is None else (
            "rows and values equal" if check["counts_equal"] and check["values_equal"] else
            "DIFFERS: counts %s; values of %d models, fields %s" % (
                "equal" if check["counts_equal"] else "of " + ", ".join(check["wrong_counts"]),
                len(check["models_with_other_values"]), some(check["fields_with_other_values"])))
        if check is not None:
            verdict += "; " + media_verdict(key, check)
        lines.append("| %s | %.2f | %.2f | %.0f | %s | %s | %s |" % (
            step["title"], step["median_s"], step["cpu_s"], step["peak_rss_mb"],
            fmt(step["output_bytes"] and step["output_bytes"] / 1e6, "%.1f MB"),
            ", ".join("%.2f" % load for load in step["load_average"]), verdict))
    lines += [
        "",
        "Each load starts from a freshly migrated empty database and an empty MEDIA_ROOT. Check: after "
        "its first run, the row count of every table and a checksum of every column of every model, "
        "compared with the source (datetimes at full precision; Django's json keeps milliseconds only, "
        "so a json round trip changes every datetime with microseconds), and every file of MEDIA_ROOT "
        "(size and SHA-256). Output: the bytes on disk, the dump's media/ included.",
    ]
    lines += ["", "**Target**: `python DIR/restore.py` at least %gx faster than stock `loaddata dump.json`: " % (
        target["wanted"])]
    if target["ratio"] is not None:
        lines[-1] += "stock / ours = **%.2fx**, **%s**." % (target["ratio"], target["verdict"])
        if target.get("jobs2_ratio"):
            lines[-1] += " With `--jobs 2`: %.2fx." % target["jobs2_ratio"]
    else:
        lines[-1] += "no ratio (%s)." % (target["stock_failure"] or "a step failed")
    if target["stock_failure"]:
        lines += ["", "Stock loaddata failed on this site:", "", "```", target["stock_failure"], "```"]
    total = site["total_rows"]
    top = sorted(site["tables"].items(), key=lambda item: -item[1])[:15]
    lines += [
        "", "## The site", "",
        "%s rows in %d tables (asked for about %s), built through Wagtail's APIs in %.0f s "
        "(migrate: %.0f s); parts: %s." % (
            "{:,}".format(total), len(site["tables"]), "{:,}".format(site["requested_rows"]),
            site["generated_s"], site["migrate_s"],
            ", ".join("%s %.0f s" % item for item in site["generation_parts_s"].items())),
        "",
        "Trees (treebeard's find_problems on pages and collections): %s." % (
            json.dumps(site["tree_problems"]) if site["tree_problems"] else "no problems"),
        "", "| table | rows |", "|---|---:|",
    ]
    lines += ["| %s | %s |" % (table, "{:,}".format(rows)) for table, rows in top]
    startup = summary["startup"]
    lines += [
        "", "## Machine", "",
        "- %s, %s CPUs (%s), %s, %s through %s" % (
            machine["os"], machine["cpu_count"], machine["cpu"], machine["memory"], machine["backend"],
            machine.get("driver") or "its driver"),
        "- Python %s, Django %s, Wagtail %s, pyserializer %s, git %s" % (
            machine["python"], machine["django"], machine["wagtail"], machine["pyserializer"], machine["git"]),
        "- load average (1, 5, 15 min) at start %s, at end %s" % (
            "/".join("%.2f" % x for x in machine["load_average_start"]),
            "/".join("%.2f" % x for x in machine["load_average_end"])),
        "- startup of any step (`%s`): %.2f s, %.0f MB" % (
            startup["command"], startup["median_s"], startup["peak_rss_mb"]),
        "- the json dump: `%s`" % summary["steps"]["dumpdata-json"]["title"],
        "", "## Media", "", media_note(summary),
    ]
    return "\n".join(lines) + "\n"


def write(summary, directory, vendor):
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, "wagtail-%s" % vendor)
    with open(base + ".json", "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=1, sort_keys=False)
    with open(base + ".md", "w", encoding="utf-8") as out:
        out.write(markdown(summary))
    return [base + ".md", base + ".json"]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="base URL, its name starting with pyser_bench "
                        "(default: SQLite files in the work directory)")
    parser.add_argument("--rows", type=int, default=40000, help="about how many rows the site has (default 40000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the median is reported (default 3)")
    parser.add_argument("--seed", type=int, default=4, help="seed of the site's content")
    parser.add_argument("--json", choices=sorted(JSON_OPTIONS), default="plain",
                        help="the stock json dump: 'plain' (default) or 'natural' (natural keys, without "
                        "content types and permissions, as Django's docs advise for a backup; stock "
                        "dumpdata fails with it on this site, see the module's docstring)")
    parser.add_argument("--results", default=bench.RESULTS, help="where wagtail-<vendor>.md and .json go "
                        "(default benchmarks/results)")
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory, its dumps and logs")
    parser.add_argument("--profile", action="store_true",
                        help="record one more restore with py-spy; its summary goes next to the report")
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["python", "benchmarks/wagtail_bench.py"] + list(argv))
    args.own_workdir = not args.workdir
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="pyser_bench_wagtail-"))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    run = WagtailBench(args)
    try:
        run.run()
        summary = run.summary()
        paths = write(summary, args.results, run.db.vendor)
        print(markdown(summary), flush=True)
        print("wagtail_bench: wrote %s" % ", ".join(paths), flush=True)
    finally:
        try:
            for role in ("src", "tpl", "dst"):
                run.db.drop(role)
        except Exception as exc:  # the results are written; say why cleaning failed
            print("wagtail_bench: could not drop the benchmark databases: %s" % exc, file=sys.stderr)
        if args.own_workdir and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
