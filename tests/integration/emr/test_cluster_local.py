"""An EMR cluster in local mode: configurations, bootstrap actions, steps, logs, termination."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from rayemr.core.errors import ClusterError
from rayemr.core.waiting import wait_for
from rayemr.emr import Cluster

QUEUES = {"Classification": "capacity-scheduler", "Properties": {
    "yarn.scheduler.capacity.root.queues": "prod,dev",
    "yarn.scheduler.capacity.root.prod.capacity": "70",
    "yarn.scheduler.capacity.root.dev.capacity": "30"}}
ENV = {"Classification": "hadoop-env", "Configurations": [
    {"Classification": "export", "Properties": {"GREETING": "hello-from-hadoop-env"}}]}
PY = sys.executable


def states(steps):
    return {s["Name"]: s["Status"]["State"] for s in steps}


def cmd(name, script, action="CONTINUE"):
    return {"Type": "COMMAND", "Name": name, "ActionOnFailure": action,
            "Args": ["bash", "-c", script]}


HIVE_SCRIPT = b"""
CREATE EXTERNAL TABLE raw_visits (user STRING, page STRING, seconds INT)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
  LOCATION '${hivevar:RAW}';
CREATE TABLE visits (user STRING, page STRING, seconds INT);
INSERT OVERWRITE TABLE visits SELECT user, page, seconds FROM raw_visits WHERE seconds > 0;
"""
RAW = b"u1,home,3\nu2,home,5\nu1,cart,7\nu3,cart,0\nu4,checkout,11\n"


@pytest.mark.slow
def test_hive_mapreduce_and_failing_steps_with_logs_in_s3(ray_local, s3, s3_bucket, tmp_path,
                                                          seconds_per_page_py):
    """The EMR day: configurations, a bootstrap action from S3, a Hive step loading a table
    from S3, a MapReduce step over it, a failing step that CONTINUEs, one that
    CANCEL_AND_WAITs; states as EMR gives them; logs in S3 in EMR's layout."""
    s3.put_object(Bucket=s3_bucket, Key="bootstrap/setup.sh",
                  Body=b"#!/bin/bash\necho \"setup $1 $2 on $RAYEMR_NODE_ID\"\n"
                       b"echo $1 >> " + str(tmp_path).encode() + b"/bootstrap-ran\n")
    s3.put_object(Bucket=s3_bucket, Key="scripts/load.q", Body=HIVE_SCRIPT)
    s3.put_object(Bucket=s3_bucket, Key="raw/visits.csv", Body=RAW)
    s3.put_object(Bucket=s3_bucket, Key="jobs/visits_by_page.py",
                  Body=seconds_per_page_py.encode())
    b = f"s3://{s3_bucket}"
    log_uri = f"{b}/logs"
    configurations = [QUEUES, ENV,
                      {"Classification": "hive-site", "Properties": {
                          "javax.jdo.option.ConnectionURL": f"jdbc:sqlite:{tmp_path}/ms.db",
                          "hive.metastore.warehouse.dir": f"{b}/warehouse"}},
                      {"Classification": "mapred-site", "Properties": {
                          "mapreduce.job.reduces": "3", "mapreduce.job.queuename": "prod"}}]
    with Cluster(name="local-test", configurations=configurations, log_uri=log_uri,
                 work_dir=str(tmp_path / "work"), hiveserver2_port=0,
                 bootstrap_actions=[f"Path={b}/bootstrap/setup.sh,Args=[one,two]"]
                 ) as cluster:
        desc = cluster.describe()["Cluster"]
        assert desc["Status"]["State"] == "WAITING"
        (node,) = desc["Nodes"]
        assert node["State"] == "RUNNING" and node["BootstrapActions"][0]["ExitCode"] == 0
        assert "setup one two on" in node["BootstrapActions"][0]["Stdout"]
        assert (tmp_path / "bootstrap-ran").read_text() == "one\n"
        # capacity-scheduler reached the ResourceManager
        from rayemr.yarn import YarnClient

        assert YarnClient().queue("prod")
        ids = cluster.add_steps([
            {"Type": "HIVE", "Name": "load", "ActionOnFailure": "CANCEL_AND_WAIT",
             "Args": ["-f", f"{b}/scripts/load.q", "-d", f"RAW={b}/raw/"]},
            {"Type": "MAPREDUCE", "Name": "visits-by-page", "ActionOnFailure": "CANCEL_AND_WAIT",
             "Args": [f"{b}/jobs/visits_by_page.py", f"{b}/warehouse/visits/",
                      "-o", f"{b}/out/visits/"]},
            cmd("env", "echo $GREETING; echo on stderr >&2"),
            cmd("fails-continue", "echo about to fail; exit 3"),
            cmd("after-continue", "echo still running"),
            cmd("fails-cancel-and-wait", "exit 4", "CANCEL_AND_WAIT"),
            cmd("never-runs", "echo should not run"),
        ])
        steps = cluster.wait(ids, timeout=300)
        assert states(steps) == {
            "load": "COMPLETED", "visits-by-page": "COMPLETED", "env": "COMPLETED",
            "fails-continue": "FAILED", "after-continue": "COMPLETED",
            "fails-cancel-and-wait": "FAILED", "never-runs": "CANCELLED"}, [
                cluster.step_output(i)["stderr"][-2000:] for i in ids[:2]]
        # the Hive step filled a managed table under the S3 warehouse; MR read it
        parts = sorted(o["Key"] for o in s3.list_objects_v2(
            Bucket=s3_bucket, Prefix="out/visits/")["Contents"])
        assert "out/visits/_SUCCESS" in parts
        assert len([p for p in parts if "part-" in p]) == 3  # mapred-site reached the job
        out = b"".join(s3.get_object(Bucket=s3_bucket, Key=k)["Body"].read()
                       for k in parts if "part-" in k).decode()
        assert sorted(out.splitlines()) == ["cart\t7", "checkout\t11", "home\t8"]
        mr = cluster.describe_step(ids[1])["Step"]
        assert mr["ApplicationIds"] and mr["ApplicationIds"][0].startswith("application_")
        # HiveServer2 serves the same metastore
        from pyhive import hive

        host, port = [s for s in cluster.describe()["Cluster"]["Services"]
                      if s["Name"] == "HiveServer2"][0]["Detail"].rsplit(":", 1)
        with hive.connect(host=host, port=int(port)) as conn:
            cur = conn.cursor()
            cur.execute("SELECT page, sum(seconds) FROM visits GROUP BY page ORDER BY page")
            assert cur.fetchall() == [("cart", 7), ("checkout", 11), ("home", 8)]

        failed = cluster.describe_step(ids[3])["Step"]
        assert failed["Status"]["FailureDetails"]["LogFile"] == (
            f"{log_uri}/{cluster.id}/steps/{ids[3]}/stderr")
        assert "exit code 3" in failed["Status"]["StateChangeReason"]["Message"]

        def log(step_id, name):
            return s3.get_object(Bucket=s3_bucket, Key=f"logs/{cluster.id}/steps/{step_id}/"
                                 f"{name}")["Body"].read().decode()
        assert log(ids[2], "stdout") == "hello-from-hadoop-env\n"
        assert log(ids[2], "stderr") == "on stderr\n"
        assert "exit code 3" in log(ids[3], "controller")
        assert "about to fail" in log(ids[3], "stdout")
        assert "map = 100%" in log(ids[0], "stderr")  # the Hive step's own progress
        boot = s3.get_object(Bucket=s3_bucket, Key=f"logs/{cluster.id}/node/{node['NodeId']}/"
                             f"bootstrap-actions/1/stdout")["Body"].read().decode()
        assert boot.startswith("setup one two")
        # CANCEL_AND_WAIT leaves the cluster waiting for more work
        assert cluster.state == "WAITING"
        (later,) = cluster.add_steps([cmd("later", "true")])
        assert states(cluster.wait([later], timeout=60)) == {"later": "COMPLETED"}
        final = cluster.terminate()
        assert final["Cluster"]["Status"]["State"] == "TERMINATED"
    summary = s3.get_object(Bucket=s3_bucket, Key=f"logs/{cluster.id}/cluster.json")
    assert b'"TERMINATED"' in summary["Body"].read()


