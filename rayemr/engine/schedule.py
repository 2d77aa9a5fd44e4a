"""Which task attempt runs next: the driver's pure core (no Ray, no I/O).

Every task of a :class:`~rayemr.engine.graph.StageGraph` moves through a small state machine
(``TASK_MACHINE``, on the kernel of ``rayemr.core.statemachine``): PENDING -> RUNNING ->
SUCCEEDED, or RUNNING -> PENDING again to retry a failed attempt, or RUNNING -> FAILED when
its attempts are used up (or the error is the user's input, which no retry fixes). A stage's
tasks become runnable when every upstream stage has SUCCEEDED. The driver feeds events in and
asks what to launch; unit tests drive it without a cluster.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable

from rayemr.core.statemachine import Machine, Tracked
from rayemr.engine.graph import StageGraph


class TaskState(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    KILLED = "KILLED"


_T = TaskState
#: A task's life: launched, succeeded, retried after a failed attempt, failed for good, run
#: again when its output was lost with its node, or killed with the job.
TASK_MACHINE: Machine[TaskState] = Machine("task", [
    (_T.PENDING, "launch", _T.RUNNING),
    (_T.RUNNING, "succeeded", _T.SUCCEEDED),
    (_T.RUNNING, "retry", _T.PENDING),
    (_T.RUNNING, "failed", _T.FAILED),
    (_T.SUCCEEDED, "output_lost", _T.PENDING),
    ((_T.PENDING, _T.RUNNING), "kill", _T.KILLED),
], final={_T.FAILED, _T.KILLED})

TaskKey = tuple[str, int]


class TaskRecord(Tracked[TaskState]):
    """One task of the graph: its state, attempts and failures."""

    __slots__ = ("stage_id", "index", "attempts", "failures")

    def __init__(self, stage_id: str, index: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(TASK_MACHINE, f"{stage_id}-{index:05d}", TaskState.PENDING,
                         clock=clock, story_length=16)
        self.stage_id, self.index = stage_id, index
        self.attempts = 0  # attempts launched so far; the running one is attempts - 1
        self.failures = 0

    @property
    def task_id(self) -> str:
        return self.key


@dataclass(frozen=True)
class Progress:
    """Completion per stage kind, as Hadoop prints it: ``map 60% reduce 10%``."""

    map: float
    reduce: float
    stages: tuple[tuple[str, int, int], ...]  # (stage id, done, total)

    def line(self) -> str:
        return f"map {int(self.map * 100)}% reduce {int(self.reduce * 100)}%"

    def stage_counts(self) -> str:
        """``stages 1/3 done, Stage-2 4/10 tasks`` (empty for a one-stage graph)."""
        if len(self.stages) < 2:
            return ""
        done = sum(1 for _, d, t in self.stages if d >= t)
        running = [f"{sid} {d}/{t} tasks" for sid, d, t in self.stages if 0 < d < t]
        return ", ".join([f"stages {done}/{len(self.stages)} done", *running])


class Schedule:
    """Task states of one graph run."""

    def __init__(self, graph: StageGraph, max_attempts: int = 4,
                 clock: Callable[[], float] = time.time) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.graph = graph
        self.max_attempts = max_attempts
        self.tasks: dict[TaskKey, TaskRecord] = {
            (s.id, i): TaskRecord(s.id, i, clock) for s in graph.stages
            for i in range(s.num_tasks)}
        self._kind = {s.id: s.kind for s in graph.stages}
        self.failed_task: TaskRecord | None = None
        self.killed = False

    # -- transitions (each names its target, so an error names both states) -----------
    def launch(self, key: TaskKey) -> int:
        """Mark the task running; returns the attempt number to launch."""
        rec = self.tasks[key]
        rec.fire("launch", TaskState.RUNNING)
        rec.attempts += 1
        return rec.attempts - 1

    def succeeded(self, key: TaskKey) -> None:
        self.tasks[key].fire("succeeded", TaskState.SUCCEEDED)

    def output_lost(self, key: TaskKey) -> None:
        """A finished task's output is gone (its node died): it must run again."""
        self.tasks[key].fire("output_lost", TaskState.PENDING)

    def failed(self, key: TaskKey, retriable: bool = True) -> bool:
        """Record a failed attempt; True when the task will be retried."""
        rec = self.tasks[key]
        rec.failures += 1
        if retriable and rec.attempts < self.max_attempts and not self.killed:
            rec.fire("retry", TaskState.PENDING)
            return True
        rec.fire("failed", TaskState.FAILED)
        if self.failed_task is None:
            self.failed_task = rec
        return False

    def kill(self) -> None:
        self.killed = True
        for rec in self.tasks.values():
            if rec.state in (TaskState.PENDING, TaskState.RUNNING):
                rec.fire("kill", TaskState.KILLED)

    # -- queries -----------------------------------------------------------------------
    def stage_done(self, stage_id: str) -> bool:
        stage = self.graph.stage(stage_id)
        return all(self.tasks[(stage_id, i)].state is TaskState.SUCCEEDED
                   for i in range(stage.num_tasks))

    def runnable(self) -> list[TaskKey]:
        """Pending tasks whose upstream stages all succeeded, in plan order."""
        if self.failed_task is not None or self.killed:
            return []
        out: list[TaskKey] = []
        for stage in self.graph.stages:
            if not all(self.stage_done(up) for up in stage.upstream):
                continue
            out.extend((stage.id, i) for i in range(stage.num_tasks)
                       if self.tasks[(stage.id, i)].state is TaskState.PENDING)
        return out

    @property
    def running(self) -> list[TaskKey]:
        return [k for k, r in self.tasks.items() if r.state is TaskState.RUNNING]

    @property
    def finished(self) -> bool:
        """Every task succeeded, or one failed/was killed and nothing is still running."""
        if all(r.state is TaskState.SUCCEEDED for r in self.tasks.values()):
            return True
        if self.failed_task is not None or self.killed:
            return not self.running
        return False

    @property
    def succeeded_all(self) -> bool:
        return all(r.state is TaskState.SUCCEEDED for r in self.tasks.values())

    def progress(self) -> Progress:
        totals = {"map": [0, 0], "reduce": [0, 0]}
        stages = []
        for stage in self.graph.stages:
            done = sum(self.tasks[(stage.id, i)].state is TaskState.SUCCEEDED
                       for i in range(stage.num_tasks))
            stages.append((stage.id, done, stage.num_tasks))
            t = totals[self._kind[stage.id]]
            t[0] += done
            t[1] += stage.num_tasks
        # no reduce tasks (a map-only job or stage): reduce stays at 0%, as Hadoop prints it
        frac = {k: (v[0] / v[1] if v[1] else (1.0 if k == "map" else 0.0))
                for k, v in totals.items()}
        return Progress(frac["map"], frac["reduce"], tuple(stages))

    def story(self, key: TaskKey) -> list[tuple[float, str, str, str]]:
        """The task's recent transitions ``(time, from, to, event)``, for debugging."""
        return self.tasks[key].story()
