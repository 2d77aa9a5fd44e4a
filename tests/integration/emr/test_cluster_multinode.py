"""An EMR cluster over three Ray nodes on one machine: bootstrap actions run once per node,
also on a node that joins later; a node whose bootstrap fails is marked and its output kept."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rayemr.core.errors import ClusterError
from rayemr.core.waiting import wait_for
from rayemr.emr import Cluster



@pytest.mark.slow
def test_bootstrap_once_per_node_and_on_late_nodes(s3, s3_bucket, ray_cluster, tmp_path,
                                                   seconds_per_page_py):
    """Issue 7's local-mode day on three nodes: the Hive script and its data come from the
    loopback S3 endpoint."""
    for _ in range(2):
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    markers = tmp_path / "markers"
    markers.mkdir()
    script = tmp_path / "mark.sh"
    script.write_text(
        "#!/bin/bash\n"
        f"echo \"$1\" >> {markers}/$RAYEMR_NODE_ID\n"
        f"if [ -e {tmp_path}/fail-next ]; then echo 'no GPU driver here' >&2; exit 9; fi\n")
    s3.put_object(Bucket=s3_bucket, Key="raw/visits.csv",
                  Body=b"u1,home,3\nu2,home,5\nu1,cart,7\nu3,cart,0\n")
    raw = f"s3://{s3_bucket}/raw/"
    s3.put_object(Bucket=s3_bucket, Key="scripts/load.q", Body=(
        b"CREATE EXTERNAL TABLE raw_visits (user STRING, page STRING, seconds INT) ROW FORMAT "
        b"DELIMITED FIELDS TERMINATED BY ',' LOCATION '${hivevar:RAW}';\n"
        b"CREATE EXTERNAL TABLE visits (user STRING, page STRING, seconds INT) "
        b"LOCATION '${hivevar:OUT}';\n"
        b"INSERT OVERWRITE TABLE visits SELECT * FROM raw_visits WHERE seconds > 0;\n"))
    hive_script = f"s3://{s3_bucket}/scripts/load.q"
    mr_input = tmp_path / "visits"
    conf = [{"Classification": "hive-site", "Properties": {
        "javax.jdo.option.ConnectionURL": f"jdbc:sqlite:{tmp_path}/metastore.db",
        "hive.metastore.warehouse.dir": str(tmp_path / "warehouse")}}]
    with Cluster(name="three-nodes", work_dir=str(tmp_path / "work"), configurations=conf,
                 log_uri=str(tmp_path / "logs"),
                 bootstrap_actions=[{"Path": str(script), "Args": ["booted"]}]) as cluster:
        desc = cluster.describe()["Cluster"]
        nodes = desc["Nodes"]
        assert len(nodes) == 3 and all(n["State"] == "RUNNING" for n in nodes)
        files = sorted(p.name for p in markers.iterdir())
        assert files == sorted(n["NodeId"] for n in nodes)
        assert all((markers / f).read_text() == "booted\n" for f in files)  # once per node

        job_file = tmp_path / "seconds_per_page.py"
        job_file.write_text(seconds_per_page_py)
        ids = cluster.add_steps([
            {"Type": "HIVE", "Name": "load", "ActionOnFailure": "CANCEL_AND_WAIT",
             "Args": ["-f", str(hive_script), "-d", f"RAW={raw}", "-d", f"OUT={mr_input}"]},
            {"Type": "MAPREDUCE", "Name": "visits", "ActionOnFailure": "CANCEL_AND_WAIT",
             "Args": [str(job_file), str(mr_input),
                      "-o", str(tmp_path / "out")]},
            {"Type": "COMMAND", "Name": "fails-continue", "Args": ["false"]},
            {"Type": "COMMAND", "Name": "fails-cancel", "Args": ["false"],
             "ActionOnFailure": "CANCEL_AND_WAIT"},
            {"Type": "COMMAND", "Name": "never-runs", "Args": ["true"]},
        ])
        steps = cluster.wait(ids, timeout=300)
        assert {s["Name"]: s["Status"]["State"] for s in steps} == {
            "load": "COMPLETED", "visits": "COMPLETED", "fails-continue": "FAILED",
            "fails-cancel": "FAILED", "never-runs": "CANCELLED"}, [
                cluster.step_output(i)["stderr"][-1500:] for i in ids[:2]]
        for sid in ids[:4]:
            assert (tmp_path / "logs" / cluster.id / "steps" / sid / "stderr").exists()
        out = "".join(p.read_text() for p in sorted((tmp_path / "out").glob("part-*")))
        assert sorted(out.splitlines()) == ["cart\t7", "home\t8"]

        # a node joining later is bootstrapped too
        ray_cluster.add_node(num_cpus=1)
        wait_for(lambda: len(list(markers.iterdir())) == 4, 60, what="4 bootstrap markers")
        # ... and one whose bootstrap fails is marked, with its output kept
        (tmp_path / "fail-next").touch()
        ray_cluster.add_node(num_cpus=1)
        wait_for(lambda: any(n["State"] == "BOOTSTRAP_FAILED"
                             for n in cluster.describe()["Cluster"]["Nodes"]), 60,
                 what="a BOOTSTRAP_FAILED node")
        nodes = cluster.describe()["Cluster"]["Nodes"]
        (bad,) = [n for n in nodes if n["State"] == "BOOTSTRAP_FAILED"]
        assert "no GPU driver here" in bad["StateChangeReason"]
        assert bad["BootstrapActions"][0]["ExitCode"] == 9
        kept = (tmp_path / "logs" / cluster.id / "node" / bad["NodeId"] / "bootstrap-actions"
                / "1" / "stderr")
        assert kept.read_text() == "no GPU driver here\n"
        assert sum(n["State"] == "RUNNING" for n in nodes) == 4
        assert cluster.state == "WAITING"
        # YARN: the failed node is kept out of scheduling, the late good one is back in it
        states = _yarn_node_states()
        assert states[bad["NodeId"]] == "DECOMMISSIONED" and bad["ExcludedFromYarn"] is True
        assert all(states[n["NodeId"]] == "RUNNING" for n in nodes
                   if n["State"] == "RUNNING" and n["Vcores"] > 0)
        for f in markers.iterdir():
            assert f.read_text() == "booted\n"  # still once per node


@pytest.mark.slow
def test_three_nodes_bootstrap_marker_once_per_node(ray_cluster, tmp_path):
    """The short version (about 30 s here): markers only, one command step."""
    for _ in range(2):
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    script = tmp_path / "mark.sh"
    script.write_text(f"#!/bin/bash\necho x >> {tmp_path}/marker-$RAYEMR_NODE_ID\n")
    with Cluster(work_dir=str(tmp_path / "w"), applications=["Hadoop"],
                 bootstrap_actions=[str(script)]) as cluster:
        nodes = cluster.describe()["Cluster"]["Nodes"]
        markers = sorted(p.name for p in tmp_path.glob("marker-*"))
        assert markers == sorted(f"marker-{n['NodeId']}" for n in nodes) and len(markers) == 3
        assert all(p.read_text() == "x\n" for p in tmp_path.glob("marker-*"))
        (sid,) = cluster.add_steps(["Type=COMMAND,Name=hi,Args=[echo,hi]"])
        assert cluster.wait([sid], timeout=60)[0]["Status"]["State"] == "COMPLETED"


WHERE_TASKS_RAN_PY = '''\
"""Which Ray node each map task ran on."""
import ray

from rayemr.mapreduce import MRJob


class WhereTasksRan(MRJob):
    def mapper(self, _, line):
        yield ray.get_runtime_context().get_node_id(), 1

    def reducer(self, node, ones):
        yield node, sum(ones)


if __name__ == "__main__":
    WhereTasksRan.run()
'''


def _yarn_node_states():
    from rayemr.yarn import YarnClient

    return {n.node_id: n.state.value for n in YarnClient().nodes()}


@pytest.mark.slow
def test_failed_bootstrap_node_takes_no_containers(ray_cluster, tmp_path):
    """A node whose bootstrap fails is decommissioned in YARN and gets no containers, its
    output kept under the log URI; when every node able to run containers fails, the cluster
    does not start (BOOTSTRAP_FAILURE) and names where the output is."""
    import ray

    for _ in range(2):
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    workers = sorted(n["NodeID"] for n in ray.nodes()
                     if n["Alive"] and n["Resources"].get("CPU", 0) > 0)
    assert len(workers) == 2
    bad, good = workers
    script = tmp_path / "setup.sh"
    script.write_text("#!/bin/bash\n"
                      "for n in \"$@\"; do if [ \"$RAYEMR_NODE_ID\" = \"$n\" ]; then\n"
                      "  echo \"installing driver on $RAYEMR_NODE_ID\"\n"
                      "  echo 'driver package not found' >&2; exit 4\n"
                      "fi; done\necho ready\n")
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(8):  # eight files: eight map tasks to place
        (inputs / f"part-{i}.txt").write_text("".join(f"line {i} {j}\n" for j in range(5)))
    job = tmp_path / "where.py"
    job.write_text(WHERE_TASKS_RAN_PY)
    logs = tmp_path / "logs"

    with Cluster(name="one-bad-node", work_dir=str(tmp_path / "w1"), applications=["Hadoop"],
                 log_uri=str(logs), bootstrap_actions=[
                     {"Name": "driver", "Path": str(script), "Args": [bad]}]) as cluster:
        desc = cluster.describe()["Cluster"]
        assert desc["Status"]["State"] == "WAITING"
        nodes = {n["NodeId"]: n for n in desc["Nodes"]}
        assert nodes[bad]["State"] == "BOOTSTRAP_FAILED"
        assert nodes[bad]["ExcludedFromYarn"] is True
        assert "driver package not found" in nodes[bad]["StateChangeReason"]
        assert nodes[good]["State"] == "RUNNING" and "ExcludedFromYarn" not in nodes[good]
        kept = logs / cluster.id / "node" / bad / "bootstrap-actions" / "1"
        assert (kept / "stdout").read_text() == f"installing driver on {bad}\n"
        assert (kept / "stderr").read_text() == "driver package not found\n"
        assert nodes[bad]["BootstrapLogs"] == str(kept.parent) + "/"
        states = _yarn_node_states()
        assert states[bad] == "DECOMMISSIONED" and states[good] == "RUNNING"

        (sid,) = cluster.add_steps([{"Type": "MAPREDUCE", "Name": "where", "Args": [
            str(job), str(inputs), "-o", str(tmp_path / "out")]}])
        (step,) = cluster.wait([sid], timeout=300)
        assert step["Status"]["State"] == "COMPLETED", cluster.step_output(sid)["stderr"]
        ran = {}
        for part in (tmp_path / "out").glob("part-*"):
            for line in part.read_text().splitlines():
                node, count = line.split("\t")
                ran[node.strip('"')] = int(count)
        assert sum(ran.values()) == 40
        assert bad not in ran and set(ran) == {good}

    # every node that can run containers fails: the cluster does not start
    cluster = Cluster(name="all-bad", work_dir=str(tmp_path / "w2"), applications=["Hadoop"],
                      log_uri=str(logs), bootstrap_actions=[
                          {"Name": "driver", "Path": str(script), "Args": workers}])
    try:
        with pytest.raises(ClusterError, match="BOOTSTRAP_FAILURE.*every node that can run "
                                               "containers.*driver package not found"):
            cluster.start()
        status = cluster.describe()["Cluster"]["Status"]
        assert status["State"] == "TERMINATED_WITH_ERRORS"
        assert status["StateChangeReason"]["Code"] == "BOOTSTRAP_FAILURE"
        assert f"output under {logs / cluster.id / 'node'}" in status["StateChangeReason"][
            "Message"]
        for nid in workers:
            assert (logs / cluster.id / "node" / nid / "bootstrap-actions" / "1" /
                    "stderr").read_text() == "driver package not found\n"
    finally:
        cluster.close()
