"""``rayemr mr JOBFILE INPUT... -o OUTPUT [job args]``: run a MapReduce job file.

The file may define a rayemr job (``rayemr.mapreduce.MRJob`` / ``BatchJob``) or an mrjob job
(``mrjob.job.MRJob``), which runs unchanged. Options rayemr knows are taken first; everything
else (inputs and the job's own arguments) goes to the job's argument parser.
"""
from __future__ import annotations

import argparse
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "mr", help="run a MapReduce job file (rayemr or mrjob)",
        description="Run a MapReduce job file. Inputs and the job's own options follow it.",
        usage="rayemr mr JOBFILE INPUT... [-o OUTPUT] [-r inline|local|ray] "
              "[--num-reducers N] [--queue Q] [--conf K=V] [job args]")
    add_run_options(p)
    p.add_argument("jobfile", nargs="?", metavar="JOBFILE",
                   help="Python file defining the job class")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--runner", choices=("inline", "local", "ray"), default="local",
                   help="inline (this process), local (Ray on this machine, default) or ray "
                        "(the cluster at --address / $RAY_ADDRESS)")
    p.add_argument("-o", "--output-dir", dest="output_dir", metavar="OUTPUT",
                   help="where part files and _SUCCESS go (a path or URL); without it the "
                        "output is printed")
    p.add_argument("--num-reducers", type=int, default=None, metavar="N",
                   help="reduce tasks (default: mapreduce.job.reduces, else the CPUs, at "
                        "most 8)")
    p.add_argument("--queue", default="default", help="YARN queue (default: default)")
    p.add_argument("--conf", "-D", "--jobconf", dest="conf", action="append", default=[],
                   metavar="KEY=VALUE", help="a job setting, e.g. mapreduce.job.reduces=4 "
                                             "(repeatable)")
    p.add_argument("--max-attempts", type=int, default=None, metavar="N",
                   help="attempts per task before the job fails (default 4)")
    p.add_argument("--skip-bad-records", action="store_true", default=None,
                   help="skip and count input records the input protocol cannot read")
    p.add_argument("--overwrite", action="store_true", default=None,
                   help="replace an existing output folder (only once the job succeeds)")
    p.add_argument("--class", dest="job_class", default=None,
                   help="job class to run when the file defines several")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or counters")


def main(args: argparse.Namespace, extra: list[str] | None = None) -> int:
    from rayemr.mapreduce.arguments import parse_conf
    from rayemr.mapreduce.jobinfo import is_mrjob_job
    from rayemr.mapreduce.loading import load_job_file
    from rayemr.mapreduce.runner import JobRunner, progress_printer

    err = getattr(args, "stderr", None) or sys.stderr
    if not args.jobfile:  # a usage error, as argparse's own (exit code 2)
        print("rayemr mr: name a job file: rayemr mr JOBFILE INPUT... -o OUTPUT "
              "(see rayemr mr --help)", file=err)
        return 2
    if extra is None:
        args, extra = split_options(args)
    cwd = getattr(args, "cwd", None)  # set when the command runs for a gateway client
    cls = load_job_file(at(cwd, args.jobfile), args.job_class)
    job = cls(args=extra)
    if is_mrjob_job(job):
        job._rayemr_args = extra
    name = cls.__name__
    inputs = [at(cwd, i) for i in list(getattr(job.options, "args", []) or [])]
    output_dir = at(cwd, args.output_dir)
    cancel = getattr(args, "cancel", None)
    runner = JobRunner(job, runner=args.runner, inputs=inputs, output_dir=output_dir,
                       num_reducers=args.num_reducers, queue=args.queue,
                       conf=parse_conf(args.conf), max_attempts=args.max_attempts,
                       skip_bad_records=args.skip_bad_records, overwrite=args.overwrite,
                       progress=None if args.quiet else progress_printer(err, name),
                       cancel=cancel.is_set if cancel is not None else None)
    with runner:
        _run(runner, args, err, name, output_dir)
    return 0


def split_options(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    """rayemr's options may also follow the job file and its inputs: take them out of
    ``args.rest``; what is left is the job's own command line."""
    again = argparse.ArgumentParser(add_help=False)
    add_run_options(again)
    return again.parse_known_args(list(args.rest or []), namespace=args)


def at(cwd: str | None, path: str | None) -> str | None:
    """A relative local path as the client meant it (relative to its working directory)."""
    if not cwd or not path or path == "-" or "://" in path or os.path.isabs(path):
        return path
    return os.path.join(cwd, path)


def _run(runner, args: argparse.Namespace, err, name: str, output_dir: str | None) -> None:
    from rayemr.core.errors import RayEmrError
    from rayemr.mapreduce.runner import format_counters

    try:
        runner.run()
    except RayEmrError:
        if runner._counters and not args.quiet:
            err.write(format_counters(runner._counters) + "\n")
        tb = getattr(runner.error, "user_traceback", "")
        if tb:
            err.write(tb if tb.endswith("\n") else tb + "\n")
        raise
    if not args.quiet:
        err.write(format_counters(runner._counters) + "\n")
    if output_dir is None:
        out = (getattr(args, "stdout", None) or sys.stdout)
        out.flush()
        buffer = getattr(out, "buffer", out)
        for chunk in runner.cat_output():
            buffer.write(chunk)
        buffer.flush()
    elif not args.quiet:
        err.write(f"{name}: output in {args.output_dir}\n")
