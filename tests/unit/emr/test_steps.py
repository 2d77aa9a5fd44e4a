"""Step specs, step states and the step queue's ActionOnFailure rules (no Ray)."""
from __future__ import annotations

import itertools

import pytest

from rayemr.core.errors import ConfigError, InvalidStateTransition, UnsupportedError, UserError
from rayemr.core.statemachine import Tracked
from rayemr.emr.clusterstate import CLUSTER_MACHINE, ClusterState, ClusterStatus
from rayemr.emr.stepqueue import KillStep, RunStep, StepQueue, TerminateCluster
from rayemr.emr.steps import (STEP_MACHINE, ActionOnFailure, StepSpec, StepState, StepType,
                              parse_shorthand)


# ------------------------------------------------------------------------------- specs

def test_hive_step_from_shorthand():
    spec = StepSpec.from_any(
        "Type=HIVE,Name=load,ActionOnFailure=CANCEL_AND_WAIT,"
        "Args=[-f,s3://b/load.q,-d,INPUT=s3://b/in,-d,DAY=2024-01-01]")
    assert spec.type is StepType.HIVE and spec.name == "load"
    assert spec.action_on_failure is ActionOnFailure.CANCEL_AND_WAIT
    assert spec.hive_script == "s3://b/load.q"
    assert spec.hive_vars == {"INPUT": "s3://b/in", "DAY": "2024-01-01"}


def test_api_form_with_command_runner():
    spec = StepSpec.from_any({
        "Name": "hive", "ActionOnFailure": "TERMINATE_CLUSTER",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
            "hive-script", "--run-hive-script", "--args", "-f", "/tmp/x.q", "--hiveconf",
            "hive.exec.reducers.max=2"]}})
    assert spec.type is StepType.HIVE and spec.hive_conf == {"hive.exec.reducers.max": "2"}
    cmd = StepSpec.from_any({"Name": "ls", "HadoopJarStep": {"Jar": "command-runner.jar",
                                                             "Args": ["ls", "-l"]}})
    assert cmd.type is StepType.COMMAND and cmd.args == ("ls", "-l")
    assert cmd.action_on_failure is ActionOnFailure.CONTINUE


def test_cli_json_forms_and_defaults():
    spec = StepSpec.from_any({"Type": "MapReduce", "Args": ["jobs/wordcount.py", "in", "-o", "o"]})
    assert spec.type is StepType.MAPREDUCE and spec.name == "MapReduce job"
    assert StepSpec.from_any({"Type": "STREAMING", "Args": ["j.py"]}).type is StepType.MAPREDUCE
    assert StepSpec.from_any(spec.to_dict()) == spec


@pytest.mark.parametrize("value,match", [
    ({"Type": "HIVE", "Args": ["-d", "A=1"]}, "needs -f SCRIPT"),
    ({"Type": "HIVE", "Args": ["-f", "x.q", "-d", "novalue"]}, "NAME=VALUE"),
    ({"Type": "HIVE", "Args": ["-f", "x.q", "--bogus"]}, "unexpected Hive argument"),
    ({"Type": "HIVE", "Args": ["-f"]}, "-f needs a value"),
    ({"Type": "MAPREDUCE", "Args": []}, "needs a job file"),
    ({"Type": "COMMAND", "Args": []}, "needs a command line"),
    ({"Type": "COMMAND", "Args": "echo hi"}, "Args must be a list"),
    ({"Type": "WHATEVER", "Args": ["x"]}, "not one of"),
    ({"Type": "COMMAND", "Args": ["x"], "ActionOnFailure": "PANIC"}, "ActionOnFailure"),
    ({"Type": "COMMAND", "Args": ["x"], "Nmae": "typo"}, "unknown key"),
])
def test_bad_steps_are_refused_when_built(value, match):
    with pytest.raises(ConfigError, match=match):
        StepSpec.from_any(value)


def test_unsupported_step_kinds():
    with pytest.raises(UnsupportedError, match="SPARK"):
        StepSpec.from_any({"Type": "SPARK", "Args": ["x.py"]})
    with pytest.raises(UnsupportedError, match="my.jar"):
        StepSpec.from_any({"HadoopJarStep": {"Jar": "s3://b/my.jar", "Args": []}})


def test_shorthand_quotes_and_nested_brackets():
    d = parse_shorthand('Type=COMMAND,Name=x,Args=[bash,-c,"echo a,b"]')
    assert d == {"Type": "COMMAND", "Name": "x", "Args": ["bash", "-c", "echo a,b"]}
    with pytest.raises(UserError):
        parse_shorthand("Type=COMMAND,Args=[a,b")


# ---------------------------------------------------------------------- transition tables

ALL_EVENTS = sorted(STEP_MACHINE.events)


@pytest.mark.parametrize("old,new", list(itertools.product(StepState, StepState)))
def test_every_step_transition_not_in_the_table_raises(old, new):
    for event in ALL_EVENTS:
        step = Tracked(STEP_MACHINE, "s-1", old)
        if STEP_MACHINE.allows(old, event, new):
            step.fire(event, new)
            assert step.state is new
        else:
            with pytest.raises(InvalidStateTransition) as err:
                step.fire(event, new)
            assert old.value in str(err.value) and new.value in str(err.value)


def test_final_step_states_have_no_way_out():
    for (old, _event, _new) in STEP_MACHINE.rows():
        assert not old.final


