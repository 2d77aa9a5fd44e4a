"""The pure scheduling core: shares, elasticity, user limits, admission, nodes, recovery."""
from __future__ import annotations

import subprocess
import sys

import pytest

from rayemr.core.errors import AccessDeniedError, InputNotFoundError, UserError
from rayemr.yarn import (ApplicationSpec, AppState, CapacitySchedulerConfig, ContainerRequest,
                         ContainerState, FinalStatus, NodeState, Resource)
from rayemr.yarn.resources import DOMINANT_CALCULATOR
from rayemr.yarn.scheduler import AppChanged, LaunchAM, SchedulerCore, StopAM

P = "yarn.scheduler.capacity."
TASK = Resource(1, 256)
AM = Resource(0, 128)


def conf(extra=None, calc=DOMINANT_CALCULATOR):
    props = {P + "root.queues": "prod,dev", P + "root.prod.capacity": "70",
             P + "root.dev.capacity": "30", P + "root.dev.maximum-capacity": "50",
             P + "root.dev.user-limit-factor": "3", P + "root.prod.user-limit-factor": "2",
             P + "maximum-am-resource-percent": "1", P + "resource-calculator": calc}
    return CapacitySchedulerConfig.from_properties({**props, **(extra or {})})


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def core_with(nodes=3, vcores=10, mb=100_000, **kw):
    core = SchedulerCore(conf(**kw), cluster_ts=42, clock=Clock())
    for i in range(nodes):
        core.add_node(f"n{i}", f"host{i}", vcores, mb)
    return core


def start(core, name="a", queue="prod", user="alice", priority=0, am=AM):
    app_id = core.submit(ApplicationSpec(name, queue=queue, user=user, priority=priority,
                                         am_resource=am, groups=()))
    core.schedule()
    for ins in core.take_instructions():
        if isinstance(ins, LaunchAM) and ins.app_id == app_id:
            core.am_launched(app_id)
    return app_id


def held(core, app_id):
    return sum(1 for c in core.apps[app_id].containers.values()
               if c.container.container_id != core.apps[app_id].am_container.container_id)


def test_app_ids_and_container_ids_follow_yarn_format():
    core = core_with()
    a = start(core)
    assert a == "application_42_0001"
    resp = core.allocate(a, [ContainerRequest(TASK, 2)])
    assert [c.container_id for c in resp.allocated] == ["container_42_0001_01_000002",
                                                       "container_42_0001_01_000003"]
    assert core.apps[a].am_container.container_id == "container_42_0001_01_000001"


def test_saturating_apps_get_70_30_shares():
    core = core_with()
    a, b = start(core, "a", "prod"), start(core, "b", "dev", user="bob")
    core.allocate(a, [ContainerRequest(TASK, 100)])
    core.allocate(b, [ContainerRequest(TASK, 100)])
    churn(core, [a, b])
    total = held(core, a) + held(core, b)
    assert total == 30
    assert held(core, a) / total == pytest.approx(0.7, abs=0.04)


def test_idle_share_goes_to_busy_queue_up_to_maximum_capacity():
    core = core_with()
    b = start(core, "b", "dev", user="bob")
    resp = core.allocate(b, [ContainerRequest(TASK, 100)])
    assert len(resp.allocated) == 15  # 50% of 30 vcores: maximum-capacity, not capacity
    assert core.queues["root.dev"].used_vc == pytest.approx(15)
    a = start(core, "a", "prod")
    resp = core.allocate(a, [ContainerRequest(TASK, 100)])
    assert len(resp.allocated) == 15  # the rest; no preemption
    core.finish(b, FinalStatus.SUCCEEDED)
    assert len(core.allocate(a).allocated) == 15  # prod grows past 70% into the freed space


def churn(core, apps, rounds=200):
    """Every round each app completes one container and asks for another."""
    for _ in range(rounds):
        for app in apps:
            info = core.apps[app]
            some = next(iter(cid for cid, c in info.containers.items()
                             if cid != info.am_container.container_id
                             and c.state == ContainerState.ACQUIRED), None)
            core.allocate(app, [ContainerRequest(TASK, 1)], completed=[some] if some else [])


