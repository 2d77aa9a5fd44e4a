"""States of applications, containers and nodes, and their allowed transitions.

Each machine is a table ``(from_state, to_state) -> events that may cause it``. Anything not
in the table raises :class:`~rayemr.core.errors.InvalidStateTransition` naming the object, both
states and the event. Every tracked object keeps a bounded log of its transitions
(:meth:`Tracked.story`) so a failure can be replayed after the fact.
"""
from __future__ import annotations

import time
from collections import deque
from enum import Enum
from typing import Callable, Mapping

from rayemr.core.errors import InvalidStateTransition

#: Transitions kept per object.
LOG_LENGTH = 32


class AppState(str, Enum):
    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def final(self) -> bool:
        return self in FINAL_APP_STATES


FINAL_APP_STATES = frozenset({AppState.FINISHED, AppState.FAILED, AppState.KILLED})


class FinalStatus(str, Enum):
    """What the application reported about itself (YARN's FinalApplicationStatus)."""

    UNDEFINED = "UNDEFINED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class ContainerState(str, Enum):
    ALLOCATED = "ALLOCATED"   # granted by the scheduler, not yet handed to the AM
    ACQUIRED = "ACQUIRED"     # returned to the AM by allocate()
    RUNNING = "RUNNING"       # the AM launched work in it
    COMPLETED = "COMPLETED"   # its work finished
    RELEASED = "RELEASED"     # the AM gave it back unused or early
    KILLED = "KILLED"         # the application was killed or finished
    LOST = "LOST"             # its node was lost

    @property
    def final(self) -> bool:
        return self in FINAL_CONTAINER_STATES


FINAL_CONTAINER_STATES = frozenset({ContainerState.COMPLETED, ContainerState.RELEASED,
                                    ContainerState.KILLED, ContainerState.LOST})


class NodeState(str, Enum):
    NEW = "NEW"
    RUNNING = "RUNNING"
    UNHEALTHY = "UNHEALTHY"
    LOST = "LOST"
    DECOMMISSIONED = "DECOMMISSIONED"


class ExitStatus:
    """YARN's ContainerExitStatus codes used in :class:`ContainerStatus`."""

    SUCCESS = 0
    INVALID = -1000
    ABORTED = -100            # released by the AM, or its node was lost
    KILLED_BY_APPMASTER = -105
    KILLED_BY_RESOURCEMANAGER = -106
    KILLED_AFTER_APP_COMPLETION = -107


A, C, N = AppState, ContainerState, NodeState

APP_TRANSITIONS: Mapping[tuple[AppState, AppState], frozenset[str]] = {
    (A.NEW, A.SUBMITTED): frozenset({"SUBMIT", "RECOVER"}),
    (A.NEW, A.ACCEPTED): frozenset({"RECOVER"}),
    (A.NEW, A.RUNNING): frozenset({"RECOVER"}),
    (A.SUBMITTED, A.ACCEPTED): frozenset({"APP_ACCEPTED"}),
    (A.SUBMITTED, A.FAILED): frozenset({"APP_REJECTED"}),
    (A.SUBMITTED, A.KILLED): frozenset({"KILL"}),
    (A.ACCEPTED, A.RUNNING): frozenset({"AM_LAUNCHED"}),
    (A.ACCEPTED, A.FAILED): frozenset({"AM_LAUNCH_FAILED", "NODE_LOST", "APP_REJECTED"}),
    (A.ACCEPTED, A.KILLED): frozenset({"KILL"}),
    (A.RUNNING, A.ACCEPTED): frozenset({"ATTEMPT_FAILED"}),
    (A.RUNNING, A.FINISHED): frozenset({"AM_FINISHED"}),
    (A.RUNNING, A.FAILED): frozenset({"AM_FINISHED", "AM_FAILED", "NODE_LOST", "EXPIRE"}),
    (A.RUNNING, A.KILLED): frozenset({"KILL", "AM_FINISHED"}),
}

CONTAINER_TRANSITIONS: Mapping[tuple[ContainerState, ContainerState], frozenset[str]] = {
    (C.ALLOCATED, C.ACQUIRED): frozenset({"ACQUIRE"}),
    (C.ALLOCATED, C.RELEASED): frozenset({"RELEASE"}),
    (C.ALLOCATED, C.KILLED): frozenset({"KILL"}),
    (C.ALLOCATED, C.LOST): frozenset({"NODE_LOST"}),
    (C.ALLOCATED, C.RUNNING): frozenset({"LAUNCH", "RECOVER"}),
    (C.ACQUIRED, C.RUNNING): frozenset({"LAUNCH", "RECOVER"}),
    (C.ACQUIRED, C.COMPLETED): frozenset({"FINISH"}),
    (C.ACQUIRED, C.RELEASED): frozenset({"RELEASE"}),
    (C.ACQUIRED, C.KILLED): frozenset({"KILL"}),
    (C.ACQUIRED, C.LOST): frozenset({"NODE_LOST"}),
    (C.RUNNING, C.COMPLETED): frozenset({"FINISH"}),
    (C.RUNNING, C.RELEASED): frozenset({"RELEASE"}),
    (C.RUNNING, C.KILLED): frozenset({"KILL"}),
    (C.RUNNING, C.LOST): frozenset({"NODE_LOST"}),
}

NODE_TRANSITIONS: Mapping[tuple[NodeState, NodeState], frozenset[str]] = {
    (N.NEW, N.RUNNING): frozenset({"REGISTER"}),
    (N.NEW, N.LOST): frozenset({"EXPIRE"}),
    (N.RUNNING, N.UNHEALTHY): frozenset({"HEALTH_REPORT"}),
    (N.UNHEALTHY, N.RUNNING): frozenset({"HEALTH_REPORT"}),
    (N.RUNNING, N.LOST): frozenset({"EXPIRE"}),
    (N.UNHEALTHY, N.LOST): frozenset({"EXPIRE"}),
    (N.RUNNING, N.DECOMMISSIONED): frozenset({"DECOMMISSION"}),
    (N.UNHEALTHY, N.DECOMMISSIONED): frozenset({"DECOMMISSION"}),
    (N.LOST, N.RUNNING): frozenset({"REGISTER"}),
    (N.DECOMMISSIONED, N.RUNNING): frozenset({"REGISTER"}),
}


def check(kind: str, key: str, table: Mapping, src: Enum, dst: Enum, event: str) -> None:
    """Raise ``InvalidStateTransition`` unless ``src -> dst`` on ``event`` is in ``table``."""
    events = table.get((src, dst))
    if events is None or event not in events:
        raise InvalidStateTransition(kind, key, src, dst, event)


class Tracked:
    """Mixin: an object with a ``state`` that changes only through its table, with a log."""

    KIND: str = "object"
    TABLE: Mapping = {}
    __slots__ = ()

    def _init_tracking(self, state: Enum) -> None:
        self.state = state
        self.log: deque = deque(maxlen=LOG_LENGTH)

    @property
    def key(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def transition(self, dst: Enum, event: str, now: Callable[[], float] = time.time) -> None:
        src = self.state
        check(self.KIND, self.key, self.TABLE, src, dst, event)
        self.state = dst
        self.log.append((now(), src.value, dst.value, event))

    def story(self) -> list[tuple[float, str, str, str]]:
        """The last transitions of this object: ``(time, from, to, event)``, oldest first."""
        return list(self.log)
