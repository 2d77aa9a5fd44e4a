"""The query log's progress in Hive's words: ``Stage-1 map = 0%,  reduce = 0%``."""
from __future__ import annotations

import re

from rayemr.engine.graph import (BroadcastInput, ShuffleInput, ShuffleSpec, SplitInput, Stage,
                                 StageGraph)
from rayemr.engine.schedule import Schedule
from rayemr.hive.progress import HiveProgress, Job, jobs_of

#: How Hue and other HiveServer2 tools read a progress line.
TOOLS = re.compile(r"(Stage-\d+) map = (\d+)%,\s+reduce = (\d+)%")


def _noop(ctx, inputs):
    return None


def _two_jobs() -> StageGraph:
    """scan a (2 splits) -> shuffle -> aggregate; scan b broadcast into a final reduce."""
    return StageGraph((
        Stage("Stage-1", _noop, (SplitInput("s", (1, 2)),), output=ShuffleSpec(2, ("k",))),
        Stage("Stage-2", _noop, (ShuffleInput("x", "Stage-1"),), kind="reduce",
              output=ShuffleSpec(1, ("k",))),
        Stage("Stage-3", _noop, (ShuffleInput("y", "Stage-2"),), kind="reduce", collect=True),
    ))


def test_jobs_are_a_reduce_with_the_maps_feeding_it():
    assert jobs_of(_two_jobs()) == (
        Job("Stage-1", ("Stage-1",), ("Stage-2",), ()),
        Job("Stage-2", (), ("Stage-3",), ("Stage-2",)))
    map_only = StageGraph((Stage("S1", _noop, (SplitInput("s", (1,)),), collect=True),))
    assert jobs_of(map_only) == (Job("Stage-1", ("S1",), (), ()),)
    broadcast = StageGraph((
        Stage("S1", _noop, (SplitInput("s", (1,)),), collect=True),
        Stage("S2", _noop, (SplitInput("t", (1, 2)),), output=ShuffleSpec(1, ("k",))),
        Stage("S3", _noop, (ShuffleInput("x", "S2"), BroadcastInput("b", "S1")),
              kind="reduce", collect=True)))
    assert jobs_of(broadcast) == (Job("Stage-1", ("S1",), (), ()),
                                  Job("Stage-2", ("S2",), ("S3",), ("S1",)))


def test_lines_follow_the_schedule_in_hives_form():
    graph = _two_jobs()
    schedule = Schedule(graph)
    hive = HiveProgress.of(graph, clock=lambda: 0.0)
    log = hive.header() + hive.lines(schedule.progress())
    for key in schedule.runnable():
        schedule.launch(key)
        schedule.succeeded(key)
        log += hive.lines(schedule.progress())
    while schedule.runnable():
        for key in schedule.runnable():
            schedule.launch(key)
            schedule.succeeded(key)
            log += hive.lines(schedule.progress())
    steps = [m.groups() for m in map(TOOLS.search, log) if m]
    assert log[:2] == ["Total jobs = 2", "Launching Job 1 out of 2"]
    assert steps == [("Stage-1", "0", "0"), ("Stage-1", "50", "0"), ("Stage-1", "100", "0"),
                     ("Stage-1", "100", "50"), ("Stage-1", "100", "100"),
                     ("Stage-2", "100", "0"), ("Stage-2", "100", "100")]
    assert "Launching Job 2 out of 2" in log
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} Stage-1 map = 0%,  reduce = 0%$",
                    log[2])


def test_a_query_logs_hives_lines(session):
    session.execute("CREATE TABLE t (a int)")
    session.execute("INSERT INTO t SELECT 1")
    seen: list[str] = []
    result = session.execute("SELECT a, count(*) FROM t GROUP BY a",
                             progress=lambda fraction, line: seen.append(line))
    assert seen[0].startswith("Total jobs = ") and seen == [
        line for line in result.log if line in seen]
    final = [TOOLS.search(line).groups() for line in seen if TOOLS.search(line)][-1]
    assert final[1:] == ("100", "100")
