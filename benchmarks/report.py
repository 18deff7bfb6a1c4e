"""The benchmark's results as files: results.json, a markdown table with the
targets (against dumpdata/loaddata and the driver; against the database's own
tools) and a verdict for each, and a chart (PNG).

    python benchmarks/report.py benchmarks/results/results.json   # render them again
"""

import datetime
import json
import os

# The targets against dumpdata/loaddata (jsonl) and the driver, as ratios of rows
# per second in one run.
RESTORE_STEPS = ("loaddata-py", "loaddata-dump2py", "restore-script")
PY_STEPS = ("dumpdata-py", "dump2py") + RESTORE_STEPS
DIRECTORY_DUMPS = ("dump2py", "dumpdata-py")
RESTORE_VS_LOADDATA = 8.0
RESTORE_VS_INSERT = 0.5
DUMP2PY_VS_DUMPDATA = 4.0
DUMP2PY_VS_READ = 1 / 3
DUMPDATA_PY_VS_JSONL = 1.3
MAX_RSS_GROWTH_MB = 10.0
MAX_RSS_MB = 120.0
MAX_SPEED_DROP = 0.15
MAX_BYTES_VS_JSONL = 0.60
TARGET_SIZES = (100000, 1000000)
# Against the tools the database ships: ours as ratios of wall times
# in one run (ours / native; lower is better), with its targets where it has one,
# the same for every database or per vendor (issue 19's dump and restore targets).
NATIVE_COMPARISONS = (
    ("dump2py", "native-dump", {"sqlite": 3.0, "postgresql": 1.5, "mysql": 3.0}),
    ("dump2py-jobs2", "native-dump", {"postgresql": 1.0, "mysql": 2.0}),
    ("dump2py-gzip", "native-dump", None),
    ("dump2py-zstd", "native-dump", None),
    ("restore-script", "native-restore", {"sqlite": 2.0, "postgresql": 3.0, "mysql": 2.5}),
    ("restore-script-nosignals", "native-restore", None),
    ("restore-script-jobs2", "native-restore", 1.5),
    ("loaddata-dump2py", "native-restore", 4.0),
    ("loaddata-gzip", "native-restore", None),
    ("loaddata-zstd", "native-restore", None),
)
# Bytes on disk of our dumps against the native dump's (pg_dump -Fc is compressed).
NATIVE_SIZES = ("dump2py", "dump2py-gzip", "dump2py-zstd")
# The other targets of the comparison with the database's own tools: memory of
# dump2py's dumps and of their restores, every value back after the py format's
# loads, and dump2py --jobs 2 against --jobs 1 at the largest size.
DUMP2PY_STEPS = ("dump2py", "dump2py-jobs2", "loaddata-dump2py", "restore-script",
                 "restore-script-nosignals", "restore-script-jobs2")
VALUE_STEPS = RESTORE_STEPS + ("restore-script-nosignals", "restore-script-jobs2",
                               "loaddata-gzip", "loaddata-zstd")
JOBS_SPEEDUP = 1.6
JOBS_TARGET_ROWS = 1000000


def file_names(vendor):
    """results.md and chart.png for SQLite, results-<vendor>.md ... for the others."""
    suffix = "" if vendor == "sqlite" else "-" + vendor
    return "results%s.md" % suffix, "chart%s.png" % suffix, "results%s.json" % suffix


