"""The command line and settings every job shares (``MRJob`` and ``BatchJob`` alike).

``add_job_arguments`` defines the arguments of ``python job.py ...`` and ``rayemr mr``
(inputs, ``-r``, ``-o``, ``--num-reducers``, ``--conf`` ...); ``parse_conf`` and the checks
turn ``--conf KEY=VALUE`` settings into a dict and reject bad numbers before anything runs.
"""
from __future__ import annotations

import argparse
from typing import Any

from rayemr.core.errors import ConfigError

RUNNER_CHOICES = ("inline", "local", "ray")

CONF_SKIP_BAD = "rayemr.mapreduce.skip-bad-records"
CONF_SPLIT_SIZE = "mapreduce.input.fileinputformat.split.maxsize"
CONF_MAX_ATTEMPTS = "mapreduce.map.maxattempts"
CONF_REDUCES = "mapreduce.job.reduces"
#: "false" runs tasks as plain Ray tasks instead of in YARN containers.
CONF_YARN = "rayemr.mapreduce.yarn"
#: Numeric settings the runner, planner, tasks and YARN launcher read: key -> (smallest
#: value, whether a fraction is allowed). Checked when the job is set up, before anything runs.
NUMERIC_CONF = {
    CONF_SPLIT_SIZE: (1, False),
    CONF_MAX_ATTEMPTS: (1, False),
    CONF_REDUCES: (1, False),
    "mapred.reduce.tasks": (1, False),
    "mapreduce.task.io.sort.mb": (1, True),
    "mapreduce.map.memory.mb": (1, False),
    "mapreduce.reduce.memory.mb": (1, False),
}
MAP_ONLY_HINT = ("for a map-only job, give the job (or its MRStep) a mapper and no reducer; "
                 "its output is written as part-m-* files")


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every job's command line has."""
    p.add_argument("args", nargs="*", metavar="INPUT", help="input paths or URLs")
    p.add_argument("-r", "--runner", choices=RUNNER_CHOICES, default="inline",
                   help="inline (this process), local (a local Ray) or ray (the "
                        "cluster at --address / RAY_ADDRESS)")
    p.add_argument("-o", "--output-dir", dest="output_dir", metavar="OUTPUT",
                   help="where part-r-NNNNN files go (default: print the output)")
    p.add_argument("--num-reducers", dest="num_reducers", type=int, default=None)
    p.add_argument("--queue", default="default", help="YARN queue")
    p.add_argument("--conf", "-D", "--jobconf", dest="conf", action="append",
                   default=[], metavar="KEY=VALUE", help="job configuration")
    p.add_argument("--max-attempts", dest="max_attempts", type=int, default=None)
    p.add_argument("--skip-bad-records", dest="skip_bad_records", action="store_true")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the output directory if it exists")
    p.add_argument("--address", default=None, help="Ray cluster to join (-r ray)")
    p.add_argument("--cat-output", dest="cat_output", action="store_true", default=None)
    p.add_argument("--no-cat-output", dest="cat_output", action="store_false")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or counters")


def parse_conf(pairs: list[str] | None) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` as a dict; a pair without ``=`` is a one-line ConfigError."""
    out = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--conf {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def check_count(what: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, or a one-line ConfigError naming ``what``."""
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{what} must be an integer, got {value!r}") from None
    if n < minimum:
        hint = MAP_ONLY_HINT if n == 0 and "reduce" in what else None
        raise ConfigError(f"{what} must be at least {minimum}, got {n}", hint=hint)
    return n


def check_numeric_conf(conf: dict[str, str]) -> None:
    """Every numeric setting in ``conf`` must parse (and be in range) before the job runs."""
    for key, (minimum, fraction) in NUMERIC_CONF.items():
        raw = conf.get(key)
        if raw is None or (key == "mapreduce.task.io.sort.mb" and raw == ""):
            continue
        if not fraction:
            check_count(key, raw, minimum)
            continue
        try:
            x = float(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {raw!r}") from None
        if not x >= minimum:
            raise ConfigError(f"{key} must be at least {minimum}, got {raw!r}")
