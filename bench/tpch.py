"""TPC-H side by side: rayemr Hive vs DuckDB (2 threads) vs PySpark local[2], same files.

    python bench/tpch.py --scale 1 [--data DIR] [--runs 3] [--no-spark] [--runner ray]

Generates Parquet data with tpchgen-cli (``--parts 2``, one folder per table) if missing,
defines the tables with ``CREATE EXTERNAL TABLE ... STORED AS PARQUET LOCATION`` in a fresh
metastore, checks every rayemr result against DuckDB's (cents, 4 decimals), and writes
``bench/results/tpch_sf<scale>.json``, ``bench/tpch_sf<scale>.png`` and the ``## tpch``
section of ``bench/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="1")
    p.add_argument("--data", help="folder with one sub-folder of Parquet files per table")
    p.add_argument("--runs", type=int, default=3, help="runs per query (median) for rayemr "
                   "and DuckDB")
    p.add_argument("--spark-runs", type=int, default=1)
    p.add_argument("--no-spark", action="store_true")
    p.add_argument("--runner", default="ray", choices=("ray", "inline"))
    p.add_argument("--yarn", default="auto", choices=("auto", "true", "false"),
                   help="run each query as a YARN application (auto: when available)")
    p.add_argument("--engine", default="mr", choices=("mr", "tez"),
                   help="hive.execution.engine: mr = one YARN application per stage, "
                        "tez = one per query")
    p.add_argument("--queries", default="1-22")
    p.add_argument("--no-readme", action="store_true")
    return p.parse_args(argv)


def query_numbers(spec: str) -> list[int]:
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bench_duckdb(data: Path, queries: dict[int, str], runs: int) -> dict:
    import duckdb

    from rayemr.hive.testing import TPCH_TABLES

    con = duckdb.connect(config={"threads": 2})
    for t in TPCH_TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}/*.parquet')")
    times, results = {}, {}
    for n, sql in queries.items():
        times[n], results[n] = median_time(lambda: con.execute(sql).fetchall(), runs)
        print(f"duckdb  Q{n:02d} {times[n]:7.3f}s", flush=True)
    return {"times": times, "results": results}


def bench_rayemr(data: Path, queries: dict[int, str], runs: int, runner: str, yarn: str,
                 engine: str = "mr") -> dict:
    import rayemr
    from rayemr.hive.session import HiveSession
    from rayemr.hive.testing import tpch_ddl

    t0 = time.perf_counter()
    if runner == "ray":
        rayemr.init(num_cpus=2)
    tmp = tempfile.mkdtemp(prefix="rayemr-tpch-")
    conf = {"hive.execution.engine": engine}
    if yarn != "auto":
        conf["rayemr.hive.yarn"] = yarn
    session = HiveSession(metastore_path=f"{tmp}/metastore.db", warehouse=f"{tmp}/warehouse",
                          runner=runner, hiveconf=conf)
    for stmt in tpch_ddl(data):
        session.execute(stmt)
    start = time.perf_counter() - t0
    warm = []
    for _ in range(5):
        t1 = time.perf_counter()
        session.execute("SELECT count(*) FROM nation")
        warm.append(time.perf_counter() - t1)
    times, results = {}, {}
    for n, sql in queries.items():
        def run():
            r = session.execute(sql)
            return [tuple(x.values()) for x in r.table.to_pylist()]
        times[n], results[n] = median_time(run, runs)
        print(f"rayemr  Q{n:02d} {times[n]:7.3f}s", flush=True)
    session.close()
    used = yarn
    if runner == "ray" and yarn == "auto":
        from rayemr.engine import yarn_runner

        used = "true (engine default)" if yarn_runner.enabled() else "false (engine default)"
    if runner == "ray" and used.startswith("true"):
        used += f", hive.execution.engine={engine}"
    return {"times": times, "results": results, "startup": start,
            "count_star_warm": statistics.median(warm[1:]), "yarn_used": used}


def bench_spark(data: Path, queries: dict[int, str], runs: int) -> dict:
    from pyspark.sql import SparkSession

    from rayemr.hive.testing import TPCH_TABLES

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("tpch")
             .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for t in TPCH_TABLES:
        spark.read.parquet(f"{data}/{t}").createOrReplaceTempView(t)
    start = time.perf_counter() - t0
    times = {}
    for n, sql in queries.items():
        times[n], _ = median_time(lambda: spark.sql(sql).collect(), runs)
        print(f"spark   Q{n:02d} {times[n]:7.3f}s", flush=True)
    spark.stop()
    return {"times": times, "startup": start}


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    qs = sorted(report["rayemr"])
    engines = [e for e in ("rayemr", "duckdb", "spark") if report.get(e)]
    width = 0.8 / len(engines)
    fig, ax = plt.subplots(figsize=(12, 4.5))
    for i, e in enumerate(engines):
        ax.bar([q + (i - (len(engines) - 1) / 2) * width for q in qs],
               [report[e][q] for q in qs], width, label=e)
    ax.set_xticks(qs, [f"Q{q}" for q in qs])
    ax.set_ylabel("seconds")
    ax.set_yscale("log")
    ax.set_title(f"TPC-H SF{report['scale']} (Parquet), 2 cores: time per query")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def markdown(report: dict, png: str) -> str:
    r, d, s = report["rayemr"], report["duckdb"], report.get("spark") or {}
    tot_r, tot_d = sum(r.values()), sum(d.values())
    tot_s = sum(s.values()) if s else None
    lines = [
        "## tpch", "",
        f"TPC-H SF{report['scale']}, Parquet from `tpchgen-cli --parts 2`, all 22 queries, "
        f"side by side in one run on a 2-core machine shared with other work "
        f"({report['when']}). rayemr: `HiveSession` runner `{report['runner']}` "
        f"(YARN: {report['yarn']}), tables from `CREATE EXTERNAL TABLE ... STORED AS "
        f"PARQUET LOCATION`; DuckDB {report['duckdb_version']} with 2 threads; PySpark "
        f"{report.get('spark_version', '-')} `local[2]` Spark SQL. Median of "
        f"{report['runs']} runs per query (Spark: {report['spark_runs']}). Every rayemr "
        "result was checked against DuckDB's (sums to cents, averages to 4 decimals): "
        f"{report['correct']}/{len(r)} equal.", "",
        "| query | rayemr (s) | DuckDB (s) | PySpark (s) | rayemr / DuckDB |",
        "|---|---:|---:|---:|---:|"]
    for q in sorted(r):
        sp = f"{s[q]:.2f}" if s else "-"
        lines.append(f"| Q{q} | {r[q]:.2f} | {d[q]:.2f} | {sp} | {r[q] / d[q]:.1f}x |")
    sp_tot = f"{tot_s:.2f}" if tot_s else "-"
    lines.append(f"| **total** | **{tot_r:.2f}** | **{tot_d:.2f}** | **{sp_tot}** | "
                 f"**{tot_r / tot_d:.2f}x** |")
    lines += ["", f"![TPC-H SF{report['scale']} per query]({png})", ""]
    lines.append(f"- Total rayemr / DuckDB: **{tot_r / tot_d:.2f}x** (target ≤ 3x: "
                 f"{'met' if tot_r <= 3 * tot_d else 'not met'}).")
    if tot_s:
        lines.append(f"- PySpark / rayemr: **{tot_s / tot_r:.2f}x** (target ≥ 2x: "
                     f"{'met' if tot_s >= 2 * tot_r else 'not met'}); Spark session start "
                     f"{report['spark_startup']:.1f} s not included.")
    lines.append(f"- Warm `SELECT count(*) FROM nation` (same path as the queries, YARN: "
                 f"{report['yarn']}): **{report['count_star_ms']:.0f} ms** median of 4 "
                 f"(target ≤ 200 ms: {'met' if report['count_star_ms'] <= 200 else 'not met'}).")
    if report.get("load"):
        lines.append(f"- Load average (1 min) at the start and after each engine: "
                     f"{', '.join(str(x) for x in report['load'])} on {report['cpus']} "
                     "CPUs (other work shares the machine; ratios compare engines run back "
                     "to back).")
    lines.append(f"- rayemr start (Ray + metastore + 8 CREATE TABLE): "
                 f"{report['rayemr_startup']:.1f} s, not included.")
    lines.append("")
    lines.append("Reproduce: `python bench/tpch.py --scale 1` (add `--no-spark` to skip "
                 "PySpark; by default every stage is a YARN application of its own, "
                 "`--engine tez` makes each query one application, `--yarn false` runs the "
                 "stages as plain Ray tasks).")
    return "\n".join(lines) + "\n"


def update_readme(section: str) -> None:
    path = HERE / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## tpch")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    path.write_text(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    import duckdb

    from rayemr.hive.testing import rows_equal, tpch_queries, tpchgen

    data = Path(args.data or HERE / "data" / f"sf{args.scale}")
    if not (data / "lineitem").is_dir():
        print(f"generating TPC-H SF{args.scale} into {data} ...", flush=True)
        tpchgen(data, args.scale, parts=2)
    queries = {n: q for n, q in tpch_queries().items() if n in query_numbers(args.queries)}
    loads = [os.getloadavg()[0]]
    duck = bench_duckdb(data, queries, args.runs)
    loads.append(os.getloadavg()[0])
    mine = bench_rayemr(data, queries, args.runs, args.runner, args.yarn, args.engine)
    loads.append(os.getloadavg()[0])
    correct = sum(rows_equal(mine["results"][n], duck["results"][n]) for n in queries)
    spark = None if args.no_spark else bench_spark(data, queries, args.spark_runs)
    loads.append(os.getloadavg()[0])
    report = {
        "scale": args.scale, "runs": args.runs, "spark_runs": args.spark_runs,
        "runner": args.runner, "yarn": mine.get("yarn_used", args.yarn), "correct": correct,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "duckdb_version": duckdb.__version__,
        "rayemr": mine["times"], "duckdb": duck["times"],
        "spark": spark["times"] if spark else None,
        "spark_startup": spark["startup"] if spark else None,
        "rayemr_startup": mine["startup"], "count_star_ms": mine["count_star_warm"] * 1000,
        "load": [round(x, 1) for x in loads], "cpus": os.cpu_count(),
    }
    if spark:
        import pyspark
        report["spark_version"] = pyspark.__version__
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"tpch_sf{args.scale}.json").write_text(json.dumps(report, indent=1))
    png = f"tpch_sf{args.scale}.png"
    chart(report, HERE / png)
    section = markdown(report, png)
    print(section)
    if not args.no_readme:
        update_readme(section)
    return 0 if correct == len(queries) else 1


if __name__ == "__main__":
    sys.exit(main())