def test_cancel_a_running_step(ray_local, tmp_path):
    with Cluster(work_dir=str(tmp_path), applications=["Hadoop"]) as cluster:
        slow, after = cluster.add_steps([cmd("slow", "sleep 60"), cmd("after", "true")])
        wait_for(lambda: cluster.describe_step(slow)["Step"]["Status"]["State"] == "RUNNING",
                 30, what="the slow step RUNNING")
        t0 = time.monotonic()
        (res,) = cluster.cancel_steps([slow])
        assert res["Status"] == "SUBMITTED"
        steps = cluster.wait([slow, after], timeout=60)
        assert time.monotonic() - t0 < 30
        assert states(steps) == {"slow": "CANCELLED", "after": "COMPLETED"}
        (again,) = cluster.cancel_steps([slow])
        assert again["Status"] == "FAILED" and "CANCELLED" in again["Reason"]


def test_terminate_cluster_on_failure(ray_local, tmp_path):
    with Cluster(work_dir=str(tmp_path)) as cluster:
        ids = cluster.add_steps([cmd("fatal", "exit 1", "TERMINATE_CLUSTER"),
                                 cmd("next", "true")])
        cluster.wait_terminated(timeout=60)
        desc = cluster.describe()["Cluster"]
        assert desc["Status"]["State"] == "TERMINATED_WITH_ERRORS"
        assert ids[0] in desc["Status"]["StateChangeReason"]["Message"]
        assert states(cluster.list_steps()) == {"fatal": "FAILED", "next": "CANCELLED"}
        with pytest.raises(Exception, match="takes no more steps"):
            cluster.add_steps([cmd("x", "true")])