def test_user_limit_factor_caps_one_user_and_minimum_user_limit_shares():
    core = core_with(extra={P + "root.dev.user-limit-factor": "1"})
    b = start(core, "b", "dev", user="bob")
    assert len(core.allocate(b, [ContainerRequest(TASK, 100)]).allocated) == 9  # 30% of 30
    core2 = core_with(extra={P + "root.prod.minimum-user-limit-percent": "50",
                             P + "root.prod.user-limit-factor": "1"})
    x, y = start(core2, "x", "prod", "u1"), start(core2, "y", "prod", "u2")
    core2.allocate(x, [ContainerRequest(TASK, 100)])
    assert held(core2, x) == 21  # alone: capacity * user-limit-factor
    core2.allocate(y, [ContainerRequest(TASK, 100)])
    churn(core2, [x, y])
    assert held(core2, x) + held(core2, y) == 30
    assert abs(held(core2, x) - held(core2, y)) <= 2  # two active users: half each


def _two_apps(extra, pa=0, pb=0):
    core = core_with(nodes=1, vcores=4, extra=extra)
    a = start(core, "a", "prod", priority=pa)
    b = start(core, "b", "prod", priority=pb)
    got = core.allocate(a, [ContainerRequest(TASK, 10)]).allocated
    core.allocate(b, [ContainerRequest(TASK, 10)])
    assert held(core, a) == 4 and held(core, b) == 0
    core.allocate(a, completed=[c.container_id for c in got[:2]])
    return core, a, b


def test_fifo_serves_by_priority_then_submission_and_fair_by_usage():
    core, a, b = _two_apps({})
    assert (held(core, a), held(core, b)) == (4, 0)   # FIFO: the older app first
    core, a, b = _two_apps({}, pb=5)
    assert (held(core, a), held(core, b)) == (2, 2)   # FIFO: higher priority first
    core, a, b = _two_apps({P + "root.prod.ordering-policy": "fair"})
    assert (held(core, a), held(core, b)) == (2, 2)   # Fair: the app holding less first


def test_admission_waits_in_accepted_for_am_resource_limit():
    core = core_with(nodes=1, vcores=10, mb=10_000,
                     extra={P + "root.prod.maximum-am-resource-percent": "0.1"})
    a = start(core, "a", am=Resource(0, 1000))
    b = core.submit(ApplicationSpec("b", queue="prod", am_resource=Resource(0, 1000), groups=()))
    core.schedule()
    assert core.apps[a].state == AppState.RUNNING
    assert core.apps[b].state == AppState.ACCEPTED
    assert not [i for i in core.take_instructions() if isinstance(i, LaunchAM)]
    core.finish(a, FinalStatus.SUCCEEDED)
    core.schedule()
    assert [i.app_id for i in core.take_instructions() if isinstance(i, LaunchAM)] == [b]


def test_maximum_applications_stopped_queue_acl_and_unknown_queue():
    core = core_with(extra={P + "root.dev.maximum-applications": "1", P + "root.prod.state": "STOPPED",
                            P + "root.acl_submit_applications": " ",
                            P + "root.dev.acl_submit_applications": "bob"})
    start(core, "b", "dev", user="bob")
    with pytest.raises(UserError, match="root.dev already has 1 applications"):
        core.submit(ApplicationSpec("c", queue="dev", user="bob", groups=()))
    with pytest.raises(UserError, match="root.prod is STOPPED"):
        core.submit(ApplicationSpec("c", queue="prod", user="bob", groups=()))
    core2 = core_with(extra={P + "root.acl_submit_applications": " ",
                             P + "root.dev.acl_submit_applications": "bob"})
    with pytest.raises(AccessDeniedError, match="user eve may not submit applications to queue root.dev"):
        core2.submit(ApplicationSpec("c", queue="dev", user="eve", groups=()))
    with pytest.raises(InputNotFoundError, match="queue 'qa' does not exist"):
        core2.submit(ApplicationSpec("c", queue="qa", user="bob", groups=()))
    with pytest.raises(UserError, match="parent queue"):
        core2.submit(ApplicationSpec("c", queue="root", user="bob", groups=()))


