"""`rayemr start` on a Ray cluster that is already running with its own YARN (as on the
head of `ray up cluster.yaml`): only the gateway (and a HiveServer2) start; `rayemr stop`
leaves the cluster's Ray and YARN running. Here the test session's own Ray plays that
cluster."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rayemr.client import state

ROOT = Path(__file__).resolve().parents[3]


def test_start_on_a_running_cluster_uses_its_yarn_and_stop_leaves_it(ray_local, tmp_path):
    import ray

    import rayemr.yarn as yarn

    handle = yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    env = {k: v for k, v in os.environ.items() if k != state.DISABLE_ENV}
    env.update(RAYEMR_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT),
               RAY_ADDRESS=ray.get_runtime_context().gcs_address)

    def run(*argv, extra_env=None):
        return subprocess.run([sys.executable, "-m", "rayemr.cli", *argv], cwd=tmp_path,
                              env={**env, **(extra_env or {})}, capture_output=True, text=True,
                              timeout=300)

    # without `start`: status joins the cluster and asks its YARN
    status = run("status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["yarn"] is True

    started = run("start", "--hiveserver2-port", "0", "--rest-port", "0")
    assert started.returncode == 0, started.stderr
    info = json.loads((tmp_path / "home" / "cluster.json").read_text())
    assert info["started_ray"] is False
    assert info["rest_url"] == handle.rest_url  # the cluster's own REST API
    try:
        without_address = {"RAY_ADDRESS": ""}
        q = run("hive", "-S", "-e", "SELECT 6 * 7", extra_env=without_address)
        assert q.returncode == 0 and q.stdout == "42\n", q.stderr
        assert "using the cluster 'rayemr start' runs" in q.stderr
    finally:
        stopped = run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not (tmp_path / "home" / "cluster.json").exists()
    assert ray.is_initialized() and yarn.is_running()  # the cluster's own, untouched
    assert ray.cluster_resources().get("CPU", 0) > 0
