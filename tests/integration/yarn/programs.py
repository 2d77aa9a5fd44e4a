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


def saturate(amrm, p):
    """Keep asking for containers and keep each busy with a short task.

    Stops after ``p["seconds"]``, when the file ``p["stop"]`` exists, or when killed. Returns
    the containers it was told were lost (with the node each was on) and the lost nodes.
    """
    import os

    from rayemr.yarn import ContainerState

    res = Resource(p.get("vcores", 1), p.get("memory_mb", 128))
    asks = [ContainerRequest(res, p.get("want", 30))]
    end = time.time() + p.get("seconds", 120)
    node_of, lost, lost_nodes, refs, died = {}, [], set(), {}, []
    stop = p.get("stop") or "/nonexistent/stop"
    stop_seen = []

    def stopped():  # with "await_lost", a stop waits (up to 20 s) until a node loss is seen
        if not os.path.exists(stop):
            return False
        stop_seen.append(time.time())
        return not p.get("await_lost") or bool(lost_nodes) or time.time() > stop_seen[0] + 20

    while time.time() < end and not amrm.killed and not stopped():
        resp = amrm.allocate(asks)
        asks = []
        for c in resp.allocated:
            node_of[c.container_id] = c.node_id
            refs[c.container_id] = amrm.launch(c, nap, p.get("task_s", 0.3))
        for st in resp.completed:
            ref = refs.pop(st.container_id, None)
            if st.state == ContainerState.LOST:
                lost.append((st.container_id, node_of.get(st.container_id)))
            elif ref is not None:  # Ray may tell the AM first: the task died with its node
                try:
                    ray.get(ref, timeout=10)
                except Exception:  # noqa: BLE001
                    died.append((st.container_id, node_of.get(st.container_id)))
        lost_nodes.update(resp.lost_nodes)
        if resp.completed:
            asks = [ContainerRequest(res, len(resp.completed))]
        time.sleep(0.05)
    return {"lost": lost, "died": died, "lost_nodes": sorted(lost_nodes),
            "held": sorted(node_of.items())}


def run_waves(amrm, p):
    """Run ``p["n"]`` short tasks, asking for a few containers at a time; sum of squares."""
    n, res = p["n"], Resource(1, 128)
    todo, refs = list(range(n)), []
    outstanding = 0
    while todo:
        want = min(len(todo), 3) - outstanding
        resp = amrm.allocate([ContainerRequest(res, want)] if want > 0 else [])
        outstanding += max(0, want)
        for c in resp.allocated:
            outstanding -= 1
            if todo:
                refs.append(amrm.launch(c, slow_square, todo.pop(), p.get("task_s", 0.2)))
            else:
                amrm.release([c.container_id])
        time.sleep(0.05)
    return sum(ray.get(refs))


def slow_square(x, seconds):
    time.sleep(seconds)
    return x * x


def process_id(amrm, payload):
    """The AM process's pid (to see whether AM processes are reused)."""
    import os

    return os.getpid()
