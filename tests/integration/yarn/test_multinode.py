"""YARN on a 3-node Ray cluster: queue shares, elasticity, node loss, kill, RM restart.

Each test takes 30-60 s on a busy 2-core machine, so both are marked ``slow``; run them with
``python -m pytest -m slow tests/integration/yarn``. The default suite covers kill and RM
restart on local Ray (``test_client.py``).
"""
from __future__ import annotations

import statistics
import time

import pytest
import ray

import rayemr.yarn as yarn
from rayemr.core.waiting import wait_for
from rayemr.runtime import NAMESPACE
from rayemr.yarn import ApplicationSpec, AppState, NodeState, Resource
from rayemr.yarn.app_master import RM_NAME

from . import programs

P = "yarn.scheduler.capacity."
QUEUES = {
    P + "root.queues": "prod,dev", P + "root.prod.capacity": "70", P + "root.dev.capacity": "30",
    P + "root.dev.maximum-capacity": "50", P + "root.dev.user-limit-factor": "3",
    P + "root.prod.user-limit-factor": "2", P + "maximum-am-resource-percent": "0.5",
    P + "resource-calculator": "DominantResourceCalculator",
    "yarn.resourcemanager.webapp.address": "127.0.0.1:0",
}
AM = Resource(0, 128)  # the AM waits; memory only (it takes no Ray CPU either)
NODE_CPUS = 2


def _cluster(ray_cluster, n=3):
    nodes = [ray_cluster.add_node(num_cpus=NODE_CPUS) for _ in range(n)]
    ray_cluster.wait_for_nodes()
    handle = yarn.start(QUEUES)
    client = yarn.YarnClient()
    wait_for(lambda: len([r for r in client.nodes() if r.state == NodeState.RUNNING
                          and r.capability.vcores]) == n, 30, what=f"{n} RUNNING nodes")
    return nodes, handle, client


def _held(client, app_id):
    return max(0, client.status(app_id).running_containers - 1)  # minus the AM


@pytest.mark.slow
def test_shares_elasticity_and_node_loss(ray_cluster, tmp_path):
    nodes, _, client = _cluster(ray_cluster)
    total = 3 * NODE_CPUS
    stop, stop_prod = tmp_path / "stop-dev", tmp_path / "stop-prod"
    prod = client.submit(ApplicationSpec("prod-job", queue="prod", am_resource=AM),
                         programs.saturate, {"stop": str(stop_prod)})
    dev = client.submit(ApplicationSpec("dev-job", queue="dev", am_resource=AM),
                        programs.saturate, {"stop": str(stop), "await_lost": True})
    # steady state: both queues hold containers and together every vcore
    wait_for(lambda: _held(client, prod) > 0 and _held(client, dev) > 0
             and _held(client, prod) + _held(client, dev) == total, 60)
    shares = []
    for _ in range(20):  # 4 s of steady state
        p, d = _held(client, prod), _held(client, dev)
        assert p + d <= total
        if p + d:
            shares.append(p / (p + d))
        time.sleep(0.2)
    assert abs(statistics.mean(shares) - 0.7) <= 0.1, shares

    # prod finishes: dev grows to its maximum capacity (50% of the vcores), and no further
    stop_prod.write_text("stop")
    assert client.wait(prod, timeout=60).state == AppState.FINISHED
    wait_for(lambda: _held(client, dev) == total // 2, timeout=10)
    for _ in range(10):
        assert _held(client, dev) <= total // 2
        time.sleep(0.1)

    # a node goes away: it is LOST and dev is told exactly which containers died with it
    # (prod is done, so every container on a node other than dev's AM node is dev's)
    am_node = client.status(dev).am_node
    victim_id = wait_for(lambda: next((r.node_id for r in client.nodes()
                                       if r.node_id != am_node and r.num_containers > 0), None),
                         30)
    victim = next(n for n in nodes if n.node_id == victim_id)
    ray_cluster.remove_node(victim)
    wait_for(lambda: any(r.node_id == victim_id and r.state == NodeState.LOST
                         for r in client.nodes()), timeout=30)
    stop.write_text("stop")
    out = client.result(dev, timeout=60)
    assert out["lost_nodes"] == [victim_id]
    # dev held containers there: the RM reported them LOST, or Ray failed their tasks first
    # (the AM then saw them end before the RM saw the node go)
    assert out["lost"] or out["died"], "dev was told of no container on the lost node"
    assert all(node == victim_id for _, node in out["lost"] + out["died"])
    assert client.metrics()["lostNodes"] == 1


@pytest.mark.slow
def test_kill_releases_at_once_and_rm_restart_preserves_work(ray_cluster):
    _, handle, client = _cluster(ray_cluster)
    sleeper = client.submit(ApplicationSpec("sleeper", queue="dev", am_resource=AM),
                            programs.sleep_forever, {"n": 3})
    wait_for(lambda: _held(client, sleeper) == 3, 30)
    wait_for(lambda: ray.available_resources().get("CPU", 0) <= 3 * NODE_CPUS - 3, 30)
    client.kill(sleeper)
    report = client.status(sleeper)
    assert report.state == AppState.KILLED and report.running_containers == 0
    assert sum(n.num_containers for n in client.nodes()) == 0
    # and the Ray tasks that ran in them are stopped (the AM cancels them)
    wait_for(lambda: ray.available_resources().get("CPU", 0) == 3 * NODE_CPUS, timeout=10)

    # kill the ResourceManager while an application runs: queues and apps come back
    job = client.submit(ApplicationSpec("waves", queue="prod", am_resource=AM),
                        programs.run_waves, {"n": 40, "task_s": 0.2})
    wait_for(lambda: client.status(job).state == AppState.RUNNING and _held(client, job) > 0,
             30)
    before_queues = client.queue("prod")
    rm = ray.get_actor(RM_NAME, namespace=NAMESPACE)
    ray.kill(rm, no_restart=False)
    info = wait_for(lambda: _ready(), timeout=60)
    assert info["recovered"] and info["cluster_ts"] == handle.cluster_ts
    assert client.queue("prod")["absoluteCapacity"] == before_queues["absoluteCapacity"]
    assert {r.app_id for r in client.list()} >= {sleeper, job}
    assert client.status(sleeper).state == AppState.KILLED
    assert client.result(job, timeout=120) == sum(i * i for i in range(40))
    assert client.status(job).state == AppState.FINISHED


def _ready():
    try:
        rm = ray.get_actor(RM_NAME, namespace=NAMESPACE)
        return ray.get(rm.ready.remote(), timeout=5)
    except Exception:
        return None
