"""The gateway's wire, its token check and the cluster file, without Ray."""
from __future__ import annotations

import io
import os
import socket
import struct
import threading

import pytest

from rayemr.client import protocol, state
from rayemr.client.gateway import Gateway
from rayemr.core.errors import ClusterError
from rayemr.gateway.server import GatewayServer


@pytest.fixture
def server():
    srv = GatewayServer("s3cret-token", status=lambda: {"nodes": [1, 2]})
    srv.start()
    yield srv
    srv.stop()


def info(port: int, token: str = "s3cret-token") -> state.ClusterInfo:
    return state.ClusterInfo(pid=os.getpid(), ray_address="127.0.0.1:1", gateway_host="127.0.0.1",
                             gateway_port=port, token=token)


def test_status_with_the_token(server):
    assert Gateway(info(server.port)).ask("status") == {"ok": True, "nodes": [1, 2]}


def test_a_wrong_token_is_refused(server):
    with pytest.raises(ClusterError, match="refused this client: wrong or missing token"):
        Gateway(info(server.port, token="guess")).ask("status")


def test_only_allowlisted_commands_run(server):
    with pytest.raises(Exception, match="does not run 'fs'"):
        Gateway(info(server.port)).run("fs", ["rm", "-r", "/"], cwd="/")
    with pytest.raises(Exception, match="unknown request"):
        Gateway(info(server.port)).ask("shutdown-everything")


def test_garbage_costs_only_its_connection(server):
    for junk in (b"GET / HTTP/1.1\r\n\r\n", struct.pack("!cI", b"J", 2**31), b"\x00" * 3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            try:  # the server may drop the connection as soon as it reads the junk
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
            except OSError:
                pass
    assert Gateway(info(server.port)).ask("status")["ok"] is True  # still serving


def test_frames_round_trip():
    a, b = socket.socketpair()
    with a, b:
        protocol.send_json(a, {"x": 1})
        protocol.send(a, protocol.STDOUT, b"bytes\n")
        assert protocol.recv_json(b) == {"x": 1}
        assert protocol.recv(b) == (protocol.STDOUT, b"bytes\n")
        a.close()
        assert protocol.recv(b) is None


def test_cluster_file_private_and_stale_files_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYEMR_HOME", str(tmp_path))
    monkeypatch.delenv(state.DISABLE_ENV, raising=False)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        state.write(info(listener.getsockname()[1]))
        assert os.stat(state.cluster_file()).st_mode & 0o077 == 0
        assert state.running().gateway_port == listener.getsockname()[1]
        assert "s3cret" not in repr(state.running())
        monkeypatch.setenv(state.DISABLE_ENV, "1")
        assert state.running() is None
        monkeypatch.delenv(state.DISABLE_ENV)
    # the process that wrote it is gone: ignored and removed
    gone = info(1)
    gone.pid = 2**22 + 12345
    state.write(gone)
    assert state.running() is None and not os.path.exists(state.cluster_file())


def test_streams_to_the_client_are_terminals_when_the_clients_are():
    """Progress rewrites one line in place when the client's stderr is a terminal."""
    from rayemr.engine.schedule import Progress
    from rayemr.gateway.streams import text_stream
    from rayemr.mapreduce.runner import progress_printer

    a, b = socket.socketpair()
    with a, b:
        lock = threading.Lock()
        err = text_stream(a, protocol.STDERR, lock, tty=True)
        out = text_stream(a, protocol.STDOUT, lock)
        assert err.isatty() and not out.isatty()
        progress_printer(err, "Job")(Progress(0.5, 0.0, (("Stage-1", 1, 2),)))
        kind, payload = protocol.recv(b)
        assert kind == protocol.STDERR
        assert payload.startswith(b"\r") and payload.endswith(b"map 50% reduce 0%")


def test_the_interactive_hive_shell_is_not_run_in_the_cluster(server):
    out, err = io.BytesIO(), io.BytesIO()
    code = Gateway(info(server.port)).run("hive", ["--database", "default"], cwd="/",
                                          out=out, err=err)
    assert code == 2 and out.getvalue() == b""
    assert err.getvalue() == (b"rayemr hive: the cluster runs hive -e or -f; the interactive "
                              b"shell runs in the client\n")