def test_auto_terminate_and_idle_timeout(ray_local, tmp_path):
    c1 = Cluster(work_dir=str(tmp_path / "a"), keep_alive=False,
                 steps=[cmd("only", "true")]).start()
    try:
        desc = c1.wait_terminated(timeout=60)["Cluster"]
        assert desc["Status"]["State"] == "TERMINATED"
        assert desc["Status"]["StateChangeReason"]["Message"] == "Steps completed"
        assert states(c1.list_steps()) == {"only": "COMPLETED"}
    finally:
        c1.close()
    with Cluster(work_dir=str(tmp_path / "b"), idle_timeout=1.5) as c2:
        desc = c2.wait_terminated(timeout=60)["Cluster"]
        assert desc["Status"]["State"] == "TERMINATED"
        assert "idle" in desc["Status"]["StateChangeReason"]["Message"]


def test_failing_bootstrap_on_the_master_fails_the_start_and_keeps_output(ray_local, tmp_path):
    script = tmp_path / "bad.sh"
    script.write_text("echo partial output; echo 'disk not ready' >&2; exit 7\n")
    cluster = Cluster(work_dir=str(tmp_path / "w"), log_uri=str(tmp_path / "logs"),
                      bootstrap_actions=[{"Name": "prepare", "ScriptBootstrapAction": {
                          "Path": str(script)}}])
    try:
        with pytest.raises(ClusterError, match="bootstrap action 'prepare' failed.*disk not "
                                               "ready"):
            cluster.start()
        desc = cluster.describe()["Cluster"]
        assert desc["Status"]["State"] == "TERMINATED_WITH_ERRORS"
        reason = desc["Status"]["StateChangeReason"]
        assert reason["Code"] == "BOOTSTRAP_FAILURE"
        # EMR's message: where it failed, what, and where its output is
        assert reason["Message"].startswith("On the master node")
        assert f"output under {tmp_path / 'logs' / cluster.id / 'node'}" in reason["Message"]
        (node,) = desc["Nodes"]
        assert node["State"] == "BOOTSTRAP_FAILED"
        assert node["BootstrapActions"][0]["ExitCode"] == 7
        assert node["BootstrapActions"][0]["Stdout"] == "partial output\n"
        kept = tmp_path / "logs" / cluster.id / "node" / node["NodeId"] / "bootstrap-actions"
        assert (kept / "1" / "stderr").read_text() == "disk not ready\n"
    finally:
        cluster.close()


WORDCOUNT_PY = '''\
import re

from rayemr.mapreduce import MRJob


class WordCount(MRJob):
    def mapper(self, _, line):
        for word in re.findall(r"[a-z]+", line.lower()):
            yield word, 1

    def reducer(self, word, counts):
        yield word, sum(counts)
'''


def test_step_errors_wait_order_relative_paths_and_state_after_close(ray_local, tmp_path,
                                                                     monkeypatch):
    """Actor errors arrive as themselves; wait() keeps the order asked for and refuses
    unknown ids; relative MapReduce paths mean the submitter's; RAYEMR_HOME holds the work
    dir; a closed cluster still tells its final state."""
    from rayemr.core.errors import InputNotFoundError, UserError

    submitter = tmp_path / "checkout"
    (submitter / "jobs").mkdir(parents=True)
    (submitter / "jobs" / "wc.py").write_text(WORDCOUNT_PY)
    (submitter / "text").mkdir()
    (submitter / "text" / "a.txt").write_text("the cat\nthe dog\n")
    monkeypatch.chdir(submitter)
    monkeypatch.setenv("RAYEMR_HOME", str(tmp_path / "home"))
    with Cluster(applications=["Hadoop"]) as cluster:
        assert (tmp_path / "home" / "emr" / cluster.id).is_dir()
        with pytest.raises(InputNotFoundError) as info:
            cluster.describe_step("s-NOPE")
        assert type(info.value) is InputNotFoundError
        assert str(info.value).startswith("step s-NOPE not found on this cluster")
        assert "\n" not in str(info.value)
        with pytest.raises(InputNotFoundError, match="s-NOPE"):
            cluster.wait(["s-NOPE"], timeout=5)
        with pytest.raises(UserError, match="'BOGUS'"):
            cluster.list_steps(["BOGUS"])
        ids = cluster.add_steps([
            cmd("load", "true"), cmd("count", "true"),
            {"Type": "MAPREDUCE", "Name": "wc",
             "Args": ["jobs/wc.py", "text", "-o", "out", "-r", "inline"]},
            cmd("notify", "true")])
        monkeypatch.chdir(tmp_path)  # the submitter moves on; the paths stay its own
        steps = cluster.wait(ids, timeout=120)
        assert [s["Id"] for s in steps] == ids
        assert [s["Name"] for s in steps] == ["load", "count", "wc", "notify"]
        assert [s["Status"]["State"] for s in steps] == ["COMPLETED"] * 4, \
            cluster.step_output(ids[2])["stderr"]
        assert [s["Id"] for s in cluster.wait(list(reversed(ids)))] == list(reversed(ids))
        assert [s["Id"] for s in cluster.wait()] == ids
    lines = "".join(p.read_text() for p in (submitter / "out").glob("part-*"))
    assert '"the"\t2' in lines and '"cat"\t1' in lines
    assert cluster.state == "TERMINATED"
    assert cluster.describe()["Cluster"]["Id"] == cluster.id
    with pytest.raises(UserError, match="terminated") as info:
        cluster.add_steps([cmd("late", "true")])
    assert "not started" not in str(info.value)


