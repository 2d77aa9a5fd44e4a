"""The gateway: a loopback socket through which clients run commands inside the cluster.

Each connection authenticates with the cluster's token (compared in constant time), then
sends one request: ``run`` (a ``rayemr mr|hive|yarn`` command line, run here with its output
streamed back and its exit code last), ``status`` (nodes, queues, applications, endpoints)
or ``stop``. Only those commands run; a client that goes away cancels what it started.
"""
from __future__ import annotations

import hmac
import logging
import os
import socket
import socketserver
import threading
from typing import Any, Callable

from rayemr.client import protocol
from rayemr.core.errors import RayEmrError

log = logging.getLogger(__name__)

#: Commands a client may run through the gateway.
COMMANDS = ("mr", "hive", "yarn")
#: Seconds a client has to say hello.
HELLO_TIMEOUT_S = 10.0


class GatewayServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, token: str, *, host: str = "127.0.0.1", port: int = 0,
                 status: Callable[[], dict[str, Any]] | None = None,
                 on_stop: Callable[[], None] | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.token = token
        self.status = status or (lambda: {})
        self.on_stop = on_stop or (lambda: None)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> int:
        self._thread = threading.Thread(target=self.serve_forever, name="rayemr-gateway",
                                        daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(socketserver.BaseRequestHandler):
    server: GatewayServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if not self._hello(sock):
                return
            request = protocol.recv_json(sock)
            if request is None:
                return
            op = request.get("op")
            if op == "run":
                run_command(sock, request)
            elif op == "status":
                protocol.send_json(sock, {"ok": True, **self.server.status()})
            elif op == "stop":
                protocol.send_json(sock, {"ok": True})
                self.server.on_stop()
            else:
                protocol.send_json(sock, {"error": f"unknown request {op!r}", "kind": "user"})
        except (protocol.ProtocolError, ValueError) as exc:
            log.info("gateway: dropped a client: %s", exc)
        except OSError:
            pass  # the client went away

    def _hello(self, sock: socket.socket) -> bool:
        sock.settimeout(HELLO_TIMEOUT_S)
        hello = protocol.recv_json(sock)
        sock.settimeout(None)
        token = str((hello or {}).get("token", ""))
        if not hello or hello.get("op") != "hello" or not hmac.compare_digest(
                token.encode(), self.server.token.encode()):
            protocol.send_json(sock, {"ok": False, "error": "wrong or missing token"})
            return False
        protocol.send_json(sock, {"ok": True, "version": protocol.VERSION})
        return True


def run_command(sock: socket.socket, request: dict[str, Any]) -> None:
    """Run ``rayemr COMMAND ARGV...`` with the client's streams and working directory."""
    from rayemr.gateway.streams import text_stream

    command, argv = request.get("command"), request.get("argv") or []
    cwd = request.get("cwd") or ""
    if command not in COMMANDS or not isinstance(argv, list) or not os.path.isabs(cwd):
        protocol.send_json(sock, {"error": f"the gateway does not run {command!r}",
                                  "kind": "user"})
        return
    lock = threading.Lock()
    tty = request.get("tty") or [False, False]
    tty = [bool(t) for t in tty[:2]] if isinstance(tty, list) and len(tty) >= 2 else [False] * 2
    out = text_stream(sock, protocol.STDOUT, lock, tty=tty[0])
    err = text_stream(sock, protocol.STDERR, lock, tty=tty[1])
    cancel = threading.Event()
    threading.Thread(target=_watch_hangup, args=(sock, cancel), daemon=True,
                     name="rayemr-gateway-watch").start()
    code = execute(command, [str(a) for a in argv], cwd=cwd, out=out, err=err, cancel=cancel)
    for stream in (out, err):
        stream.flush()
    with lock:
        protocol.send_json(sock, {"exit": code})


def execute(command: str, argv: list[str], *, cwd: str, out, err,
            cancel: threading.Event) -> int:
    """The CLI's own code for the command, with these streams; errors as the CLI shows them."""
    parser = _parser(command)
    try:  # the client parsed the same line first, so argparse's own errors show there
        args = parser.parse_args([command, *argv])
    except SystemExit as exc:
        err.write(f"rayemr {command}: invalid arguments\n")
        return int(exc.code or 2)
    if command == "hive" and args.execute is None and args.file is None:
        err.write("rayemr hive: the cluster runs hive -e or -f; the interactive shell runs "
                  "in the client\n")
        return 2
    args.stdout, args.stderr, args.cwd, args.cancel = out, err, cwd, cancel
    args.verbose = False
    try:
        return int(args.func(args) or 0)
    except RayEmrError as exc:
        err.write(f"rayemr {command}: {exc}\n")
        return exc.exit_code
    except (BrokenPipeError, ConnectionError):
        cancel.set()
        return 130
    except Exception as exc:  # noqa: BLE001 -- one line for the client, the trace in our log
        log.exception("gateway: rayemr %s failed", command)
        err.write(f"rayemr {command}: {type(exc).__name__}: {exc}\n")
        return 1


_PARSERS: dict[str, Any] = {}
_PARSERS_LOCK = threading.Lock()


def _parser(command: str):
    """One parser per command, built once (parsing does not change it)."""
    with _PARSERS_LOCK:
        parser = _PARSERS.get(command)
        if parser is None:
            from rayemr.cli import build_parser

            parser = _PARSERS[command] = build_parser(command)
        return parser


def _watch_hangup(sock: socket.socket, cancel: threading.Event) -> None:
    """The client sends nothing after its request: reading EOF means it went away."""
    try:
        while not cancel.is_set():
            data = sock.recv(1)
            if not data:
                break
    except OSError:
        pass
    cancel.set()
