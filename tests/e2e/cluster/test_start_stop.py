"""`rayemr start`: a cluster that stays up; every command uses it; `rayemr stop` leaves
nothing running. Private RAYEMR_HOME, free ports; the test stops what it started."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rayemr.client import state
from rayemr.runtime import _descendants, _stop_processes

ROOT = Path(__file__).resolve().parents[3]

JOB = '''
import sys
from rayemr.mapreduce import MRJob


class ClusterWordCount(MRJob):
    def mapper(self, _, line):
        print(f"mapping {line!r}")
        for word in line.split():
            yield word, 1

    def combiner(self, word, counts):
        yield word, sum(counts)

    def reducer(self, word, counts):
        yield word, sum(counts)


if __name__ == "__main__":
    ClusterWordCount.run()
'''


def _alive(pids) -> list[int]:
    return [p for p in pids if state.alive(p)]


@pytest.fixture
def home(tmp_path):
    """A private RAYEMR_HOME with a running cluster; stopped (and checked) afterwards."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", state.DISABLE_ENV)}
    env.update(RAYEMR_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))

    def run(*argv, timeout=240, cwd=tmp_path, python=False):
        cmd = [sys.executable, *argv] if python else [sys.executable, "-m", "rayemr.cli", *argv]
        return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)

    started = run("start", "--num-cpus", "2", "--hiveserver2-port", "0", "--rest-port", "0",
                  timeout=400)
    info = json.loads((tmp_path / "home" / "cluster.json").read_text()) \
        if started.returncode == 0 else None
    run.env, run.info = env, info
    try:
        assert started.returncode == 0, started.stderr
        assert "cluster started" in started.stderr
        yield run
    finally:
        if info is not None and state.alive(info["pid"]):
            family = [info["pid"], *_descendants(info["pid"])]
            run("stop", timeout=200)
            _stop_processes(_alive(family))


def test_start_query_job_list_logs_status_stop(home, tmp_path):
    info = home.info
    pid = info["pid"]
    assert os.stat(tmp_path / "home" / "cluster.json").st_mode & 0o077 == 0  # holds a token
    family = [pid, *_descendants(pid)]
    assert len(family) > 3  # the daemon, Ray's processes, workers

    # a CLI query through the gateway
    q = home("hive", "-e", "SELECT 1 + 1")
    assert q.returncode == 0, q.stderr
    assert q.stdout == "2\n"
    assert q.stderr.startswith("rayemr: using the cluster 'rayemr start' runs")

    # a job from a fresh process, mrjob-style
    (tmp_path / "wc.py").write_text(JOB)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("to be or\nnot to be\n")
    job = home("wc.py", "-r", "local", "in", "-o", "out", python=True)
    assert job.returncode == 0, job.stderr
    assert "using the cluster" in job.stderr and "Counters:" in job.stderr
    words = {}
    for part in sorted((tmp_path / "out").glob("part-*")):
        for line in part.read_text().splitlines():
            key, value = line.split("\t")
            words[json.loads(key)] = int(value)
    assert words == {"to": 2, "be": 2, "or": 1, "not": 1}

    # yarn application -list shows the query's and the job's applications
    apps = home("yarn", "application", "-list", "-appStates", "ALL")
    assert apps.returncode == 0, apps.stderr
    rows = [ln.split("\t") for ln in apps.stdout.splitlines() if "application_" in ln]
    names = {r[1].strip(): r[0].strip() for r in rows}
    assert any("ClusterWordCount" in n for n in names), apps.stdout
    assert len(rows) >= 2  # the job and the query's stage(s)
    job_app = next(app for n, app in names.items() if "ClusterWordCount" in n)

    # its containers' logs
    logs = home("yarn", "logs", "-applicationId", job_app)
    assert logs.returncode == 0, logs.stderr
    assert "Container: container_" in logs.stdout and "mapping 'to be or'" in logs.stdout

    # status: nodes, queues, applications, endpoints
    status = home("status")
    assert status.returncode == 0, status.stderr
    for words_ in ("Nodes: 1", "root.default", "Running applications:", "hiveserver2",
                   info["hiveserver2"], "gateway"):
        assert words_ in status.stdout, status.stdout

    # stop: nothing of it is left
    stopped = home("stop", timeout=200)
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 60
    while _alive(family) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _alive(family) == []
    assert not (tmp_path / "home" / "cluster.json").exists()
    again = home("status")
    assert again.returncode == 1 and "no cluster is running" in again.stderr


def test_python_api_and_emr_use_the_running_cluster(home, tmp_path):
    script = tmp_path / "use.py"
    script.write_text(
        "import rayemr.hive\n"
        "conn = rayemr.hive.connect()\n"
        "cur = conn.cursor()\n"
        "cur.execute('SELECT 40 + 2')\n"
        "print(cur.fetchall())\n"
        "import ray\n"
        "print('attached', ray.get_runtime_context().gcs_address)\n"
        "from rayemr.emr import Cluster\n"
        f"with Cluster(name='t', log_uri={str(tmp_path / 'logs')!r}, "
        f"work_dir={str(tmp_path / 'w')!r}) as c:\n"
        "    ids = c.add_steps(['Type=COMMAND,Name=hi,Args=[echo,hi]'])\n"
        "    print('step', c.wait(ids, timeout=180)[0]['Status']['State'])\n")
    out = home(str(script), python=True)
    assert out.returncode == 0, out.stderr
    assert "[(42,)]" in out.stdout
    assert f"attached {home.info['ray_address']}" in out.stdout
    assert "step COMPLETED" in out.stdout
    assert out.stderr.count("rayemr: using the cluster 'rayemr start' runs") == 1
