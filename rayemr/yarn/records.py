"""The values that cross between clients, ApplicationMasters and the ResourceManager.

All are frozen and picklable; they are validated when built, so a bad request fails in the
caller's process with a clear message, not inside the ResourceManager.
"""
from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any

from rayemr.core.errors import ConfigError
from rayemr.yarn.resources import Resource
from rayemr.yarn.states import AppState, ContainerState, FinalStatus, NodeState

#: Resource of an ApplicationMaster's container unless the spec says otherwise.
DEFAULT_AM_RESOURCE = Resource(vcores=1, memory_mb=512)

#: Tags added to every application a process submits (comma-separated), as Hadoop's
#: ``mapreduce.job.tags``: whoever started the process (an EMR step) finds its applications.
TAGS_ENV = "RAYEMR_APPLICATION_TAGS"


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers without /etc/passwd entries)
        return "rayemr"


def current_groups(user: str) -> tuple[str, ...]:
    try:
        import grp
        import os
        import pwd

        gid = pwd.getpwnam(user).pw_gid
        return tuple(sorted({grp.getgrgid(g).gr_name for g in os.getgrouplist(user, gid)}))
    except Exception:
        return ()


@dataclass(frozen=True)
class ApplicationSpec:
    """What a client submits: the application's name, type, owner, queue and AM size."""

    name: str
    app_type: str = "MAPREDUCE"
    queue: str = "default"
    user: str = field(default_factory=current_user)
    priority: int = 0
    tags: tuple[str, ...] = ()
    am_resource: Resource = DEFAULT_AM_RESOURCE
    groups: tuple[str, ...] | None = None
    #: YARN's unmanaged AM: the ApplicationMaster runs in the submitting process (no AM
    #: container); the application turns RUNNING once its queue admits it.
    unmanaged_am: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"application name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.queue, str) or not self.queue.strip():
            raise ConfigError(f"application queue must be a queue name, got {self.queue!r}")
        if not isinstance(self.user, str) or not self.user.strip():
            raise ConfigError(f"application user must be a non-empty string, got {self.user!r}")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ConfigError(f"application priority must be an integer, got {self.priority!r}")
        if not isinstance(self.am_resource, Resource):
            raise ConfigError(f"am_resource must be a rayemr.yarn.Resource, got {self.am_resource!r}")
        tags = (self.tags,) if isinstance(self.tags, str) else tuple(self.tags)
        if not all(isinstance(t, str) for t in tags):
            raise ConfigError(f"application tags must be strings, got {self.tags!r}")
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "app_type", str(self.app_type).upper())
        if self.groups is None:
            object.__setattr__(self, "groups", current_groups(self.user))
        else:
            object.__setattr__(self, "groups", tuple(self.groups))


@dataclass(frozen=True)
class ContainerRequest:
    """Ask for ``count`` more containers of ``resource`` (negative ``count`` withdraws asks).

    ``priority`` orders an application's own requests: a LOWER value is served first (YARN's
    convention; MapReduce asks maps at 20 and reduces at 10). ``nodes`` are preferred node ids;
    with ``relax_locality`` (the default) other nodes are used when the preferred are full.
    """

    resource: Resource
    count: int = 1
    priority: int = 0
    nodes: tuple[str, ...] = ()
    relax_locality: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.resource, Resource):
            raise ConfigError(f"ContainerRequest resource must be a Resource, got {self.resource!r}")
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise ConfigError(f"ContainerRequest count must be an integer, got {self.count!r}")
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not self.nodes and not self.relax_locality:
            raise ConfigError("ContainerRequest with relax_locality=False needs preferred nodes")

    @property
    def key(self) -> tuple:
        return (self.priority, self.resource, self.nodes, self.relax_locality)


@dataclass(frozen=True)
class Container:
    """A grant: ``resource`` on Ray node ``node_id`` for one application."""

    container_id: str
    node_id: str
    resource: Resource
    priority: int = 0
    request_key: tuple = ()


@dataclass(frozen=True)
class ContainerStatus:
    """Why a container ended: ``state`` (COMPLETED/RELEASED/KILLED/LOST) and YARN's exit code."""

    container_id: str
    state: ContainerState
    exit_status: int = 0
    diagnostics: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class AllocateResponse:
    """What one ``allocate`` heartbeat returns to an ApplicationMaster."""

    allocated: tuple[Container, ...] = ()
    completed: tuple[ContainerStatus, ...] = ()
    lost_nodes: tuple[str, ...] = ()
    killed: bool = False
    available: Resource | None = None
    num_cluster_nodes: int = 0
    resync: bool = False


@dataclass(frozen=True)
class ApplicationReport:
    """A snapshot of one application, as ``yarn application -status`` shows it."""

    app_id: str
    name: str
    app_type: str
    user: str
    queue: str
    priority: int
    tags: tuple[str, ...]
    state: AppState
    final_status: FinalStatus
    progress: float
    diagnostics: str
    submit_time: float
    start_time: float
    finish_time: float
    am_container: str
    am_node: str
    running_containers: int
    allocated: Resource
    memory_seconds: int
    vcore_seconds: int
    am_actor: str = ""
    unmanaged_am: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The shape of YARN's ``/ws/v1/cluster/apps/{id}`` ``app`` object."""
        ms = lambda t: int(t * 1000) if t else 0  # noqa: E731
        return {
            "id": self.app_id, "name": self.name, "applicationType": self.app_type,
            "user": self.user, "queue": self.queue, "priority": self.priority,
            "applicationTags": ",".join(self.tags), "state": self.state.value,
            "finalStatus": self.final_status.value, "progress": round(self.progress * 100, 2),
            "diagnostics": self.diagnostics, "startedTime": ms(self.start_time or self.submit_time),
            "launchTime": ms(self.start_time), "finishedTime": ms(self.finish_time),
            "elapsedTime": ms((self.finish_time or _now()) - self.submit_time),
            "amContainerLogs": "", "amHostHttpAddress": self.am_node,
            "masterContainerId": self.am_container,
            "runningContainers": self.running_containers,
            "allocatedMB": self.allocated.memory_mb, "allocatedVCores": self.allocated.vcores,
            "memorySeconds": self.memory_seconds, "vcoreSeconds": self.vcore_seconds,
            "unmanagedApplication": self.unmanaged_am,
        }


@dataclass(frozen=True)
class NodeReport:
    node_id: str
    address: str
    state: NodeState
    capability: Resource
    used: Resource
    num_containers: int
    health_report: str
    last_health_update: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.node_id, "nodeHostName": self.address, "state": self.state.value,
            "numContainers": self.num_containers, "usedMemoryMB": self.used.memory_mb,
            "availMemoryMB": max(0, self.capability.memory_mb - self.used.memory_mb),
            "usedVirtualCores": self.used.vcores,
            "availableVirtualCores": max(0.0, self.capability.vcores - self.used.vcores),
            "totalResource": self.capability.to_dict(), "healthReport": self.health_report,
            "lastHealthUpdate": int(self.last_health_update * 1000),
        }


def _now() -> float:
    import time

    return time.time()
