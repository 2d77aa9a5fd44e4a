"""The NodeManager actor: one per Ray node, pinned to it.

It reports its node's capacity (vcores = the node's Ray CPUs, memory = its Ray memory) and
health (free disk under the Ray temp dir), and starts ApplicationMasters in containers granted
on its node. Task containers are launched by the AM directly with the same pinning, so no
container costs an extra actor round trip.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rayemr.yarn.app_master import NAMESPACE, ApplicationMaster, am_actor_name
from rayemr.yarn.records import Container

#: Below this fraction of free disk the node reports itself UNHEALTHY (YARN's disk checker).
MIN_FREE_DISK = 0.05


def nm_actor_name(node_id: str) -> str:
    return f"rayemr_nm_{node_id}"


class NodeManager:
    def __init__(self, node_id: str, warm_am: bool = True) -> None:
        self.node_id = node_id
        self._spare = self._new_am() if warm_am else None

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

        A warm spare AM actor is kept on every node, so an application starts without
        waiting for a new worker process (slow on a busy node); a new spare follows.
        """
        if container.node_id != self.node_id:
            raise ValueError(f"container {container.container_id} belongs to node "
                             f"{container.node_id}, not {self.node_id}")
        spare, self._spare = self._spare, None
        name, am, ping = spare if spare is not None else self._new_am()
        try:
            ray.get(ping, timeout=120)
        except Exception:
            name, am, ping = self._new_am()
            ray.get(ping, timeout=120)
        am.run.remote(app_id, container, blob, retention_s)
        self._spare = self._new_am()
        return name

    def _new_am(self):
        name = am_actor_name(self.node_id, uuid.uuid4().hex[:8])
        am = ray.remote(ApplicationMaster).options(
            name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=0, max_restarts=0,
            max_concurrency=16,
            scheduling_strategy=NodeAffinitySchedulingStrategy(self.node_id, soft=False),
        ).remote(name)
        return name, am, am.ping.remote()

    def ping(self) -> str:
        return self.node_id
