"""What the runner and the tasks ask of a job, for rayemr's jobs and mrjob's alike.

Plain functions over a job object: whether it is an ``mrjob.job.MRJob``, which protocols a
script substep reads and writes (mrjob's rules), its ``SORT_VALUES`` and its ``JOBCONF``. A
leaf module: it knows no job class, so both job classes, the runner and the tasks use it.
"""
from __future__ import annotations

import sys
from typing import Any

from rayemr.mapreduce.protocol import TextValueProtocol


def is_mrjob_job(obj: Any) -> bool:
    """Whether ``obj`` (a class or instance) is an ``mrjob.job.MRJob``."""
    mod = sys.modules.get("mrjob.job")
    if mod is None:
        return False
    cls = obj if isinstance(obj, type) else type(obj)
    return issubclass(cls, mod.MRJob)


def _script_step_mapping(steps_desc: list[dict[str, Any]]) -> dict[str, int]:
    mapping, n = {}, 0
    for i, step in enumerate(steps_desc):
        for part in ("mapper", "reducer"):
            if part in step and step[part]["type"] == "script":
                mapping[f"{i}-{part}"] = n
                n += 1
    return mapping


def pick_protocols(job: Any, step_num: int, step_type: str) -> tuple[Any, Any]:
    """(read, write) protocol instances of a script substep (mrjob's rules)."""
    if hasattr(job, "_pick_protocol_instances") and is_mrjob_job(job):
        return job._pick_protocol_instances(step_num, step_type)
    steps = job._steps_desc()
    mapping = _script_step_mapping(steps)
    last = len(mapping) - 1
    if step_type == "combiner":
        key = f"{step_num}-mapper"
        if key in mapping:
            p = job.output_protocol() if mapping[key] >= last else job.internal_protocol()
        else:
            p = TextValueProtocol()
        return p, p
    key = f"{step_num}-{step_type}"
    if key not in mapping:
        raise ValueError("Can't pick a protocol for a non-script step")
    n = mapping[key]
    write = job.output_protocol() if n == last else job.internal_protocol()
    read = job.input_protocol() if n == 0 else job.internal_protocol()
    return read, write


def sort_values(job: Any) -> bool:
    fn = getattr(job, "sort_values", None)
    return bool(fn() if callable(fn) else getattr(job, "SORT_VALUES", False))


def jobconf(job: Any) -> dict[str, str]:
    fn = getattr(job, "jobconf", None)
    conf = fn() if callable(fn) else dict(getattr(job, "JOBCONF", {}) or {})
    return {str(k): str(v) for k, v in (conf or {}).items()}


__all__ = ["is_mrjob_job", "jobconf", "pick_protocols", "sort_values"]
