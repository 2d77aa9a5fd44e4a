"""TPC-H side by side: rayemr Hive vs DuckDB, Polars and PySpark on the same Parquet files.

    python bench/tpch.py --scale 1                 # all engines, 1 warm-up + 3 timed passes
    python bench/tpch.py --scale 10 --runs 3 --query-timeout 900
    python bench/tpch.py --scale 0.1 --engines rayemr,duckdb --no-readme   # a smoke test

Data: Parquet from ``tpchgen-cli --parts 2`` under ``bench/data/sf<scale>`` (generated when
missing, into a temporary folder renamed at the end). Each engine runs in a process of its
own (so its memory is its own): start-up (timed and reported apart), one untimed warm-up pass
over the queries, then ``--runs`` timed passes; every time is recorded. While a query runs,
the memory of the engine's whole process tree (for rayemr: the driver and every Ray process
of the local cluster) is sampled every 0.1 s; the peak per query and overall is reported, and
for rayemr Ray's own object-store figures (spilled, restored) after every query.

Every engine's answers are checked against DuckDB's (sums to cents, averages to 4 decimals).
Results: ``bench/results/tpch_sf<scale>.json``, the chart ``bench/results/tpch_sf<scale>.png``
and (unless ``--no-readme``) the generated block of ``## tpch`` in bench/README.md (see
``bench/charts.py`` and ``bench/tpch_report.py`` to regenerate both from the JSON).
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from tpch_engines import ENGINES, QueryTimeout  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="1")
    p.add_argument("--data", help="folder with one sub-folder of Parquet files per table")
    p.add_argument("--parts", type=int, default=2, help="tpchgen-cli --parts when generating")
    p.add_argument("--runs", "--repeat", type=int, default=3, dest="runs",
                   help="timed passes over the queries per engine (all recorded)")
    p.add_argument("--warmup", type=int, default=1, help="untimed passes first")
    p.add_argument("--engines", default="rayemr,duckdb,polars,spark",
                   help="comma list of " + ",".join(ENGINES))
    p.add_argument("--no-spark", action="store_true", help="same as leaving spark out")
    p.add_argument("--queries", default="1-22")
    p.add_argument("--cpus", type=int, default=2, help="CPUs/threads every engine gets")
    p.add_argument("--query-timeout", type=float, default=None,
                   help="seconds; a query still running is cancelled and reported (rayemr, "
                        "DuckDB, Spark)")
    p.add_argument("--no-readme", action="store_true")
    p.add_argument("--note", default="", help="printed above the results (e.g. 'provisional: "
                   "shared machine')")
    p.add_argument("--sample-interval", type=float, default=0.1)
    g = p.add_argument_group("rayemr")
    g.add_argument("--runner", default="ray", choices=("ray", "inline"))
    g.add_argument("--yarn", default="auto", choices=("auto", "true", "false"),
                   help="run each stage (or query) as a YARN application (auto: when available)")
    g.add_argument("--engine", default="mr", choices=("mr", "tez"),
                   help="hive.execution.engine: mr = one YARN application per stage, "
                        "tez = one per query")
    g.add_argument("--object-store-mb", type=int, default=None,
                   help="Ray's object store size (default: Ray's)")
    g.add_argument("--hiveconf", action="append", metavar="KEY=VALUE",
                   help="a Hive setting for the session (repeatable)")
    g = p.add_argument_group("other engines")
    g.add_argument("--polars-engine", default="auto", choices=("auto", "in-memory", "streaming"))
    g.add_argument("--spark-memory", default="4g", help="spark.driver.memory")
    g.add_argument("--spark-shuffle-partitions", type=int, default=None,
                   help="default: max(4, 4 x scale), coalesced by adaptive execution")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def query_numbers(spec: str) -> list[int]:
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def ensure_data(args) -> Path:
    from rayemr.hive.testing import tpchgen

    data = Path(args.data or HERE / "data" / f"sf{args.scale}")
    if (data / "lineitem").is_dir():
        return data
    tmp = data.with_name(data.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"generating TPC-H SF{args.scale} into {data} (tpchgen-cli --parts {args.parts}) ...",
          flush=True)
    t0 = time.perf_counter()
    tpchgen(tmp, args.scale, parts=args.parts)
    tmp.rename(data)
    print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return data


# -- one engine, in its own process ------------------------------------------------------------
def worker(args) -> int:
    """Run every query on one engine; write everything to ``args.out`` (pickle) as it goes,
    so a crash (out of memory, a killed worker) still leaves what ran."""
    from rayemr.hive.testing import tpch_queries

    data = Path(args.data)
    queries = {n: q for n, q in tpch_queries().items() if n in query_numbers(args.queries)}
    eng = ENGINES[args.worker](data, args)
    out: dict = {"engine": args.worker, "times": {}, "results": {}, "errors": {},
                 "peak_memory": {}, "object_store": {}, "plans": {}, "load": [common.load1()]}

    def save() -> None:
        with open(args.out + ".tmp", "wb") as f:
            pickle.dump(out, f)
        os.replace(args.out + ".tmp", args.out)

    with common.MemorySampler(interval=args.sample_interval) as mem:
        t0 = time.perf_counter()
        try:
            eng.start()
        except Exception as exc:
            out["crashed"] = f"start-up failed: {type(exc).__name__}: {str(exc)[:300]}"
            save()
            raise
        out["startup_s"] = time.perf_counter() - t0
        out["startup_peak_memory"] = mem.reset()
        out["info"] = eng.info()
        print(f"{eng.name:7s} started in {out['startup_s']:.1f} s", flush=True)
        for p in range(args.warmup + args.runs):
            timed = p >= args.warmup
            for n, sql in queries.items():
                if n in out["errors"]:
                    continue
                out["running"] = (p, n)
                save()
                mem.reset()
                t0 = time.perf_counter()
                try:
                    rows = eng.query(sql, args.query_timeout)
                except (QueryTimeout, Exception) as exc:  # noqa: BLE001 - reported per query
                    dt = time.perf_counter() - t0
                    first = (str(exc).strip().splitlines() or [""])[0][:300]
                    out["errors"][n] = f"{type(exc).__name__} after {dt:.1f} s: {first}"
                    print(f"{eng.name:7s} Q{n:02d} FAILED {out['errors'][n]}", flush=True)
                    continue
                finally:
                    peak = mem.reset()
                    out["peak_memory"][n] = max(out["peak_memory"].get(n, 0), peak)
                dt = time.perf_counter() - t0
                if timed:
                    out["times"].setdefault(n, []).append(dt)
                out["results"][n] = rows
                if eng.name == "rayemr" and args.runner == "ray":
                    out["object_store"].setdefault(n, []).append(
                        common.ray_object_store_stats())
                if not timed and hasattr(eng, "plan"):
                    try:
                        out["plans"][n] = eng.plan(sql)
                    except Exception as exc:  # noqa: BLE001 - informative only
                        out["plans"][n] = {"error": str(exc)[:200]}
                print(f"{eng.name:7s} {'pass ' + str(p - args.warmup + 1) if timed else 'warm-up'}"
                      f" Q{n:02d} {dt:8.3f}s  peak {common.gib(peak)}", flush=True)
            out["load"].append(common.load1())
        if hasattr(eng, "count_star"):
            out["count_star"] = eng.count_star()
        out["peak_memory_all"] = mem.peak_all
        out["peak_rss_sum"] = mem.peak_rss
        out.pop("running", None)
        save()
        eng.close()
    return 0


def run_engine(name: str, args, data: Path, argv: list[str], tmp: str) -> dict:
    """The engine's worker process; its pickle, or what it left if it died."""
    out = os.path.join(tmp, f"{name}.pkl")
    cmd = [sys.executable, __file__, *argv, "--data", str(data), "--worker", name, "--out", out]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    res: dict = {"engine": name, "times": {}, "results": {}, "errors": {}}
    if os.path.exists(out):
        with open(out, "rb") as f:
            res = pickle.load(f)
    if proc.returncode != 0 and not res.get("crashed"):
        where = res.get("running")
        what = f"pass {where[0]}, Q{where[1]}" if where else "start-up"
        res["crashed"] = f"worker exited with code {proc.returncode} during {what}"
        if where:
            res["errors"].setdefault(where[1], res["crashed"])
    if res.get("crashed"):
        print(f"{name}: {res['crashed']}", flush=True)
    res["wall_s"] = time.perf_counter() - t0
    return res


