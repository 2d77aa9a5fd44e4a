"""``rayemr hiveserver2`` as a user runs it: a subprocess reached by pyhive."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from pyhive import hive
from thrift.transport.TTransport import TTransportException


def _rayemr(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rayemr.cli", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.fixture
def serve(tmp_path):
    procs = []

    def start(*extra: str) -> int:
        proc = _rayemr("hiveserver2", "--port", "0", "--runner", "inline",
                       "--metastore", str(tmp_path / "ms.db"),
                       "--warehouse", str(tmp_path / "wh"), *extra)
        procs.append(proc)
        line = proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert m, line + proc.stderr.read()
        return int(m.group(1))

    start.procs = procs
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.stdout.close()
        proc.stderr.close()


def test_cli_server_answers_pyhive_and_stops_on_ctrl_c(serve, tmp_path):
    port = serve()
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE cli_t (a int)")
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == [("cli_t",)]
        cur.execute("SELECT 1 + 2")  # a query run by DuckDB in a server thread
        assert cur.fetchall() == [(3,)]
    proc = serve.procs[-1]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0, proc.stderr.read()[-2000:]


def test_cli_custom_auth_with_added_user(serve, tmp_path):
    users = tmp_path / "users"
    done = subprocess.run([sys.executable, "-m", "rayemr.cli", "hiveserver2", "--add-user", "ana",
                           "--password-file", str(users), "--password-stdin"],
                          input="Correct-Horse\n", text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Correct-Horse" not in users.read_text()
    port = serve("--auth", "CUSTOM", "--password-file", str(users))
    with hive.connect("127.0.0.1", port=port, username="ana", password="Correct-Horse",
                      auth="CUSTOM") as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
    with pytest.raises(TTransportException):
        hive.connect("127.0.0.1", port=port, username="ana", password="wrong", auth="CUSTOM")


def test_cli_bad_settings_are_one_line_errors(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rayemr.cli", "hiveserver2", "--auth", "CUSTOM",
                           "--runner", "inline"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "rayemr hiveserver2: CUSTOM authentication needs a password file (--password-file)"]


def test_sigterm_with_ray_stops_cleanly(tmp_path):
    """SIGTERM (what service managers send) stops the server and Ray in order: exit 0,
    no crash dump from Ray's C++ core, the bound port printed."""
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    proc = _rayemr("hiveserver2", "--port", "0", "--metastore", str(tmp_path / "ms.db"),
                   "--warehouse", str(tmp_path / "wh"), env=env)
    try:
        line = proc.stdout.readline()
        if not re.search(r"listening on 127\.0\.0\.1:\d+ ", line):
            proc.kill()
            pytest.fail(line + proc.communicate()[1][-3000:])
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "SIGTERM" not in err and "*** " not in err and "Traceback" not in err, err[-3000:]