def test_request_larger_than_any_node_names_the_resource():
    core = core_with(nodes=2, vcores=4, mb=8000)
    with pytest.raises(UserError, match=r"<memory:9000, vCores:1> is larger than any node"):
        core.submit(ApplicationSpec("a", queue="prod", am_resource=Resource(1, 9000), groups=()))
    a = start(core)
    with pytest.raises(UserError, match=r"<memory:100, vCores:8> is larger than any node"):
        core.allocate(a, [ContainerRequest(Resource(8, 100), 1)])


def test_kill_frees_everything_and_errors_for_unknown_or_finished_apps():
    core = core_with()
    a = start(core)
    core.allocate(a, [ContainerRequest(TASK, 5)])
    core.take_instructions()
    core.kill(a, user="alice")
    assert core.apps[a].state == AppState.KILLED and not core.containers
    assert core.queues["root"].used_mb == 0 and all(n.used_mb == 0 for n in core.nodes.values())
    assert StopAM(a, "killed") in core.take_instructions()
    with pytest.raises(UserError, match="already KILLED"):
        core.kill(a)
    with pytest.raises(InputNotFoundError):
        core.kill("application_42_0099")
    b = start(core, "b", "dev", user="bob")
    with pytest.raises(AccessDeniedError, match="may not kill"):
        core2 = core_with(extra={P + "root.acl_administer_queue": " "})
        c = start(core2, "c", "dev", user="bob")
        core2.kill(c, user="mallory")
    core.kill(b, user="bob")


def test_node_lost_reports_containers_and_fails_apps_whose_am_was_there():
    core = core_with(nodes=2, vcores=4)
    a = start(core)
    am_node = core.apps[a].am_container.node_id
    other = "n1" if am_node == "n0" else "n0"
    granted = core.allocate(a, [ContainerRequest(TASK, 8)]).allocated
    on_other = {c.container_id for c in granted if c.node_id == other}
    assert on_other
    core.node_lost(other)
    resp = core.allocate(a)
    assert {s.container_id for s in resp.completed} == on_other
    assert all(s.state == ContainerState.LOST and s.exit_status == -100 for s in resp.completed)
    assert resp.lost_nodes == (other,)
    assert core.nodes[other].state == NodeState.LOST
    assert core.total_vc == 4
    core.take_instructions()
    # the AM's node goes: a second attempt (yarn.resourcemanager.am.max-attempts = 2) waits
    # in ACCEPTED with every container of the first killed ...
    assert core.node_lost(am_node) == [a]
    app = core.apps[a]
    assert app.state == AppState.ACCEPTED and app.attempts == 2 and not app.containers
    assert "was lost" in app.diagnostics and core.apps[a].used_vc == 0
    # ... and starts its AM, with attempt 2's container ids, when a node can take it
    core.add_node("n2", "host2", 4, 100_000)
    core.schedule()
    (launch,) = [i for i in core.take_instructions() if isinstance(i, LaunchAM)]
    assert launch.container.container_id == "container_42_0001_02_000001"
    core.am_launched(a)
    assert app.state == AppState.RUNNING
    assert core.allocate(a, [ContainerRequest(TASK, 1)]).allocated[0].container_id == \
        "container_42_0001_02_000002"
    # the last attempt's node goes too: the application fails
    assert core.node_lost("n2") == [a]
    assert app.state == AppState.FAILED and "was lost" in app.diagnostics
    assert any(isinstance(i, StopAM) for i in core.take_instructions())


