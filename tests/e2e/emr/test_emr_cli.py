"""`rayemr emr ...` as users run it: separate processes, JSON out, one-line errors."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

RAYEMR = [sys.executable, "-m", "rayemr.cli"]


def run(*args, env=None, check=True, timeout=180):
    proc = subprocess.run(RAYEMR + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


BAD = [
    ('[{"Classification": "hive-sight", "Properties": {}}]', ["hive-sight"]),
    ('[{"Classification": "capacity-scheduler", "Properties": {'
     '"yarn.scheduler.capacity.root.queues": "a,b",'
     '"yarn.scheduler.capacity.root.a.capacity": "lots",'
     '"yarn.scheduler.capacity.root.b.capacity": "50"}}]',
     ["capacity-scheduler", "yarn.scheduler.capacity.root.a.capacity", "lots"]),
    ('[{"Classification": "capacity-scheduler", "Properties": {'
     '"yarn.scheduler.capacity.root.queues": "a,b",'
     '"yarn.scheduler.capacity.root.a.capacity": "60",'
     '"yarn.scheduler.capacity.root.b.capacity": "50"}}]',
     ["capacity-scheduler", "yarn.scheduler.capacity.root.queues", "110", "100"]),
    ('[{"Classification": "mapred-site", "Properties": {"mapreduce.job.queuename": "etl"}},'
     ' {"Classification": "capacity-scheduler", "Properties": {'
     '"yarn.scheduler.capacity.root.queues": "default",'
     '"yarn.scheduler.capacity.root.default.capacity": "100"}}]',
     ["mapred-site", "mapreduce.job.queuename", "etl"]),
    ('[{"Classification": "spark-defaults", "Properties": {}}]', ["spark-defaults",
                                                                  "not supported"]),
    ('[{"Classification": "mapred-site", "Properties": {"mapreduce.job.queuename": "prod"}},'
     ' {"Classification": "capacity-scheduler", "Properties": {'
     '"yarn.scheduler.capacity.root.queues": "prod,dev",'
     '"yarn.scheduler.capacity.root.prod.capacity": "50",'
     '"yarn.scheduler.capacity.root.dev.capacity": "50",'
     '"yarn.scheduler.capacity.root.prod.queues": "etl",'
     '"yarn.scheduler.capacity.root.prod.etl.capacity": "100"}}]',
     ["mapreduce.job.queuename", "'prod'", "parent queue, not a leaf queue", "etl, dev"]),
]


@pytest.mark.parametrize("conf,words,as_file", [(c, w, i % 2 == 0)
                                                for i, (c, w) in enumerate(BAD)])
def test_bad_configurations_fail_at_start_in_one_line(conf, words, as_file, tmp_path):
    path = tmp_path / "conf.json"
    path.write_text(conf)
    for value in ([f"file://{path}"] if as_file else [conf]):
        proc = run("emr", "create-cluster", "--configurations", value,
                   "--steps", "Type=COMMAND,Args=[true]", "--auto-terminate", check=False)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        for w in words:
            assert w in lines[0], lines[0]


def test_bad_step_fails_before_anything_starts():
    proc = run("emr", "create-cluster", "--steps", "Type=HIVE,Name=load,Args=[-d,X=1]",
               check=False)
    assert proc.returncode == 1 and "step load: a Hive step needs -f SCRIPT" in proc.stderr


def test_local_foreground_cluster_runs_steps_and_terminates(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = run("emr", "create-cluster", "--name", "fg", "--auto-terminate", "--num-cpus", "1",
               "--hiveserver2-port", "0",
               "--log-uri", str(tmp_path / "logs"), "--work-dir", str(tmp_path / "w"),
               "--steps", "Type=COMMAND,Name=a,Args=[bash,-c,echo one]",
               "Type=COMMAND,Name=b,ActionOnFailure=CONTINUE,Args=[false]", env=env,
               check=False, timeout=300)
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(proc.stdout)
    final = json.loads(proc.stdout[end:])
    cid = first["ClusterId"]
    assert final["Cluster"]["Id"] == cid
    port = re.search(rf"HiveServer2 of {cid} listening on 127\.0\.0\.1:(\d+)", proc.stderr)
    assert port and int(port.group(1)) > 0, proc.stderr  # the port chosen for 0
    assert final["Cluster"]["Status"]["State"] == "TERMINATED"
    assert {s["Name"]: s["Status"]["State"] for s in final["Steps"]} == {
        "a": "COMPLETED", "b": "FAILED"}
    a = [s for s in final["Steps"] if s["Name"] == "a"][0]
    assert (tmp_path / "logs" / cid / "steps" / a["Id"] / "stdout").read_text() == "one\n"
    b = [s for s in final["Steps"] if s["Name"] == "b"][0]
    # each step as it starts and ends, live on stderr
    assert f"rayemr emr: step 1/2 a ({a['Id']}) RUNNING" in proc.stderr
    assert f"rayemr emr: step 1/2 a ({a['Id']}) COMPLETED in " in proc.stderr
    assert f"rayemr emr: step 2/2 b ({b['Id']}) FAILED in " in proc.stderr
    assert proc.returncode == 1  # a step FAILED: scripts must see it
    assert f"rayemr emr: 1 step(s) FAILED: b ({b['Id']})" in proc.stderr


def test_attached_cluster_add_wait_terminate(ray_local, tmp_path):
    """The everyday loop, one process per command: create, add-steps, wait, terminate."""
    env = dict(os.environ, RAY_ADDRESS=ray_local.address)
    cid = json.loads(run("emr", "create-cluster", "--name", "loop", "--log-uri",
                         str(tmp_path / "logs"), "--work-dir", str(tmp_path), env=env
                         ).stdout)["ClusterId"]
    try:
        (sid,) = json.loads(run("emr", "add-steps", "--cluster-id", cid, "--steps",
                                "Type=COMMAND,Name=hi,Args=[echo,hi]", env=env
                                ).stdout)["StepIds"]
        assert run("emr", "wait", "step-complete", "--cluster-id", cid, "--step-id", sid,
                   "--timeout", "120", env=env).returncode == 0
        assert (tmp_path / "logs" / cid / "steps" / sid / "stdout").read_text() == "hi\n"
    finally:
        run("emr", "terminate-clusters", "--cluster-ids", cid, env=env)
    from rayemr.emr import Cluster

    handle = Cluster.attach(cid)
    assert handle.state == "TERMINATED"
    handle.close()


@pytest.mark.slow
def test_attached_cluster_from_separate_commands(ray_local, tmp_path):
    env = dict(os.environ, RAY_ADDRESS=ray_local.address)
    cid = json.loads(run("emr", "create-cluster", "--name", "attached",
                         "--work-dir", str(tmp_path), env=env).stdout)["ClusterId"]
    try:
        desc = json.loads(run("emr", "describe-cluster", "--cluster-id", cid, env=env).stdout)
        assert desc["Cluster"]["Status"]["State"] == "WAITING"
        listed = json.loads(run("emr", "list-clusters", "--active", env=env).stdout)
        assert cid in [c["Id"] for c in listed["Clusters"]]
        ids = json.loads(run(
            "emr", "add-steps", "--cluster-id", cid, "--steps",
            "Type=COMMAND,Name=slow,Args=[sleep,60]",
            '[{"Name": "quick", "HadoopJarStep": {"Jar": "command-runner.jar", '
            '"Args": ["echo", "quick"]}}]', env=env).stdout)["StepIds"]
        slow, quick = ids
        res = json.loads(run("emr", "cancel-steps", "--cluster-id", cid, "--step-ids", slow,
                             env=env).stdout)
        assert res["CancelStepsInfoList"][0]["Status"] == "SUBMITTED"
        assert run("emr", "wait", "step-complete", "--cluster-id", cid, "--step-id", quick,
                   "--timeout", "120", env=env).returncode == 0
        step = json.loads(run("emr", "describe-step", "--cluster-id", cid, "--step-id", slow,
                              env=env).stdout)["Step"]
        assert step["Status"]["State"] == "CANCELLED"
        steps = json.loads(run("emr", "list-steps", "--cluster-id", cid, "--step-states",
                               "COMPLETED", env=env).stdout)["Steps"]
        assert [s["Name"] for s in steps] == ["quick"]
        missing = run("emr", "describe-step", "--cluster-id", cid, "--step-id", "s-NOPE",
                      env=env, check=False)
        assert missing.returncode == 1 and "s-NOPE not found" in missing.stderr
    finally:
        run("emr", "terminate-clusters", "--cluster-ids", cid, env=env)
    desc = json.loads(run("emr", "describe-cluster", "--cluster-id", cid, env=env).stdout)
    assert desc["Cluster"]["Status"]["State"] == "TERMINATED"
    run("emr", "stop-services", env=env)
    gone = run("emr", "describe-cluster", "--cluster-id", cid, env=env, check=False)
    assert gone.returncode == 1 and "not found" in gone.stderr


def test_unknown_step_and_bad_state_are_one_line_errors(ray_local, tmp_path):
    env = dict(os.environ, RAY_ADDRESS=ray_local.address)
    cid = json.loads(run("emr", "create-cluster", "--name", "errors",
                         "--work-dir", str(tmp_path), env=env).stdout)["ClusterId"]
    try:
        cases = [
            (["describe-step", "--cluster-id", cid, "--step-id", "s-NOPE"],
             ["s-NOPE not found"]),
            (["wait", "step-complete", "--cluster-id", cid, "--step-id", "s-NOPE",
              "--timeout", "10"], ["s-NOPE not found"]),
            (["list-steps", "--cluster-id", cid, "--step-states", "BOGUS"],
             ["'BOGUS'", "PENDING", "COMPLETED", "FAILED"]),
        ]
        for args, words in cases:
            proc = run("emr", *args, env=env, check=False)
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 1, proc.stderr
            assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
            for w in words:
                assert w in lines[0], lines[0]
    finally:
        run("emr", "terminate-clusters", "--cluster-ids", cid, env=env)
