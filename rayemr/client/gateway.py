"""The client side of the gateway: submit a command to the running cluster and replay what
it prints, or ask it one question (status).

    info = state.running()
    code = Gateway(info).run("mr", ["job.py", "in/", "-o", "out/"], cwd=os.getcwd())

The command runs inside the cluster (its driver in the cluster's long-lived process, as an
ApplicationMaster runs); its stdout and stderr arrive here as they are written, and ``run``
returns its exit code. Closing the connection (Ctrl-C here) cancels it there.
"""
from __future__ import annotations

import json
import socket
import sys
from typing import Any, BinaryIO

from rayemr.client import protocol, state
from rayemr.client.state import ClusterInfo
from rayemr.core.errors import ClusterError, RayEmrError, UserError

CONNECT_TIMEOUT_S = 5.0


class Gateway:
    def __init__(self, info: ClusterInfo, timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.info = info
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        try:
            sock = state.connect(self.info.gateway_host, self.info.gateway_port,
                                 self.timeout)
        except OSError as exc:
            raise ClusterError(f"cannot reach the cluster's gateway at "
                               f"{self.info.gateway_host}:{self.info.gateway_port}: "
                               f"{exc.strerror or exc}",
                               hint="is 'rayemr start' still running? 'rayemr status' "
                                    "tells") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        protocol.send_json(sock, {"op": "hello", "token": self.info.token,
                                  "version": protocol.VERSION})
        reply = protocol.recv_json(sock)
        if not reply or not reply.get("ok"):
            sock.close()
            raise ClusterError(f"the cluster's gateway refused this client: "
                               f"{(reply or {}).get('error', 'no answer')}")
        sock.settimeout(None)
        return sock

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request, one JSON answer."""
        sock = self._connect()
        try:
            protocol.send_json(sock, {"op": op, **fields})
            reply = protocol.recv_json(sock)
        finally:
            sock.close()
        if reply is None:
            raise ClusterError(f"the cluster's gateway closed the connection during {op}")
        _raise_error(reply)
        return reply

    def run(self, command: str, argv: list[str], *, cwd: str,
            out: BinaryIO | None = None, err: BinaryIO | None = None) -> int:
        """Run ``rayemr COMMAND ARGV...`` in the cluster; returns its exit code."""
        out = out or sys.stdout.buffer
        err = err or sys.stderr.buffer
        sock = self._connect()
        try:
            protocol.send_json(sock, {"op": "run", "command": command, "argv": list(argv),
                                      "cwd": cwd, "tty": [_isatty(out), _isatty(err)]})
            while True:
                frame = protocol.recv(sock)
                if frame is None:
                    raise ClusterError(f"the cluster stopped while running {command}")
                kind, payload = frame
                if kind == protocol.STDOUT:
                    out.write(payload)
                    out.flush()
                elif kind == protocol.STDERR:
                    err.write(payload)
                    err.flush()
                else:
                    reply = json.loads(payload)
                    _raise_error(reply)
                    if "exit" in reply:
                        return int(reply["exit"])
        finally:
            sock.close()


def _isatty(stream: BinaryIO) -> bool:
    """Whether the client's stream is a terminal (the command's progress then rewrites one
    line in place, as it would run here)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _raise_error(reply: dict[str, Any]) -> None:
    if "error" not in reply:
        return
    cls: type[RayEmrError] = UserError if reply.get("kind") == "user" else ClusterError
    raise cls(str(reply["error"]))
