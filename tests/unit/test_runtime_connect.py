"""Joining a cluster at an address nobody listens on fails fast with one line (no Ray)."""
from __future__ import annotations

import socket

import pytest

from rayemr import runtime
from rayemr.cli import main
from rayemr.core.errors import ClusterError


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.mark.parametrize("address,expected", [
    ("127.0.0.1:6379", ("127.0.0.1", 6379)),
    ("ray://head.example:10001", ("head.example", 10001)),
    ("[::1]:6379", ("::1", 6379)),
    ("head.example", None),
    ("local", None),
])
def test_host_port(address, expected):
    assert runtime.host_port(address) == expected


def test_unreachable_address_is_a_cluster_error(unused_port):
    with pytest.raises(ClusterError) as info:
        runtime.check_reachable(f"127.0.0.1:{unused_port}", timeout=3)
    msg = str(info.value)
    assert msg.startswith(f"cannot reach the Ray cluster at 127.0.0.1:{unused_port} ")
    assert "ray start --head" in msg and "--address" in msg


def test_auto_uses_ray_address_when_it_names_host_and_port(unused_port, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{unused_port}")
    with pytest.raises(ClusterError, match=f"127.0.0.1:{unused_port}"):
        runtime.check_reachable("auto", timeout=3)


def test_listening_address_passes():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        runtime.check_reachable(f"127.0.0.1:{server.getsockname()[1]}", timeout=3)


@pytest.mark.timeout(30)  # Ray alone keeps retrying a wrong address for minutes
def test_init_fails_fast_before_ray_tries(unused_port, monkeypatch):
    import ray

    if ray.is_initialized():
        pytest.skip("Ray is already initialized in this process")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError, match="cannot reach the Ray cluster"):
        runtime.init(address=f"127.0.0.1:{unused_port}")
    assert not ray.is_initialized()


@pytest.mark.timeout(30)
def test_cli_wrong_address_is_one_line(unused_port, monkeypatch, capsys, tmp_path):
    import ray

    if ray.is_initialized():
        pytest.skip("Ray is already initialized in this process")
    monkeypatch.setenv("RAY_ADDRESS", "")  # restored afterwards; main() sets it from --address
    monkeypatch.setattr(runtime, "_cli_origin", None)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a b\n")
    job = tmp_path / "wc.py"
    job.write_text("from rayemr.mapreduce import MRJob\n\nclass WC(MRJob):\n"
                   "    def mapper(self, _, line):\n        yield line, 1\n")
    rc = main(["--address", f"127.0.0.1:{unused_port}", "mr", str(job), str(tmp_path / "in"),
               "-o", str(tmp_path / "out"), "-r", "ray", "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == (f"rayemr mr: cannot reach the Ray cluster at 127.0.0.1:{unused_port} "
                   "(from --address): Connection refused; start one with 'ray start --head' "
                   "or drop --address to run locally\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(30)
def test_hint_names_ray_address_when_the_address_came_from_it(unused_port, monkeypatch):
    import ray

    if ray.is_initialized():
        pytest.skip("Ray is already initialized in this process")
    monkeypatch.setattr(runtime, "_cli_origin", None)
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{unused_port}")
    with pytest.raises(ClusterError) as info:
        runtime.init()
    msg = str(info.value)
    assert "(from RAY_ADDRESS)" in msg and "unset RAY_ADDRESS to run locally" in msg
    assert "--address" not in msg


def test_an_interrupted_local_start_leaves_no_process(monkeypatch):
    """Ctrl-C while Ray starts: whatever ray.init had started is stopped."""
    import subprocess
    import sys

    import ray

    started = []

    def half_start(**_):
        started.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        raise KeyboardInterrupt

    monkeypatch.setattr(ray, "init", half_start)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    with pytest.raises(KeyboardInterrupt):
        runtime._start_local({})
    (child,) = started
    assert child.wait(timeout=10) is not None  # stopped, and reaped here


def test_a_failed_local_start_is_one_line(monkeypatch):
    import ray

    def fail(**_):
        raise Exception("The current node timed out during startup.\nmore detail")

    monkeypatch.setattr(ray, "init", fail)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    with pytest.raises(ClusterError) as info:
        runtime._start_local({})
    assert str(info.value) == ("Ray did not start on this machine: The current node timed "
                               "out during startup. (the machine may be overloaded; try again)")
