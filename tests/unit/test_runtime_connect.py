"""Joining a cluster at an address nobody listens on fails fast with one line (no Ray).

The tests that start joining run in a fresh interpreter: in a full test run this process has
Ray up already, and joining from it would test nothing (they used to skip then)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from rayemr import runtime
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


def _fresh_python(*args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in a new interpreter: Ray is not initialized there even when this
    test process has it running (as it has in a full test run)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=60)


INIT_PROBE = """
import sys, ray
from rayemr import runtime
from rayemr.core.errors import ClusterError
try:
    runtime.init(address=sys.argv[1])
except ClusterError as exc:
    print("ClusterError:", exc)
print("initialized:", ray.is_initialized())
"""


def test_init_fails_fast_before_ray_tries(unused_port):
    out = _fresh_python("-c", INIT_PROBE, f"127.0.0.1:{unused_port}")  # Ray alone: minutes
    assert out.returncode == 0, out.stderr
    assert f"ClusterError: cannot reach the Ray cluster at 127.0.0.1:{unused_port}" in out.stdout
    assert "initialized: False" in out.stdout


def test_cli_wrong_address_is_one_line(unused_port, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a b\n")
    job = tmp_path / "wc.py"
    job.write_text("from rayemr.mapreduce import MRJob\n\nclass WC(MRJob):\n"
                   "    def mapper(self, _, line):\n        yield line, 1\n")
    out = _fresh_python("-m", "rayemr.cli", "--address", f"127.0.0.1:{unused_port}", "mr",
                        str(job), str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-r",
                        "ray", "-q")
    assert out.returncode == 2, out.stderr
    assert out.stderr == (f"rayemr mr: cannot reach the Ray cluster at 127.0.0.1:{unused_port} "
                          "(from --address): Connection refused; start one with 'ray start "
                          "--head' or drop --address to run locally\n")
    assert not (tmp_path / "out").exists()
