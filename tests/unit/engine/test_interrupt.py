"""Cancelling a job stops the attempt running in this process: its hooks are called, the
attempt is reported killed (not failed), the job is KILLED and nothing is committed."""
from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from rayemr.engine import JobKilledError, interrupt, run_graph
from rayemr.engine.graph import SplitInput, Stage, StageGraph

from tests.unit.engine.test_driver_inline import RecordingCommitter

#: Far longer than any test here takes when cancelling works.
WAIT_S = 120.0


def test_stop_calls_the_hooks_registered_now_and_refuses_new_ones():
    scope = interrupt.Interrupts("Stage-1-00000")
    called: list[str] = []
    scope.add("a", lambda: called.append("a"))
    scope.add("b", lambda: called.append("b"))
    scope.remove("b")
    scope.stop()
    assert called == ["a"] and scope.stopped
    with pytest.raises(JobKilledError, match="Stage-1-00000: stopped"):
        scope.add("c", lambda: called.append("c"))


def test_a_failing_hook_does_not_spare_the_others():
    scope = interrupt.Interrupts()
    called: list[str] = []
    scope.add("bad", lambda: 1 / 0)
    scope.add("good", lambda: called.append("good"))
    scope.stop()
    assert called == ["good"]


def test_registering_outside_a_watched_attempt_does_nothing():
    interrupt.register("x", lambda: 1 / 0)
    interrupt.unregister("x")


def _stuck(ctx, inputs):
    """Stands for a long statement: waits until its hook interrupts it. The job's cancel
    flag is raised by the task itself, once its hook is in place."""
    woken = threading.Event()
    interrupt.register(woken, woken.set)
    try:
        FLAG.set()
        if not woken.wait(WAIT_S):
            return pa.table({"s": [inputs["s"]], "how": ["ran to the end"]})
        raise RuntimeError("interrupted")
    finally:
        interrupt.unregister(woken)


def _write(ctx, inputs):
    with ctx.open_output(f"part-m-{ctx.task_index:05d}") as f:
        f.write(b"x")
    return _stuck(ctx, inputs)


FLAG = threading.Event()


@pytest.fixture(autouse=True)
def _clear_flag():
    FLAG.clear()
    yield
    FLAG.clear()


def _graph(fn, splits=("a", "b")):
    return StageGraph((Stage("Stage-1", fn, (SplitInput("s", splits),), collect=True),),
                      name="g")


def test_cancel_interrupts_the_running_inline_attempt_and_kills_the_job():
    c = RecordingCommitter()
    with pytest.raises(JobKilledError, match="job killed; nothing was committed") as info:
        run_graph(_graph(_write), runner="inline", committer=c, cancel=FLAG.is_set)
    jobs = info.value.counters["Job Counters"]
    # the first attempt was interrupted (not retried, not counted failed); the second
    # task never started
    assert jobs == {"Launched map tasks": 1, "Killed map tasks": 1}
    assert c.events == ["setup", "abort_task Stage-1-00000 0", "abort_job"]


def test_an_attempt_registering_after_the_cancel_stops_at_once():
    def late(ctx, inputs):
        FLAG.set()
        woken = threading.Event()
        interrupt.register("first", woken.set)
        if not woken.wait(WAIT_S):
            return pa.table({"how": ["ran to the end"]})
        interrupt.unregister("first")
        interrupt.register("second", lambda: None)  # the attempt was stopped: raises
        return pa.table({"how": ["went on after the cancel"]})

    with pytest.raises(JobKilledError) as info:
        run_graph(_graph(late, ("a",)), runner="inline", cancel=FLAG.is_set)
    assert info.value.counters["Job Counters"]["Killed map tasks"] == 1


def test_without_cancel_the_attempt_runs_and_the_job_commits():
    def quick(ctx, inputs):
        interrupt.register("q", lambda: 1 / 0)
        interrupt.unregister("q")
        return pa.table({"s": [inputs["s"]]})

    c = RecordingCommitter()
    res = run_graph(_graph(quick), runner="inline", committer=c, cancel=FLAG.is_set)
    assert [t.column("s").to_pylist() for t in res.outputs["Stage-1"]] == [["a"], ["b"]]
    assert c.events[-1].startswith("commit_job")
