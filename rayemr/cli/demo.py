"""``rayemr demo``: run the access-log analysis and word-count jobs on bundled data.

Starts (or joins) Ray in local mode, runs both MapReduce jobs through the engine -- splits,
map tasks with combiners, shuffle, reduce tasks, committed output -- and prints their results.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="run example MapReduce jobs on bundled data",
                              description=__doc__)
    p.add_argument("-r", "--runner", choices=("inline", "local", "ray"), default="local",
                   help="local: a local Ray instance (default); inline: this process only; "
                        "ray: the cluster at --address / $RAY_ADDRESS")
    p.add_argument("--top", type=int, default=10, help="how many words to show")
    p.set_defaults(func=main)


def _run(job, runner: str, inputs: list[str], out_dir: str, progress) -> tuple[list, dict]:
    from rayemr.mapreduce.runner import JobRunner

    with JobRunner(job, runner=runner, inputs=inputs, output_dir=out_dir,
                   progress=progress) as r:
        r.run()
        rows = list(job.parse_output(r.cat_output()))
        return rows, r.counters()[0]


def main(args: argparse.Namespace) -> int:
    from rayemr.mapreduce import examples
    from rayemr.mapreduce.runner import progress_printer

    out = sys.stdout
    runner = args.runner
    if runner != "inline":
        import rayemr

        out.write("Starting Ray (local mode)...\n" if runner == "local" and
                  not os.environ.get("RAY_ADDRESS") else "Joining the Ray cluster...\n")
        out.flush()
        t = time.perf_counter()
        info = rayemr.init(num_cpus=None)
        out.write(f"Ray ready in {time.perf_counter() - t:.1f}s "
                  f"({info.num_cpus:g} CPUs, {'started here' if info.started_locally else info.address})\n\n")
    with tempfile.TemporaryDirectory(prefix="rayemr-demo-") as tmp:
        # 1. access-log analysis
        out.write(f"== Access-log analysis: hits and bytes per status and per hour\n"
                  f"   input: {examples.ACCESS_LOG}\n")
        t = time.perf_counter()
        rows, counters = _run(examples.MRLogAnalysis(args=[]), runner, [examples.ACCESS_LOG],
                              os.path.join(tmp, "logs"), progress_printer(out, "loganalysis"))
        secs = time.perf_counter() - t
        by_status = sorted((k[1], v) for k, v in rows if k[0] == "status")
        by_hour = sorted((k[1], v) for k, v in rows if k[0] == "hour")
        out.write(f"\n   {'status':<8}{'hits':>8}{'bytes':>14}\n")
        for status, (hits, nbytes) in by_status:
            out.write(f"   {status:<8}{hits:>8}{nbytes:>14,}\n")
        out.write(f"\n   {'hour':<18}{'hits':>8}{'bytes':>14}\n")
        for hour, (hits, nbytes) in by_hour:
            out.write(f"   {hour:<18}{hits:>8}{nbytes:>14,}\n")
        mr = counters.get("Map-Reduce Framework", {})
        out.write(f"\n   {mr.get('Map input records', 0)} log lines -> "
                  f"{mr.get('Map output records', 0)} map outputs -> "
                  f"{mr.get('Combine output records', 0)} after combining -> "
                  f"{len(rows)} results, in {secs:.1f}s\n\n")
        # 2. word count
        out.write(f"== Word count\n   input: {examples.TEXT_DIR}\n")
        t = time.perf_counter()
        rows, counters = _run(examples.MRWordCount(args=[]), runner, [examples.TEXT_DIR],
                              os.path.join(tmp, "wc"), progress_printer(out, "wordcount"))
        secs = time.perf_counter() - t
        top = sorted(rows, key=lambda kv: (-kv[1], kv[0]))[:args.top]
        out.write(f"\n   {'word':<12}{'count':>6}\n")
        for word, n in top:
            out.write(f"   {word:<12}{n:>6}\n")
        mr = counters.get("Map-Reduce Framework", {})
        out.write(f"\n   {mr.get('Map output records', 0)} words, {len(rows)} distinct, "
                  f"in {secs:.1f}s\n\n")
    out.write("Next: rayemr mr jobs/wordcount.py INPUT... -o OUTPUT   (docs/mapreduce.md)\n")
    return 0
