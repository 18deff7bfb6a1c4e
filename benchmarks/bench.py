"""Benchmark: the "py" format against dumpdata/loaddata and the plain driver.

    python benchmarks/bench.py                      # 100k rows every tool, 1M rows py + driver + native
    python benchmarks/bench.py --quick              # a smoke run, about a minute
    python benchmarks/bench.py --database-url postgres://postgres@127.0.0.1:5432/pyser_bench

Every step is a whole process (``python -m django ...`` with
benchmarks/settings.py, or the driver script), timed from start to exit, with
its peak resident memory as the kernel reports it for the child when it is
reaped (``ru_maxrss`` of ``os.wait4``: the largest RSS the process, or any
child it waited for, ever had; no polling). Loads start from a freshly
migrated database copied from a template outside the timing. The results go
to ``benchmarks/results/``: results.md, chart.png and results.json.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import databases
import profiles
import report

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
DEFAULT_SIZES = (100000, 1000000)
QUICK_SIZES = (5000, 20000)
PROCESS_TIMEOUT = 4 * 3600
SETTINGS = "benchmarks.settings"
RECEIVERS = ("benchmarks/benchapp: a `pre_save` receiver on every model, as Wagtail has, and a "
             "`post_save` receiver on every generated model but countries and the Left/Right cycle")


@dataclass
class Step:
    key: str
    title: str
    kind: str  # "dump" or "load"
    py: bool = False  # part of the py pipeline, measured at every size
    limit: bool = False  # the driver's physical limit, measured at every size
    needs: str = ""  # the dump step whose output this load reads
    native: bool = False  # the database's own tool (pg_dump, mysqldump, sqlite3), measured at every size
    available: bool = True
    why_not: str = ""


STEPS = [
    Step("dumpdata-json", "dumpdata --format json", "dump"),
    Step("dumpdata-jsonl", "dumpdata --format jsonl", "dump"),
    Step("dumpdata-py", "dumpdata --format py -o DIR/restore.py", "dump", py=True),
    Step("dump2py", "dump2py DIR", "dump", py=True),
    Step("dump2py-jobs2", "dump2py --jobs 2 DIR", "dump", py=True),
    Step("dump2py-gzip", "dump2py --compress gzip DIR", "dump"),
    Step("dump2py-zstd", "dump2py --compress zstd DIR", "dump"),
    Step("driver-read", "driver read limit (SELECT, repr to a file)", "dump", limit=True),
    # Titles and commands depend on the backend: see NATIVE.
    Step("native-dump", "the database's own dump", "dump", native=True),
    Step("loaddata-json", "loaddata dump.json", "load", needs="dumpdata-json"),
    Step("loaddata-jsonl", "loaddata dump.jsonl", "load", needs="dumpdata-jsonl"),
    Step("loaddata-py", "loaddata DIR/restore.py (dumpdata's)", "load", py=True, needs="dumpdata-py"),
    Step("loaddata-dump2py", "loaddata DIR/restore.py (dump2py's)", "load", py=True, needs="dump2py"),
    Step("loaddata-gzip", "loaddata DIR/restore.py (dump2py --compress gzip's)", "load",
         needs="dump2py-gzip"),
    Step("loaddata-zstd", "loaddata DIR/restore.py (dump2py --compress zstd's)", "load",
         needs="dump2py-zstd"),
    Step("restore-script", "python DIR/restore.py --noinput", "load", py=True),
    Step("restore-script-nosignals", "python DIR/restore.py --noinput --no-signals", "load", py=True),
    Step("restore-script-jobs2", "python DIR/restore.py --noinput --no-signals --jobs 2", "load",
         py=True),
    Step("driver-insert", "driver insert limit (eval + executemany)", "load", limit=True, needs="driver-read"),
    Step("native-restore", "the database's own restore", "load", native=True, needs="native-dump"),
]
STEP = {step.key: step for step in STEPS}
# The steps that run the dump2py directory's restore.py.
RESTORE_SCRIPTS = ("restore-script", "restore-script-nosignals", "restore-script-jobs2")

# The tools each database ships, per vendor: the client binaries they need,
# the titles of native-dump and native-restore, and the dump's file name.
NATIVE = {
    "postgresql": {
        "binaries": ("pg_dump", "pg_restore"),
        "dump": "pg_dump -Fc DB -f dump.pgc",
        "restore": "pg_restore -1 -d NEW dump.pgc (into an empty database)",
        "file": "native.pgc",
    },
    "mysql": {
        "binaries": ("mysqldump", "mysql"),
        "dump": "mysqldump --single-transaction DB > dump.sql",
        "restore": "mysql NEW < dump.sql (into an empty database)",
        "file": "native.sql",
    },
    "sqlite": {
        "binaries": ("sqlite3",),
        "dump": "sqlite3 DB .dump > dump.sql",
        "restore": "sqlite3 NEW < dump.sql (into an empty database)",
        "file": "native.sql",
    },
}


@dataclass
class Measure:
    """The runs of one step at one size."""

    times: list = field(default_factory=list)
    peaks_kb: list = field(default_factory=list)
    cpu: list = field(default_factory=list)
    output_bytes: int = None
    status: str = "ok"  # ok, failed, skipped
    note: str = ""
    values: str = None  # after a load: "exact", or which columns' values differ from the source's
    negative_zeros: int = None  # after a load: the -0.0 values in the target
    signals: dict = None  # what benchapp's receivers got in the first run: {"pre_save": n, ...}

    def as_dict(self, rows):
        median = statistics.median(self.times) if self.times else None
        return {
            "status": self.status,
            "note": self.note,
            "times": self.times,
            "median_s": median,
            "rows_per_s": rows / median if median else None,
            "peak_rss_mb": max(self.peaks_kb) / 1024 if self.peaks_kb else None,
            "cpu_s": statistics.median(self.cpu) if self.cpu else None,
            "output_bytes": self.output_bytes,
            "values": self.values,
            "negative_zeros": self.negative_zeros,
            "signals": self.signals,
        }


@dataclass
class Run:
    seconds: float  # wall time
    peak_kb: int  # ru_maxrss
    cpu: float  # user + system CPU seconds
    code: int  # exit status


def run_process(command, env, log_path, timeout=PROCESS_TIMEOUT, stdin_path=None, stdout_path=None):
    """Run one whole process and say what it took (``stdin_path`` and
    ``stdout_path``: the shell's ``< file`` and ``> file``, opened before the
    clock starts)."""
    with open(log_path, "ab") as log, \
            open(stdin_path or os.devnull, "rb") as stdin, \
            (open(stdout_path, "wb") if stdout_path else log) as stdout:
        log.write(("$ %s%s%s\n" % (
            shlex.join(command), " < " + shlex.quote(stdin_path) if stdin_path else "",
            " > " + shlex.quote(stdout_path) if stdout_path else "")).encode())
        log.flush()
        start = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, cwd=env["PYSER_BENCH_CODE"], stdin=stdin, stdout=stdout,
            stderr=log if stdout_path else subprocess.STDOUT, start_new_session=True,
        )
        timer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C or SIGTERM: the step's own session goes too
            os.killpg(process.pid, signal.SIGKILL)
            os.waitpid(process.pid, 0)
            process.returncode = -signal.SIGKILL
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
    return Run(seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, process.returncode)


def tail(path, lines=6):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return "".join(log.readlines()[-lines:]).strip()
    except OSError:
        return ""


def size_of(path):
    """Bytes of a file, or of every file under a directory (a dump's media/ included)."""
    if os.path.isdir(path):
        return sum(
            os.path.getsize(os.path.join(folder, name))
            for folder, _, names in os.walk(path)
            for name in names
        )
    return os.path.getsize(path) if os.path.exists(path) else None


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.workdir
        self.out = os.path.join(self.work, "out")
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.out, exist_ok=True)
        os.makedirs(self.logs, exist_ok=True)
        url = args.database_url or "sqlite:///" + os.path.join(self.work, "pyser_bench.sqlite3")
        self.db = databases.backend_for(url)
        self.python = sys.executable
        self.results = {}
        self.counts = {}
        self.sources = {}  # per size: generate.py checksum of the source
        self.generation = {}
        self.info = {}
        self.startup = None
        self.load_average = [os.getloadavg()[0]]
        self.revision = git_revision()
        self.code = os.path.join(self.work, "code")
        snapshot_code(self.code)

    # -- processes -------------------------------------------------------

    def env(self, role):
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        env["PYTHONPATH"] = os.pathsep.join(
            [os.path.join(self.code, "tests"), self.code]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        env["PYSER_BENCH_CODE"] = self.code
        env["DATABASE_URL"] = self.db.url_for(role)
        env.pop("PYTHONSTARTUP", None)
        password = self.db.settings.get("PASSWORD")
        if password and self.db.vendor == "postgresql":
            env["PGPASSWORD"] = password  # for pg_dump and pg_restore
        elif password and self.db.vendor == "mysql":
            env["MYSQL_PWD"] = password  # for mysqldump and mysql
        return env

    def helper(self, role, *arguments):
        """Run generate.py (untimed work); return its standard output."""
        command = [self.python, os.path.join(HERE, "generate.py")] + list(arguments)
        done = subprocess.run(command, env=self.env(role), cwd=self.code, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(
                "bench: %s failed on %s:\n%s" % (shlex.join(arguments), role, done.stderr[-3000:])
            )
        return done.stdout

    def path(self, name):
        return os.path.join(self.out, name)

    def command(self, step):
        """The command line of one step, and the database it runs on."""
        django = [self.python, "-m", "django"]
        driver = [self.python, os.path.join(HERE, "driver_limit.py")]
        key = step.key
        if key == "dumpdata-json":
            return django + ["dumpdata", "--format", "json", "-o", self.path("dump.json")], "src"
        if key == "dumpdata-jsonl":
            return django + ["dumpdata", "--format", "jsonl", "-o", self.path("dump.jsonl")], "src"
        if key == "dumpdata-py":
            return django + ["dumpdata", "--format", "py", "-o", self.path("py-dumpdata/restore.py")], "src"
        if key == "dump2py":
            return django + ["dump2py", self.path("py-dump2py")], "src"
        if key == "dump2py-jobs2":
            return django + ["dump2py", "--jobs", "2", self.path("py-dump2py-jobs2")], "src"
        if key in ("dump2py-gzip", "dump2py-zstd"):
            return django + ["dump2py", "--compress", key[8:], self.path("py-" + key)], "src"
        if key == "driver-read":
            return driver + [
                "read", json.dumps(self.db.connection("src")), self.path("driver.txt")
            ] + self.info["tables"], "src"
        if key == "loaddata-json":
            return django + ["loaddata", self.path("dump.json")], "dst"
        if key == "loaddata-jsonl":
            return django + ["loaddata", self.path("dump.jsonl")], "dst"
        if key == "loaddata-py":
            return django + ["loaddata", self.path("py-dumpdata/restore.py")], "dst"
        if key == "loaddata-dump2py":
            return django + ["loaddata", self.path("py-dump2py/restore.py")], "dst"
        if key in ("loaddata-gzip", "loaddata-zstd"):
            return django + ["loaddata", self.path("py-dump2py-%s/restore.py" % key[9:])], "dst"
        if key == "restore-script":
            return [self.python, self.restore_script_path(), "--noinput"], "dst"
        if key == "restore-script-nosignals":
            return [self.python, self.restore_script_path(), "--noinput", "--no-signals"], "dst"
        if key == "restore-script-jobs2":
            return [self.python, self.restore_script_path(), "--noinput", "--no-signals",
                    "--jobs", "2"], "dst"
        if key == "driver-insert":
            return driver + ["insert", json.dumps(self.db.connection("dst")), self.path("driver.txt")], "dst"
        if key in ("native-dump", "native-restore"):
            return self.native_command(key), "src" if key == "native-dump" else "dst"
        raise KeyError(key)

    def native_command(self, key):
        """pg_dump/pg_restore, mysqldump/mysql or sqlite3 (see redirects())."""
        vendor, dump = self.db.vendor, self.path(NATIVE[self.db.vendor]["file"])
        c = self.db.connection("src" if key == "native-dump" else "dst")
        if vendor == "sqlite":
            return ["sqlite3", c["name"]] + ([".dump"] if key == "native-dump" else [])
        server = ["-h", c["host"] or "127.0.0.1", "-p" if vendor == "postgresql" else "-P",
                  str(c["port"] or (5432 if vendor == "postgresql" else 3306))]
        if vendor == "postgresql":
            server += ["-U", c["user"]] if c["user"] else []
            if key == "native-dump":
                return ["pg_dump", "-Fc", "-f", dump] + server + [c["name"]]
            return ["pg_restore", "-1", "--exit-on-error", "-d", c["name"]] + server + [dump]
        server += ["-u", c["user"]] if c["user"] else []
        if key == "native-dump":
            return ["mysqldump", "--single-transaction", "--default-character-set=utf8mb4"] + server + [c["name"]]
        return ["mysql", "--default-character-set=utf8mb4"] + server + [c["name"]]

    def redirects(self, step):
        """The (stdin, stdout) files of a step, as a shell's < and > would give."""
        if step.key == "native-dump" and self.db.vendor != "postgresql":
            return None, self.path(NATIVE[self.db.vendor]["file"])
        if step.key == "native-restore" and self.db.vendor != "postgresql":
            return self.path(NATIVE[self.db.vendor]["file"]), None
        return None, None

    def restore_script_path(self):
        if STEP["dump2py"].available:
            return self.path("py-dump2py/restore.py")
        return self.path("py-dumpdata/restore.py")

    def output_of(self, step):
        return {
            "dumpdata-json": "dump.json",
            "dumpdata-jsonl": "dump.jsonl",
            "dumpdata-py": "py-dumpdata",
            "dump2py": "py-dump2py",
            "dump2py-jobs2": "py-dump2py-jobs2",
            "dump2py-gzip": "py-dump2py-gzip",
            "dump2py-zstd": "py-dump2py-zstd",
            "driver-read": "driver.txt",
            "native-dump": NATIVE[self.db.vendor]["file"],
        }.get(step.key)

    # -- databases -------------------------------------------------------

    def fresh_target(self, empty, bare=False):
        """A freshly migrated database for one load (emptied for the driver);
        with ``bare``, a new database with no tables at all (native restores)."""
        if bare:
            self.db.recreate("dst")
        elif self.db.has_templates:
            self.db.copy("tpl0" if empty else "tpl", "dst")
        else:
            self.db.recreate("dst")
            self.helper("dst", "empty" if empty else "migrate")

    def prepare_templates(self):
        self.db.recreate("tpl")
        self.helper("tpl", "migrate")
        self.info = json.loads(self.helper("tpl", "info"))
        if self.db.has_templates:
            self.db.copy("tpl", "tpl0")
            self.helper("tpl0", "empty")

    def generate(self, rows):
        self.db.recreate("src")
        start = time.perf_counter()
        counts = json.loads(self.helper("src", "fill", "--rows", str(rows), "--seed", str(self.args.seed)))
        self.generation[rows] = time.perf_counter() - start
        self.sources[rows] = json.loads(self.helper("src", "checksum"))
        return counts

    # -- the run ---------------------------------------------------------

    def steps_at(self, index):
        chosen = [s for s in STEPS if index == 0 or s.py or s.limit or s.native]
        if self.args.steps:
            wanted = set(self.args.steps)
            for step in STEPS:  # a load needs its dump
                if step.key in wanted and step.needs:
                    wanted.add(step.needs)
            if wanted.intersection(RESTORE_SCRIPTS):
                wanted.add("dump2py" if STEP["dump2py"].available else "dumpdata-py")
            if "dump2py-jobs2" in wanted:  # its target compares it with dump2py
                wanted.add("dump2py")
            chosen = [s for s in chosen if s.key in wanted]
        return chosen

    def check_availability(self):
        native = NATIVE[self.db.vendor]
        STEP["native-dump"].title, STEP["native-restore"].title = native["dump"], native["restore"]
        missing = [name for name in native["binaries"] if not shutil.which(name)]
        if missing:
            for key in ("native-dump", "native-restore"):
                STEP[key].available = False
                STEP[key].why_not = "not available: no %s client binary on PATH (%s)" % (
                    " or ".join(missing), "install Debian's " + {
                        "postgresql": "postgresql-client", "mysql": "mariadb-client",
                        "sqlite": "sqlite3"}[self.db.vendor] + " package")
        else:
            self.info["native_tools"] = native_versions(native["binaries"])
        if not self.info["dump2py"] or not self.info["compress"]:
            for key in ("dump2py-gzip", "dump2py-zstd", "loaddata-gzip", "loaddata-zstd"):
                STEP[key].available = False
                STEP[key].why_not = "not available: this checkout's dump2py has no --compress"
        elif not self.info["zstd"]:
            for key in ("dump2py-zstd", "loaddata-zstd"):
                STEP[key].available = False
                STEP[key].why_not = ("not available: zstandard is not installed "
                                     "(pip install django-pyserializer[zstd])")
        if self.info["dump2py_jobs_refused"]:
            STEP["dump2py-jobs2"].available = False
            STEP["dump2py-jobs2"].why_not = "not available: " + self.info["dump2py_jobs_refused"]
        elif not self.info["dump2py_jobs"]:
            STEP["dump2py-jobs2"].available = False
            STEP["dump2py-jobs2"].why_not = "not available: this checkout's dump2py has no --jobs"
        if not self.info["dump2py"]:
            for key in ("dump2py", "loaddata-dump2py"):
                STEP[key].available = False
                STEP[key].why_not = "not available: this checkout has no dump2py management command"
        if not self.info["restore_script"]:
            for key in RESTORE_SCRIPTS:
                STEP[key].available = False
                STEP[key].why_not = (
                    "not available: restore.py's script part needs pyserializer.restore, "
                    "which this checkout does not have"
                )
        elif not self.info.get("restore_no_signals"):
            STEP["restore-script-nosignals"].available = False
            STEP["restore-script-nosignals"].why_not = (
                "not available: this checkout's restore.py has no --no-signals")
        if not self.info.get("restore_jobs"):
            STEP["restore-script-jobs2"].available = False
            STEP["restore-script-jobs2"].why_not = (
                "not available: this checkout's restore.py has no --jobs")

    def run(self):
        args = self.args
        print("bench: work directory %s" % self.work, flush=True)
        self.prepare_templates()
        self.check_availability()
        print("bench: %s through %s, Django %s, pyserializer %s" % (
            self.info["server"], self.info["driver"], self.info["django"], self.info["pyserializer"]),
            flush=True)
        for step in STEPS:
            if not step.available:
                print("bench: skip %s: %s" % (step.key, step.why_not), flush=True)
        for index, rows in enumerate(args.sizes):
            print("bench: generating %d rows ..." % rows, flush=True)
            counts = self.generate(rows)
            total = sum(counts.values())
            self.counts[rows] = counts
            print("bench: %d rows in %d tables, generated in %.1f s" % (
                total, len(counts), self.generation[rows]), flush=True)
            if index == 0:
                self.measure_startup()
            self.measure_size(rows, total, self.steps_at(index))
            if index == 0 and args.profile:
                self.profile(os.path.join(args.results, "profiles"))
            for name in os.listdir(self.out):
                remove(self.path(name))

    def measure_startup(self):
        """The fixed cost of any step: Python, Django and the project's settings."""
        command = [self.python, "-m", "django", "check"]
        runs = [run_process(command, self.env("src"), os.path.join(self.logs, "startup.log"))
                for _ in range(max(1, self.args.repeat))]
        self.startup = {
            "command": "python -m django check",
            "median_s": statistics.median(r.seconds for r in runs),
            "peak_rss_mb": max(r.peak_kb for r in runs) / 1024,
        }

    def measure_size(self, rows, total, steps):
        measures = {step.key: Measure() for step in steps}
        self.results[rows] = {"total_rows": total, "steps": measures}
        for step in steps:
            if not step.available:
                measures[step.key].status = "skipped"
                measures[step.key].note = step.why_not
        runnable = [s for s in steps if s.available]
        for repeat in range(1, self.args.repeat + 1):
            # Dumps first (loads read them), then loads; same order every round.
            for step in runnable:
                measure = measures[step.key]
                if measure.status != "ok":
                    continue
                if step.needs and measures.get(step.needs, Measure()).status != "ok":
                    measure.status = "skipped"
                    measure.note = "its dump (%s) failed" % step.needs
                    continue
                if step.key in RESTORE_SCRIPTS:
                    source = "dump2py" if STEP["dump2py"].available else "dumpdata-py"
                    if measures.get(source, Measure()).status != "ok":
                        measure.status = "skipped"
                        measure.note = "its dump (%s) failed" % source
                        continue
                self.measure_once(rows, total, step, measure, repeat)

    def measure_once(self, rows, total, step, measure, repeat):
        command, role = self.command(step)
        output = self.output_of(step)
        if output:
            remove(self.path(output))
            if step.key == "dumpdata-py":
                os.makedirs(self.path(output))
        if step.kind == "load":
            self.fresh_target(empty=step.key == "driver-insert", bare=step.key == "native-restore")
        log = os.path.join(self.logs, "%d-%s-%d.log" % (rows, step.key, repeat))
        signals = os.path.join(self.logs, "%d-%s-%d.signals.json" % (rows, step.key, repeat))
        remove(signals)
        env = dict(self.env(role), PYSER_BENCH_SIGNALS=signals)
        stdin, stdout = self.redirects(step)
        run = run_process(command, env, log, stdin_path=stdin, stdout_path=stdout)
        seconds, peak_kb, code = run.seconds, run.peak_kb, run.code
        if code != 0:
            measure.status = "failed"
            measure.note = "exit status %d; log %s: %s" % (code, log, tail(log, 3))
            print("bench: %d rows %-17s run %d: FAILED (exit %d), see %s" % (
                rows, step.key, repeat, code, log), flush=True)
            return
        measure.times.append(seconds)
        measure.peaks_kb.append(peak_kb)
        measure.cpu.append(run.cpu)
        if output:
            measure.output_bytes = size_of(self.path(output))
        if repeat == 1 and os.path.exists(signals):
            with open(signals, encoding="utf-8") as received:
                measure.signals = json.load(received)
        print("bench: %d rows %-17s run %d/%d: %7.2f s %9.0f rows/s %6.1f MB" % (
            rows, step.key, repeat, self.args.repeat, seconds, total / seconds, peak_kb / 1024),
            flush=True)
        if step.kind == "load" and repeat == 1:
            self.verify_load(rows, step, measure)

    def verify_load(self, rows, step, measure):
        """After a load, the target must hold exactly the source's rows (or the
        step failed) and values (else its ``values`` name the columns that differ)."""
        loaded = json.loads(self.helper("dst", "checksum"))
        source = self.sources[rows]
        missing = {"rows": None, "columns": {}, "negative_zeros": 0}
        wrong = {t: (loaded.get(t, missing)["rows"], s["rows"]) for t, s in source.items()
                 if loaded.get(t, missing)["rows"] != s["rows"]}
        if wrong:
            measure.status = "failed"
            measure.note = "the loaded database differs from the source: " + ", ".join(
                "%s has %s rows instead of %s" % (t, got, want) for t, (got, want) in sorted(wrong.items())
            )
            print("bench: %s: %s" % (step.key, measure.note), flush=True)
            return
        differ = ["%s.%s" % (table, column) for table, sums in sorted(source.items())
                  for column, digest in sorted(sums["columns"].items())
                  if loaded[table]["columns"].get(column) != digest]
        measure.values = "values differ in " + ", ".join(differ) if differ else "exact"
        measure.negative_zeros = sum(table["negative_zeros"] for table in loaded.values())
        if differ:
            print("bench: %s: %s" % (step.key, measure.values), flush=True)

    # -- profiles ----------------------------------------------------------

    def profile(self, directory):
        """Record each py step once more with py-spy (after the timed runs)."""
        spy = shutil.which("py-spy") or os.path.join(os.path.dirname(self.python), "py-spy")
        if not os.path.exists(spy):
            print("bench: --profile needs py-spy: pip install py-spy", flush=True)
            return
        os.makedirs(directory, exist_ok=True)
        load = "loaddata-dump2py" if STEP["dump2py"].available else "loaddata-py"
        for key in ("dumpdata-py", "dump2py", load) + RESTORE_SCRIPTS:
            step = STEP[key]
            if not step.available:
                continue
            command, role = self.command(step)
            output = self.output_of(step)
            if output:
                remove(self.path(output))
                if key == "dumpdata-py":
                    os.makedirs(self.path(output))
            if step.kind == "load":
                self.fresh_target(empty=False)
            raw = os.path.join(self.logs, "profile-%s.raw" % key)
            log = os.path.join(self.logs, "profile-%s.log" % key)
            recorded = [spy, "record", "--rate", "250", "--format", "raw", "--output", raw, "--"]
            run = run_process(recorded + command, self.env(role), log)
            seconds, code = run.seconds, run.code
            title = "%s (%s), %s rows on %s, %.1f s under py-spy (exit status %d)" % (
                step.key, step.title, "{:,}".format(sum(self.counts[self.args.sizes[0]].values())),
                self.info["server"], seconds, code)
            path = os.path.join(directory, "profile-%s-%s.txt" % (self.db.vendor, key))
            with open(path, "w", encoding="utf-8") as out:
                out.write(profiles.summarize(raw, title))
            print("bench: profile of %s: %s" % (key, path), flush=True)

    # -- report ------------------------------------------------------------

    def summary(self):
        results = {}
        for rows, entry in self.results.items():
            total = entry["total_rows"]
            results[rows] = {
                "total_rows": total,
                "tables": self.counts[rows],
                "generated_s": self.generation[rows],
                "source_negative_zeros": sum(t["negative_zeros"] for t in self.sources[rows].values()),
                "steps": {key: m.as_dict(total) for key, m in entry["steps"].items()},
            }
        return {
            "command": self.args.command_line,
            "sizes": self.args.sizes,
            "repeat": self.args.repeat,
            "seed": self.args.seed,
            "quick": self.args.quick,
            "native_tools": self.info.get("native_tools", {}),
            "receivers": RECEIVERS,
            "machine": dict(machine_info(self.info, self.db), git=self.revision,
                            load_average=self.load_average + [os.getloadavg()[0]]),
            "startup": self.startup,
            "steps": [
                {"key": s.key, "title": s.title, "kind": s.kind, "py": s.py, "limit": s.limit,
                 "native": s.native}
                for s in STEPS
            ],
            "results": {str(rows): value for rows, value in results.items()},
        }


def snapshot_code(target):
    """Copy the code under test, so that one run measures one version of it
    even while someone edits the checkout."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("pyserializer", "tests/testapp", "tests/testproject", "benchmarks/benchapp"):
        shutil.copytree(os.path.join(REPO, part), os.path.join(target, part), ignore=ignore, dirs_exist_ok=True)
    shutil.copy(os.path.join(REPO, "tests", "mysql_driver.py"), os.path.join(target, "tests"))
    os.makedirs(os.path.join(target, "benchmarks"), exist_ok=True)
    shutil.copy(os.path.join(HERE, "settings.py"), os.path.join(target, "benchmarks", "settings.py"))


def native_versions(binaries):
    """``--version`` of each client binary, for the report."""
    versions = {}
    for name in binaries:
        try:
            done = subprocess.run([name, "--version"], capture_output=True, text=True, timeout=30)
            version = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
            versions[name] = version if name in version else ("%s %s" % (name, version)).strip()
        except (OSError, subprocess.SubprocessError):
            versions[name] = ""
    return versions


def machine_info(info, db):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
            memory = "%.1f GiB" % (kb / 1024 / 1024)
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": info.get("django"),
        "pyserializer": info.get("pyserializer"),
        "backend": info.get("server"),
        "driver": info.get("driver"),
        "vendor": db.vendor,
    }


def git_revision():
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "pyserializer"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + (" with uncommitted changes in pyserializer/" if changed else "")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Benchmark the py format against dumpdata/loaddata and the plain database driver.",
    )
    parser.add_argument("--sizes", help="comma-separated row counts (default 100000,1000000): "
                        "every tool at the first size, the py pipeline, the driver and the native tools at the others")
    parser.add_argument("--rows", type=int, help="one size only, every tool (same as --sizes ROWS)")
    parser.add_argument("--repeat", type=int, help="runs per step; the median time is reported (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: %s rows, 1 run each, results in the work directory" %
                        ",".join(map(str, QUICK_SIZES)))
    parser.add_argument("--database-url", help="benchmark database base URL, its name starting with "
                        "pyser_bench (default: SQLite files in the work directory)")
    parser.add_argument("--steps", help="comma-separated steps to run (loads bring their dumps): "
                        + ", ".join(s.key for s in STEPS))
    parser.add_argument("--seed", type=int, default=4, help="seed of the generated data")
    parser.add_argument("--results", help="where results.md, chart.png and results.json go "
                        "(default benchmarks/results, or WORKDIR/results with --quick)")
    parser.add_argument("--workdir", help="scratch directory (default: a new temporary one, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and its logs")
    parser.add_argument("--profile", action="store_true",
                        help="after the timed runs of the first size, record each py step once more "
                        "with py-spy; summaries go to RESULTS/profiles")
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["python", "benchmarks/bench.py"] + list(argv))
    if args.rows and args.sizes:
        parser.error("give --rows or --sizes, not both")
    if args.rows:
        args.sizes = [args.rows]
    elif args.sizes:
        args.sizes = [int(size) for size in args.sizes.split(",")]
    else:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.steps:
        args.steps = [key.strip() for key in args.steps.split(",")]
        unknown = [key for key in args.steps if key not in STEP]
        if unknown:
            parser.error("unknown step(s) %s; steps are %s" % (
                ", ".join(unknown), ", ".join(STEP)))
    args.own_workdir = not args.workdir
    if args.own_workdir:
        args.workdir = tempfile.mkdtemp(prefix="pyser_bench-")
    args.workdir = os.path.abspath(args.workdir)
    if not args.results:
        args.results = os.path.join(args.workdir, "results") if args.quick else RESULTS
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Each step runs in its own session; stopping the benchmark must stop it too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    bench = Bench(args)
    try:
        bench.run()
        summary = bench.summary()
        paths = report.write(summary, args.results)
        print(report.text_table(summary), flush=True)
        print("bench: wrote %s" % ", ".join(paths), flush=True)
    finally:
        try:
            bench.db.drop_all()
        except Exception as exc:  # the results are written; say why cleaning failed
            print("bench: could not drop the benchmark databases: %s" % exc, file=sys.stderr)
        if args.own_workdir and not args.keep and not args.quick:
            shutil.rmtree(args.workdir, ignore_errors=True)
        elif args.own_workdir and not args.keep:
            shutil.rmtree(args.workdir + "/out", ignore_errors=True)
            print("bench: logs and results kept in %s" % args.workdir)


if __name__ == "__main__":
    main()
