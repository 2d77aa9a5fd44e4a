"""The REST API over real HTTP and the ``rayemr yarn`` CLI list the same applications."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

import rayemr.yarn as yarn
from rayemr.cli import main
from rayemr.core.waiting import wait_for
from rayemr.yarn import ApplicationSpec, AppState

from tests.integration.yarn.programs import run_tasks, sleep_forever


@pytest.fixture
def yarn_apps(ray_local):
    """YARN on the shared local Ray with one finished and one running application."""
    handle = yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    client = yarn.YarnClient()
    done = client.submit(ApplicationSpec("cli-done", tags=("e2e",)), run_tasks, {"n": 3})
    client.result(done, timeout=120)
    running = client.submit(ApplicationSpec("cli-running"), sleep_forever, {"n": 1})
    wait_for(lambda: client.status(running).state == AppState.RUNNING, 60, what="RUNNING")
    yield handle, client, done, running
    try:
        client.kill(running)
    except Exception:
        pass


def test_rest_api_answers_over_http(yarn_apps):
    handle, client, done, running = yarn_apps
    base = handle.rest_url + "/ws/v1/cluster"
    info = requests.get(base + "/info", timeout=10).json()["clusterInfo"]
    assert info["id"] == handle.cluster_ts and info["state"] == "STARTED"
    apps = requests.get(base + "/apps", timeout=10).json()["apps"]["app"]
    ids = {a["id"] for a in apps}
    assert {done, running} <= ids
    finished = requests.get(base + "/apps", params={"states": "FINISHED"}, timeout=10).json()
    assert done in {a["id"] for a in finished["apps"]["app"]}
    assert running not in {a["id"] for a in finished["apps"]["app"]}
    app = requests.get(f"{base}/apps/{done}", timeout=10).json()["app"]
    assert (app["state"], app["finalStatus"], app["applicationTags"]) == ("FINISHED", "SUCCEEDED", "e2e")
    sched = requests.get(base + "/scheduler", timeout=10).json()["scheduler"]["schedulerInfo"]
    assert sched["type"] == "capacityScheduler" and sched["queueName"] == "root"
    nodes = requests.get(base + "/nodes", timeout=10).json()["nodes"]["node"]
    assert nodes and all(n["state"] == "RUNNING" for n in nodes)
    metrics = requests.get(base + "/metrics", timeout=10).json()["clusterMetrics"]
    assert metrics["appsRunning"] >= 1 and metrics["activeNodes"] == len(nodes)
    missing = requests.get(f"{base}/apps/application_1_9999", timeout=10)
    assert missing.status_code == 404
    assert "application_1_9999" in missing.json()["RemoteException"]["message"]
    assert requests.get(base + "/apps", params={"states": "BOGUS"}, timeout=10).status_code == 400
    assert handle.rest_url.startswith("http://127.0.0.1:")


def test_cli_lists_the_same_apps_as_rest(yarn_apps, capsys, own_stderr):
    handle, client, done, running = yarn_apps
    assert main(["yarn", "application", "-list", "-appStates", "ALL"]) == 0
    out = capsys.readouterr().out
    rest_ids = {a["id"] for a in requests.get(handle.rest_url + "/ws/v1/cluster/apps",
                                              timeout=10).json()["apps"]["app"]}
    cli_ids = {line.split()[0] for line in out.splitlines()[2:]}
    assert cli_ids == rest_ids
    assert main(["yarn", "application", "-list"]) == 0  # default: active apps only
    out = capsys.readouterr().out
    assert running in out and done not in out
    assert main(["yarn", "application", "-status", done]) == 0
    out = capsys.readouterr().out
    assert "Final-State : SUCCEEDED" in out and "cli-done" in out
    assert main(["yarn", "queue", "-status", "default"]) == 0
    assert "Queue Name : default" in capsys.readouterr().out
    assert main(["yarn", "node", "-list"]) == 0
    assert "Total Nodes:1" in capsys.readouterr().out
    # --json before or after the command
    import json

    assert main(["yarn", "application", "-list", "-appStates", "ALL", "--json"]) == 0
    assert {a["id"] for a in json.loads(capsys.readouterr().out)["apps"]} == rest_ids
    assert main(["yarn", "--json", "node", "-list"]) == 0
    assert len(json.loads(capsys.readouterr().out)["nodes"]) == 1
    assert main(["yarn", "application", "-kill", running]) == 0
    assert client.status(running).state == AppState.KILLED
    capsys.readouterr()
    assert main(["yarn", "application", "-kill", running]) == 1
    err = own_stderr()
    assert len(err) == 1 and "already KILLED" in err[0], err
    assert main(["yarn", "application", "-kill", "application_1_9999"]) == 1
    assert "application_1_9999" in capsys.readouterr().err
    assert main(["yarn", "queue", "-status", "nosuch"]) == 1
    assert "nosuch" in capsys.readouterr().err


def test_cli_attaches_from_another_process(yarn_apps):
    import ray

    handle, client, done, running = yarn_apps
    address = ray.get_runtime_context().gcs_address
    env = {**os.environ, "RAY_ADDRESS": address}
    proc = subprocess.run([sys.executable, "-m", "rayemr.cli", "yarn", "--json", "application",
                           "-list", "-appStates", "FINISHED"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json

    ids = {a["id"] for a in json.loads(proc.stdout)["apps"]}
    assert done in ids and running not in ids
