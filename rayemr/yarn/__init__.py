"""rayemr.yarn: a YARN-style resource manager on Ray.

Queues with guaranteed shares (Capacity Scheduler), applications with ApplicationMasters,
container grants pinned to Ray nodes. The scheduling policy (``rayemr.yarn.scheduler``) is
pure Python; the Ray actors (ResourceManager, NodeManager, ApplicationMaster) are thin shells.
Importing this package does not import Ray; the Ray-backed names load on first use.

    import rayemr.yarn as yarn
    yarn.start()
    client = yarn.YarnClient()
    app_id = client.submit(yarn.ApplicationSpec("job"), am_main, payload)
    print(client.result(app_id))
"""
from __future__ import annotations

from rayemr.yarn.config import Acl, CapacitySchedulerConfig, QueueConfig
from rayemr.yarn.records import (AllocateResponse, ApplicationReport, ApplicationSpec, Container,
                                 ContainerRequest, ContainerStatus, NodeReport)
from rayemr.yarn.resources import Resource
from rayemr.yarn.settings import YarnConfig
from rayemr.yarn.states import AppState, ContainerState, ExitStatus, FinalStatus, NodeState

_LAZY = {
    "start": "rayemr.yarn.client", "stop": "rayemr.yarn.client",
    "is_running": "rayemr.yarn.client",
    "decommission_node": "rayemr.yarn.client", "recommission_node": "rayemr.yarn.client",
    "YarnClient": "rayemr.yarn.client", "YarnHandle": "rayemr.yarn.client",
    "AMRMClient": "rayemr.yarn.app_master",
}

__all__ = [
    "Acl", "AllocateResponse", "AMRMClient", "AppState", "ApplicationReport", "ApplicationSpec",
    "CapacitySchedulerConfig", "Container", "ContainerRequest", "ContainerState",
    "ContainerStatus", "ExitStatus", "FinalStatus", "NodeReport", "NodeState", "QueueConfig",
    "Resource", "YarnClient", "YarnConfig", "YarnHandle", "decommission_node",
    "is_running", "recommission_node", "start", "stop",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rayemr.yarn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
