"""The benchmark's results as files: results.json, a markdown table with the
targets of issue 4 and a verdict for each, and a chart (PNG).

    python benchmarks/report.py benchmarks/results/results.json   # render them again
"""

import datetime
import json
import os

# The targets of issue 4, as ratios of rows per second in one run.
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
# Issue 10: ours against the tools the database ships, as ratios of wall times
# in one run (ours / native; lower is better), with its targets where it has one.
NATIVE_COMPARISONS = (
    ("dump2py", "native-dump", 1.5),
    ("dump2py-gzip", "native-dump", None),
    ("dump2py-zstd", "native-dump", None),
    ("restore-script", "native-restore", 3.0),
    ("loaddata-dump2py", "native-restore", 4.0),
    ("loaddata-gzip", "native-restore", None),
    ("loaddata-zstd", "native-restore", None),
)
# Bytes on disk of our dumps against the native dump's (pg_dump -Fc is compressed).
NATIVE_SIZES = ("dump2py", "dump2py-gzip", "dump2py-zstd")


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


def verdict(ok):
    return "met" if ok else "NOT MET"


def targets(summary):
    """Each target of issue 4 with what was measured and whether it is met."""
    found = []
    all_sizes = sizes(summary)
    small = all_sizes[0]
    large = all_sizes[-1] if len(all_sizes) > 1 else None

    def add(target, measured, ok, missing=None):
        found.append({
            "target": target,
            "measured": measured if missing is None else "",
            "verdict": ("not measured: " + missing) if missing is not None else verdict(ok),
        })

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
        low, high = step_result(summary, small, key), step_result(summary, large, key) if large else None
        span = "%s -> %s rows" % ("{:,}".format(small), "{:,}".format(large)) if large else ""
        names = (
            "%s peak RSS grows < %d MB (%s)" % (key, MAX_RSS_GROWTH_MB, span or "two sizes"),
            "%s peak RSS < %d MB at every size" % (key, MAX_RSS_MB),
            "%s rows/s drops < %d%% (%s)" % (key, MAX_SPEED_DROP * 100, span or "two sizes"),
        )
        if large is None:
            missing = "only one size was run"
            add(names[0], None, None, missing)
            if low:
                add(names[1], "%.1f MB" % low["peak_rss_mb"], low["peak_rss_mb"] < MAX_RSS_MB)
            else:
                add(names[1], None, None, why_missing(summary, small, key))
            add(names[2], None, None, missing)
            continue
        if not (low and high):
            missing = "; ".join(why_missing(summary, n, key) for n, r in ((small, low), (large, high)) if not r)
            for name in names:
                add(name, None, None, missing)
            continue
        growth = high["peak_rss_mb"] - low["peak_rss_mb"]
        add(names[0], "%+.1f MB (%.1f -> %.1f)" % (growth, low["peak_rss_mb"], high["peak_rss_mb"]),
            growth < MAX_RSS_GROWTH_MB)
        peak = max(low["peak_rss_mb"], high["peak_rss_mb"])
        add(names[1], "%.1f MB" % peak, peak < MAX_RSS_MB)
        drop = 1 - high["rows_per_s"] / low["rows_per_s"]
        by_cpu = cpu_ratio(high, low)
        add(names[2], "%+.1f%% (%s -> %s rows/s)%s" % (
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


# -- against the database's own tools ----------------------------------------


def native_rows(summary, rows):
    """Ours against native-dump / native-restore at one size: one list of cells
    per comparison (ours, its median, native, its median, ratio, target), and
    one per dump size (ours, bytes, native, bytes, share)."""
    titles = {s["key"]: s["title"] for s in summary["steps"]}
    times, sizes_ = [], []
    for key, native, limit in NATIVE_COMPARISONS:
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
    out = ["", "### Against the database's own tools (issue 10)", ""]
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
            lines.append([step["key"], step["title"], "", "", "", "", "", "", "", "",
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
            " ".join("%.2f" % t for t in result["times"]),
        ])
    return lines


HEADER = ["step", "command", "median s", "CPU s", "rows/s", "peak RSS MB", "output MB",
          "x jsonl", "x limit", "bytes / jsonl", "runs (s)"]


def render_markdown(summary, chart_name):
    machine = summary["machine"]
    out = ["# Benchmark results: %s" % machine["backend"], ""]
    out.append("Written by `benchmarks/bench.py` on %s. Re-run it with:" % summary["written"])
    out += ["", "    " + summary["command"], ""]
    out.append(
        "Machine: %s CPUs (%s), %s RAM, %s. Python %s, Django %s, pyserializer %s%s, %s." % (
            machine["cpu_count"], machine["cpu"] or "unknown model", machine["memory"] or "?",
            machine["os"], machine["python"], machine["django"], machine["pyserializer"],
            " (git %s)" % machine["git"] if machine["git"] else "", machine["backend"],
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
        "less than the wall time." % summary["repeat"]
    )
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
        out.append("|" + "|".join(["---"] * 2 + ["---:"] * 8 + ["---"]) + "|")
        for cells in table_rows(summary, rows):
            cells = ["`%s`" % cells[0], "`%s`" % cells[1]] + cells[2:]
            out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        out += render_native(summary, rows)
    out += ["", "## Targets (issue 4)", ""]
    if tuple(sizes(summary)) != TARGET_SIZES:
        out.append(
            "The targets are defined for %s rows side by side and %s rows for the py "
            "pipeline; this run used %s rows, so the verdicts below only check the numbers "
            "of this run." % ("{:,}".format(TARGET_SIZES[0]), "{:,}".format(TARGET_SIZES[1]),
                              " and ".join("{:,}".format(n) for n in sizes(summary)))
        )
        out.append("")
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")
    for target in summary["targets"]:
        verdict_cell = target["verdict"]
        if verdict_cell in ("met", "NOT MET"):
            verdict_cell = "**%s**" % verdict_cell
        out.append("| %s | %s | %s |" % (target["target"], target["measured"], verdict_cell.replace("|", "\\|")))
    met = sum(1 for t in summary["targets"] if t["verdict"] == "met")
    missed = sum(1 for t in summary["targets"] if t["verdict"] == "NOT MET")
    unmeasured = len(summary["targets"]) - met - missed
    out += ["", "%d met, %d not met, %d not measured." % (met, missed, unmeasured), ""]
    out += ["![rows per second and peak memory of each step](%s)" % chart_name, ""]
    return "\n".join(out)


def text_table(summary):
    """The results for the terminal."""
    out = []
    for rows in sizes(summary):
        out.append("%s rows" % "{:,}".format(summary["results"][str(rows)]["total_rows"]))
        out.append("  %-17s %9s %7s %10s %8s %9s %7s %7s" % (
            "step", "median s", "CPU s", "rows/s", "RSS MB", "output MB", "x jsonl", "x limit"))
        for cells in table_rows(summary, rows):
            if not cells[2]:
                out.append("  %-17s %s" % (cells[0], cells[-1][:100]))
                continue
            out.append("  %-17s %9s %7s %10s %8s %9s %7s %7s" % tuple(cells[:1] + cells[2:9]))
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
            target["verdict"] if target["verdict"] in ("met", "NOT MET") else "-",
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
