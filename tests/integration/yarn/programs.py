"""ApplicationMaster programs the integration tests submit (importable by Ray workers)."""
from __future__ import annotations

import time

import ray

from rayemr.yarn import ContainerRequest, Resource


def square(x):
    return x * x


def run_tasks(amrm, payload):
    """Run ``payload["n"]`` tasks, one per container; return the sum of their squares."""
    n = payload["n"]
    res = Resource(payload.get("vcores", 1), payload.get("memory_mb", 128))
    asks, refs, launched = [ContainerRequest(res, n)], [], 0
    while launched < n:
        resp = amrm.allocate(asks)
        asks = []
        for c in resp.allocated:
            refs.append(amrm.launch(c, square, launched))
            launched += 1
        if launched < n:
            time.sleep(0.01)
    return sum(ray.get(refs))


def nap(seconds):
    time.sleep(seconds)
    return seconds


def fail(amrm, payload):
    raise ValueError(f"bad record {payload}")


def sleep_forever(amrm, payload):
    """Hold containers running sleeping tasks until killed."""
    res = Resource(payload.get("vcores", 1), payload.get("memory_mb", 128))
    resp = amrm.allocate([ContainerRequest(res, payload.get("n", 1))])
    held = list(resp.allocated)
    refs = []
    deadline = time.time() + 120
    while time.time() < deadline and not amrm.killed:
        for c in held:
            refs.append(amrm.launch(c, nap, 600))
        held = []
        resp = amrm.allocate()
        held.extend(resp.allocated)
        time.sleep(0.05)
    return "killed" if amrm.killed else "timeout"
