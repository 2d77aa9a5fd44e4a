"""Markdown for the ``## tpch`` block of bench/README.md, from ``bench/results/tpch_sf*.json``.

    python bench/tpch_report.py            # print the block
    python bench/tpch_report.py --write    # and put it into bench/README.md

Totals are over the queries every engine of a run answered; a pass total is the sum of that
pass's times, so ``--runs 3`` gives three totals per engine and their range.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

LABELS = {"rayemr": "rayemr", "duckdb": "DuckDB", "polars": "Polars", "spark": "PySpark"}
ORDER = ("rayemr", "duckdb", "polars", "spark")


def engines(report: dict) -> list[str]:
    return [e for e in ORDER if e in report["engines"]]


def common_queries(report: dict) -> list[str]:
    """Queries every engine of the run timed (string keys, in query order)."""
    sets = [set(report["engines"][e]["times"]) for e in engines(report)
            if report["engines"][e]["times"]]
    both = set.intersection(*sets) if sets else set()
    return sorted(both, key=int)


def pass_totals(report: dict, engine: str, queries: list[str]) -> list[float]:
    times = report["engines"][engine]["times"]
    runs = min((len(times[q]) for q in queries), default=0)
    return [sum(times[q][i] for q in queries) for i in range(runs)]


def median_total(report: dict, engine: str, queries: list[str]) -> float | None:
    totals = pass_totals(report, engine, queries)
    return statistics.median(totals) if totals else None


def _cell(eng: dict, q: str) -> str:
    if q in eng["times"]:
        return f"{statistics.median(eng['times'][q]):.2f}"
    if q in eng["errors"]:
        return "failed"
    return "-"


def _range(xs: list[float], fmt: str = "{:.2f}") -> str:
    if not xs:
        return "-"
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def _describe(info: dict) -> str:
    rest = ", ".join(f"{k} {v}" for k, v in info.items() if k != "version")
    return f"{info.get('version', '?')} ({rest})" if rest else str(info.get("version", "?"))


def markdown_scale(report: dict) -> str:
    names = engines(report)
    eng = report["engines"]
    qs = common_queries(report)
    allq = sorted({q for e in names for q in set(eng[e]["times"]) | set(eng[e]["errors"])},
                  key=int)
    lines = [f"### SF{report['scale']}", ""]
    if report.get("note"):
        lines += [f"**{report['note']}**", ""]
    info = eng.get("rayemr", {}).get("info", {})
    lines.append(
        f"{report['when']}, {report['cpus']} CPUs (load average {report['load_start']} at the "
        f"start), {report['data']}. Every engine: its own process with {report['cpus_given']} "
        f"CPUs/threads, start-up apart, {report['warmup']} untimed warm-up pass, then "
        f"{report['runs']} timed pass{'es' if report['runs'] != 1 else ''} over the queries; "
        "cells are medians. "
        + (f"rayemr: `rayemr.hive.connect()`, runner `{info.get('runner')}`, YARN "
           f"{info.get('yarn')}, hive.execution.engine={info.get('hive.execution.engine')} "
           "(the staged path: every stage a task set of its own). " if info else "")
        + "; ".join(f"{LABELS[e]} {_describe(eng[e]['info'])}" for e in names
                    if e != "rayemr" and eng[e].get("info")) + ".")
    lines.append("")
    header = ["query"] + [f"{LABELS[e]} (s)" for e in names]
    if "rayemr" in names and "duckdb" in names:
        header.append("rayemr / DuckDB")
    if "rayemr" in names:
        header += ["rayemr peak memory", "rayemr stages"]
    t = common.Table(header)
    for q in allq:
        row = [f"Q{q}"] + [_cell(eng[e], q) for e in names]
        if "rayemr / DuckDB" in header:
            r, d = eng["rayemr"]["times"].get(q), eng["duckdb"]["times"].get(q)
            row.append(f"{statistics.median(r) / statistics.median(d):.1f}x" if r and d else "-")
        if "rayemr" in names:
            mem = eng["rayemr"]["peak_memory_bytes"].get(q)
            row.append(common.gib(mem) if mem else "-")
            row.append(str(eng["rayemr"]["plans"].get(q, {}).get("stages", "-")))
        t.add(*row)
    totals = {e: pass_totals(report, e, qs) for e in names}
    row = [f"**total ({len(qs)} queries)**"] + [
        f"**{statistics.median(totals[e]):.2f}**" if totals[e] else "-" for e in names]
    if "rayemr / DuckDB" in header:
        r, d = totals["rayemr"], totals["duckdb"]
        row.append(f"**{statistics.median(r) / statistics.median(d):.2f}x**" if r and d else "-")
    if "rayemr" in names:
        row += [common.gib(eng["rayemr"].get("peak_memory_all_bytes") or 0), ""]
    t.add(*row)
    lines += [str(t), ""]
    s = common.Table(["engine", "pass totals (s): median (range)", "/ DuckDB per pass",
                      "answers = DuckDB's", "start-up (s)", "peak memory (process tree)"])
    for e in names:
        d = totals.get("duckdb") or []
        ratios = [a / b for a, b in zip(totals[e], d)] if d and e != "duckdb" else []
        marks = eng[e]["checks"]
        equal = sum(1 for c in marks.values() if c == "equal")
        check = "reference" if e == "duckdb" else f"{equal}/{len(allq)}"
        s.add(LABELS[e], _range(totals[e]), _range(ratios, "{:.2f}x") if ratios else "-", check,
              f"{eng[e]['startup_s']:.1f}" if eng[e].get("startup_s") is not None else "-",
              common.gib(eng[e].get("peak_memory_all_bytes") or 0))
    lines += [str(s), ""]
    for e in names:
        for q, err in sorted(eng[e]["errors"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"- {LABELS[e]} Q{q} failed: {err}")
        if eng[e].get("crashed"):
            lines.append(f"- {LABELS[e]}: {eng[e]['crashed']}")
        bad = [q for q, c in eng[e]["checks"].items() if c == "differs"]
        if bad:
            lines.append(f"- {LABELS[e]}: answers differ from DuckDB's in "
                         + ", ".join(f"Q{q}" for q in sorted(bad, key=int)))
    cs = eng.get("rayemr", {}).get("count_star_s")
    if cs:
        small, staged = (statistics.median(cs[k]) * 1000 for k in ("small_job", "staged"))
        lines.append(f"- rayemr warm `SELECT count(*) FROM nation`: **{small:.0f} ms** on the "
                     f"small-job path (one task; inputs under rayemr.hive.smalljob.maxbytes), "
                     f"**{staged:.0f} ms** on the queries' staged path "
                     f"(rayemr.hive.smalljob.maxbytes=0); medians of {len(cs['staged'])}.")
    spill = [v[-1].get("spilled_mib", 0) for v in
             eng.get("rayemr", {}).get("object_store_mib", {}).values() if v]
    if spill:
        lines.append(f"- Ray object store: {max(spill):.0f} MiB spilled to disk in all.")
    lines.append("- Peak memory: sum of private memory (RssAnon) of the engine's process "
                 "tree plus its largest shared mapping (Ray's object store), sampled every "
                 "0.1 s; for rayemr the tree is the driver, the GCS, the raylet and every "
                 "worker of the local cluster.")
    lines += ["", f"![TPC-H SF{report['scale']}](results/tpch_sf{report['scale']}.png)", ""]
    return "\n".join(lines)


def growth(small: dict, large: dict) -> str:
    """SF small -> SF large totals per engine, over the queries both runs of both answered."""
    names = [e for e in engines(small) if e in large["engines"]]
    qs = sorted(set(common_queries(small)) & set(common_queries(large)), key=int)
    t = common.Table(["engine", f"SF{small['scale']} total (s)", f"SF{large['scale']} total (s)",
                      "growth"])
    for e in names:
        a, b = median_total(small, e, qs), median_total(large, e, qs)
        t.add(LABELS[e], f"{a:.2f}" if a else "-", f"{b:.2f}" if b else "-",
              f"{b / a:.1f}x" if a and b else "-")
    return (f"### SF{small['scale']} -> SF{large['scale']}\n\nTotals over the {len(qs)} "
            f"queries every engine answered at both scales (medians of pass totals).\n\n{t}\n")


def markdown() -> str:
    reports = sorted((r for r in (common.read_results(p.stem) for p in
                                  common.RESULTS.glob("tpch_sf*.json")) if r and "engines" in r),
                     key=lambda r: float(r["scale"]))
    parts = [markdown_scale(r) for r in reports]
    if len(reports) >= 2:
        parts.append(growth(reports[-2], reports[-1]))
    return "\n".join(parts) if parts else "(no results yet: run `python bench/tpch.py`)"


if __name__ == "__main__":
    sys.exit(common.report_main("tpch", markdown, __doc__))
