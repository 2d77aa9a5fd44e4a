"""The driver's pure core: task states, retries, progress."""
from __future__ import annotations

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph
from rayemr.engine.schedule import Schedule, TaskState


def _graph():
    return StageGraph((
        Stage("Stage-1", lambda c, i: None, (SplitInput("s", (1, 2)),),
              output=ShuffleSpec(2, ("k",))),
        Stage("Stage-2", lambda c, i: None, (ShuffleInput("x", "Stage-1"),), kind="reduce"),
    ))


def test_reduce_waits_for_every_map_and_progress_counts():
    s = Schedule(_graph(), max_attempts=2)
    assert s.runnable() == [("Stage-1", 0), ("Stage-1", 1)]
    for key in s.runnable():
        assert s.launch(key) == 0
    s.succeeded(("Stage-1", 0))
    assert s.runnable() == [] and s.progress().line() == "map 50% reduce 0%"
    s.succeeded(("Stage-1", 1))
    assert s.runnable() == [("Stage-2", 0), ("Stage-2", 1)]
    assert s.progress().line() == "map 100% reduce 0%"


def test_retry_then_fail_for_good():
    s = Schedule(_graph(), max_attempts=2)
    key = ("Stage-1", 0)
    s.launch(key)
    assert s.failed(key) is True and s.tasks[key].state is TaskState.PENDING
    assert s.launch(key) == 1
    assert s.failed(key) is False and s.tasks[key].state is TaskState.FAILED
    assert s.failed_task.task_id == "Stage-1-00000" and s.runnable() == []
    assert [e[2] for e in s.story(key)] == ["RUNNING", "PENDING", "RUNNING", "FAILED"]


def test_user_errors_are_not_retried():
    s = Schedule(_graph(), max_attempts=4)
    s.launch(("Stage-1", 1))
    assert s.failed(("Stage-1", 1), retriable=False) is False


def test_illegal_transition_names_task_and_states():
    s = Schedule(_graph())
    with pytest.raises(InvalidStateTransition, match="Stage-1-00000: cannot go from PENDING "
                                                     "to SUCCEEDED"):
        s.succeeded(("Stage-1", 0))


def test_kill_stops_everything():
    s = Schedule(_graph())
    s.launch(("Stage-1", 0))
    s.kill()
    assert s.runnable() == [] and s.finished
    assert all(r.state is TaskState.KILLED for r in s.tasks.values())


def test_progress_of_a_map_only_graph_keeps_reduce_at_zero():
    """As Hadoop prints a map-only job: ``map 100% reduce 0%``, never reduce before map."""
    s = Schedule(StageGraph((Stage("Stage-1", lambda c, i: None,
                                   (SplitInput("s", (1, 2)),)),)))
    assert s.progress().line() == "map 0% reduce 0%"
    for key in s.runnable():
        s.launch(key)
        s.succeeded(key)
    assert s.progress().line() == "map 100% reduce 0%"
