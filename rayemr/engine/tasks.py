"""One task attempt: assemble inputs, call the stage function, cut and return its output.

:func:`execute_attempt` is what every launcher runs (in this process, as a Ray task, or in a
YARN container). It never raises for a failure of the stage function: the error, its
traceback and the attempt's counters come back in the :class:`AttemptOutcome` (the first
return value), so the driver can retry, report and still show counters. The remaining return
values are the output blocks: one per downstream partition, then the whole output when the
driver asked for it (collect / broadcast).
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa

from rayemr.core.errors import RayEmrError, UserError
from rayemr.engine.context import TaskContext
from rayemr.engine.graph import ShuffleSpec
from rayemr.engine.shuffle import assemble, split_table


@dataclass(frozen=True)
class InputSlot:
    """How the flat argument list maps onto one named stage input."""

    name: str
    kind: str  # "split" | "shuffle" | "broadcast"
    count: int  # number of positional values this input takes
    spec: ShuffleSpec | None = None


@dataclass(frozen=True)
class AttemptSpec:
    stage_id: str
    task_index: int
    attempt: int
    fn: Callable[..., Any] = field(compare=False)
    slots: tuple[InputSlot, ...]
    conf: tuple[tuple[str, str], ...] = ()
    output: ShuffleSpec | None = None
    return_whole: bool = False
    committer: Any = None
    split: str = ""

    @property
    def num_returns(self) -> int:
        return 1 + (self.output.num_partitions if self.output else 0) + int(self.return_whole)


@dataclass
class AttemptOutcome:
    """Small, picklable result of one attempt (the blocks travel separately)."""

    stage_id: str
    task_index: int
    attempt: int
    ok: bool
    counters: dict[str, dict[str, int]]
    status: str = ""
    commit: Any = None
    rows_out: int = 0
    seconds: float = 0.0
    error: BaseException | None = None
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""
    retriable: bool = True
    split: str = ""
    #: What the attempt printed and logged (``stdout``/``stderr``/``syslog``), when it ran
    #: in a process of its own (see ``rayemr.engine.tasklog``).
    logs: dict[str, str] = field(default_factory=dict)
    #: The attempt failed because its job was cancelled while it ran (it was interrupted).
    killed: bool = False


def _picklable(exc: BaseException) -> BaseException | None:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return None


def execute_attempt(spec: AttemptSpec, *values: Any) -> Any:
    """Run one attempt; returns ``outcome`` or ``(outcome, *blocks)``."""
    t0 = time.perf_counter()
    ctx = TaskContext(spec.stage_id, spec.task_index, spec.attempt, dict(spec.conf),
                      committer=spec.committer, split=spec.split)
    empty = [pa.table({})] * (spec.num_returns - 1)
    try:
        inputs: dict[str, Any] = {}
        pos = 0
        for slot in spec.slots:
            vals = list(values[pos:pos + slot.count])
            pos += slot.count
            if slot.kind == "split":
                inputs[slot.name] = vals[0]
            elif slot.kind == "shuffle":
                inputs[slot.name] = assemble(vals, slot.spec)
            else:
                inputs[slot.name] = assemble(vals, None)
        out = spec.fn(ctx, inputs)
        blocks: list[pa.Table] = []
        rows = 0
        if out is not None:
            if isinstance(out, pa.RecordBatch):
                out = pa.Table.from_batches([out])
            rows = out.num_rows
            if spec.output is not None:
                blocks.extend(split_table(out, spec.output))
        elif spec.output is not None:
            blocks.extend([pa.table({})] * spec.output.num_partitions)
        if spec.return_whole:
            blocks.append(out if out is not None else pa.table({}))
        commit = None
        if ctx.wrote_output:
            commit = spec.committer.commit_task(ctx.task_id, spec.attempt)
        outcome = AttemptOutcome(spec.stage_id, spec.task_index, spec.attempt, True,
                                 ctx.counters_dict(), ctx.status, commit, rows,
                                 time.perf_counter() - t0, split=spec.split)
    except BaseException as exc:  # noqa: BLE001 -- the driver decides what a failure means
        if isinstance(exc, (KeyboardInterrupt, SystemExit)) and spec.committer is None:
            raise
        if spec.committer is not None and ctx.wrote_output:
            try:
                spec.committer.abort_task(ctx.task_id, spec.attempt)
            except Exception:  # noqa: BLE001 -- the job abort cleans up what is left
                pass
        outcome = AttemptOutcome(
            spec.stage_id, spec.task_index, spec.attempt, False, ctx.counters_dict(),
            ctx.status, None, 0, time.perf_counter() - t0,
            error=_picklable(exc), error_type=type(exc).__name__, error_message=str(exc),
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            retriable=not isinstance(exc, UserError), split=spec.split)
        blocks = empty
    if spec.num_returns == 1:
        return outcome
    return (outcome, *blocks)


def is_user_error(outcome: AttemptOutcome) -> bool:
    return isinstance(outcome.error, RayEmrError) and isinstance(outcome.error, UserError)
