"""`rayemr start`: a cluster that stays up; every command uses it; `rayemr stop` leaves
nothing running. Private RAYEMR_HOME, free ports; the tests stop what they started.

One cluster serves the module (starting one costs most of the time); the test that stops it
comes last, and the fixture stops it anyway if that test did not run or failed.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rayemr.client import state
from rayemr.core.waiting import wait_for
from rayemr.runtime import _descendants, _stop_processes
from tests.e2e.mapreduce.slow_job import write_slow_job

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


def _family(pid: int) -> list[int]:
    return [pid, *_descendants(pid)]


def _runner(home: Path, cwd: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", state.DISABLE_ENV)}
    env.update(RAYEMR_HOME=str(home), PYTHONPATH=str(ROOT))

    def run(*argv, timeout=240, python=False):
        cmd = [sys.executable, *argv] if python else [sys.executable, "-m", "rayemr.cli", *argv]
        return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)

    run.env, run.home, run.tmp = env, home, cwd
    return run


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running cluster of a private RAYEMR_HOME; stopped (and checked) afterwards."""
    tmp = tmp_path_factory.mktemp("cluster")
    run = _runner(tmp / "home", tmp)
    started = run("start", "--num-cpus", "2", "--hiveserver2-port", "0", "--rest-port", "0",
                  timeout=400)
    info = json.loads((tmp / "home" / "cluster.json").read_text()) \
        if started.returncode == 0 else None
    run.info = info
    try:
        assert started.returncode == 0, started.stderr
        assert "cluster started" in started.stderr
        yield run
    finally:
        if info is not None and state.alive(info["pid"]):
            family = _family(info["pid"])
            run("stop", timeout=200)
            _stop_processes(_alive(family))


def test_a_taken_hiveserver2_port_is_refused_before_ray_starts(tmp_path):
    run = _runner(tmp_path / "home", tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run("start", "--hiveserver2-port", str(port), timeout=60)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"rayemr start: HiveServer2: cannot listen on 127.0.0.1:{port}: Address already in use"
        " (pass --hiveserver2-port 0 for any free port)"]
    assert not (tmp_path / "home" / "cluster.json").exists()
    assert run("status").returncode == 1


def test_ctrl_c_during_start_stops_what_it_started(tmp_path, marked_processes):
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", state.DISABLE_ENV)}
    env.update(RAYEMR_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT),
               **marked_processes.env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "start", "--hiveserver2-port", "0",
         "--rest-port", "0"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # the cluster's process has started Ray's (several processes carry the mark)
        wait_for(lambda: len(marked_processes()) > 3 or proc.poll() is not None, 120,
                 interval=0.05, what="the cluster's process to start Ray")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=200)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    try:
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == "rayemr start: interrupted"
        wait_for(lambda: not marked_processes(), 60, interval=0.2,
                 what="every process the start had started to end")
        assert not (tmp_path / "home" / "cluster.json").exists()
    finally:
        _stop_processes(marked_processes())  # a failed check leaves nothing running


def test_python_api_and_emr_use_the_running_cluster(cluster):
    tmp = cluster.tmp
    script = tmp / "use.py"
    script.write_text(
        "import rayemr.hive\n"
        "conn = rayemr.hive.connect()\n"
        "cur = conn.cursor()\n"
        "cur.execute('SELECT 40 + 2')\n"
        "print(cur.fetchall())\n"
        "import ray\n"
        "print('attached', ray.get_runtime_context().gcs_address)\n"
        "from rayemr.emr import Cluster\n"
        f"with Cluster(name='t', log_uri={str(tmp / 'logs')!r}, "
        f"work_dir={str(tmp / 'w')!r}) as c:\n"
        "    ids = c.add_steps(['Type=COMMAND,Name=hi,Args=[echo,hi]'])\n"
        "    print('step', c.wait(ids, timeout=180)[0]['Status']['State'])\n")
    out = cluster(str(script), python=True)
    assert out.returncode == 0, out.stderr
    assert "[(42,)]" in out.stdout
    assert f"attached {cluster.info['ray_address']}" in out.stdout
    assert "step COMPLETED" in out.stdout
    assert out.stderr.count("rayemr: using the cluster 'rayemr start' runs") == 1


def test_commands_through_the_gateway(cluster):
    tmp = cluster.tmp
    (tmp / "wc.py").write_text(JOB)
    (tmp / "gw").mkdir()
    (tmp / "gw" / "a.txt").write_text("b a\na\n")
    # `rayemr mr` with relative paths (the client's folder) and its output on stdout
    out = cluster("mr", "wc.py", "gw/a.txt")
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.splitlines()) == ['"a"\t2', '"b"\t1']
    assert "Counters:" in out.stderr
    # a missing input: one line naming it, the CLI's exit code, no traceback
    bad = cluster("mr", "wc.py", "gw/nothere.txt", "-o", "gw/out")
    assert bad.returncode == 1
    assert "nothere.txt: no such file or directory" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp / "gw" / "out").exists()
    # `hive -f` with a relative script, and a Hive error as one line
    (tmp / "gw" / "q.sql").write_text("SELECT upper('x');\n")
    q = cluster("hive", "-S", "-f", "gw/q.sql")
    assert q.returncode == 0 and q.stdout == "X\n", q.stderr
    q = cluster("hive", "-e", "SELECT * FROM no_such_table")
    assert q.returncode != 0 and "no_such_table" in q.stderr
    assert "Traceback" not in q.stderr




