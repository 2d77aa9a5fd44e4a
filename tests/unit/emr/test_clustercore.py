"""The cluster's pure core: a cluster's whole life driven by events, without Ray."""
from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from rayemr.core.errors import UserError
from rayemr.emr.clustercore import (STOP_GRACE_S, Bootstrap, BootstrapReport, ClusterCore,
                                    ExcludeNode, Finished, NodeInfo, RecommissionNode,
                                    StartServices, StopServices)
from rayemr.emr.clusterstate import ClusterState, NodeState
from rayemr.emr.stepqueue import KillStep, RunStep
from rayemr.emr.steps import StepState

MASTER = NodeInfo("master-0000000", "m", role="MASTER", vcores=2)
CORE1 = NodeInfo("core1-00000000", "c1", vcores=2)
CORE2 = NodeInfo("core2-00000000", "c2", vcores=2)
OK = BootstrapReport(actions=({"Name": "setup", "ExitCode": 0},))
BAD = BootstrapReport(failure="bootstrap action 'setup' failed (exit code 4): no driver",
                      actions=({"Name": "setup", "ExitCode": 4},))
YARN = {"Name": "YARN", "State": "RUNNING", "Detail": ""}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def make(actions=True, **kw):
    clock = Clock()
    ids = itertools.count(1)
    core = ClusterCore("j-1", bootstrap_actions=actions, master_node_id=MASTER.node_id,
                       bootstrap_logs=lambda nid: f"/logs/j-1/node/{nid}/", clock=clock,
                       step_logs=lambda sid: f"/logs/j-1/steps/{sid}",
                       make_step_id=lambda: f"s-{next(ids)}", **kw)
    return core, clock


def started(nodes=(MASTER, CORE1), **kw):
    """A core brought to WAITING with every node bootstrapped."""
    core, clock = make(**kw)
    core.start(nodes)
    core.take_instructions()
    for n in nodes:
        core.bootstrap_done(n.node_id, OK)
    core.services_started([YARN], yarn_ours=True)
    assert core.take_instructions() == [StartServices()]
    assert core.status.state is ClusterState.WAITING
    return core, clock


def cmd(name, action="CONTINUE"):
    return {"Type": "COMMAND", "Name": name, "Args": ["true"], "ActionOnFailure": action}


def states(core):
    return {s.spec.name: s.state.value for s in core.steps.list()}


def stop(core):
    """Carry out the stop the way the shell does; returns the StopServices given."""
    (ins,) = [i for i in core.take_instructions() if isinstance(i, StopServices)]
    core.services_stopped()
    assert core.take_instructions() == [Finished()]
    return ins


# ----------------------------------------------------------------------------- start

def test_start_bootstraps_every_node_then_starts_services_then_waits():
    core, _ = make()
    core.start([MASTER, CORE1])
    assert core.take_instructions() == [Bootstrap(MASTER.node_id, False),
                                        Bootstrap(CORE1.node_id, False)]
    assert core.status.state is ClusterState.BOOTSTRAPPING and not core.started
    assert [n["State"] for n in core.node_records()] == ["BOOTSTRAPPING"] * 2
    core.bootstrap_done(MASTER.node_id, OK)
    assert core.take_instructions() == []  # CORE1 still runs its actions
    core.bootstrap_done(CORE1.node_id, OK)
    assert core.take_instructions() == [StartServices()]
    core.services_started([YARN], yarn_ours=True)
    assert core.status.state is ClusterState.WAITING and core.started
    node = core.node_records()[0]
    assert node["State"] == "RUNNING" and node["BootstrapActions"][0]["ExitCode"] == 0
    assert "ExcludedFromYarn" not in node
    assert [e[3] for e in core.status.story()] == ["provisioned", "services_started"]


def test_without_bootstrap_actions_the_services_start_at_once():
    core, _ = make(actions=False)
    core.start([MASTER])
    assert core.take_instructions() == [StartServices()]
    assert core.nodes[MASTER.node_id].state is NodeState.RUNNING


