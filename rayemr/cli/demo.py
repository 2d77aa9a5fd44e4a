"""rayemr demo: an EMR-style cluster on this machine running the bundled steps.

Starts Ray in local mode (or joins the cluster at --address / $RAY_ADDRESS), creates a
cluster with configurations and a bootstrap action, runs its steps -- the access-log analysis
and word-count MapReduce jobs on bundled data, a command that fails with
ActionOnFailure=CONTINUE, a Hive query over the word counts -- prints each step's state and
the results, and terminates the cluster. ``-r inline`` computes the same results in this
process, without Ray or a cluster.
"""
from __future__ import annotations

import argparse
import sys

from rayemr.cli.text import plain


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="an EMR-style cluster running MapReduce and Hive "
                                           "steps on bundled data", description=plain(__doc__),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=main)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--runner", choices=("local", "ray", "inline"), default=None,
                   help="local: start Ray on this machine (default, unless $RAY_ADDRESS "
                        "names a cluster); ray: join the cluster at --address/$RAY_ADDRESS; "
                        "inline: the jobs only, in this process, without a cluster")
    p.add_argument("--address", help="Ray cluster to join (implies -r ray)")
    p.add_argument("--folder", help="where outputs, step logs and the metastore go "
                                    "(default: a new folder under the temp directory)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--top", type=int, default=10, help="how many words to show")


def main(args: argparse.Namespace) -> int:
    import os

    from rayemr.core.errors import UserError

    runner = args.runner or ("ray" if args.address or os.environ.get("RAY_ADDRESS")
                             else "local")
    if args.top <= 0:
        raise UserError(f"--top must be positive, got {args.top}")
    if runner == "inline":
        return _inline(args)
    address = args.address or (os.environ.get("RAY_ADDRESS") if runner == "ray" else None)
    if runner == "ray" and not address:
        raise UserError("-r ray needs --address or RAY_ADDRESS (the Ray cluster to join)")
    if runner == "local":
        os.environ.pop("RAY_ADDRESS", None)  # local means a fresh instance on this machine
    from rayemr.emr.demo import run_demo

    result = run_demo(sys.stdout, folder=args.folder, num_cpus=args.num_cpus,
                      address=address, top=args.top)
    return 0 if result.ok else 1


def _inline(args: argparse.Namespace) -> int:
    import time

    from rayemr.emr.demo import print_results, run_jobs_inline

    out = sys.stdout
    out.write("rayemr demo (inline): the demo's MapReduce jobs and Hive query in this "
              "process, no cluster\n\n")
    t = time.perf_counter()
    result = run_jobs_inline(args.folder)
    print_results(out, result, top=args.top)
    out.write(f"Done in {time.perf_counter() - t:.1f}s; outputs in {result.folder}/output\n"
              "Run `rayemr demo` to see the same jobs as steps of an EMR-style cluster.\n")
    return 0
