"""The contract API end to end on local Ray: submit, result, status, list, kill, errors."""
from __future__ import annotations


import pytest

import rayemr.yarn as yarn
from rayemr.core.errors import InputNotFoundError, UserError
from rayemr.core.waiting import wait_for
from rayemr.yarn import ApplicationSpec, AppState, FinalStatus, Resource

from . import programs


def test_submit_runs_am_main_in_containers_and_returns_its_result(yarn_local):
    client = yarn.YarnClient()
    app_id = client.submit(ApplicationSpec("squares", tags=("t1",)), programs.run_tasks, {"n": 12})
    assert app_id.startswith(f"application_{yarn_local.cluster_ts}_")
    assert client.result(app_id, timeout=120) == sum(i * i for i in range(12))
    report = client.status(app_id)
    assert report.state == AppState.FINISHED
    assert report.final_status == FinalStatus.SUCCEEDED
    assert report.running_containers == 0 and report.allocated.memory_mb == 0
    assert app_id in [r.app_id for r in client.list(states=["FINISHED"])]
    assert app_id not in [r.app_id for r in client.list(states=["RUNNING"])]


def test_am_main_error_is_raised_by_result_and_app_fails(yarn_local):
    client = yarn.YarnClient()
    app_id = client.submit(ApplicationSpec("bad"), programs.fail, 42)
    with pytest.raises(ValueError, match="bad record 42"):
        client.result(app_id, timeout=120)
    report = client.status(app_id)
    assert report.state == AppState.FAILED and "bad record 42" in report.diagnostics


def test_kill_releases_containers_and_second_kill_is_a_clear_error(yarn_local):
    import ray

    client = yarn.YarnClient()
    idle_cpus = ray.cluster_resources()["CPU"]

    def all_cpus_free() -> bool:
        return ray.available_resources().get("CPU", 0) == idle_cpus

    wait_for(all_cpus_free, 10)  # Ray's resource view lags the end of earlier tests' tasks
    app_id = client.submit(ApplicationSpec("sleeper"), programs.sleep_forever, {"n": 2})

    def three_containers() -> bool:
        report = client.status(app_id)
        assert report.state in (AppState.ACCEPTED, AppState.RUNNING)
        return report.running_containers >= 3

    wait_for(three_containers, 60)
    assert client.status(app_id).running_containers == 3  # AM + 2
    client.kill(app_id)
    report = client.status(app_id)
    assert report.state == AppState.KILLED and report.running_containers == 0
    wait_for(all_cpus_free, 10)  # the tasks that ran in the containers are cancelled too
    with pytest.raises(UserError, match="already KILLED"):
        client.kill(app_id)
    with pytest.raises(InputNotFoundError, match="application_0_9999"):
        client.kill("application_0_9999")


def _idle_ams(node_id: str, want: str, present: bool = True) -> list[str]:
    import ray

    from rayemr.runtime import NAMESPACE
    from rayemr.yarn.node_manager import nm_actor_name

    nm = ray.get_actor(nm_actor_name(node_id or ray.get_runtime_context().get_node_id()),
                       namespace=NAMESPACE)

    def idle() -> list[str] | None:
        names = ray.get(nm.am_pool.remote())["idle"]
        return names if (want in names) == present else None

    return wait_for(idle, 10, what=f"{want} {'in' if present else 'out of'} the idle AM pool")


def _running_tasks(client, app_id: str) -> bool:
    """The application runs and holds a container besides its AM's."""
    report = client.status(app_id)
    return report.state == AppState.RUNNING and report.running_containers > 1


