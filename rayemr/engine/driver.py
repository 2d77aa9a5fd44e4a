"""The driver: walk a StageGraph, launch attempts, retry, count, commit.

The driver loop (:func:`drive`) is the same for every launcher (in this process, plain Ray
tasks, YARN containers; :mod:`rayemr.engine.run` picks one): it asks the pure
:class:`~rayemr.engine.schedule.Schedule` what may run, launches attempts, feeds their
outcomes back, reports progress, and at the end commits the job's output (every stage
succeeded) or aborts it (anything failed or the job was cancelled).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa

from rayemr.core.errors import ClusterError, RayEmrError, UserError
from rayemr.engine.context import merge_counters
from rayemr.engine.errors import JobKilledError, TaskFailedError
from rayemr.engine.graph import (BroadcastInput, ShuffleInput, SplitInput, Stage,
                                 StageGraph)
from rayemr.engine.schedule import Progress, Schedule, TaskKey
from rayemr.engine.tasks import AttemptOutcome, AttemptSpec, InputSlot

log = logging.getLogger(__name__)

JOB_COUNTERS = "Job Counters"


@dataclass
class GraphResult:
    """Tables of every ``collect`` stage (in task order) and the merged counters."""

    outputs: dict[str, list[pa.Table]] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    app_id: str | None = None
    seconds: float = 0.0
    statuses: dict[str, str] = field(default_factory=dict)
    #: Every YARN application the run used (one per job, or one per stage).
    app_ids: list[str] = field(default_factory=list)
    #: The final per-stage progress.
    progress: Progress | None = None


def _split_text(split: Any) -> str:
    if split is None:
        return ""
    url = getattr(split, "url", None)
    if url is not None:
        start = getattr(split, "start", None)
        length = getattr(split, "length", None)
        return f"{url}:{start}+{length}" if start is not None else str(url)
    text = repr(split)
    return text if len(text) <= 200 else text[:197] + "..."


def _needs_whole(graph: StageGraph) -> set[str]:
    ids = {s.id for s in graph.stages if s.collect}
    for s in graph.stages:
        ids.update(i.stage for i in s.inputs if isinstance(i, BroadcastInput))
    return ids


class _Run:
    """State of one graph run on one launcher."""

    def __init__(self, graph: StageGraph, launcher, conf: dict[str, str], committer: Any,
                 max_attempts: int, progress: Callable[[Progress], None] | None,
                 cancel: Callable[[], bool] | None) -> None:
        self.graph = graph
        self.launcher = launcher
        self.conf = tuple(sorted((dict(graph.conf) | conf).items()))
        self.committer = committer
        self.schedule = Schedule(graph, max_attempts)
        self.progress_cb = progress
        self.cancel = cancel
        self.whole_ids = _needs_whole(graph)
        self.blocks: dict[TaskKey, list[Any]] = {}  # partition handles of finished tasks
        self.whole: dict[TaskKey, Any] = {}
        self.commits: dict[TaskKey, Any] = {}
        self.counters: dict[str, dict[str, int]] = {}
        self.statuses: dict[str, str] = {}
        self.inflight: dict[Any, tuple[TaskKey, AttemptSpec]] = {}
        self.placed: dict[TaskKey, Any] = {}  # where each finished task's blocks live
        self.last_failure: AttemptOutcome | None = None
        self._last_line = ""

    def _count(self, name: str, n: int = 1) -> None:
        merge_counters(self.counters, {JOB_COUNTERS: {name: n}})

    def _slots_and_args(self, stage: Stage, i: int) -> tuple[tuple[InputSlot, ...], list, str]:
        slots, args, split = [], [], ""
        for inp in stage.inputs:
            if isinstance(inp, SplitInput):
                slots.append(InputSlot(inp.name, "split", 1))
                args.append(inp.splits[i])
                split = _split_text(inp.splits[i])
            elif isinstance(inp, ShuffleInput):
                up = self.graph.stage(inp.stage)
                vals = [self.blocks[(up.id, m)][i] for m in range(up.num_tasks)]
                slots.append(InputSlot(inp.name, "shuffle", len(vals), up.output))
                args.extend(vals)
                split = split or f"partition {i} of {up.id}"
            else:
                up = self.graph.stage(inp.stage)
                vals = [self.whole[(up.id, m)] for m in range(up.num_tasks)]
                slots.append(InputSlot(inp.name, "broadcast", len(vals)))
                args.extend(vals)
        return tuple(slots), args, split

    def cancelled(self) -> bool:
        return self.schedule.killed or (self.cancel is not None and self.cancel())

    def launch_ready(self) -> None:
        for key in self.schedule.runnable():
            if self.cancelled():  # an inline launch runs the attempt: look before each
                return
            stage = self.graph.stage(key[0])
            slots, args, split = self._slots_and_args(stage, key[1])
            attempt = self.schedule.launch(key)
            spec = AttemptSpec(stage.id, key[1], attempt, stage.fn, slots, self.conf,
                               stage.output, stage.id in self.whole_ids, self.committer, split)
            handle = self.launcher.launch(spec, args)
            self.inflight[handle] = (key, spec)
            self._count(f"Launched {stage.kind} tasks")

    def on_done(self, handle: Any) -> None:
        key, spec = self.inflight.pop(handle)
        outcome = self.launcher.outcome(spec, handle)
        stage = self.graph.stage(key[0])
        if outcome.ok:
            self.schedule.succeeded(key)
            merge_counters(self.counters, outcome.counters)
            if outcome.status:
                self.statuses[f"{stage.id}-{key[1]:05d}"] = outcome.status
            rest = self.launcher.blocks(handle)
            self.placed[key] = self.launcher.location(handle)
            n = stage.output.num_partitions if stage.output else 0
            self.blocks[key] = rest[:n]
            if spec.return_whole:
                self.whole[key] = rest[n]
            if outcome.commit is not None:
                self.commits[key] = outcome.commit
            return
        if outcome.killed:  # interrupted because the job was cancelled: not a failure
            self._count(f"Killed {stage.kind} tasks")
            self.schedule.kill()
            return
        self._count(f"Failed {stage.kind} task attempts")
        self.last_failure = outcome
        retry = self.schedule.failed(key, outcome.retriable)
        # a retry is worth a warning; a final failure is the job's error, reported once by it
        log.log(logging.WARNING if retry else logging.INFO,
                "%s attempt %d of %d failed (%s: %s)%s", f"{stage.id}-{key[1]:05d}",
                spec.attempt + 1, self.schedule.max_attempts, outcome.error_type,
                outcome.error_message, ", retrying" if retry else "")

    def on_lost_nodes(self, nodes: set[str]) -> None:
        """Finished tasks whose blocks lived on lost nodes run again if still needed."""
        for key, node in list(self.placed.items()):
            if node not in nodes:
                continue
            stage = self.graph.stage(key[0])
            needed = any(not self.schedule.stage_done(c.id) for c in self.graph.consumers(
                stage.id))
            if needed:
                log.warning("%s-%05d: its output was on lost node %s; running it again",
                            key[0], key[1], node)
                self.schedule.output_lost(key)
                self.placed.pop(key, None)
                self._count(f"Re-run {stage.kind} tasks (output lost)")

    def report(self) -> None:
        if self.progress_cb is None:
            return
        p = self.schedule.progress()
        line = p.line()
        if line != self._last_line:
            self._last_line = line
            self.progress_cb(p)

    def loop(self) -> None:
        self.report()
        while True:
            if self.cancelled():
                self.schedule.kill()
                for key, _ in self.inflight.values():
                    self._count(f"Killed {self.graph.stage(key[0]).kind} tasks")
                self.launcher.cancel(list(self.inflight))
                self.inflight.clear()
                break
            self.launch_ready()
            if self.schedule.failed_task is not None:
                self.launcher.cancel(list(self.inflight))
                self.inflight.clear()
                break
            if self.schedule.succeeded_all:
                break
            if not self.inflight:
                raise ClusterError(f"{self.graph.name}: nothing runnable and nothing running")
            for handle in self.launcher.wait(list(self.inflight), timeout=0.5):
                self.on_done(handle)
            lost = self.launcher.lost_nodes()
            if lost:
                self.on_lost_nodes(lost)
            self.report()

    def failure(self) -> RayEmrError:
        if self.schedule.killed:
            return JobKilledError(f"{self.graph.name}: job killed; nothing was committed")
        rec = self.schedule.failed_task
        out = self.last_failure
        assert rec is not None and out is not None
        if isinstance(out.error, UserError):
            err = out.error  # the input is wrong: the message names file and offset
            return err
        where = f" reading {out.split}" if out.split else ""
        msg = (f"{self.graph.name}: task {rec.task_id} of stage {rec.stage_id} failed on "
               f"attempt {out.attempt + 1} of {rec.attempts}{where}: {out.error_type}: "
               f"{out.error_message}; nothing was committed")
        err = TaskFailedError(msg)
        err.task_id, err.stage_id, err.attempt, err.split = (
            rec.task_id, rec.stage_id, out.attempt, out.split)
        err.user_traceback = out.traceback
        return err


def drive(graph: StageGraph, launcher, *, conf: dict[str, str] | None = None,
          committer: Any = None, max_attempts: int = 4,
          progress: Callable[[Progress], None] | None = None,
          cancel: Callable[[], bool] | None = None) -> GraphResult:
    """Run ``graph`` to completion on ``launcher`` (the loop every runner shares)."""
    t0 = time.perf_counter()
    run = _Run(graph, launcher, dict(conf or {}), committer, max_attempts, progress, cancel)
    if committer is not None:
        committer.setup_job()
    try:
        run.loop()
        if not run.schedule.succeeded_all:
            raise run.failure()
        result = GraphResult(counters=run.counters, statuses=run.statuses,
                             progress=run.schedule.progress())
        for stage in graph.stages:
            if stage.collect:
                result.outputs[stage.id] = launcher.fetch(
                    [run.whole[(stage.id, i)] for i in range(stage.num_tasks)])
        if committer is not None:
            keys = sorted(run.commits, key=lambda k: (
                [s.id for s in graph.stages].index(k[0]), k[1]))
            committer.commit_job([run.commits[k] for k in keys])
        result.seconds = time.perf_counter() - t0
        return result
    except BaseException as exc:
        if committer is not None:
            try:
                committer.abort_job()
            except Exception:  # noqa: BLE001 -- keep the job's own error
                log.exception("aborting the output of %s failed", graph.name)
        if isinstance(exc, RayEmrError):
            exc.counters = run.counters
        raise
    finally:
        launcher.close()
