"""Cluster states (EMR's names) and their transition table.

STARTING -> BOOTSTRAPPING -> WAITING <-> RUNNING -> TERMINATING -> TERMINATED |
TERMINATED_WITH_ERRORS. Any live state may go to TERMINATING (user request, idle timeout,
a TERMINATE_CLUSTER step failure, a failed start).
"""
from __future__ import annotations

import time
from collections import deque
from enum import Enum
from typing import Any, Callable, Mapping

from rayemr.core.errors import InvalidStateTransition, UserError


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
CLUSTER_TRANSITIONS: Mapping[tuple[ClusterState, ClusterState], frozenset[str]] = {
    (S.STARTING, S.BOOTSTRAPPING): frozenset({"provisioned"}),
    (S.BOOTSTRAPPING, S.WAITING): frozenset({"services_started"}),
    (S.WAITING, S.RUNNING): frozenset({"step_started"}),
    (S.RUNNING, S.WAITING): frozenset({"steps_done"}),
    (S.STARTING, S.TERMINATING): frozenset({"start_failed", "terminate"}),
    (S.BOOTSTRAPPING, S.TERMINATING): frozenset({"bootstrap_failed", "terminate"}),
    (S.RUNNING, S.TERMINATING): frozenset({"terminate", "step_failed", "steps_done"}),
    (S.WAITING, S.TERMINATING): frozenset({"terminate", "idle_timeout", "steps_done"}),
    (S.TERMINATING, S.TERMINATED): frozenset({"terminated"}),
    (S.TERMINATING, S.TERMINATED_WITH_ERRORS): frozenset({"terminated"}),
}


class ClusterStatus:
    """A cluster's state, why it is there, timeline and a bounded transition log."""

    def __init__(self, cluster_id: str, clock: Callable[[], float] = time.time) -> None:
        self.cluster_id = cluster_id
        self._clock = clock
        self.state = ClusterState.STARTING
        self.reason = ""
        #: EMR's StateChangeReason code (BOOTSTRAP_FAILURE, USER_REQUEST, STEP_FAILURE, ...).
        self.code = ""
        self.with_errors = False
        self.created = clock()
        self.ready: float | None = None
        self.ended: float | None = None
        self.history: deque = deque(maxlen=32)

    def move(self, new: ClusterState, event: str, reason: str = "", code: str = "") -> None:
        if event not in CLUSTER_TRANSITIONS.get((self.state, new), ()):
            raise InvalidStateTransition("cluster", self.cluster_id, self.state, new, event)
        now = self._clock()
        self.history.append((now, self.state.value, new.value, event))
        self.state = new
        if reason:
            self.reason = reason
        if code:
            self.code = code
        if new in (S.WAITING, S.RUNNING) and self.ready is None:
            self.ready = now
        if new.final:
            self.ended = now

    def to_dict(self) -> dict:
        return {
            "State": self.state.value,
            "StateChangeReason": ({**({"Code": self.code} if self.code else {}),
                                   "Message": self.reason} if self.reason else {}),
            "Timeline": {k: v for k, v in (("CreationDateTime", self.created),
                                           ("ReadyDateTime", self.ready),
                                           ("EndDateTime", self.ended)) if v is not None},
        }


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