def check(results: dict[str, dict], reference: str = "duckdb") -> dict[str, dict[int, str]]:
    """Per engine and query: ``equal``, ``differs``, ``error`` or ``no reference``."""
    from rayemr.hive.testing import rows_equal

    ref = results.get(reference, {}).get("results", {})
    out: dict[str, dict[int, str]] = {}
    for name, res in results.items():
        marks = {}
        for n in sorted(set(res.get("results", {})) | set(res.get("errors", {}))):
            if n in res.get("errors", {}):
                marks[n] = "error"
            elif n not in ref:
                marks[n] = "no reference"
            else:
                marks[n] = "equal" if rows_equal(res["results"][n], ref[n]) else "differs"
        out[name] = marks
    return out


def summarize(args, data: Path, results: dict[str, dict], checks: dict) -> dict:
    """The JSON report: everything measured, nothing derived that cannot be derived again."""
    report = {"benchmark": "tpch", "scale": args.scale, **common.machine(),
              "data": f"tpchgen-cli parquet --parts {args.parts}", "runs": args.runs,
              "warmup": args.warmup, "cpus_given": args.cpus,
              "query_timeout_s": args.query_timeout, "note": args.note, "engines": {}}
    for name, res in results.items():
        report["engines"][name] = {
            "info": res.get("info", {}), "startup_s": res.get("startup_s"),
            "times": {str(n): t for n, t in res.get("times", {}).items()},
            "errors": {str(n): e for n, e in res.get("errors", {}).items()},
            "checks": {str(n): c for n, c in checks.get(name, {}).items()},
            "peak_memory_bytes": {str(n): m for n, m in res.get("peak_memory", {}).items()},
            "peak_memory_all_bytes": res.get("peak_memory_all"),
            "peak_rss_sum_bytes": res.get("peak_rss_sum"),
            "object_store_mib": {str(n): v for n, v in res.get("object_store", {}).items()},
            "plans": {str(n): v for n, v in res.get("plans", {}).items()},
            "count_star_s": res.get("count_star"), "load": res.get("load"),
            "crashed": res.get("crashed"), "wall_s": res.get("wall_s")}
    return report


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    import charts
    import tpch_report

    engines = [e for e in args.engines.split(",") if e]
    if args.no_spark and "spark" in engines:
        engines.remove("spark")
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise SystemExit(f"--engines: unknown {', '.join(unknown)}; use {', '.join(ENGINES)}")
    data = ensure_data(args)
    if "duckdb" not in engines:
        print("note: DuckDB is the reference for the answers; without it nothing is checked")
    tmp = tempfile.mkdtemp(prefix="rayemr-tpch-bench-")
    try:
        results = {name: run_engine(name, args, data, argv, tmp) for name in engines}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks = check(results)
    report = summarize(args, data, results, checks)
    path = common.write_results(f"tpch_sf{args.scale}", report)
    print(f"results: {path}")
    charts.tpch_chart(report, common.RESULTS / f"tpch_sf{args.scale}.png")
    print(tpch_report.markdown_scale(report))
    if not args.no_readme:
        common.replace_block("tpch", tpch_report.markdown())
    bad = [f"{e} Q{n}: {c}" for e, marks in checks.items() for n, c in marks.items()
           if c in ("differs", "error") and e != "duckdb"]
    if bad:
        print("failed or not equal to DuckDB's: " + "; ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
