"""YARN's REST API shape over plain HTTP (stdlib ``http.server``), served by the RM actor.

``GET /ws/v1/cluster`` and ``/ws/v1/cluster/info``, ``/metrics``, ``/scheduler``, ``/apps``
(query parameters ``states``, ``queue``, ``user``, ``limit``), ``/apps/{id}``,
``/apps/{id}/state``, ``/nodes``, ``/nodes/{id}``. Errors come back as YARN's
``{"RemoteException": {...}}`` with 400/403/404/405.

Read-only and bound to loopback unless configured. A request must name the server in its
``Host`` header by an IP address, ``localhost`` or the machine's own names: a web page on
another site cannot read the API through DNS rebinding (its requests carry the attacker's
host name). Nothing answers a method other than GET, and no CORS header is ever sent.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable
from urllib.parse import parse_qs, urlparse

from rayemr.core.errors import AccessDeniedError, InputNotFoundError, RayEmrError

PREFIX = "/ws/v1/cluster"
#: Resources other layers serve under PREFIX: name -> "module:function(parts, query)",
#: imported when first asked for (YARN knows nothing of them otherwise).
EXTRA_RESOURCES = {"firehose": "rayemr.firehose.rest:route"}


def route(rm, path: str, query: dict[str, list[str]]) -> dict:
    """Answer one GET; ``rm`` is the ResourceManager object (called in-process)."""
    path = path.rstrip("/")
    if path in ("", "/ws/v1", PREFIX):
        path = PREFIX + "/info"
    if not path.startswith(PREFIX + "/"):
        raise InputNotFoundError(f"no such resource {path!r}", hint=f"try {PREFIX}/apps")
    parts = path[len(PREFIX) + 1:].split("/")
    head = parts[0]
    if head == "info" and len(parts) == 1:
        return {"clusterInfo": rm.cluster_info()}
    if head == "metrics" and len(parts) == 1:
        return {"clusterMetrics": rm.metrics()}
    if head == "scheduler" and len(parts) == 1:
        return {"scheduler": rm.scheduler_info()}
    if head == "apps":
        if len(parts) == 1:
            states = None
            if query.get("states"):
                states = [s.strip().upper() for v in query["states"] for s in v.split(",") if s.strip()]
                try:
                    from rayemr.yarn.states import AppState

                    states = [AppState(s) for s in states]
                except ValueError as exc:
                    raise _BadRequest(f"states: {exc}") from None
            queue = query.get("queue", [None])[0]
            tags = None
            if query.get("applicationTags"):
                tags = [t.strip() for v in query["applicationTags"] for t in v.split(",")
                        if t.strip()]
            apps = [r.to_dict() for r in rm.list_apps(states, queue, tags)]
            if query.get("user"):
                apps = [a for a in apps if a["user"] == query["user"][0]]
            if query.get("limit"):
                apps = apps[: int(query["limit"][0])]
            return {"apps": {"app": apps} if apps else None}
        report = rm.status(parts[1]).to_dict()
        if len(parts) == 2:
            return {"app": report}
        if len(parts) == 3 and parts[2] == "state":
            return {"state": report["state"]}
    if head == "nodes":
        nodes = [n.to_dict() for n in rm.nodes()]
        if len(parts) == 1:
            if query.get("states"):
                wanted = {s.upper() for v in query["states"] for s in v.split(",")}
                nodes = [n for n in nodes if n["state"] in wanted]
            return {"nodes": {"node": nodes} if nodes else None}
        for n in nodes:
            if n["id"] == parts[1]:
                return {"node": n}
        raise InputNotFoundError(f"node {parts[1]!r} not found")
    if head in EXTRA_RESOURCES:
        import importlib

        module, _, fn = EXTRA_RESOURCES[head].partition(":")
        return getattr(importlib.import_module(module), fn)(parts[1:], query)
    raise InputNotFoundError(f"no such resource {path!r}")


class _BadRequest(RayEmrError):
    pass


def host_allowed(header: str | None, names: Iterable[str]) -> bool:
    """Whether a ``Host`` header names this server: an IP address, ``localhost`` or one of
    ``names`` (the port, if any, is ignored)."""
    if not header:
        return False
    host = header.strip()
    if host.startswith("["):  # [v6]:port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    host = host.rstrip(".").lower()
    return host == "localhost" or host in {n.lower() for n in names if n}


def _handler(rm, names: frozenset[str]):
    class Handler(BaseHTTPRequestHandler):
        server_version = "rayemr-yarn"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlparse(self.path)
            try:
                if not host_allowed(self.headers.get("Host"), names):
                    raise AccessDeniedError(f"Host {self.headers.get('Host')!r} does not name "
                                            "this server")
                body, code = route(rm, url.path, parse_qs(url.query)), 200
            except InputNotFoundError as exc:
                body, code = _remote_exception("NotFoundException", exc), 404
            except AccessDeniedError as exc:
                body, code = _remote_exception("ForbiddenException", exc), 403
            except (RayEmrError, ValueError) as exc:
                body, code = _remote_exception("BadRequestException", exc), 400
            self._send(code, body)

        def _read_only(self) -> None:
            self._send(405, _remote_exception("MethodNotAllowedException", RayEmrError(
                f"{self.command} is not allowed: the REST API is read-only")),
                {"Allow": "GET"})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _read_only  # noqa: N815

        def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, *args) -> None:  # keep the actor's log quiet
            pass

    return Handler


def _remote_exception(kind: str, exc: Exception) -> dict:
    return {"RemoteException": {"exception": kind, "message": str(exc),
                                "javaClassName": f"org.apache.hadoop.yarn.webapp.{kind}"}}


def serve(rm, host: str, port: int, names: Iterable[str] = ()
          ) -> tuple[ThreadingHTTPServer, str]:
    """Serve the API on ``host:port``; ``names``: extra host names clients may use."""
    known = frozenset({host, socket.gethostname(), socket.getfqdn(), *names})
    server = ThreadingHTTPServer((host, port), _handler(rm, known))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="yarn-rest").start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"