def test_master_bootstrap_failure_fails_the_start():
    core, _ = make()
    core.start([MASTER, CORE1])
    core.bootstrap_done(CORE1.node_id, OK)
    core.bootstrap_done(MASTER.node_id, BAD)
    st = core.status.to_dict()
    assert st["State"] == "TERMINATING" and core.status.with_errors
    assert st["StateChangeReason"]["Code"] == "BOOTSTRAP_FAILURE"
    assert st["StateChangeReason"]["Message"].startswith("On the master node (master-00000)")
    assert f"output under /logs/j-1/node/{MASTER.node_id}/" in st["StateChangeReason"]["Message"]
    assert stop(core) == StopServices(())  # nothing was started, nothing excluded
    assert core.status.state is ClusterState.TERMINATED_WITH_ERRORS
    node = core.nodes[MASTER.node_id].to_dict("/x/")
    assert node["State"] == "BOOTSTRAP_FAILED" and "no driver" in node["StateChangeReason"]


def test_every_container_node_failing_fails_the_start():
    core, _ = make()
    master = NodeInfo("master-0000000", role="MASTER", vcores=0)
    core.start([master, CORE1, CORE2])
    core.bootstrap_done(master.node_id, OK)
    core.bootstrap_done(CORE1.node_id, BAD)
    core.bootstrap_done(CORE2.node_id, BAD)
    reason = core.status.to_dict()["StateChangeReason"]
    assert reason["Message"].startswith("On every node that can run containers (2, including")
    assert "no driver" in reason["Message"] and reason["Code"] == "BOOTSTRAP_FAILURE"


def test_a_failed_worker_is_excluded_from_yarn_before_the_cluster_waits():
    core, _ = make()
    core.start([MASTER, CORE1, CORE2])
    core.take_instructions()
    for n, r in ((MASTER, OK), (CORE1, BAD), (CORE2, OK)):
        core.bootstrap_done(n.node_id, r)
    assert core.take_instructions() == [StartServices()]
    core.services_started([YARN], yarn_ours=False)
    (ex,) = core.take_instructions()
    assert ex == ExcludeNode(CORE1.node_id, "bootstrap failed: " + BAD.failure)
    assert core.status.state is ClusterState.BOOTSTRAPPING  # until YARN answered
    core.node_excluded(CORE1.node_id)
    assert core.status.state is ClusterState.WAITING
    rec = {n["NodeId"]: n for n in core.node_records()}[CORE1.node_id]
    assert rec["ExcludedFromYarn"] is True and rec["BootstrapLogs"].endswith(f"{CORE1.node_id}/")
    core.terminate()
    assert stop(core) == StopServices((CORE1.node_id,))  # a shared RM gets it back


def test_yarn_refusing_to_exclude_the_last_container_node_fails_the_start():
    core, _ = make()
    core.start([MASTER, CORE1])
    core.bootstrap_done(MASTER.node_id, OK)
    core.bootstrap_done(CORE1.node_id, BAD)
    core.take_instructions()
    core.services_started([YARN], yarn_ours=True)
    core.take_instructions()
    core.node_excluded(CORE1.node_id, refused=True, why="node is the last node")
    msg = core.status.to_dict()["StateChangeReason"]["Message"]
    assert core.status.state is ClusterState.TERMINATING
    assert msg.startswith("On node core1-000000,") and "(node is the last node)" in msg
    assert stop(core) == StopServices(())  # our own YARN is stopped, not given back


def test_a_service_failing_to_start_fails_the_start_and_terminate_waits_for_services():
    core, _ = make(actions=False)
    core.start([MASTER])
    core.take_instructions()
    core.start_failed("HiveServer2 did not start: port in use")
    st = core.status.to_dict()
    assert st["State"] == "TERMINATING" and st["StateChangeReason"]["Code"] == "INTERNAL_ERROR"
    stop(core)
    # terminated while the services start: they are stopped once they have started
    core, _ = make(actions=False)
    core.start([MASTER])
    core.take_instructions()
    core.terminate()
    assert core.take_instructions() == []
    core.services_started([YARN], yarn_ours=True)
    stop(core)
    assert core.status.state is ClusterState.TERMINATED