def test_am_process_is_reused_by_the_next_application_but_not_after_a_kill(yarn_local):
    client = yarn.YarnClient()
    first = client.submit(ApplicationSpec("pid-1"), programs.process_id)
    pid = client.result(first, timeout=120)
    report = client.status(first)
    assert report.final_status == FinalStatus.SUCCEEDED
    assert report.am_actor in _idle_ams(report.am_node, report.am_actor)
    second = client.submit(ApplicationSpec("pid-2"), programs.process_id)
    assert client.result(second, timeout=120) == pid  # the same warm process ran it
    assert client.status(second).am_actor == report.am_actor
    assert client.result(first) == pid  # each application's own result, kept apart

    killed = client.submit(ApplicationSpec("sleeper"), programs.sleep_forever, {"n": 1})
    wait_for(lambda: client.status(killed).state == AppState.RUNNING, 60, what="RUNNING")
    client.kill(killed)
    with pytest.raises(Exception, match="killed"):
        client.result(killed, timeout=60)
    gone = client.status(killed)
    assert gone.am_actor not in _idle_ams(gone.am_node, gone.am_actor, present=False)
    third = client.submit(ApplicationSpec("pid-3"), programs.process_id)
    client.result(third, timeout=120)
    assert client.status(third).am_actor != gone.am_actor
    import ray

    wait_for(lambda: ray.available_resources().get("CPU", 0) == ray.cluster_resources()["CPU"],
             10, what="the killed application's task to give its CPU back")


def test_an_application_whose_am_dies_runs_a_second_attempt(yarn_local):
    import ray

    from rayemr.runtime import NAMESPACE

    client = yarn.YarnClient()
    app_id = client.submit(ApplicationSpec("waves"), programs.run_waves, {"n": 16, "task_s": 0.2})
    wait_for(lambda: _running_tasks(client, app_id), 60)
    first = client.status(app_id)
    ray.kill(ray.get_actor(first.am_actor, namespace=NAMESPACE))
    assert client.result(app_id, timeout=120) == sum(i * i for i in range(16))
    report = client.status(app_id)
    assert report.final_status == FinalStatus.SUCCEEDED
    assert report.am_actor != first.am_actor
    assert "attempt 1 failed" in report.diagnostics
    from rayemr.yarn.app_master import call_rm

    events = [tuple(str(x) for x in step[1:]) for step in call_rm("story", app_id)]
    assert ("RUNNING", "ACCEPTED", "ATTEMPT_FAILED") in events, events


def test_submit_errors_name_the_queue_and_resource(yarn_local):
    client = yarn.YarnClient()
    with pytest.raises(InputNotFoundError, match="nosuchqueue"):
        client.submit(ApplicationSpec("x", queue="nosuchqueue"), programs.fail)
    with pytest.raises(UserError, match="larger than any node"):
        client.submit(ApplicationSpec("x", am_resource=Resource(1, 10**9)), programs.fail)


def test_resource_manager_restart_mid_run_keeps_queues_and_apps(yarn_local):
    import ray

    from rayemr.runtime import NAMESPACE
    from rayemr.yarn.app_master import RM_NAME, call_rm

    client = yarn.YarnClient()
    job = client.submit(ApplicationSpec("waves"), programs.run_waves, {"n": 24, "task_s": 0.2})
    wait_for(lambda: _running_tasks(client, job), 60)
    before = client.queue("default")
    first = call_rm("ready")
    ray.kill(ray.get_actor(RM_NAME, namespace=NAMESPACE), no_restart=False)
    # ray.kill returns before the actor is gone: a call made at once may still reach it
    wait_for(lambda: call_rm("ready")["started"] != first["started"], 60)
    report = client.status(job)  # the client waits for the restarted RM
    assert report.state == AppState.RUNNING
    info = call_rm("ready")  # rides out the restart, like every client call
    assert info["recovered"] and info["cluster_ts"] == yarn_local.cluster_ts
    assert client.queue("default")["absoluteCapacity"] == before["absoluteCapacity"]
    assert client.result(job, timeout=120) == sum(i * i for i in range(24))
    assert client.status(job).state == AppState.FINISHED
    assert client.status(job).running_containers == 0
    assert client.metrics()["containersAllocated"] == 0  # nothing leaked through the resync