def test_cluster_transitions():
    st = ClusterStatus("j-1", clock=lambda: 5.0)
    st.move(ClusterState.BOOTSTRAPPING, "provisioned")
    st.move(ClusterState.WAITING, "services_started")
    st.move(ClusterState.RUNNING, "step_started")
    with pytest.raises(InvalidStateTransition, match="RUNNING to TERMINATED"):
        st.move(ClusterState.TERMINATED, "terminated")
    st.move(ClusterState.TERMINATING, "terminate", "user request")
    st.move(ClusterState.TERMINATED, "terminated")
    assert st.to_dict()["State"] == "TERMINATED" and st.ended == 5.0
    for (old, _event, _new) in CLUSTER_MACHINE.rows():
        assert not old.final


# ----------------------------------------------------------------------------- the queue

class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make_queue():
    counter = itertools.count(1)
    clock = Clock()
    return StepQueue(clock=clock, make_id=lambda: f"s-{next(counter)}"), clock


def cmd(name, action="CONTINUE"):
    return {"Type": "COMMAND", "Name": name, "Args": ["true"], "ActionOnFailure": action}


def states(q):
    return {s.spec.name: s.state.value for s in q.list()}


def run_through(q, outcomes):
    """Drive the queue like the runner does; outcomes: name -> ok."""
    out = []
    while (ins := q.start_next()) is not None:
        step = q.get(ins.step_id)
        out += q.finished(step.id, ok=outcomes.get(step.spec.name, True),
                          exit_code=0 if outcomes.get(step.spec.name, True) else 1)
    return out


def test_steps_run_one_at_a_time_in_order():
    q, _ = make_queue()
    ids = q.add([cmd("a"), cmd("b")])
    first = q.start_next()
    assert first == RunStep(ids[0]) and q.start_next() is None  # b waits for a
    q.finished(ids[0], ok=True)
    assert q.start_next() == RunStep(ids[1])
    assert [s.id for s in q.list()] == list(reversed(ids))  # newest first, as EMR lists


def test_continue_cancel_and_wait_then_new_steps_run():
    q, _ = make_queue()
    q.add([cmd("ok1"), cmd("bad", "CONTINUE"), cmd("ok2"), cmd("bad2", "CANCEL_AND_WAIT"),
           cmd("never1"), cmd("never2")])
    assert run_through(q, {"bad": False, "bad2": False}) == []
    assert states(q) == {"ok1": "COMPLETED", "bad": "FAILED", "ok2": "COMPLETED",
                         "bad2": "FAILED", "never1": "CANCELLED", "never2": "CANCELLED"}
    assert "bad2" in q.list(states=["CANCELLED"])[0].reason or "s-4" in q.list(
        states=["CANCELLED"])[0].reason
    # the cluster waits: a step added later runs
    q.add([cmd("later")])
    run_through(q, {})
    assert states(q)["later"] == "COMPLETED"


def test_terminate_cluster_on_failure():
    q, _ = make_queue()
    q.add([cmd("bad", "TERMINATE_CLUSTER"), cmd("next")])
    out = run_through(q, {"bad": False})
    assert len(out) == 1 and isinstance(out[0], TerminateCluster) and out[0].with_errors
    assert states(q) == {"bad": "FAILED", "next": "CANCELLED"}
    with pytest.raises(UserError, match="terminating"):
        q.add([cmd("x")])


def test_cancel_pending_and_running_steps():
    q, _ = make_queue()
    a, b, c = q.add([cmd("a"), cmd("b"), cmd("c")])
    q.start_next()
    results, ins = q.cancel([a, c, "s-404"])
    assert ins == [KillStep(a)]
    assert [r["Status"] for r in results] == ["SUBMITTED", "SUBMITTED", "FAILED"]
    assert q.get(c).state is StepState.CANCELLED
    assert q.get(a).state is StepState.RUNNING  # until the runner reports it ended
    q.finished(a, ok=False, exit_code=-15)
    assert q.get(a).state is StepState.CANCELLED
    assert q.start_next() == RunStep(b)
    results, _ = q.cancel([c])
    assert results[0]["Status"] == "FAILED" and "CANCELLED" in results[0]["Reason"]


def test_close_cancels_everything():
    q, _ = make_queue()
    a, b = q.add([cmd("a"), cmd("b")])
    q.start_next()
    assert q.close() == [KillStep(a)]
    assert q.get(b).state is StepState.CANCELLED
    q.finished(a, ok=True)
    assert q.get(a).state is StepState.CANCELLED and q.start_next() is None


def test_adding_is_all_or_nothing():
    q, _ = make_queue()
    with pytest.raises(ConfigError):
        q.add([cmd("good"), {"Type": "HIVE", "Args": []}])
    assert q.list() == []


def test_idle_time():
    q, clock = make_queue()
    clock.t = 110.0
    assert q.idle_for() == 10.0
    (a,) = q.add([cmd("a")])
    assert q.idle_for() == 0.0
    q.start_next()
    clock.t = 200.0
    assert q.idle_for() == 0.0
    q.finished(a, ok=True)
    clock.t = 230.0
    assert q.idle_for() == 30.0


def test_unknown_step_and_story():
    q, _ = make_queue()
    (a,) = q.add([cmd("a")])
    q.start_next()
    q.finished(a, ok=True)
    assert [(o, n, e) for _, o, n, e in q.story(a)] == [
        ("PENDING", "RUNNING", "start"), ("RUNNING", "COMPLETED", "succeeded")]
    with pytest.raises(FileNotFoundError, match="s-999"):
        q.get("s-999")
    d = q.get(a).to_dict()
    assert d["Status"]["State"] == "COMPLETED" and d["Config"]["Args"] == ["true"]
