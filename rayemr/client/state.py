"""``$RAYEMR_HOME/cluster.json``: the running cluster's address book.

``rayemr start`` writes it (mode 0600: it holds the gateway's token) once every service
listens, and removes it when the cluster stops. ``running()`` returns it only while the
process that wrote it is alive and its gateway accepts connections, so a stale file from a
crashed cluster is ignored (and removed).
"""
from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

FILE_NAME = "cluster.json"
#: Set to 1 to ignore a running cluster (run as if none were started).
DISABLE_ENV = "RAYEMR_NO_CLUSTER"


def home() -> str:
    """``$RAYEMR_HOME``, else ``~/.rayemr``."""
    return os.environ.get("RAYEMR_HOME") or os.path.join(os.path.expanduser("~"), ".rayemr")


def cluster_file() -> str:
    return os.path.join(home(), FILE_NAME)


class ClusterInfo:
    """Where the services of a running cluster listen, and how to talk to them.

    A plain class, not a dataclass: a fresh process reading it should import little.
    """

    FIELDS = ("pid", "ray_address", "gateway_host", "gateway_port", "token", "started_ray",
              "hiveserver2", "rest_url", "metastore", "warehouse", "num_cpus", "log_file",
              "version")
    __slots__ = FIELDS

    def __init__(self, pid: int, ray_address: str, gateway_host: str, gateway_port: int,
                 token: str, started_ray: bool = True, hiveserver2: str = "",
                 rest_url: str = "", metastore: str = "", warehouse: str = "",
                 num_cpus: float = 0.0, log_file: str = "", version: int = 1) -> None:
        self.pid, self.ray_address = int(pid), str(ray_address)
        self.gateway_host, self.gateway_port = str(gateway_host), int(gateway_port)
        self.token, self.started_ray = str(token), bool(started_ray)
        self.hiveserver2, self.rest_url = hiveserver2, rest_url
        self.metastore, self.warehouse = metastore, warehouse
        self.num_cpus, self.log_file, self.version = float(num_cpus), log_file, version

    def to_json(self) -> str:
        return json.dumps({f: getattr(self, f) for f in self.FIELDS}, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClusterInfo":
        return cls(**{k: v for k, v in data.items() if k in cls.FIELDS})

    def __repr__(self) -> str:  # never the token
        return f"ClusterInfo(pid={self.pid}, {self.describe()})"

    def describe(self) -> str:
        """One line: what is running where (no token)."""
        return (f"Ray {self.ray_address}, gateway {self.gateway_host}:{self.gateway_port}, "
                f"HiveServer2 {self.hiveserver2 or '-'}, REST {self.rest_url or '-'}")


def write(info: ClusterInfo) -> str:
    """Write the file atomically, readable by its owner only."""
    path = cluster_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(info.to_json())
    os.replace(tmp, path)
    return path


def read() -> ClusterInfo | None:
    """The file's contents, whether or not the cluster still runs."""
    try:
        with open(cluster_file()) as f:
            return ClusterInfo.from_dict(json.load(f))
    except (OSError, ValueError, TypeError):
        return None


def remove(pid: int | None = None) -> None:
    """Remove the file (only if it is ``pid``'s, when given)."""
    info = read()
    if info is None or (pid is not None and info.pid != pid):
        return
    try:
        os.remove(cluster_file())
    except OSError:
        pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host:port``, an IP address (the gateway listens on loopback):
    no name lookup, which would load the IDNA codec."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with connect(host, port, timeout):
            return True
    except OSError:
        return False


def running(probe: bool = True) -> ClusterInfo | None:
    """The running cluster of this ``$RAYEMR_HOME``, or None (a stale file is removed).

    ``probe=False`` skips connecting to the gateway to see that it answers, for a caller
    about to connect anyway (the file is written only once the gateway listens)."""
    if os.environ.get(DISABLE_ENV, "").strip() in ("1", "true", "yes"):
        return None
    info = read()
    if info is None:
        return None
    if not alive(info.pid):
        remove(info.pid)
        return None
    if probe and not reachable(info.gateway_host, info.gateway_port):
        return None
    return info


_announced = False


def announce(info: ClusterInfo, stream=None) -> None:
    """Say once per process, in one line, that the running cluster is used."""
    global _announced
    if _announced or os.environ.get("RAYEMR_QUIET_CLUSTER"):
        return
    _announced = True
    print(f"rayemr: using the cluster 'rayemr start' runs ({info.describe()}; "
          f"'rayemr stop' stops it)", file=stream or sys.stderr, flush=True)