def test_terminated_before_it_started():
    core, _ = make()
    core.terminate()
    core.start([MASTER])
    assert core.status.state is ClusterState.TERMINATING and not core.nodes


# ----------------------------------------------------------------------------- steps

def test_steps_run_one_at_a_time_and_record_their_applications():
    core, _ = started()
    a, b = core.add_steps([cmd("a"), cmd("b")])
    assert core.take_instructions() == [RunStep(a)]
    assert core.status.state is ClusterState.RUNNING
    assert core.steps.get(a).log_uri == f"/logs/j-1/steps/{a}"
    core.step_finished(a, 0, applications=[("application_1_0001", "prod")])
    assert core.take_instructions() == [RunStep(b)]
    assert core.steps.get(a).to_dict()["Applications"] == [
        {"Id": "application_1_0001", "Queue": "prod"}]
    core.step_finished(b, 1, "exit code 1")
    assert core.status.state is ClusterState.WAITING
    assert states(core) == {"a": "COMPLETED", "b": "FAILED"}
    assert [e[3] for e in core.status.story()] == ["provisioned", "services_started",
                                                   "step_started", "steps_done"]
    assert core.steps_settled(None) is not None


def test_a_terminate_cluster_failure_terminates_at_once_even_with_nothing_left_to_run():
    core, _ = started()
    bad, nxt = core.add_steps([cmd("bad", "TERMINATE_CLUSTER"), cmd("next")])
    core.take_instructions()
    core.step_finished(bad, 1, "exit code 1")
    st = core.status.to_dict()
    assert st["State"] == "TERMINATING" and core.status.with_errors
    assert st["StateChangeReason"]["Code"] == "STEP_FAILURE" and bad in st["StateChangeReason"][
        "Message"]
    assert states(core) == {"bad": "FAILED", "next": "CANCELLED"}
    stop(core)
    assert core.status.state is ClusterState.TERMINATED_WITH_ERRORS
    with pytest.raises(UserError, match="takes no more steps"):
        core.add_steps([cmd("x")])


def test_auto_terminate_when_steps_are_done():
    core, _ = started(keep_alive=False)
    (a,) = core.add_steps([cmd("only")])
    core.take_instructions()
    core.step_finished(a, 0)
    st = core.status.to_dict()
    assert st["State"] == "TERMINATING" and st["StateChangeReason"] == {
        "Code": "ALL_STEPS_COMPLETED", "Message": "Steps completed"}
    stop(core)
    assert core.status.state is ClusterState.TERMINATED


def test_cancel_a_running_step_kills_it_and_the_next_one_runs():
    core, _ = started()
    slow, after = core.add_steps([cmd("slow"), cmd("after")])
    core.take_instructions()
    (res,) = core.cancel_steps([slow])
    assert res["Status"] == "SUBMITTED" and core.take_instructions() == [KillStep(slow)]
    core.step_finished(slow, -15)
    assert core.take_instructions() == [RunStep(after)]
    assert core.steps.get(slow).state is StepState.CANCELLED


def test_terminate_kills_the_running_step_and_stops_services_after_it_ended():
    core, clock = started()
    (a,) = core.add_steps([cmd("a")])
    core.take_instructions()
    core.terminate("bye")
    assert core.take_instructions() == [KillStep(a)]  # services wait for the step
    assert core.next_deadline() == clock.t + STOP_GRACE_S
    core.step_finished(a, -15)
    assert stop(core) == StopServices(())
    assert core.steps.get(a).state is StepState.CANCELLED
    assert core.status.to_dict()["StateChangeReason"] == {"Code": "USER_REQUEST",
                                                          "Message": "bye"}


