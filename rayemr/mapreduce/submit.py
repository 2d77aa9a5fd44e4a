"""A job file's command line (``python job.py -r local|ray ...``): through the cluster
``rayemr start`` runs, when one runs, else in this process.

Through the cluster, the job's driver runs inside the cluster (as ``rayemr mr`` would run
it there), so this process pays neither Ray's start nor the driver's: it sends the job
file, its arguments and its working directory, and prints what comes back.
"""
from __future__ import annotations

import os
import sys
from typing import Any


def run_command_line(job: Any) -> int:
    code = through_cluster(job)
    if code is not None:
        return code
    from rayemr.mapreduce.runner import run_job_cli

    return run_job_cli(job)


def through_cluster(job: Any) -> int | None:
    """The job's exit code after running in the running cluster, or None: run it here."""
    opts = getattr(job, "options", None)
    runner = getattr(opts, "runner", None) or "inline"
    if (runner == "inline" or getattr(opts, "address", None) or os.environ.get("RAY_ADDRESS")
            or "-" in (getattr(opts, "args", None) or [])):
        return None
    from rayemr.client import state

    info = state.running(probe=False)
    if info is None:
        return None
    path = getattr(sys.modules.get(type(job).__module__), "__file__", None)
    if not path or not path.endswith(".py") or not os.path.isfile(path):
        return None
    from rayemr.client.gateway import Gateway

    argv = [os.path.abspath(path), "--class", type(job).__name__,
            *list(getattr(job, "_args", []) or [])]
    state.announce(info)
    return Gateway(info).run("mr", argv, cwd=os.getcwd())
