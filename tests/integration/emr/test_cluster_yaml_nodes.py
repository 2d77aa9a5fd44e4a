"""cluster.yaml's node types, started as Ray nodes on this machine with the resources the
file declares: the EMR cluster's NodeManagers offer exactly those to YARN, the master none."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rayemr.emr import Cluster

ROOT = Path(__file__).resolve().parents[3]
MiB = 1024 * 1024


@pytest.mark.slow
def test_declared_node_resources_are_what_yarn_schedules(ray_cluster, tmp_path):
    import ray

    from rayemr.yarn import YarnClient

    with open(ROOT / "cluster.yaml") as f:
        config = yaml.safe_load(f)
    types = config["available_node_types"]
    head = types[config["head_node_type"]]["resources"]
    assert head["CPU"] == 0  # the fixture's head node plays the master: no CPUs either
    declared = {}
    for name in ("core", "task"):
        res = dict(types[name]["resources"])
        cpus, memory = res.pop("CPU"), res.pop("memory")
        ray_cluster.add_node(num_cpus=cpus, memory=memory, resources=res,
                             object_store_memory=80 * MiB)
        declared[name] = (cpus, memory)
    ray_cluster.wait_for_nodes()
    role_of = {}
    for n in ray.nodes():
        if n["Alive"]:
            roles = [r for r in ("core", "task") if n["Resources"].get(f"rayemr_{r}")]
            role_of[n["NodeID"]] = roles[0] if roles else "master"
    assert sorted(role_of.values()) == ["core", "master", "task"]

    conf = f"file://{ROOT / 'rayemr/emr/examples/configurations.json'}"
    with Cluster(name="yaml-nodes", configurations=conf, applications=["Hadoop"],
                 work_dir=str(tmp_path / "w")) as cluster:
        assert cluster.state == "WAITING"
        roles = {n["NodeId"]: n["Role"] for n in cluster.describe()["Cluster"]["Nodes"]}
        assert roles == {nid: role.upper() for nid, role in role_of.items()}
        reports = {r.node_id: r for r in YarnClient().nodes()}
        assert set(reports) == set(role_of)
        for nid, role in role_of.items():
            cap = reports[nid].capability
            if role == "master":
                assert cap.vcores == 0, cap
            else:
                cpus, memory = declared[role]
                assert (cap.vcores, cap.memory_mb) == (cpus, memory // MiB), (role, cap)
            assert reports[nid].state.value == "RUNNING"
        queues = YarnClient().scheduler()
        assert "etl" in str(queues)  # the file's capacity-scheduler reached the RM
