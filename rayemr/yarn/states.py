"""States of applications, containers and nodes, and their transition tables.

Each machine is a :class:`~rayemr.core.statemachine.Machine` built from rows
``(from_state(s), event, to_state)`` with YARN's event names (RMAppEventType,
RMContainerEventType, RMNodeEventType). Anything not in a table raises
:class:`~rayemr.core.errors.InvalidStateTransition` naming the object, both states and the
event; every tracked object keeps its entry times and a bounded story
(:meth:`~rayemr.core.statemachine.Tracked.story`) so a failure can be replayed after the fact.
"""
from __future__ import annotations

from enum import Enum

from rayemr.core.statemachine import Machine


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

#: Applications (RMAppImpl). RECOVER rebuilds a non-final application after an RM restart;
#: a final one is put back with ``Tracked.restore``. AM_FINISHED ends in the state the
#: ApplicationMaster's final status names.
APP_MACHINE: Machine[AppState] = Machine("application", [
    (A.NEW, "SUBMIT", A.SUBMITTED),
    (A.NEW, "RECOVER", A.SUBMITTED),
    (A.NEW, "RECOVER", A.ACCEPTED),
    (A.NEW, "RECOVER", A.RUNNING),
    (A.SUBMITTED, "APP_ACCEPTED", A.ACCEPTED),
    ((A.SUBMITTED, A.ACCEPTED), "APP_REJECTED", A.FAILED),
    ((A.SUBMITTED, A.ACCEPTED, A.RUNNING), "KILL", A.KILLED),
    (A.ACCEPTED, "AM_LAUNCHED", A.RUNNING),
    ((A.ACCEPTED, A.RUNNING), "NODE_LOST", A.FAILED),
    (A.ACCEPTED, "AM_LAUNCH_FAILED", A.FAILED),
    (A.RUNNING, "ATTEMPT_FAILED", A.ACCEPTED),
    (A.RUNNING, "AM_FINISHED", A.FINISHED),
    (A.RUNNING, "AM_FINISHED", A.FAILED),
    (A.RUNNING, "AM_FINISHED", A.KILLED),
    (A.RUNNING, "AM_FAILED", A.FAILED),
    (A.RUNNING, "EXPIRE", A.FAILED),
], final=FINAL_APP_STATES)

_LIVE_CONTAINER = (C.ALLOCATED, C.ACQUIRED, C.RUNNING)

#: Containers (RMContainerImpl).
CONTAINER_MACHINE: Machine[ContainerState] = Machine("container", [
    (C.ALLOCATED, "ACQUIRE", C.ACQUIRED),
    ((C.ALLOCATED, C.ACQUIRED), "LAUNCH", C.RUNNING),
    ((C.ALLOCATED, C.ACQUIRED), "RECOVER", C.RUNNING),
    ((C.ACQUIRED, C.RUNNING), "FINISH", C.COMPLETED),
    (_LIVE_CONTAINER, "RELEASE", C.RELEASED),
    (_LIVE_CONTAINER, "KILL", C.KILLED),
    (_LIVE_CONTAINER, "NODE_LOST", C.LOST),
], final=FINAL_CONTAINER_STATES)

#: Nodes (RMNodeImpl). A lost or decommissioned node may register again.
NODE_MACHINE: Machine[NodeState] = Machine("node", [
    ((N.NEW, N.LOST, N.DECOMMISSIONED), "REGISTER", N.RUNNING),
    (N.RUNNING, "HEALTH_REPORT", N.UNHEALTHY),
    (N.UNHEALTHY, "HEALTH_REPORT", N.RUNNING),
    ((N.NEW, N.RUNNING, N.UNHEALTHY), "EXPIRE", N.LOST),
    ((N.RUNNING, N.UNHEALTHY), "DECOMMISSION", N.DECOMMISSIONED),
])
