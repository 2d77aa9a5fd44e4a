"""TeraSort: total order over 100-byte records via sampled range partitioning.

    python jobs/terasort.py /tmp/tera-in /tmp/tera-out --reducers 2 [-r inline|local|ray]
"""
import argparse

from rayemr.mapreduce.runner import format_counters
from rayemr.mapreduce.tera import terasort

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--reducers", type=int, default=2)
    p.add_argument("-r", "--runner", choices=("inline", "local", "ray"), default="local")
    p.add_argument("--overwrite", action="store_true")
    a = p.parse_args()
    res = terasort(a.input, a.output, num_reducers=a.reducers, overwrite=a.overwrite,
                   runner="inline" if a.runner == "inline" else "ray")
    print(format_counters(res.counters))
