"""The step queue as a pure state machine: events in, instructions out, no I/O.

Steps run one at a time, in the order they were added. The runner asks ``start_next()`` for
the next step, runs it, and reports ``finished(step_id, ok=...)``; the queue answers with
instructions (run the next step, kill a running one, terminate the cluster) following EMR's
ActionOnFailure rules:

- ``CONTINUE``: the next pending step runs;
- ``CANCEL_AND_WAIT``: every pending step is cancelled, the cluster waits for new steps;
- ``TERMINATE_CLUSTER``: every pending step is cancelled and the cluster terminates.

A cancel of a pending step takes effect at once; a cancel of a running step asks the runner
to kill it and the step becomes CANCELLED when the runner reports it ended.
"""
from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from rayemr.core.errors import InputNotFoundError, UserError
from rayemr.core.statemachine import Tracked
from rayemr.emr.steps import (STEP_MACHINE, ActionOnFailure, StepSpec, StepState, StepType,
                              parse_step_states)

#: Transitions kept per step for ``story()``.
LOG_LENGTH = 16
_ALPHABET = string.ascii_uppercase + string.digits


def new_id(prefix: str) -> str:
    """An EMR-style id: ``j-`` (clusters) or ``s-`` (steps) and 13 characters."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(13))


# ------------------------------------------------------------------------------ instructions

@dataclass(frozen=True)
class RunStep:
    step_id: str


@dataclass(frozen=True)
class KillStep:
    step_id: str


@dataclass(frozen=True)
class TerminateCluster:
    reason: str
    with_errors: bool


Instruction = RunStep | KillStep | TerminateCluster


# ----------------------------------------------------------------------------------- records

@dataclass
class Step:
    """One step's mutable record inside the queue."""

    id: str
    spec: StepSpec
    #: The step's state in ``STEP_MACHINE``, with entry times and story.
    status: Tracked[StepState]
    exit_code: int | None = None
    reason: str = ""
    log_uri: str | None = None
    application_ids: list[str] = field(default_factory=list)
    #: application id -> the YARN queue it ran in, when known.
    application_queues: dict[str, str] = field(default_factory=dict)
    cancel_requested: bool = False

    @property
    def state(self) -> StepState:
        return self.status.state

    @property
    def created(self) -> float:
        return self.status.entered[StepState.PENDING]

    @property
    def started(self) -> float | None:
        return self.status.entered.get(StepState.RUNNING)

    @property
    def ended(self) -> float | None:
        return self.status.entered.get(self.state) if self.state.final else None

    def to_dict(self) -> dict[str, Any]:
        """EMR's ``describe-step`` shape (plus rayemr's application ids and log location)."""
        status: dict[str, Any] = {
            "State": self.state.value,
            "StateChangeReason": {"Message": self.reason} if self.reason else {},
            "Timeline": {k: v for k, v in (("CreationDateTime", self.created),
                                           ("StartDateTime", self.started),
                                           ("EndDateTime", self.ended)) if v is not None},
        }
        if self.state is StepState.FAILED:
            status["FailureDetails"] = {
                "Reason": self.reason or "step failed",
                "Message": f"exit code {self.exit_code}" if self.exit_code is not None else "",
                "LogFile": self.log_uri + "/stderr" if self.log_uri else "",
            }
        return {
            "Id": self.id,
            "Name": self.spec.name,
            "Config": {"Type": self.spec.type.value, "Args": list(self.spec.args)},
            "ActionOnFailure": self.spec.action_on_failure.value,
            "Status": status,
            "ApplicationIds": list(self.application_ids),
            "Applications": [{"Id": a, "Queue": self.application_queues.get(a, "")}
                             for a in self.application_ids],
            "LogUri": self.log_uri,
        }

    def summary(self) -> dict[str, Any]:
        return {"Id": self.id, "Name": self.spec.name, "State": self.state.value,
                "ActionOnFailure": self.spec.action_on_failure.value}


