"""The fixed cost of a Hive query before any task runs: compile and plan, per TPC-H query.

    python bench/tpch_compile.py --scale 1            # the Parquet of bench/tpch.py
    python bench/tpch_compile.py --data DIR --runs 20 --cpu

For each query: ``HiveSession.compile`` (parse, names, Hive's semantics, scans, DuckDB SQL)
and ``HiveSession.plan_query`` (compile, split listing, physical rules, stages), both on the
inline runner (nothing runs), median of ``--runs`` after one untimed pass. ``--cpu`` times
process CPU instead of wall-clock time (steadier on a shared machine). Prints a table; writes
nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="1")
    p.add_argument("--data", help="folder with one sub-folder of Parquet files per table "
                   "(default: bench/data/sf<scale>, as bench/tpch.py makes it)")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--cpu", action="store_true", help="process CPU time, not wall-clock")
    return p.parse_args(argv)


def main(argv=None) -> int:
    from rayemr.hive.session import HiveSession
    from rayemr.hive.testing import tpch_ddl, tpch_queries

    args = parse_args(argv)
    data = Path(args.data or HERE / "data" / f"sf{args.scale}")
    if not (data / "lineitem").is_dir():
        print(f"no TPC-H data in {data}: run bench/tpch.py --scale {args.scale} first",
              file=sys.stderr)
        return 2
    clock = time.process_time if args.cpu else time.perf_counter
    with tempfile.TemporaryDirectory(prefix="rayemr-compile-") as tmp:
        session = HiveSession(metastore_path=f"{tmp}/metastore.db", warehouse=f"{tmp}/wh",
                              runner="inline")
        for stmt in tpch_ddl(data):
            session.execute(stmt)
        print(f"{'query':6s} {'compile ms':>11s} {'plan ms':>9s}")
        plans = []
        for n, sql in tpch_queries().items():
            session.plan_query(sql, [])
            compiled, planned = [], []
            for _ in range(args.runs):
                t0 = clock()
                session.compile(sql)
                compiled.append(clock() - t0)
                t0 = clock()
                session.plan_query(sql, [])
                planned.append(clock() - t0)
            c, p = statistics.median(compiled) * 1e3, statistics.median(planned) * 1e3
            plans.append(p)
            print(f"Q{n:<5d} {c:11.1f} {p:9.1f}", flush=True)
        print(f"plan_query (compile included): median {statistics.median(plans):.1f} ms, "
              f"total {sum(plans):.0f} ms over {len(plans)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
