"""run_graph on the inline launcher: retries, collect, failures, committer protocol."""
from __future__ import annotations

import pyarrow as pa
import pytest

from rayemr.core.errors import ConfigError
from rayemr.engine import TaskFailedError, run_graph
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph


class RecordingCommitter:
    def __init__(self):
        self.events = []
        self.files = {}

    def setup_job(self):
        self.events.append("setup")

    def open_task_output(self, task_id, attempt, name):
        import io

        buf = self.files[(task_id, attempt, name)] = io.BytesIO()
        buf.close = lambda: None
        return buf

    def commit_task(self, task_id, attempt):
        self.events.append(f"commit_task {task_id} {attempt}")
        return (task_id, attempt)

    def abort_task(self, task_id, attempt):
        self.events.append(f"abort_task {task_id} {attempt}")

    def commit_job(self, commits):
        self.events.append(f"commit_job {commits}")

    def abort_job(self):
        self.events.append("abort_job")


def _map(ctx, inputs):
    if inputs["s"] == "bad" and ctx.attempt < int(ctx.conf.get("fail_attempts", "99")):
        raise RuntimeError(f"attempt {ctx.attempt} failed")
    return pa.table({"k": [inputs["s"]], "n": [1]})


def _reduce(ctx, inputs):
    t = inputs["x"]
    with ctx.open_output(f"part-r-{ctx.task_index:05d}") as f:
        f.write(str(t.num_rows).encode())
    return t


def _graph(splits):
    return StageGraph((
        Stage("Stage-1", _map, (SplitInput("s", splits),), output=ShuffleSpec(2, ("k",))),
        Stage("Stage-2", _reduce, (ShuffleInput("x", "Stage-1"),), kind="reduce",
              collect=True),
    ), name="g")


def test_retries_are_logged_counting_from_one_as_the_final_error_does(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="rayemr.engine.driver")
    run_graph(_graph(("a", "bad")), runner="inline", committer=RecordingCommitter(),
              conf={"fail_attempts": "2"})
    lines = [r.getMessage() for r in caplog.records if "failed (" in r.getMessage()]
    assert [ln.split(" failed")[0] for ln in lines] == [
        "Stage-1-00001 attempt 1 of 4", "Stage-1-00001 attempt 2 of 4"]
    assert all(ln.endswith(", retrying") for ln in lines)


def test_retried_attempt_succeeds_and_job_commits():
    c = RecordingCommitter()
    res = run_graph(_graph(("a", "bad", "c")), runner="inline", committer=c,
                    conf={"fail_attempts": "2"})
    assert sum(t.num_rows for t in res.outputs["Stage-2"]) == 3
    assert res.counters["Job Counters"]["Failed map task attempts"] == 2
    assert c.events[0] == "setup" and c.events[-1].startswith("commit_job")
    assert "abort_job" not in c.events


def test_failed_task_aborts_and_names_task_attempt_split():
    c = RecordingCommitter()
    with pytest.raises(TaskFailedError) as info:
        run_graph(_graph(("a", "bad")), runner="inline", committer=c, max_attempts=2)
    msg = str(info.value)
    assert "task Stage-1-00001" in msg and "attempt 2 of 2" in msg and "'bad'" in msg
    assert "RuntimeError: attempt 1 failed" in msg
    assert c.events == ["setup", "abort_job"]


def test_cancel_kills_the_job():
    from rayemr.engine import JobKilledError

    c = RecordingCommitter()
    with pytest.raises(JobKilledError):
        run_graph(_graph(("a",)), runner="inline", committer=c, cancel=lambda: True)
    assert c.events[-1] == "abort_job"


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown runner"):
        run_graph(_graph(("a",)), runner="spark")
    with pytest.raises(ConfigError, match="max_attempts"):
        run_graph(_graph(("a",)), runner="inline", max_attempts=0)