class StepQueue:
    """Ordered steps of one cluster and the rules that move them."""

    def __init__(self, *, clock: Callable[[], float] = time.time,
                 make_id: Callable[[], str] = lambda: new_id("s-")) -> None:
        self._clock = clock
        self._make_id = make_id
        self._steps: dict[str, Step] = {}
        self._order: list[str] = []
        self._closed = False
        self.last_activity = clock()

    # ------------------------------------------------------------------------ queries
    @property
    def running(self) -> Step | None:
        for sid in self._order:
            if self._steps[sid].state is StepState.RUNNING:
                return self._steps[sid]
        return None

    def pending(self) -> list[Step]:
        return [self._steps[s] for s in self._order if self._steps[s].state is StepState.PENDING]

    def get(self, step_id: str) -> Step:
        try:
            return self._steps[step_id]
        except KeyError:
            raise InputNotFoundError(f"step {step_id} not found on this cluster",
                                     hint="list-steps shows the cluster's steps") from None

    def list(self, states: Iterable[str | StepState] | None = None,
             step_ids: Iterable[str] | None = None) -> list[Step]:
        """Steps newest first, as EMR lists them."""
        wanted = set(parse_step_states(states)) if states else None
        ids = set(step_ids) if step_ids else None
        out = []
        for sid in reversed(self._order):
            step = self._steps[sid]
            if wanted and step.state not in wanted:
                continue
            if ids is not None and sid not in ids:
                continue
            out.append(step)
        return out

    def in_order(self, step_ids: Iterable[str] | None = None) -> list[Step]:
        """The steps ``step_ids`` in that order (default: all, in submission order).

        Unknown ids raise ``InputNotFoundError`` naming every one of them.
        """
        if step_ids is None:
            return [self._steps[s] for s in self._order]
        ids = list(dict.fromkeys(step_ids))
        missing = [s for s in ids if s not in self._steps]
        if missing:
            raise InputNotFoundError(
                f"step{'s' if len(missing) > 1 else ''} {', '.join(missing)} not found on "
                f"this cluster", hint="list-steps shows the cluster's steps")
        return [self._steps[s] for s in ids]

    def idle(self) -> bool:
        return self.running is None and not self.pending()

    def idle_for(self, now: float | None = None) -> float:
        """Seconds since the queue last had work (0 while steps are pending or running)."""
        if not self.idle():
            return 0.0
        return max(0.0, (self._clock() if now is None else now) - self.last_activity)

    def story(self, step_id: str) -> list[tuple[float, str, str, str]]:
        return self.get(step_id).status.story()

    # ------------------------------------------------------------------------- events
    def add(self, specs: Iterable[Any]) -> list[str]:
        """Append steps (validated first: all or none are added)."""
        if self._closed:
            raise UserError("the cluster is terminating; it takes no more steps")
        parsed = [StepSpec.from_any(s) for s in specs]
        ids = []
        now = self._clock()
        for spec in parsed:
            sid = self._make_id()
            while sid in self._steps:
                sid = self._make_id()
            self._steps[sid] = Step(id=sid, spec=spec, status=Tracked(
                STEP_MACHINE, sid, StepState.PENDING, clock=self._clock,
                story_length=LOG_LENGTH, now=now))
            self._order.append(sid)
            ids.append(sid)
        if ids:
            self.last_activity = now
        return ids

    def start_next(self) -> RunStep | None:
        """Mark the first pending step RUNNING and say to run it (None: nothing to do)."""
        if self._closed or self.running is not None:
            return None
        pending = self.pending()
        if not pending:
            return None
        step = pending[0]
        self._move(step, StepState.RUNNING, "start")
        self.last_activity = step.started or self._clock()
        return RunStep(step.id)

    def finished(self, step_id: str, *, ok: bool, exit_code: int | None = None,
                 reason: str = "") -> list[Instruction]:
        """The runner reports a step ended; returns what to do next."""
        step = self.get(step_id)
        now = self._clock()
        step.exit_code = exit_code
        self.last_activity = now
        if step.cancel_requested:
            self._move(step, StepState.CANCELLED, "cancel")
            step.reason = step.reason or "cancelled by request"
            return []
        if ok:
            self._move(step, StepState.COMPLETED, "succeeded")
            return []
        self._move(step, StepState.FAILED, "failed")
        step.reason = reason or (f"exit code {exit_code}" if exit_code is not None else "failed")
        action = step.spec.action_on_failure
        if action is ActionOnFailure.CONTINUE:
            return []
        for other in self.pending():
            self._move(other, StepState.CANCELLED, "previous_step_failed")
            other.reason = f"cancelled because step {step.id} failed ({action.value})"
        if action is ActionOnFailure.TERMINATE_CLUSTER:
            self._closed = True
            return [TerminateCluster(reason=f"step {step.id} ({step.spec.name}) failed",
                                     with_errors=True)]
        return []

    def cancel(self, step_ids: Iterable[str]) -> tuple[list[dict[str, str]], list[Instruction]]:
        """EMR's ``cancel-steps``: per-step outcome, and kills for running ones."""
        results, instructions = [], []
        for sid in step_ids:
            step = self._steps.get(sid)
            if step is None:
                results.append({"StepId": sid, "Status": "FAILED", "Reason": "no such step"})
            elif step.state is StepState.PENDING:
                self._move(step, StepState.CANCELLED, "cancel")
                step.reason = "cancelled by request"
                results.append({"StepId": sid, "Status": "SUBMITTED", "Reason": ""})
            elif step.state is StepState.RUNNING:
                step.cancel_requested = True
                step.reason = "cancelled by request"
                instructions.append(KillStep(sid))
                results.append({"StepId": sid, "Status": "SUBMITTED", "Reason": ""})
            else:
                results.append({"StepId": sid, "Status": "FAILED",
                                "Reason": f"step is already {step.state.value}"})
        return results, instructions

    def close(self, reason: str = "cluster terminating") -> list[Instruction]:
        """The cluster is terminating: cancel pending steps, kill the running one."""
        self._closed = True
        out: list[Instruction] = []
        for step in self.pending():
            self._move(step, StepState.CANCELLED, "cluster_terminating")
            step.reason = reason
        running = self.running
        if running is not None:
            running.cancel_requested = True
            running.reason = reason
            out.append(KillStep(running.id))
        return out

    def record_application(self, step_id: str, app_id: str, queue: str = "") -> None:
        step = self.get(step_id)
        if app_id not in step.application_ids:
            step.application_ids.append(app_id)
        if queue:
            step.application_queues[app_id] = queue

    # ------------------------------------------------------------------------ internals
    def _move(self, step: Step, new: StepState, event: str) -> None:
        step.status.fire(event, new)


def step_kind(step: Step) -> StepType:
    return step.spec.type