def test_release_and_completion_free_resources():
    core = core_with(nodes=1, vcores=2)
    a = start(core)
    c1, c2 = core.allocate(a, [ContainerRequest(TASK, 3)]).allocated
    resp = core.allocate(a, release=[c1.container_id], completed=[c2.container_id])
    assert len(resp.allocated) == 1  # the third ask, into the freed room
    assert core.nodes["n0"].used_vc == 1
    resp = core.allocate(a, [ContainerRequest(TASK, -5)])
    assert not core.apps[a].asks


def test_recovery_from_records_then_resync():
    core = core_with()
    a = start(core)
    b = core.submit(ApplicationSpec("b", queue="dev", user="bob", am_resource=AM, groups=()))
    granted = core.allocate(a, [ContainerRequest(TASK, 3)]).allocated
    records = [core.app_record(x) for x in (a, b)]
    fresh = SchedulerCore(conf(), cluster_ts=42, clock=Clock())
    for i in range(3):
        fresh.add_node(f"n{i}", f"host{i}", 10, 100_000)
    for r in records:
        fresh.recover_app(r)
    assert fresh.apps[a].state == AppState.RUNNING and fresh.apps[b].state == AppState.ACCEPTED
    assert fresh.allocate(a).resync
    fresh.resync(a, granted, [ContainerRequest(TASK, 2)])
    resp = fresh.allocate(a)
    assert len(resp.allocated) == 2
    assert resp.allocated[0].container_id == "container_42_0001_01_000005"
    assert fresh.apps[a].used_vc == 5
    assert fresh.next_app == 3
    fresh.schedule()
    assert any(isinstance(i, LaunchAM) and i.app_id == b for i in fresh.take_instructions())


def test_finish_statuses_and_app_changed_instructions():
    core = core_with()
    a = start(core)
    core.take_instructions()
    core.finish(a, "FAILED", "map task 3 failed")
    assert core.apps[a].state == AppState.FAILED
    assert AppChanged(a) in core.take_instructions()
    r = core.app_report(a)
    assert r.final_status == FinalStatus.FAILED and r.diagnostics == "map task 3 failed"
    assert r.to_dict()["finalStatus"] == "FAILED"
    assert core.cluster_metrics()["appsFailed"] == 1


def test_refresh_queues_keeps_running_apps():
    core = core_with()
    a = start(core)
    core.allocate(a, [ContainerRequest(TASK, 4)])
    core.configure(conf({P + "root.prod.capacity": "60", P + "root.dev.capacity": "40"}))
    assert core.queues["root.prod"].used_vc == 4 and core.apps[a].queue.path == "root.prod"
    with pytest.raises(UserError, match="cannot be removed"):
        core.configure(CapacitySchedulerConfig.default())


