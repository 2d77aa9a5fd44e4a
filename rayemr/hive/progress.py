"""A query's progress in the words Hive writes to the query log and the CLI, so tools that
parse it (Hue, schedulers, notebooks) work unchanged::

    Total jobs = 2
    Launching Job 1 out of 2
    2024-05-01 10:00:00,120 Stage-1 map = 0%,  reduce = 0%
    2024-05-01 10:00:02,480 Stage-1 map = 100%,  reduce = 100%
    Launching Job 2 out of 2
    2024-05-01 10:00:02,481 Stage-2 map = 0%,  reduce = 0%

A Hive "job" (``Stage-N``) is a MapReduce job: a reduce stage of the stage graph together
with the map stages that shuffle into it, or a map stage no reduce stage shuffles (a
broadcast side is a job of its own, as Hive's map-join local task is a stage of its own). Pure: the engine's
:class:`~rayemr.engine.schedule.Progress` in, lines out.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from rayemr.engine.graph import ShuffleInput


@dataclass(frozen=True)
class Job:
    """One ``Stage-N``: its map and reduce stages and the stages it waits for."""

    name: str
    maps: tuple[str, ...]
    reduces: tuple[str, ...]
    waits_for: tuple[str, ...]


def jobs_of(graph) -> tuple[Job, ...]:
    """The graph's stages grouped as Hive's MapReduce jobs, in graph order."""
    kinds = {s.id: s.kind for s in graph.stages}
    claimed: set[str] = set()
    groups: list[tuple[int, list[str], list[str]]] = []
    order = {s.id: i for i, s in enumerate(graph.stages)}
    for stage in graph.stages:
        if stage.kind != "reduce":
            continue
        shuffled = [i.stage for i in stage.inputs if isinstance(i, ShuffleInput)]
        maps = [u for u in shuffled if kinds.get(u) == "map" and u not in claimed]
        claimed.update(maps)
        claimed.add(stage.id)
        groups.append((min(order[s] for s in maps + [stage.id]), maps, [stage.id]))
    for stage in graph.stages:
        if stage.id not in claimed:
            groups.append((order[stage.id], [stage.id], []))
    groups.sort(key=lambda g: g[0])
    out = []
    for n, (_, maps, reduces) in enumerate(groups, 1):
        members = set(maps) | set(reduces)
        waits = {u for s in members for u in graph.stage(s).upstream} - members
        out.append(Job(f"Stage-{n}", tuple(maps), tuple(reduces), tuple(sorted(waits))))
    return tuple(out)


def _percent(stages: tuple[str, ...], done: dict[str, tuple[int, int]], empty: int) -> int:
    if not stages:
        return empty
    finished = sum(done[s][0] for s in stages)
    total = sum(done[s][1] for s in stages)
    return int(100 * finished / total) if total else 100


def _stamp(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now * 1000) % 1000:03d}"


@dataclass
class HiveProgress:
    """Turns engine progress reports into Hive's log lines (each job's line when it changes)."""

    jobs: tuple[Job, ...]
    clock: Callable[[], float] = time.time
    _last: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, graph, clock: Callable[[], float] = time.time) -> HiveProgress:
        return cls(jobs_of(graph), clock)

    def header(self) -> list[str]:
        return [f"Total jobs = {len(self.jobs)}"]

    def lines(self, progress) -> list[str]:
        """Lines for one report: a job is launched once every stage it reads has finished."""
        done = {sid: (d, t) for sid, d, t in progress.stages}
        finished = {sid for sid, (d, t) in done.items() if d >= t}
        out: list[str] = []
        for n, job in enumerate(self.jobs, 1):
            if not set(job.waits_for) <= finished:
                continue
            now = (_percent(job.maps, done, 100), _percent(job.reduces, done, 0))
            if job.name not in self._last:
                out.append(f"Launching Job {n} out of {len(self.jobs)}")
            if self._last.get(job.name) != now:
                self._last[job.name] = now
                out.append(f"{_stamp(self.clock())} {job.name} map = {now[0]}%,  "
                           f"reduce = {now[1]}%")
        return out