def write(summary, directory):
    os.makedirs(directory, exist_ok=True)
    markdown, chart, data = file_names(summary["machine"]["vendor"])
    if not summary.get("written"):
        now = datetime.datetime.now(datetime.timezone.utc)
        summary = dict(summary, written=now.strftime("%Y-%m-%d %H:%M UTC"))
    summary["targets"] = targets(summary)
    paths = [os.path.join(directory, name) for name in (data, markdown, chart)]
    with open(paths[0], "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=1, sort_keys=True)
        out.write("\n")
    with open(paths[1], "w", encoding="utf-8") as out:
        out.write(render_markdown(summary, chart))
    try:
        draw_chart(summary, paths[2])
    except ImportError as exc:
        print("bench: no chart (%s): pip install matplotlib" % exc)
        paths.pop()
    return paths


# -- numbers ---------------------------------------------------------------


def sizes(summary):
    return [int(size) for size in summary["sizes"] if str(size) in summary["results"]]


def step_result(summary, rows, key):
    """The result of one step at one size, or None when it has no timing."""
    size = summary["results"].get(str(rows), {})
    entry = size.get("steps", {}).get(key)
    if entry and entry["status"] == "ok" and entry["rows_per_s"]:
        return dict(entry, total_rows=size["total_rows"])
    return None


def why_missing(summary, rows, key):
    entry = summary["results"].get(str(rows), {}).get("steps", {}).get(key)
    if entry is None:
        return "%s was not run at %s rows" % (key, "{:,}".format(rows))
    return "%s %s%s" % (key, entry["status"], ": " + entry["note"] if entry["note"] else "")


def ratio(summary, rows, key, reference):
    a, b = step_result(summary, rows, key), step_result(summary, rows, reference)
    if a and b:
        return a["rows_per_s"] / b["rows_per_s"]
    return None


def time_ratio(summary, rows, key, reference):
    """How many times longer ``key`` takes than ``reference`` (median wall times)."""
    a, b = step_result(summary, rows, key), step_result(summary, rows, reference)
    if a and b:
        return a["median_s"] / b["median_s"]
    return None


def why_not_both(summary, rows, keys):
    return "; ".join(why_missing(summary, rows, k) for k in keys if step_result(summary, rows, k) is None)


def cpu_ratio(a, b):
    """How much faster ``a`` is than ``b`` by CPU time (None if not recorded)."""
    if a and b and a.get("cpu_s") and b.get("cpu_s"):
        return (a["total_rows"] / a["cpu_s"]) / (b["total_rows"] / b["cpu_s"])
    return None


def references(step):
    """(jsonl step, driver limit step) that a step is compared with."""
    if step["kind"] == "dump":
        return "dumpdata-jsonl", "driver-read"
    return "loaddata-jsonl", "driver-insert"


# -- targets ---------------------------------------------------------------


VERDICTS = ("MET", "NOT MET")
# The two groups of targets, as each target's "group" in results.json; GROUPS
# (below) has each one's title and what it measures.
AGAINST_DJANGO = "against-django"
AGAINST_NATIVE_TOOLS = "against-native-tools"


def verdict(ok):
    return VERDICTS[0] if ok else VERDICTS[1]


def adder(found, group):
    """A function that appends one target of ``group`` (a key of GROUPS) to ``found``."""

    def add(target, measured, ok, missing=None):
        found.append({
            "group": group,
            "target": target,
            "measured": measured if missing is None else "",
            "verdict": ("not measured: " + missing) if missing is not None else verdict(ok),
        })

    return add


def targets(summary):
    """Each target of each group with what was measured and whether it is met."""
    return targets_against_django(summary) + targets_against_native_tools(summary)


def memory_targets(summary, key, add, inclusive):
    """Peak RSS of ``key`` under MAX_RSS_MB at every size, and its growth from
    the smallest to the largest size under MAX_RSS_GROWTH_MB (against Django),
    or at most that with ``inclusive`` (against the native tools)."""
    all_sizes = sizes(summary)
    small, large = all_sizes[0], all_sizes[-1]
    span = "%s -> %s rows" % ("{:,}".format(small), "{:,}".format(large)) if large != small else "two sizes"
    grows = "%s peak RSS grows %s%d MB (%s)" % (key, "<= +" if inclusive else "< ", MAX_RSS_GROWTH_MB, span)
    peaks = "%s peak RSS < %d MB at every size" % (key, MAX_RSS_MB)
    results = [step_result(summary, rows, key) for rows in all_sizes]
    missing = "; ".join(why_missing(summary, rows, key) for rows, r in zip(all_sizes, results) if not r)
    if large == small:
        add(grows, None, None, "only one size was run")
    elif results[0] and results[-1]:
        growth = results[-1]["peak_rss_mb"] - results[0]["peak_rss_mb"]
        add(grows, "%+.1f MB (%.1f -> %.1f)" % (growth, results[0]["peak_rss_mb"], results[-1]["peak_rss_mb"]),
            growth <= MAX_RSS_GROWTH_MB if inclusive else growth < MAX_RSS_GROWTH_MB)
    else:
        add(grows, None, None, missing)
    if missing:
        add(peaks, None, None, missing)
    else:
        peak = max(r["peak_rss_mb"] for r in results)
        add(peaks, "%.1f MB" % peak, peak < MAX_RSS_MB)


def targets_against_django(summary):
    """The py format against dumpdata/loaddata (jsonl) and the driver's own read
    and insert rates; its memory and speed from the smallest to the largest size;
    the bytes of a directory dump against jsonl's."""
    found = []
    add = adder(found, AGAINST_DJANGO)
    all_sizes = sizes(summary)
    small = all_sizes[0]
    large = all_sizes[-1] if len(all_sizes) > 1 else None

    def compare(key, reference, minimum):
        value = ratio(summary, small, key, reference)
        target = "%s >= %s x %s rows/s (%s rows)" % (key, _number(minimum), reference, "{:,}".format(small))
        if value is None:
            missing = [k for k in (key, reference) if step_result(summary, small, k) is None]
            add(target, None, None, "; ".join(why_missing(summary, small, k) for k in missing))
            return
        by_cpu = cpu_ratio(step_result(summary, small, key), step_result(summary, small, reference))
        add(target, "%.2f x%s" % (value, " (by CPU time: %.2f x)" % by_cpu if by_cpu else ""),
            value >= minimum)

    for key in RESTORE_STEPS:
        compare(key, "loaddata-jsonl", RESTORE_VS_LOADDATA)
        compare(key, "driver-insert", RESTORE_VS_INSERT)
    compare("dump2py", "dumpdata-jsonl", DUMP2PY_VS_DUMPDATA)
    compare("dump2py", "driver-read", DUMP2PY_VS_READ)
    compare("dumpdata-py", "dumpdata-jsonl", DUMPDATA_PY_VS_JSONL)

    for key in PY_STEPS:
        memory_targets(summary, key, add, inclusive=False)
        low, high = step_result(summary, small, key), step_result(summary, large, key) if large else None
        span = "%s -> %s rows" % ("{:,}".format(small), "{:,}".format(large)) if large else "two sizes"
        name = "%s rows/s drops < %d%% (%s)" % (key, MAX_SPEED_DROP * 100, span)
        if large is None:
            add(name, None, None, "only one size was run")
            continue
        if not (low and high):
            add(name, None, None, "; ".join(
                why_missing(summary, n, key) for n, r in ((small, low), (large, high)) if not r))
            continue
        drop = 1 - high["rows_per_s"] / low["rows_per_s"]
        by_cpu = cpu_ratio(high, low)
        add(name, "%+.1f%% (%s -> %s rows/s)%s" % (
            -drop * 100, _rate(low["rows_per_s"]), _rate(high["rows_per_s"]),
            "; by CPU time %+.1f%%" % ((by_cpu - 1) * 100) if by_cpu else ""), drop < MAX_SPEED_DROP)

    for key in DIRECTORY_DUMPS:
        target = "%s bytes <= %d%% of dumpdata-jsonl bytes (%s rows)" % (
            key, MAX_BYTES_VS_JSONL * 100, "{:,}".format(small))
        a, b = step_result(summary, small, key), step_result(summary, small, "dumpdata-jsonl")
        if a and b and a["output_bytes"] and b["output_bytes"]:
            share = a["output_bytes"] / b["output_bytes"]
            add(target, "%.0f%%" % (share * 100), share <= MAX_BYTES_VS_JSONL)
        else:
            missing = [k for k, r in ((key, a), ("dumpdata-jsonl", b)) if not r]
            add(target, None, None, "; ".join(why_missing(summary, small, k) for k in missing))
    return found


def limit_for(limits, summary):
    """The target of a NATIVE_COMPARISONS row on the run's database, or None."""
    if isinstance(limits, dict):
        return limits.get(summary["machine"]["vendor"])
    return limits


def targets_against_native_tools(summary):
    """Ours against the database's own dump and restore tools at every size of
    the run; the memory of dump2py's steps; every value a restore must give back;
    dump2py --jobs 2 against --jobs 1."""
    found = []
    add = adder(found, AGAINST_NATIVE_TOOLS)
    all_sizes = sizes(summary)
    for rows in all_sizes:
        for key, native, limits in NATIVE_COMPARISONS:
            limit = limit_for(limits, summary)
            if limit is None:
                continue
            target = "%s <= %s x %s wall time (%s rows)" % (key, _number(limit), native, "{:,}".format(rows))
            value = time_ratio(summary, rows, key, native)
            if value is None:
                add(target, None, None, why_not_both(summary, rows, (key, native)))
                continue
            add(target, "%.2f x (%.2f s / %.2f s)" % (
                value, step_result(summary, rows, key)["median_s"], step_result(summary, rows, native)["median_s"]),
                value <= limit)
    for key in DUMP2PY_STEPS:
        memory_targets(summary, key, add, inclusive=True)
    for rows in all_sizes:
        value_targets(summary, rows, add)
    jobs_rows = JOBS_TARGET_ROWS if JOBS_TARGET_ROWS in all_sizes else all_sizes[-1]
    target = "dump2py --jobs 2 >= %s x faster than dump2py (--jobs 1) (%s rows)" % (
        _number(JOBS_SPEEDUP), "{:,}".format(jobs_rows))
    slower = time_ratio(summary, jobs_rows, "dump2py", "dump2py-jobs2")
    if slower is None:
        add(target, None, None, why_not_both(summary, jobs_rows, ("dump2py", "dump2py-jobs2")))
    else:
        by_cpu = cpu_ratio(step_result(summary, jobs_rows, "dump2py-jobs2"), step_result(summary, jobs_rows, "dump2py"))
        add(target, "%.2f x (%.2f s -> %.2f s)%s" % (
            slower, step_result(summary, jobs_rows, "dump2py")["median_s"],
            step_result(summary, jobs_rows, "dump2py-jobs2")["median_s"],
            "; CPU time %.2f x of --jobs 1's" % (1 / by_cpu) if by_cpu else ""), slower >= JOBS_SPEEDUP)
    return found


def value_targets(summary, rows, add):
    """Every value back exactly, and -0.0 as -0.0, after each load of the py
    format at one size (bench.py compares a checksum of every value of the
    loaded database with the source's)."""
    steps = summary["results"][str(rows)]["steps"]
    loads = [key for key in VALUE_STEPS if steps.get(key, {}).get("status") in ("ok", "failed")]
    n = "{:,}".format(rows)
    failed = ["%s failed: %s" % (k, steps[k]["note"]) for k in loads if steps[k]["status"] == "failed"]
    passed = [k for k in loads if steps[k]["status"] == "ok"]

    exact = "every row and value back exactly after %s (%s rows)" % (", ".join(loads) or "the py loads", n)
    wrong = failed + ["%s: %s" % (k, steps[k]["values"]) for k in passed
                      if steps[k].get("values") not in (None, "exact")]
    unchecked = [k for k in passed if steps[k].get("values") is None]
    if wrong:
        add(exact, "; ".join(wrong), False)
    elif not loads or unchecked:
        add(exact, None, None, "this run did not check the values of %s" % (", ".join(unchecked) or "any py load"))
    else:
        add(exact, "exact in all %d loads" % len(loads), True)

    zeros = summary["results"][str(rows)].get("source_negative_zeros")
    target = "-0.0 back as -0.0 after the same loads (%s rows)" % n
    got = {k: steps[k].get("negative_zeros") for k in passed}
    if zeros == 0:
        add(target, None, None, "the source holds no -0.0: %s stores the generated -0.0 as 0" % (
            summary["machine"]["backend"]))
    elif zeros is None or not loads or None in got.values():
        add(target, None, None, "this run did not count them")
    else:
        add(target, "%d in the source; %s" % (zeros, ", ".join(
            ["%s %s" % (k, v) for k, v in got.items()] + failed)), not failed and all(v == zeros for v in got.values()))


# -- against the database's own tools ----------------------------------------


def native_rows(summary, rows):
    """Ours against native-dump / native-restore at one size: one list of cells
    per comparison (ours, its median, native, its median, ratio, target), and
    one per dump size (ours, bytes, native, bytes, share)."""
    titles = {s["key"]: s["title"] for s in summary["steps"]}
    times, sizes_ = [], []
    for key, native, limits in NATIVE_COMPARISONS:
        limit = limit_for(limits, summary)
        a, b = step_result(summary, rows, key), step_result(summary, rows, native)
        if key not in summary["results"][str(rows)]["steps"]:  # not part of this run
            continue
        value = a["median_s"] / b["median_s"] if a and b else None
        times.append([
            key, "%.2f" % a["median_s"] if a else why_missing(summary, rows, key),
            titles.get(native, native), "%.2f" % b["median_s"] if b else why_missing(summary, rows, native),
            "%.1f x" % value if value is not None else "",
            "" if limit is None else "<= %s x: %s" % (
                _number(limit), verdict(value <= limit) if value is not None else "not measured"),
        ])
    native = step_result(summary, rows, "native-dump")
    for key in NATIVE_SIZES:
        a = step_result(summary, rows, key)
        if not (a and a["output_bytes"] and native and native["output_bytes"]):
            continue
        sizes_.append([key, _megabytes(a["output_bytes"]), titles.get("native-dump"),
                       _megabytes(native["output_bytes"]),
                       "%.2f x" % (a["output_bytes"] / native["output_bytes"])])
    return times, sizes_


def render_native(summary, rows):
    times, sizes_ = native_rows(summary, rows)
    if not times:
        return []
    out = ["", "### Against the database's own tools", ""]
    tools = summary.get("native_tools") or {}
    out.append(
        "Same run, whole processes, median wall times; `ours / native` is how many times "
        "longer ours takes (lower is better). Wall time, not CPU time, is the comparison: the "
        "native tools leave most of the work to the database server, whose CPU time is not the "
        "client's. Their peak RSS in the table above is not theirs: `ru_maxrss` also counts "
        "the fork of the benchmark's own process before the tool starts.%s" % (" Client tools: %s." % "; ".join(
            "`%s`" % (version or name) for name, version in sorted(tools.items())) if tools else "")
    )
    out += ["", "| ours | median s | native | median s | ours / native | target |",
            "|---|---:|---|---:|---:|---|"]
    for cells in times:
        out.append("| `%s` | %s | `%s` | %s | %s | %s |" % tuple(
            cell.replace("|", "\\|") for cell in cells))
    if sizes_:
        out += ["", "| dump | MB on disk | native dump | MB on disk | ours / native |",
                "|---|---:|---|---:|---:|"]
        for cells in sizes_:
            out.append("| `%s` | %s | `%s` | %s | %s |" % tuple(cell.replace("|", "\\|") for cell in cells))
    return out


def render_signals(summary, rows):
    """What the receivers got during each Django load, so that the reader sees
    which loads sent signals."""
    loads = {s["key"] for s in summary["steps"] if s["kind"] == "load"}
    cells = []
    for key, result in summary["results"][str(rows)]["steps"].items():
        signals = result.get("signals")
        if key in loads and signals is not None:
            cells.append("`%s` %s / %s" % (key, "{:,}".format(signals.get("pre_save", 0)),
                                            "{:,}".format(signals.get("post_save", 0))))
    if not cells:
        return []
    return ["", "Signals the receivers got in the first run of each Django load "
            "(`pre_save` / `post_save`): %s." % "; ".join(cells)]


# -- text ------------------------------------------------------------------


def _rate(value):
    return "{:,.0f}".format(value)


def _number(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")


def _megabytes(value):
    return "%.1f" % (value / 1e6) if value is not None else ""


def table_rows(summary, rows):
    """One line per step at one size: the cells of the results table."""
    lines = []
    entry = summary["results"][str(rows)]
    jsonl_bytes = (step_result(summary, rows, "dumpdata-jsonl") or {}).get("output_bytes")
    for step in summary["steps"]:
        result = entry["steps"].get(step["key"])
        if result is None:
            continue
        if result["status"] != "ok" or not result["times"]:
            lines.append([step["key"], step["title"], "", "", "", "", "", "", "", "", "",
                          "%s: %s" % (result["status"], result["note"])])
            continue
        jsonl, limit = references(step)
        vs_jsonl = ratio(summary, rows, step["key"], jsonl)
        vs_limit = ratio(summary, rows, step["key"], limit)
        output = result["output_bytes"]
        lines.append([
            step["key"],
            step["title"],
            "%.2f" % result["median_s"],
            "%.2f" % result["cpu_s"] if result.get("cpu_s") is not None else "",
            _rate(result["rows_per_s"]),
            "%.1f" % result["peak_rss_mb"],
            _megabytes(output),
            "%.2f" % vs_jsonl if vs_jsonl is not None else "",
            "%.2f" % vs_limit if vs_limit is not None else "",
            "%.0f%%" % (100 * output / jsonl_bytes) if output and jsonl_bytes else "",
            result.get("values") or "",
            " ".join("%.2f" % t for t in result["times"]),
        ])
    return lines


HEADER = ["step", "command", "median s", "CPU s", "rows/s", "peak RSS MB", "output MB",
          "x jsonl", "x limit", "bytes / jsonl", "values", "runs (s)"]


def render_markdown(summary, chart_name):
    machine = summary["machine"]
    out = ["# Benchmark results: %s" % machine["backend"], ""]
    out.append("Written by `benchmarks/bench.py` on %s. Re-run it with:" % summary["written"])
    out += ["", "    " + summary["command"], ""]
    out.append(
        "Machine: %s CPUs (%s), %s RAM, %s. Python %s, Django %s, pyserializer %s%s, %s%s." % (
            machine["cpu_count"], machine["cpu"] or "unknown model", machine["memory"] or "?",
            machine["os"], machine["python"], machine["django"], machine["pyserializer"],
            " (git %s)" % machine["git"] if machine["git"] else "", machine["backend"],
            " through %s (the Django steps' driver)" % machine["driver"] if machine.get("driver") else "",
        )
    )
    out.append("")
    out.append(
        "Each step is a whole process, run %d time(s): the time is the median wall time "
        "from start to exit (Python and Django start-up included), rows/s is the "
        "database's rows (many-to-many rows included) divided by it, and peak RSS is the "
        "largest `ru_maxrss` the kernel reported for the process over the runs. `x jsonl` "
        "compares rows/s with `dumpdata --format jsonl` (dumps) or `loaddata` of its dump "
        "(loads); `x limit` with the driver's read or insert limit. `CPU s` is the median "
        "user + system CPU time of the process, which other work on the machine disturbs "
        "less than the wall time. `values`: after a load, whether every value of the loaded "
        "database equals the source's (a checksum of every column's values in key order), or which columns differ."
        % summary["repeat"]
    )
    if summary.get("receivers"):
        out += ["", "The Django processes have signal receivers like a real site's (%s), so "
                "that loads pay for sending signals." % summary["receivers"]]
    load = machine.get("load_average")
    if load:
        out.append("")
        out.append(
            "Load average (1 minute) when the run started: %.2f; when it ended: %.2f "
            "(on %s CPUs; more than the benchmark's one process means other work shared "
            "the machine)." % (load[0], load[-1], machine["cpu_count"])
        )
    if summary.get("startup"):
        startup = summary["startup"]
        out.append("")
        out.append("Fixed cost of any Django step (`%s`): %.2f s, %.1f MB." % (
            startup["command"], startup["median_s"], startup["peak_rss_mb"]))
    for rows in sizes(summary):
        entry = summary["results"][str(rows)]
        out += ["", "## %s rows" % "{:,}".format(entry["total_rows"]), ""]
        tables = entry["tables"]
        biggest = max(tables, key=tables.get)
        out.append(
            "%s generated rows (seed %d) plus what migrate creates, in %d non-empty tables, "
            "%s of them in `%s`; generated in %.0f s." % (
                "{:,}".format(rows), summary["seed"], sum(1 for n in tables.values() if n),
                "{:,}".format(tables[biggest]), biggest, entry["generated_s"])
        )
        out.append("")
        out.append("| " + " | ".join(HEADER) + " |")
        out.append("|" + "|".join(["---"] * 2 + ["---:"] * 8 + ["---"] * 2) + "|")
        for cells in table_rows(summary, rows):
            cells = ["`%s`" % cells[0], "`%s`" % cells[1]] + cells[2:]
            out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        out += render_signals(summary, rows)
        out += render_native(summary, rows)
    for group, (title, intro) in GROUPS.items():
        out += ["", "## Targets: %s" % title, "", intro, ""]
        if tuple(sizes(summary)) != TARGET_SIZES:
            out.append(
                "The targets are defined for %s and %s rows; this run used %s rows, so the "
                "verdicts below only check the numbers of this run." % (
                    "{:,}".format(TARGET_SIZES[0]), "{:,}".format(TARGET_SIZES[1]),
                    " and ".join("{:,}".format(n) for n in sizes(summary)))
            )
            out.append("")
        out += render_targets([t for t in summary["targets"] if t["group"] == group])
    out += ["", "![rows per second and peak memory of each step](%s)" % chart_name, ""]
    return "\n".join(out)


GROUPS = {
    AGAINST_DJANGO: (
        "against `dumpdata`, `loaddata` and the driver",
        "The py format against `dumpdata`/`loaddata` (jsonl) and the plain driver, as ratios "
        "of rows per second at the first size; how memory and speed hold up at the last; "
        "the bytes of a directory dump against jsonl's."),
    AGAINST_NATIVE_TOOLS: (
        "against the database's own tools",
        "Ours against the database's own tools at every size, as ratios of median wall times "
        "in this run; the memory of `dump2py` and of its restores; every value back after "
        "the py format's loads (row counts and a checksum of every value, in key order, of "
        "the loaded database against the source's, -0.0 counted apart); `dump2py --jobs 2` "
        "against `dump2py` at 1,000,000 rows (or the largest size run)."),
}


def render_targets(found):
    out = ["| target | measured | verdict |", "|---|---|---|"]
    for target in found:
        verdict_cell = target["verdict"]
        if verdict_cell in VERDICTS:
            verdict_cell = "**%s**" % verdict_cell
        out.append("| %s | %s | %s |" % (
            target["target"], target["measured"].replace("|", "\\|"), verdict_cell.replace("|", "\\|")))
    met = sum(1 for t in found if t["verdict"] == VERDICTS[0])
    missed = sum(1 for t in found if t["verdict"] == VERDICTS[1])
    out += ["", "%d met, %d not met, %d not measured." % (met, missed, len(found) - met - missed)]
    return out


def text_table(summary):
    """The results for the terminal."""
    out = []
    for rows in sizes(summary):
        out.append("%s rows" % "{:,}".format(summary["results"][str(rows)]["total_rows"]))
        out.append("  %-17s %9s %7s %10s %8s %9s %7s %7s  %s" % (
            "step", "median s", "CPU s", "rows/s", "RSS MB", "output MB", "x jsonl", "x limit", "values"))
        for cells in table_rows(summary, rows):
            if not cells[2]:
                out.append("  %-17s %s" % (cells[0], cells[-1][:100]))
                continue
            out.append("  %-17s %9s %7s %10s %8s %9s %7s %7s  %s" % tuple(cells[:1] + cells[2:9] + cells[10:11]))
        times, sizes_ = native_rows(summary, rows)
        if times:
            out.append("  against the database's own tools (median s, ours / native):")
        for cells in times:
            out.append("    %-17s %9s  vs %-45s %9s  %8s  %s" % tuple(c[:45] for c in cells))
        for cells in sizes_:
            out.append("    %-17s %7s MB  vs %-45s %7s MB  %8s" % tuple(c[:45] for c in cells))
    targets_ = summary.get("targets") or targets(summary)
    out.append("targets:")
    for target in targets_:
        out.append("  %-8s %s %s" % (
            target["verdict"] if target["verdict"] in VERDICTS else "-",
            target["target"], target["measured"] or target["verdict"][:90]))
    return "\n".join(out)


# -- chart -----------------------------------------------------------------


def draw_chart(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_sizes = sizes(summary)
    keys = [s["key"] for s in summary["steps"]
            if any(step_result(summary, n, s["key"]) for n in all_sizes)]
    if not keys:
        return
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(13, 0.5 * len(keys) + 2.2), sharey=True)
    height = 0.8 / len(all_sizes)
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    positions = list(range(len(keys)))
    for index, rows in enumerate(all_sizes):
        offsets = [p - 0.4 + height * (index + 0.5) for p in positions]
        rates = [(step_result(summary, rows, k) or {}).get("rows_per_s") or 0 for k in keys]
        peaks = [(step_result(summary, rows, k) or {}).get("peak_rss_mb") or 0 for k in keys]
        label = "{:,} rows".format(summary["results"][str(rows)]["total_rows"])
        color = colors[index % len(colors)]
        bars = speed.barh(offsets, rates, height, label=label, color=color)
        speed.bar_label(bars, labels=[_rate(r) if r else "" for r in rates], padding=2, fontsize=7)
        bars = memory.barh(offsets, peaks, height, label=label, color=color)
        memory.bar_label(bars, labels=["%.0f" % p if p else "" for p in peaks], padding=2, fontsize=7)
    speed.set_yticks(positions, keys)
    speed.invert_yaxis()
    speed.set_xscale("log")
    speed.set_xlabel("rows per second (log scale, higher is better)")
    memory.set_xlabel("peak RSS of the whole process, MB (lower is better)")
    memory.axvline(MAX_RSS_MB, color="grey", linestyle="--", linewidth=1)
    memory.text(MAX_RSS_MB, len(keys) - 0.5, " %d MB target" % MAX_RSS_MB, fontsize=7, color="grey",
                va="bottom")
    speed.legend(loc="lower right", fontsize=8)
    for axis in (speed, memory):
        axis.grid(axis="x", linestyle=":", linewidth=0.5)
        axis.margins(x=0.15)
    fig.suptitle("pyserializer benchmark: %s, %s" % (summary["machine"]["backend"], summary["written"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    """Render results.md and chart.png again from a results.json."""
    if len(argv) not in (1, 2):
        raise SystemExit("usage: python benchmarks/report.py RESULTS_JSON [DIRECTORY]")
    with open(argv[0], encoding="utf-8") as source:
        summary = json.load(source)
    directory = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(argv[0]))
    for path in write(summary, directory):
        print("report: wrote %s" % path)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
