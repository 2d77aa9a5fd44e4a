"""PNG charts of the benchmarks, drawn from the JSON in bench/results/ (matplotlib, no display).

    python bench/charts.py        # redraw every chart from bench/results/*.json

- ``tpch_sf<scale>.png``: seconds per TPC-H query and engine (median of the timed passes, the
  whisker spans the fastest and slowest pass), log scale.
- ``wordcount_throughput.png`` and ``terasort_throughput.png``: MB/s against input size, one
  line per engine (median of the timed runs; whiskers the range).
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

COLORS = {"rayemr": "tab:blue", "duckdb": "tab:orange", "polars": "tab:green",
          "spark": "tab:red"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(base: str, report: dict) -> str:
    note = report.get("note") or ""
    extra = f" -- {note.split(':')[0]}" if note else ""
    return f"{base}\n{report['when']}, {report['cpus']} CPUs, load {report['load_start']}{extra}"


def tpch_chart(report: dict, path: Path) -> Path:
    from tpch_report import LABELS, engines

    plt = _pyplot()
    names = engines(report)
    qs = sorted({q for e in names for q in report["engines"][e]["times"]}, key=int)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(14, 4.8))
    for i, e in enumerate(names):
        times = report["engines"][e]["times"]
        xs = [k + (i - (len(names) - 1) / 2) * width for k, q in enumerate(qs) if q in times]
        med = [statistics.median(times[q]) for q in qs if q in times]
        lo = [m - min(times[q]) for m, q in zip(med, [q for q in qs if q in times])]
        hi = [max(times[q]) - m for m, q in zip(med, [q for q in qs if q in times])]
        ax.bar(xs, med, width, yerr=[lo, hi], capsize=1.5, label=LABELS[e],
               color=COLORS.get(e))
    ax.set_xticks(range(len(qs)), [f"Q{q}" for q in qs])
    ax.set_ylabel("seconds (log scale)")
    ax.set_yscale("log")
    ax.set_title(_title(f"TPC-H SF{report['scale']} (Parquet): time per query, median of "
                        f"{report['runs']} pass{'es' if report['runs'] != 1 else ''}", report), fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def throughput_chart(report: dict, kind: str, path: Path) -> Path | None:
    """``kind``: ``wordcount`` or ``terasort`` (a section of ``results/mapreduce.json``)."""
    from mr_report import SHORT

    rows = report.get(kind) or {}
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    sizes_seen = set()
    for key, entry in rows.items():
        label = SHORT.get(key, key)
        pts = sorted((int(s), r) for s, r in entry["sizes"].items() if r.get("times"))
        if not pts:
            continue
        xs = [s / common.MB for s, _ in pts]
        med = [s / common.MB / statistics.median(r["times"]) for s, r in pts]
        lo = [m - s / common.MB / max(r["times"]) for m, (s, r) in zip(med, pts)]
        hi = [s / common.MB / min(r["times"]) - m for m, (s, r) in zip(med, pts)]
        style = "-o" if key.startswith("rayemr") else "--s"
        ax.errorbar(xs, med, yerr=[lo, hi], fmt=style, capsize=3, label=label, markersize=4)
        sizes_seen.update(xs)
    ax.set_xscale("log", base=2)
    ticks = sorted(sizes_seen)
    ax.set_xticks(ticks, [f"{x / 1024:g} GiB" if x >= 1024 else f"{x:g} MiB" for x in ticks])
    ax.set_xlabel("input size")
    ax.set_ylabel("MB/s (input bytes / wall time)")
    ax.set_ylim(bottom=0)
    what = {"wordcount": "Word count", "terasort": "Sort of 100-byte records (TeraSort)"}[kind]
    ax.set_title(_title(f"{what}: throughput by input size", report), fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> int:
    for p in sorted(common.RESULTS.glob("tpch_sf*.json")):
        report = common.read_results(p.stem)
        if report and "engines" in report:
            print(tpch_chart(report, p.with_suffix(".png")))
    mr = common.read_results("mapreduce")
    if mr:
        for kind in ("wordcount", "terasort"):
            out = throughput_chart(mr, kind, common.RESULTS / f"{kind}_throughput.png")
            if out:
                print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
