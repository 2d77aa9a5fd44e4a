"""The scheduling core's data: instructions for the shell and the mutable state objects.

Plain Python, no Ray, no I/O. ``SchedulerCore`` (``rayemr.yarn.scheduler``) owns instances of
these and changes their states only through the machines of ``rayemr.yarn.states`` (each object
is a :class:`~rayemr.core.statemachine.Tracked`: ``fire(event, to)``, ``story()``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from rayemr.core.statemachine import Tracked
from rayemr.yarn.config import QueueConfig
from rayemr.yarn.records import ApplicationSpec, Container, ContainerStatus
from rayemr.yarn.states import (APP_MACHINE, CONTAINER_MACHINE, NODE_MACHINE, AppState,
                                ContainerState, FinalStatus, NodeState)

Clock = Callable[[], float]

EPS = 1e-6


# -- instructions for the shell ----------------------------------------------------------------
@dataclass(frozen=True)
class LaunchAM:
    """Start the application's ApplicationMaster in ``container``."""

    app_id: str
    container: Container


@dataclass(frozen=True)
class StopAM:
    """The application ended (killed, node lost): tell its AM and stop it."""

    app_id: str
    reason: str


@dataclass(frozen=True)
class AppChanged:
    """An application's durable record changed: persist it."""

    app_id: str


# -- mutable state objects ---------------------------------------------------------------------
class NodeInfo(Tracked[NodeState]):
    def __init__(self, node_id: str, address: str, vcores: float, memory_mb: int,
                 clock: Clock = time.time) -> None:
        super().__init__(NODE_MACHINE, node_id, NodeState.NEW, clock=clock)
        self.node_id, self.address = node_id, address
        self.cap_vc, self.cap_mb = float(vcores), int(memory_mb)
        self.used_vc, self.used_mb = 0.0, 0
        self.containers: set[str] = set()
        self.health, self.last_update = "", 0.0


class QueueState:
    def __init__(self, conf: QueueConfig, parent: QueueState | None) -> None:
        self.conf, self.parent = conf, parent
        self.children: list[QueueState] = []
        self.used_vc, self.used_mb, self.num_containers = 0.0, 0, 0
        self.am_used_vc, self.am_used_mb = 0.0, 0
        self.apps: list[AppInfo] = []          # leaf: apps whose AM was started, in FIFO order
        self.pending: list[AppInfo] = []       # leaf: ACCEPTED, waiting for admission
        self.demand: set[str] = set()          # leaf: app ids with outstanding asks
        self.users: dict[str, list] = {}       # leaf: user -> [vcores, mb]
        self.num_apps = 0                      # leaf: non-final applications

    @property
    def path(self) -> str:
        return self.conf.path

    def chain(self):
        q = self
        while q is not None:
            yield q
            q = q.parent


class AppInfo(Tracked[AppState]):
    def __init__(self, app_id: str, seq: int, spec: ApplicationSpec, queue: QueueState,
                 now: float, clock: Clock = time.time) -> None:
        super().__init__(APP_MACHINE, app_id, AppState.NEW, clock=clock, now=now)
        self.app_id, self.seq, self.spec, self.queue = app_id, seq, spec, queue
        self.final_status = FinalStatus.UNDEFINED
        self.diagnostics, self.progress = "", 0.0
        self.submit_time, self.start_time, self.finish_time = now, 0.0, 0.0
        self.asks: dict[tuple, int] = {}
        self.ask_order: list[tuple] = []
        self.containers: dict[str, ContainerInfo] = {}
        self.used_vc, self.used_mb = 0.0, 0
        self.newly: list[Container] = []
        self.completed: list[ContainerStatus] = []
        self.lost_nodes: list[str] = []
        self.am_container: Container | None = None
        self.am_actor = ""       # name of the AM's Ray actor
        self.next_container = 2  # 1 is the AM's
        self.attempts = 1        # ApplicationMaster attempts so far
        self.registered = True   # False after RM recovery until the AM resyncs
        self.last_heartbeat = now  # unmanaged AMs expire without heartbeats
        self.memory_seconds, self.vcore_seconds = 0.0, 0.0


class ContainerInfo(Tracked[ContainerState]):
    def __init__(self, container: Container, app: AppInfo, now: float,
                 state: ContainerState = ContainerState.ALLOCATED,
                 clock: Clock = time.time) -> None:
        super().__init__(CONTAINER_MACHINE, container.container_id, state, clock=clock, now=now)
        self.container, self.app, self.start = container, app, now


def fifo_key(app: AppInfo) -> tuple:
    """FIFO order: higher application priority first, then submission order."""
    return (-app.spec.priority, app.seq)
