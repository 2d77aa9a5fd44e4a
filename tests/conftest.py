"""Shared fixtures: one Ray runtime per test session and a real S3 endpoint on loopback.

The S3 endpoint is moto's server on a free loopback port, reached over HTTP exactly as AWS
is (``AWS_ENDPOINT_URL``); its address and test credentials go into the environment before
Ray starts, so Ray workers see them too.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import uuid

import pytest

# A run started in the background (`nohup`, `&` without job control) begins with SIGINT
# ignored, and every process the tests start would inherit that, so the Ctrl-C tests could
# not interrupt them; with a handler here, child processes start with SIGINT's default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_S3_PORT = _free_port()
S3_ENDPOINT = f"http://127.0.0.1:{_S3_PORT}"


def pytest_configure(config):
    # Test credentials only: the endpoint is a local moto server, never AWS.
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": S3_ENDPOINT,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "RAY_ADDRESS"):
        os.environ.pop(name, None)
    # A home of the session's own: a cluster the developer keeps running with
    # `rayemr start` (recorded under ~/.rayemr) is never joined by the tests.
    import tempfile

    os.environ["RAYEMR_HOME"] = tempfile.mkdtemp(prefix="rayemr-test-home-")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server on loopback for the whole session; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_S3_PORT, verbose=False)
    server.start()
    yield S3_ENDPOINT
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh, empty bucket on the loopback endpoint; yields its name."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket=name)
    yield name


@pytest.fixture
def ray_local():
    """Ray started once (2 CPUs) and reused; tests that shut it down get a fresh one next."""
    import rayemr

    info = rayemr.init(num_cpus=2, object_store_memory=512 * 1024**2)
    yield info


_RAY_FORWARDED = re.compile(r"^\(\S+ pid=\d+(, ip=\S+)?\) ")


@pytest.fixture
def own_stderr(capsys):
    """Reads what a command wrote to stderr, as lines, without Ray's forwarded worker output.

    Ray prints earlier tasks' output to the driver's stderr whenever it arrives, prefixed
    ``(function pid=N)``; that is not the command's own output.
    """
    def read() -> list[str]:
        lines = capsys.readouterr().err.strip().splitlines()
        return [line for line in lines if not _RAY_FORWARDED.match(line)]

    return read


@pytest.fixture
def ray_cluster():
    """Several Ray nodes on this machine (``ray.cluster_utils.Cluster``), torn down after.

    Shuts down the shared instance first; the next ``ray_local`` user starts a fresh one.
    Yields the ``Cluster``; add nodes with ``cluster.add_node(num_cpus=...)``.
    """
    import ray
    from ray.cluster_utils import Cluster

    import rayemr
    from rayemr.runtime import NAMESPACE

    rayemr.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    ray.init(address=cluster.address, namespace=NAMESPACE)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def marked_processes():
    """``env`` to add to the environment of processes a test starts, and a call listing the
    live processes that carry it (everything they start inherits it, also processes that
    outlive their parent): ``assert not marked_processes()``."""
    mark = f"{uuid.uuid4().hex}"
    needle = f"RAYEMR_TEST_MARK={mark}".encode()

    def alive() -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{entry}/stat", "rb") as f:
                    if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                        continue
            except (OSError, IndexError):
                continue
            found.append(int(entry))
        return found

    alive.env = {"RAYEMR_TEST_MARK": mark}
    yield alive