def test_pure_modules_do_not_import_ray():
    code = ("import sys, rayemr.yarn, rayemr.yarn.scheduler, rayemr.yarn.config; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_decommissioned_node_takes_no_new_work_but_running_containers_finish():
    core = core_with(nodes=2, vcores=4)
    a = start(core)
    granted = core.allocate(a, [ContainerRequest(TASK, 4)]).allocated
    victim = granted[0].node_id
    core.decommission_node(victim, "excluded by EMR")
    assert core.nodes[victim].state == NodeState.DECOMMISSIONED and core.total_vc == 4
    assert all(c.container_id in core.containers for c in granted)  # still running
    more = core.allocate(a, [ContainerRequest(TASK, 8)],
                         completed=[c.container_id for c in granted]).allocated
    assert more and all(c.node_id != victim for c in more)
    other = next(n for n in core.nodes if n != victim)
    with pytest.raises(UserError, match="last node"):
        core.decommission_node(other)
    core.recommission_node(victim)
    assert core.nodes[victim].state == NodeState.RUNNING and core.total_vc == 8


def test_unmanaged_am_runs_without_an_am_container_recovers_and_expires():
    core = core_with()
    spec = ApplicationSpec("client-am", queue="dev", user="bob", am_resource=Resource(0, 10**9),
                           groups=(), unmanaged_am=True)  # no AM container: no size check
    app_id = core.submit(spec)
    core.schedule()
    assert not any(isinstance(i, LaunchAM) for i in core.take_instructions())
    app = core.apps[app_id]
    assert app.state == AppState.RUNNING and app.am_container is None
    resp = core.allocate(app_id, [ContainerRequest(TASK, 2)])
    assert len(resp.allocated) == 2 and app.used_vc == 2
    # the RM restarts: the client AM resyncs its containers
    fresh = SchedulerCore(conf(), cluster_ts=42, clock=core.clock)
    for i in range(3):
        fresh.add_node(f"n{i}", f"host{i}", 10, 100_000)
    fresh.recover_app(core.app_record(app_id))
    assert fresh.apps[app_id].state == AppState.RUNNING and fresh.allocate(app_id).resync
    fresh.resync(app_id, resp.allocated)
    assert fresh.apps[app_id].used_vc == 2
    fresh.finish(app_id, FinalStatus.SUCCEEDED)
    assert fresh.apps[app_id].state == AppState.FINISHED and fresh.apps[app_id].used_vc == 0
    # an unmanaged AM that stops heartbeating expires and gives its containers back
    other = core.submit(ApplicationSpec("gone", queue="prod", user="bob", groups=(),
                                        unmanaged_am=True))
    core.schedule()
    core.allocate(other, [ContainerRequest(TASK, 1)])
    core.clock.t += 30
    core.allocate(app_id)
    assert core.expire_unmanaged(20) == [other]
    assert core.apps[other].state == AppState.FAILED
    assert "no heartbeat" in core.apps[other].diagnostics
    assert core.apps[app_id].state == AppState.RUNNING and core.apps[other].used_vc == 0


def test_recovery_keeps_each_application_s_story_and_restores_final_states():
    import json

    core = core_with()
    a = start(core)
    done = start(core, name="done")
    core.clock.t += 5
    core.finish(done, FinalStatus.SUCCEEDED)
    records = [json.loads(json.dumps(core.app_record(x))) for x in (a, done)]  # as stored
    fresh = SchedulerCore(conf(), cluster_ts=42, clock=Clock())
    for i in range(3):
        fresh.add_node(f"n{i}", f"host{i}", 10, 100_000)
    for r in records:
        fresh.recover_app(r)
    finished = fresh.apps[done]
    assert finished.state == AppState.FINISHED and finished.entered[AppState.FINISHED] == 1005.0
    assert [e[1:] for e in finished.story()] == [
        ("NEW", "SUBMITTED", "SUBMIT"), ("SUBMITTED", "ACCEPTED", "APP_ACCEPTED"),
        ("ACCEPTED", "RUNNING", "AM_LAUNCHED"), ("RUNNING", "FINISHED", "AM_FINISHED"),
        ("NEW", "FINISHED", "RECOVER")]
    running = fresh.apps[a]
    assert running.story()[-1][1:] == ("NEW", "RUNNING", "RECOVER")
    assert running.story()[0][1:] == ("NEW", "SUBMITTED", "SUBMIT")
    fresh.kill(a)  # the recovered application follows the table again
    assert running.story()[-1][1:] == ("RUNNING", "KILLED", "KILL")


def test_applications_are_found_by_tag_case_insensitively(monkeypatch):
    from rayemr.yarn.client import TAGS_ENV, with_process_tags

    core = core_with()
    monkeypatch.setenv(TAGS_ENV, "emr-step:s-ABC, nightly")
    spec = with_process_tags(ApplicationSpec("etl", queue="prod", am_resource=AM, groups=(),
                                             tags=("team",)))
    assert spec.tags == ("team", "emr-step:s-ABC", "nightly")
    assert with_process_tags(spec) is spec  # nothing twice
    tagged = core.submit(spec)
    core.submit(ApplicationSpec("other", queue="prod", am_resource=AM, groups=()))
    assert [r.app_id for r in core.app_reports(tags=["EMR-STEP:s-abc"])] == [tagged]
    assert core.app_reports(tags=["emr-step:s-other"]) == []
    assert len(core.app_reports(tags=None)) == 2
