"""The NodeManager actor: one per Ray node, pinned to it.

It reports its node's capacity (vcores = the node's Ray CPUs, memory = its Ray memory) and
health (free disk under the Ray temp dir), and starts ApplicationMasters in containers granted
on its node. Task containers are launched by the AM directly with the same pinning, so no
container costs an extra actor round trip.

AM processes are pooled: the NodeManager keeps up to ``am_pool_size`` idle AM actors on its
node (at least one warm spare) and runs each new application's AM in one of them, as YARN
reuses a container's JVM. An AM process reports back when its application ended; beyond the
pool size it retires.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rayemr.runtime import NAMESPACE
from rayemr.yarn.app_master import ApplicationMaster, am_actor_name
from rayemr.yarn.records import Container

log = logging.getLogger(__name__)

#: Below this fraction of free disk the node reports itself UNHEALTHY (YARN's disk checker).
MIN_FREE_DISK = 0.05
#: How long a new AM process may take to start before the launch counts as failed.
AM_START_TIMEOUT_S = 120.0


def nm_actor_name(node_id: str) -> str:
    return f"rayemr_nm_{node_id}"


class NodeManager:
    def __init__(self, node_id: str, warm_am: bool = True, am_pool_size: int = 2,
                 am_max_applications: int = 100) -> None:
        self.node_id = node_id
        self.am_pool_size = max(0, int(am_pool_size))
        self.am_max_applications = max(1, int(am_max_applications))
        self._hosts: dict[str, object] = {}  # every AM process this NM started, by name
        self._idle: list[tuple[str, object, object]] = []  # (name, actor, ready ref)
        if warm_am:
            self._idle.append(self._new_am())

    def report(self) -> dict:
        """Health of this node: ``{"node_id", "healthy", "report"}``."""
        path = tempfile.gettempdir()
        try:
            usage = shutil.disk_usage(path)
            free = usage.free / usage.total if usage.total else 1.0
        except OSError as exc:
            return {"node_id": self.node_id, "healthy": False, "report": f"disk check failed: {exc}"}
        healthy = free >= MIN_FREE_DISK
        report = "" if healthy else f"only {free:.1%} disk free under {path}"
        try:
            load = os.getloadavg()[0]
            report = report or f"load {load:.2f}"
        except OSError:
            pass
        return {"node_id": self.node_id, "healthy": healthy, "report": report}

    def launch_am(self, app_id: str, container: Container, blob: bytes,
                  retention_s: float) -> str:
        """Run the application's AM in ``container`` (on this node); returns the AM's name.

        An idle AM process is used when there is one (the most recently idle first: its
        caches are warmest); a dead one is dropped and the next tried; a new warm spare is
        started when the pool runs dry.
        """
        if container.node_id != self.node_id:
            raise ValueError(f"container {container.container_id} belongs to node "
                             f"{container.node_id}, not {self.node_id}")
        while True:
            name, am, ready = self._idle.pop() if self._idle else self._new_am()
            try:
                ray.get(ready, timeout=AM_START_TIMEOUT_S)
                started = ray.get(am.run_async.remote(app_id, container, blob, retention_s),
                                  timeout=AM_START_TIMEOUT_S)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                log.warning("ApplicationMaster process %s is unusable (%s); trying another",
                            name, type(exc).__name__)
                self._forget(name)
                if not self._idle and not self._hosts:
                    raise
                continue
            if started:
                break
            self._forget(name)  # busy or retiring: not ours to hand out any more
        if not self._idle:
            self._idle.append(self._new_am())
        return name

    def am_idle(self, name: str) -> None:
        """An AM process finished its application: it goes back to the pool; beyond the
        pool size the process idle longest retires."""
        am = self._hosts.get(name)
        if am is None:
            return
        if any(n == name for n, _, _ in self._idle):
            return
        self._idle.append((name, am, am.ping.remote()))
        while len(self._idle) > max(1, self.am_pool_size):  # the longest idle one retires
            old, old_am, _ = self._idle[0]
            self._forget(old)
            old_am.retire.remote()

    def am_pool(self) -> dict:
        """``{"idle": [...], "processes": n}``: the AM processes this NodeManager holds."""
        return {"idle": [n for n, _, _ in self._idle], "processes": len(self._hosts)}

    def _forget(self, name: str) -> None:
        self._hosts.pop(name, None)
        self._idle = [e for e in self._idle if e[0] != name]

    def _new_am(self):
        name = am_actor_name(self.node_id, uuid.uuid4().hex[:8])
        me = ray.get_runtime_context().current_actor if self.am_pool_size else None
        am = ray.remote(ApplicationMaster).options(
            name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=0, max_restarts=0,
            max_concurrency=16,
            scheduling_strategy=NodeAffinitySchedulingStrategy(self.node_id, soft=False),
        ).remote(name, me, self.am_max_applications)
        self._hosts[name] = am
        return name, am, am.ping.remote()
