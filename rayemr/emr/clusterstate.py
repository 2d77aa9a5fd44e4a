"""Cluster states (EMR's names), instance (node) states, and their transition tables.

STARTING -> BOOTSTRAPPING -> WAITING <-> RUNNING -> TERMINATING -> TERMINATED |
TERMINATED_WITH_ERRORS. Any live state may go to TERMINATING (user request, idle timeout,
a TERMINATE_CLUSTER step failure, a failed start). A node joins BOOTSTRAPPING, then runs or
fails its bootstrap actions; a node that leaves the Ray cluster is LOST.
"""
from __future__ import annotations

import time
from enum import Enum
from typing import Any, Callable

from rayemr.core.errors import UserError
from rayemr.core.statemachine import Machine, Tracked


class ClusterState(str, Enum):
    STARTING = "STARTING"
    BOOTSTRAPPING = "BOOTSTRAPPING"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    TERMINATED_WITH_ERRORS = "TERMINATED_WITH_ERRORS"

    @property
    def final(self) -> bool:
        return self in (ClusterState.TERMINATED, ClusterState.TERMINATED_WITH_ERRORS)

    @property
    def live(self) -> bool:
        return self in (ClusterState.STARTING, ClusterState.BOOTSTRAPPING,
                        ClusterState.RUNNING, ClusterState.WAITING)


S = ClusterState
_LIVE = (S.STARTING, S.BOOTSTRAPPING, S.RUNNING, S.WAITING)
CLUSTER_MACHINE: Machine[ClusterState] = Machine("cluster", [
    (S.STARTING, "provisioned", S.BOOTSTRAPPING),
    (S.BOOTSTRAPPING, "services_started", S.WAITING),
    (S.WAITING, "step_started", S.RUNNING),
    (S.RUNNING, "steps_done", S.WAITING),
    (S.STARTING, "start_failed", S.TERMINATING),
    (S.BOOTSTRAPPING, "bootstrap_failed", S.TERMINATING),
    (_LIVE, "terminate", S.TERMINATING),
    (S.RUNNING, "step_failed", S.TERMINATING),
    ((S.RUNNING, S.WAITING), "steps_done", S.TERMINATING),
    (S.WAITING, "idle_timeout", S.TERMINATING),
    (S.TERMINATING, "terminated", S.TERMINATED),
    (S.TERMINATING, "terminated", S.TERMINATED_WITH_ERRORS),
], final={S.TERMINATED, S.TERMINATED_WITH_ERRORS})


class ClusterStatus(Tracked[ClusterState]):
    """A cluster's state, why it is there, its timeline and a bounded story."""

    def __init__(self, cluster_id: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(CLUSTER_MACHINE, cluster_id, ClusterState.STARTING, clock=clock)
        self.cluster_id = cluster_id
        self.reason = ""
        #: EMR's StateChangeReason code (BOOTSTRAP_FAILURE, USER_REQUEST, STEP_FAILURE, ...).
        self.code = ""
        self.with_errors = False

    def move(self, new: ClusterState, event: str, reason: str = "", code: str = "") -> None:
        self.fire(event, new)
        if reason:
            self.reason = reason
        if code:
            self.code = code

    @property
    def created(self) -> float:
        return self.entered[ClusterState.STARTING]

    @property
    def ready(self) -> float | None:
        times = [self.entered[s] for s in (S.WAITING, S.RUNNING) if s in self.entered]
        return min(times) if times else None

    @property
    def ended(self) -> float | None:
        return self.entered.get(self.state) if self.state.final else None

    def to_dict(self) -> dict:
        return {
            "State": self.state.value,
            "StateChangeReason": ({**({"Code": self.code} if self.code else {}),
                                   "Message": self.reason} if self.reason else {}),
            "Timeline": {k: v for k, v in (("CreationDateTime", self.created),
                                           ("ReadyDateTime", self.ready),
                                           ("EndDateTime", self.ended)) if v is not None},
        }


class NodeState(str, Enum):
    """An EMR instance's state on rayemr (a Ray node of the cluster)."""

    BOOTSTRAPPING = "BOOTSTRAPPING"        # joined; its bootstrap actions run
    RUNNING = "RUNNING"                    # bootstrapped (or nothing to run): takes work
    BOOTSTRAP_FAILED = "BOOTSTRAP_FAILED"  # a bootstrap action failed: kept out of YARN
    LOST = "LOST"                          # left the Ray cluster

    @property
    def final(self) -> bool:
        return self is NodeState.LOST


NS = NodeState
NODE_MACHINE: Machine[NodeState] = Machine("node", [
    (NS.BOOTSTRAPPING, "bootstrapped", NS.RUNNING),
    (NS.BOOTSTRAPPING, "bootstrap_failed", NS.BOOTSTRAP_FAILED),
    ((NS.BOOTSTRAPPING, NS.RUNNING, NS.BOOTSTRAP_FAILED), "lost", NS.LOST),
], final={NS.LOST})


def parse_cluster_states(values: Any) -> tuple[ClusterState, ...]:
    """``--cluster-states`` values as ``ClusterState``s; a bad value is a one-line error."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        try:
            out.append(ClusterState(str(value).strip().upper()))
        except ValueError:
            choices = ", ".join(m.value for m in ClusterState)
            raise UserError(f"cluster state {value!r} is not valid",
                            hint=f"choose from {choices}") from None
    return tuple(out)
