"""The engine on YARN: one application per job (AM in the cluster) or one per stage (the
client as unmanaged AM), same results, every application FINISHED in its queue."""
from __future__ import annotations

import pyarrow as pa
import pytest

from rayemr.core.errors import ConfigError
from rayemr.engine import TaskFailedError, run_graph
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph


def _map(ctx, inputs):
    if inputs["s"] == "boom":
        raise ValueError("bad split boom")
    return pa.table({"k": [inputs["s"][0], inputs["s"]], "n": [1, 1]})


def _count(ctx, inputs):
    t = inputs["x"]
    keys = sorted(set(t.column("k").to_pylist()))
    return pa.table({"k": keys, "n": [t.column("k").to_pylist().count(k) for k in keys]})


def _graph(splits, name):
    return StageGraph((
        Stage("Stage-1", _map, (SplitInput("s", splits),), output=ShuffleSpec(2, ("k",))),
        Stage("Stage-2", _count, (ShuffleInput("x", "Stage-1"),), kind="reduce", collect=True),
    ), name=name)


def _rows(result):
    return sorted(r for t in result.outputs["Stage-2"] for r in zip(*t.to_pydict().values()))


@pytest.fixture
def yarn_client(ray_local):
    import rayemr.yarn as yarn

    yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    return yarn.YarnClient()


def test_job_and_stage_modes_agree_and_stage_mode_runs_one_app_per_stage(yarn_client):
    splits = ["apple", "avocado", "banana", "blueberry", "cherry"]
    lines = []
    job = run_graph(_graph(splits, "modes-job"), progress=lambda p: lines.append(p.line()))
    assert job.app_ids == [job.app_id] and lines and lines[-1] == job.progress.line()
    stage = run_graph(_graph(splits, "modes-stage"), queue="default",
                      conf={"rayemr.engine.yarn.applications": "stage"})
    assert _rows(stage) == _rows(job)
    assert len(stage.app_ids) == 2
    reports = [yarn_client.status(a) for a in stage.app_ids]
    assert [r.name for r in reports] == ["modes-stage (Stage-1)", "modes-stage (Stage-2)"]
    assert all(r.state.value == "FINISHED" and r.final_status.value == "SUCCEEDED"
               and r.queue == "root.default" and r.am_container == "" and r.unmanaged_am
               and r.to_dict()["unmanagedApplication"] for r in reports)
    assert yarn_client.status(job.app_id).am_actor  # job mode: an AM process in the cluster


def test_stage_mode_failure_fails_the_stage_application_and_names_the_split(yarn_client):
    with pytest.raises(TaskFailedError, match="bad split boom"):
        run_graph(_graph(["apple", "boom"], "modes-fail"), max_attempts=2,
                  conf={"rayemr.engine.yarn.applications": "stage"})
    (report,) = [r for r in yarn_client.list() if r.name == "modes-fail (Stage-1)"]
    assert report.state.value == "FAILED" and "bad split boom" in report.diagnostics
    assert report.running_containers == 0
    with pytest.raises(ConfigError, match="rayemr.engine.yarn.applications"):
        run_graph(_graph(["a"], "modes-bad"), conf={"rayemr.engine.yarn.applications": "dag"})
