"""TeraGen: write N 100-byte records (gensort's ASCII format) with M map tasks.

    python jobs/teragen.py 100000 /tmp/tera-in --maps 2 [-r inline|local|ray]
"""
import argparse

from rayemr.mapreduce.runner import format_counters
from rayemr.mapreduce.tera import teragen

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("records", type=int)
    p.add_argument("output")
    p.add_argument("--maps", type=int, default=2)
    p.add_argument("-r", "--runner", choices=("inline", "local", "ray"), default="local")
    p.add_argument("--overwrite", action="store_true")
    a = p.parse_args()
    res = teragen(a.output, a.records, num_maps=a.maps, overwrite=a.overwrite,
                  runner="inline" if a.runner == "inline" else "ray")
    print(format_counters(res.counters))