def test_a_step_that_does_not_end_after_the_grace_does_not_keep_the_cluster_up():
    core, clock = started()
    (a,) = core.add_steps([cmd("a")])
    core.take_instructions()
    core.terminate()
    core.take_instructions()
    clock.t += STOP_GRACE_S - 1
    core.tick()
    assert core.take_instructions() == []
    clock.t += 1
    core.tick()
    stop(core)
    core.step_finished(a, -9)  # late: recorded, nothing else happens
    assert core.steps.get(a).state is StepState.CANCELLED and core.take_instructions() == []


def test_idle_timeout_counts_from_ready_and_from_the_last_step():
    core, clock = make(actions=False, idle_timeout_s=60)
    clock.t += 500  # a slow start is not idleness
    core.start([MASTER])
    core.services_started([YARN], yarn_ours=True)
    core.take_instructions()
    assert core.next_deadline() == clock.t + 60
    (a,) = core.add_steps([cmd("a")])
    assert core.next_deadline() is None  # busy
    clock.t += 100
    core.step_finished(a, 0)
    assert core.next_deadline() == clock.t + 60
    clock.t += 59
    core.tick()
    assert core.status.state is ClusterState.WAITING
    clock.t += 1
    core.tick()
    assert core.status.state is ClusterState.TERMINATING
    assert "idle for 60 seconds" in core.status.reason


# ----------------------------------------------------------------------------- nodes

def test_late_nodes_are_held_out_of_yarn_while_bootstrapping_and_lost_nodes_marked():
    core, _ = started()
    late_ok, late_bad, unheld = (NodeInfo(f"late{i}-000000000", vcores=1) for i in range(3))
    core.nodes_seen([MASTER, CORE1, late_ok, late_bad, unheld])
    assert core.take_instructions() == [Bootstrap(late_ok.node_id, True),
                                        Bootstrap(late_bad.node_id, True),
                                        Bootstrap(unheld.node_id, True)]
    core.bootstrap_done(late_ok.node_id, OK, held=True)
    assert core.take_instructions() == [RecommissionNode(late_ok.node_id)]
    core.bootstrap_done(late_bad.node_id, BAD, held=True)
    assert core.take_instructions() == []  # stays out of YARN
    core.bootstrap_done(unheld.node_id, BAD, held=False)  # YARN would not hold it
    assert core.take_instructions() == [ExcludeNode(unheld.node_id, "bootstrap failed: "
                                                    + BAD.failure)]
    core.node_excluded(unheld.node_id, why="YARN is not running")
    recs = {n["NodeId"]: n for n in core.node_records()}
    assert recs[late_ok.node_id]["State"] == "RUNNING"
    assert "ExcludedFromYarn" not in recs[late_ok.node_id]
    assert recs[late_bad.node_id]["ExcludedFromYarn"] is True
    assert recs[unheld.node_id]["ExcludedFromYarn"] is False
    assert "(YARN could not exclude it: YARN is not running)" in recs[unheld.node_id][
        "StateChangeReason"]
    core.nodes_seen([MASTER, late_ok])
    assert core.nodes[CORE1.node_id].state is NodeState.LOST
    assert core.nodes[late_bad.node_id].state is NodeState.LOST
    assert core.status.state is ClusterState.WAITING


def test_a_node_lost_while_the_cluster_bootstraps_is_not_waited_for():
    core, _ = make()
    core.start([MASTER, CORE1])
    core.take_instructions()
    core.bootstrap_done(MASTER.node_id, OK)
    core.nodes_seen([MASTER])
    assert core.take_instructions() == [StartServices()]
    core.bootstrap_done(CORE1.node_id, OK)  # too late: ignored
    assert core.nodes[CORE1.node_id].state is NodeState.LOST


def test_the_core_imports_neither_ray_nor_the_shell():
    code = ("import sys, rayemr.emr.clustercore; "
            "assert 'ray' not in sys.modules, 'ray imported'; "
            "assert 'rayemr.emr.controller' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
