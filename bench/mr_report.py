"""The engines of ``bench/mapreduce.py`` (what each row measures) and the Markdown of the
``## mapreduce`` block of bench/README.md, from ``bench/results/mapreduce.json``.

    python bench/mr_report.py [--write]
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

#: word count engines: key -> what the row measures
ENGINES = {
    "counter_bytes": "`collections.Counter`, bytes lines, 1 process",
    "counter_str": "`collections.Counter`, str lines, 1 process",
    "rayemr_mrjob": "rayemr `MRJob` (generator mapper, combiner), YARN application, 2 CPUs",
    "rayemr_batch": "rayemr `BatchJob` (Arrow `ascii_split_whitespace`, declarative count), "
                    "YARN application, 2 CPUs",
    "duckdb_split": "DuckDB `string_split(line, ' ')`, 2 threads",
    "duckdb_regex": "DuckDB `string_split_regex(line, '\\s+')` (what `ascii_split_whitespace` "
                    "does), 2 threads",
    "polars_split": "Polars `str.split(' ')`, streaming engine, 2 threads",
    "polars_regex": "Polars `str.extract_all('\\S+')`, streaming engine, 2 threads",
    "spark_rdd": "PySpark RDD `split()` + `reduceByKey`, `local[2]`",
    "spark_df": "PySpark DataFrame `split(value, ' ')` + `groupBy`, `local[2]`",
}
#: sort engines (TeraSort's work)
SORTS = {
    "rayemr_terasort": "rayemr TeraSort (sampled key ranges, 4 reducers), YARN application, "
                       "2 CPUs",
    "duckdb_sort": "DuckDB `ORDER BY` key, `COPY` to a file, 2 threads",
    "polars_sort": "Polars `sort` by key, `sink_csv`, streaming engine, 2 threads",
}
#: (numerator, denominator, target) ratios of throughput, per size
RATIOS = (
    ("rayemr_mrjob", "counter_str", 1.0), ("rayemr_mrjob", "counter_bytes", 1.0),
    ("rayemr_mrjob", "spark_rdd", 1.0),
    ("rayemr_batch", "duckdb_split", 0.5), ("rayemr_batch", "duckdb_regex", 0.5),
    ("rayemr_batch", "polars_split", None), ("rayemr_batch", "spark_df", 2.0),
)
SHORT = {"counter_bytes": "Counter (bytes)", "counter_str": "Counter (str)",
         "rayemr_mrjob": "MRJob", "rayemr_batch": "BatchJob", "duckdb_split": "DuckDB split",
         "duckdb_regex": "DuckDB regex split", "polars_split": "Polars split",
         "polars_regex": "Polars regex", "spark_rdd": "PySpark RDD", "spark_df": "PySpark DataFrame",
         "rayemr_terasort": "rayemr TeraSort", "duckdb_sort": "DuckDB", "polars_sort": "Polars"}


def mb_s(entry: dict, size: str) -> list[float]:
    return [int(size) / common.MB / t for t in entry.get("times", [])]


def _size_label(size: str) -> str:
    return common.gib(int(size))


def _cell(entry: dict | None, size: str) -> str:
    if not entry:
        return "-"
    if entry.get("error") and not entry.get("times"):
        return "failed"
    rates = mb_s(entry, size)
    if not rates:
        return "-"
    med = statistics.median(rates)
    if len(rates) == 1:
        return f"{med:.1f}"
    return f"{med:.1f} ({min(rates):.1f}-{max(rates):.1f})"


def table(section: dict, labels: dict[str, str]) -> tuple[str, list[str]]:
    sizes = sorted({s for e in section.values() for s in e["sizes"]}, key=int)
    t = common.Table(["engine"] + [f"{_size_label(s)} MB/s" for s in sizes]
                     + ["answers", "start-up (s)", "peak memory"])
    for key in labels:
        if key not in section:
            continue
        e = section[key]
        checks = sorted({e["sizes"][s].get("check", "-") for s in sizes if s in e["sizes"]})
        peak = max((e["sizes"][s].get("peak_memory_bytes", 0) for s in e["sizes"]), default=0)
        start = e.get("startup_s")
        helpers = e.get("c_helpers")
        label = labels[key] if not helpers or all(helpers.values()) else \
            labels[key] + " **(C helpers not built: the fallbacks ran)**"
        t.add(label, *(_cell(e["sizes"].get(s), s) for s in sizes), ", ".join(checks),
              f"{start:.1f}" if start is not None else "-", common.gib(peak) if peak else "-")
    return str(t), sizes


def ratio_table(section: dict, sizes: list[str]) -> str:
    t = common.Table(["throughput ratio (medians)", "target"] + [_size_label(s) for s in sizes])
    for a, b, target in RATIOS:
        if a not in section or b not in section:
            continue
        cells = []
        for s in sizes:
            x, y = (mb_s(section[k]["sizes"].get(s, {}), s) for k in (a, b))
            if not x or not y:
                cells.append("-")
                continue
            r = statistics.median(x) / statistics.median(y)
            met = "" if target is None else (" met" if r >= target else " **not met**")
            cells.append(f"{r:.2f}x{met}")
        t.add(f"{SHORT[a]} / {SHORT[b]}", f">= {target}x" if target else "(reference)", *cells)
    return str(t)


def markdown(report: dict) -> str:
    lines = []
    if report.get("note"):
        lines += [f"**{report['note']}**", ""]
    st = report.get("settings", {})
    lines.append(f"Last run {report.get('when')}, {report.get('cpus')} CPUs (load average "
                 f"{report.get('load_start')} at its start); every entry keeps its own time and "
                 f"load in `results/mapreduce.json`. {st.get('warmup_mb', '?')} MiB warm-up run, "
                 f"then {st.get('repeat', '?')} timed run(s) per engine and size: MB/s median "
                 f"(range). rayemr: local Ray with {st.get('cpus', 2)} CPUs, "
                 f"{st.get('split_mb', 64)} MiB splits, each job a YARN application (one "
                 "container per task attempt).")
    for kind, labels, title in (("wordcount", ENGINES, "Word count"),
                                ("terasort", SORTS, "Sort of 100-byte records (TeraSort)")):
        section = report.get(kind)
        if not section:
            continue
        text, sizes = table(section, labels)
        lines += ["", f"**{title}**", "", text, ""]
        if kind == "wordcount":
            lines += [ratio_table(section, sizes), ""]
        elif "rayemr_terasort" in section:
            rates = [f"{_size_label(s)}: {statistics.median(mb_s(section['rayemr_terasort']['sizes'][s], s)):.0f} MB/s"
                     for s in sizes if mb_s(section["rayemr_terasort"]["sizes"].get(s, {}), s)]
            lines += [f"TeraSort target >= 50 MB/s: {', '.join(rates)}.", ""]
        lines.append(f"![{title}](results/{kind}_throughput.png)")
    lat = report.get("latency")
    if lat:
        y, p = (statistics.median(lat[k]) * 1000 for k in ("yarn", "plain_ray"))
        lines += ["", f"One-line MRJob word count on the warm cluster ({lat['when']}, "
                  f"{len(lat['yarn'])} runs after one): through YARN median **{y:.0f} ms**, "
                  f"plain Ray tasks (`rayemr.mapreduce.yarn=false`) {p:.0f} ms "
                  "(target <= 100 ms)."]
    mj = report.get("mrjob")
    if mj:
        lines += ["", f"mrjob's own local runner, {common.gib(mj['bytes'])} of the same text: "
                  f"{mj['bytes'] / common.MB / mj['times'][0]:.2g} MB/s (answers "
                  f"{mj['check']}; {mj['when']})."]
    return "\n".join(lines) + "\n"


def _current() -> str:
    report = common.read_results("mapreduce")
    if not report:
        raise SystemExit("no bench/results/mapreduce.json yet: run python bench/mapreduce.py")
    return markdown(report)


if __name__ == "__main__":
    sys.exit(common.report_main("mapreduce", _current, __doc__))