def test_ctrl_c_in_the_client_kills_the_job_in_the_cluster(cluster):
    tmp = cluster.tmp
    write_slow_job(tmp, lines=60, name="SlowThroughGateway")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "mr", "slow.py", "slow", "-o", "slow-out",
         "--conf", "mapreduce.input.fileinputformat.split.maxsize=64"],
        env=cluster.env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while "map 0%" not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and err.strip().endswith("interrupted"), err

    def killed():
        apps = cluster("yarn", "application", "-list", "-appStates", "KILLED")
        return "SlowThroughGateway" in apps.stdout

    wait_for(killed, 120, interval=1.0, what="the job's application to be KILLED")

    def left() -> list[str]:  # its ApplicationMaster aborts the output as it ends
        out = tmp / "slow-out"
        return sorted(p.name for p in out.rglob("*")) if out.exists() else []

    wait_for(lambda: left() == [], 60, interval=0.5,
             what="the killed job's output folder to be empty")


def test_start_query_job_list_logs_status_stop(cluster):
    """Runs last: it stops the cluster."""
    tmp, info = cluster.tmp, cluster.info
    pid = info["pid"]
    assert os.stat(tmp / "home" / "cluster.json").st_mode & 0o077 == 0  # holds a token
    assert len(_family(pid)) > 3  # the daemon, Ray's processes, workers
    again = cluster("start")
    assert again.returncode == 0 and "already running" in again.stderr

    # CLI queries through the gateway
    q = cluster("hive", "-e", "SELECT 1 + 1")
    assert q.returncode == 0, q.stderr
    assert q.stdout == "2\n"
    assert q.stderr.startswith("rayemr: using the cluster 'rayemr start' runs")
    q = cluster("hive", "-S", "-e", "CREATE TABLE words (w STRING); "
                "INSERT INTO words VALUES ('x'), ('y'), ('x'); "
                "SELECT w, count(*) AS n FROM words GROUP BY w ORDER BY w")
    assert q.returncode == 0, q.stderr
    assert q.stdout == "x\t2\ny\t1\n"

    # a job from a fresh process, mrjob-style
    (tmp / "wc.py").write_text(JOB)
    (tmp / "in").mkdir()
    (tmp / "in" / "a.txt").write_text("to be or\nnot to be\n")
    job = cluster("wc.py", "-r", "local", "in", "-o", "out", python=True)
    assert job.returncode == 0, job.stderr
    assert "using the cluster" in job.stderr and "Counters:" in job.stderr
    words = {}
    for part in sorted((tmp / "out").glob("part-*")):
        for line in part.read_text().splitlines():
            key, value = line.split("\t")
            words[json.loads(key)] = int(value)
    assert words == {"to": 2, "be": 2, "or": 1, "not": 1}

    # yarn application -list shows the query's and the job's applications
    apps = cluster("yarn", "application", "-list", "-appStates", "ALL")
    assert apps.returncode == 0, apps.stderr
    rows = [[c.strip() for c in ln.split("\t")] for ln in apps.stdout.splitlines()
            if ln.startswith("application_")]
    names = {r[1]: r[0] for r in rows}
    assert any("ClusterWordCount" in n for n in names), apps.stdout
    assert any(n.startswith("SELECT w, count(*) AS n FROM words") for n in names), apps.stdout
    job_app = next(app for n, app in names.items() if "ClusterWordCount" in n)

    # its containers' logs
    logs = cluster("yarn", "logs", "-applicationId", job_app)
    assert logs.returncode == 0, logs.stderr
    assert "Container: container_" in logs.stdout and "mapping 'to be or'" in logs.stdout

    # status: nodes, queues, applications, endpoints
    status = cluster("status")
    assert status.returncode == 0, status.stderr
    for words_ in ("Nodes: 1", "root.default", "Running applications:", "hiveserver2",
                   info["hiveserver2"], "gateway", info["rest_url"]):
        assert words_ in status.stdout, status.stdout
    as_json = json.loads(cluster("status", "--json").stdout)
    assert as_json["endpoints"]["hiveserver2"] == info["hiveserver2"]
    assert len(as_json["nodes"]) == 1 and as_json["yarn"] is True

    # stop: nothing it started is left
    family = _family(pid)
    stopped = cluster("stop", timeout=200)
    assert stopped.returncode == 0, stopped.stderr
    wait_for(lambda: not _alive(family), 60, interval=0.5,
             what="every process of the cluster to end")
    assert not (tmp / "home" / "cluster.json").exists()
    again = cluster("status")
    assert again.returncode == 1 and "no cluster is running" in again.stderr
    assert "no cluster is running" in cluster("stop").stderr