STEP_APP = '''\
import os, sys, time
import rayemr
from rayemr.yarn import ApplicationSpec, YarnClient

rayemr.init()
client = YarnClient()
if sys.argv[1] == "hang":
    print(client.submit(ApplicationSpec("hangs"), lambda amrm, p: time.sleep(600)), flush=True)
    time.sleep(600)
while not os.path.exists(sys.argv[1]):  # the test submits its own application meanwhile
    time.sleep(0.05)
app = client.submit(ApplicationSpec("the-step-s"), lambda amrm, p: p * 6, 7)
print(client.result(app, timeout=120), "not mine: application_1_9999")
'''


def test_a_step_knows_exactly_its_own_yarn_applications_and_cancel_kills_them(ray_local,
                                                                            tmp_path):
    """A step's applications are the ones its process submitted (tagged with the step), not
    whatever YARN ran meanwhile; cancelling the step kills them."""
    from rayemr.yarn import ApplicationSpec, YarnClient

    marker = tmp_path / "go"
    with Cluster(work_dir=str(tmp_path / "w"), applications=["Hadoop"]) as cluster:
        (sid,) = cluster.add_steps([{"Type": "COMMAND", "Name": "app",
                                     "Args": [PY, "-c", STEP_APP, str(marker)]}])
        deadline = time.monotonic() + 60
        while cluster.describe_step(sid)["Step"]["Status"]["State"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        client = YarnClient()
        other = client.submit(ApplicationSpec("not-the-step-s"), lambda amrm, p: 1)
        marker.touch()
        (step,) = cluster.wait([sid], timeout=180)
        assert step["Status"]["State"] == "COMPLETED", cluster.step_output(sid)["stderr"]
        assert cluster.step_output(sid)["stdout"].startswith("42 ")
        (mine,) = step["ApplicationIds"]
        assert mine != other and client.status(mine).name == "the-step-s"
        assert step["Applications"] == [{"Id": mine, "Queue": "default"}]

        (hang,) = cluster.add_steps([{"Type": "COMMAND", "Name": "hang",
                                      "Args": [PY, "-c", STEP_APP, "hang"]}])
        deadline = time.monotonic() + 120
        while not client.list(tags=[f"emr-step:{hang}"]):
            assert time.monotonic() < deadline, cluster.step_output(hang)["stderr"]
            time.sleep(0.2)
        cluster.cancel_steps([hang])
        (step,) = cluster.wait([hang], timeout=60)
        assert step["Status"]["State"] == "CANCELLED"
        (app,) = step["ApplicationIds"]
        assert client.wait(app, timeout=60).state.value == "KILLED"


def test_watch_steps_answers_when_a_step_changes(ray_local, tmp_path):
    with Cluster(work_dir=str(tmp_path), applications=["Hadoop"]) as cluster:
        assert cluster.watch_steps({}, timeout=0.1) == []  # nothing yet: the timeout answers
        (sid,) = cluster.add_steps([cmd("a", "true")])
        seen = []
        known: dict = {}
        while not seen or seen[-1] != "COMPLETED":
            (step,) = cluster.watch_steps(known, timeout=60)
            state = step["Status"]["State"]
            assert state != known.get(sid), "answered without a change"
            seen.append(state)
            known = {sid: state}
        assert seen[-1] == "COMPLETED" and set(seen) <= {"PENDING", "RUNNING", "COMPLETED"}
