"""YARN's REST API shape over plain HTTP (stdlib ``http.server``), served by the RM actor.

``GET /ws/v1/cluster`` and ``/ws/v1/cluster/info``, ``/metrics``, ``/scheduler``, ``/apps``
(query parameters ``states``, ``queue``, ``user``, ``limit``), ``/apps/{id}``,
``/apps/{id}/state``, ``/nodes``, ``/nodes/{id}``. Errors come back as YARN's
``{"RemoteException": {...}}`` with 400/403/404. Bound to loopback unless configured.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def _handler(rm):
    class Handler(BaseHTTPRequestHandler):
        server_version = "rayemr-yarn"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlparse(self.path)
            try:
                body, code = route(rm, url.path, parse_qs(url.query)), 200
            except InputNotFoundError as exc:
                body, code = _remote_exception("NotFoundException", exc), 404
            except AccessDeniedError as exc:
                body, code = _remote_exception("ForbiddenException", exc), 403
            except (RayEmrError, ValueError) as exc:
                body, code = _remote_exception("BadRequestException", exc), 400
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # keep the actor's log quiet
            pass

    return Handler


def _remote_exception(kind: str, exc: Exception) -> dict:
    return {"RemoteException": {"exception": kind, "message": str(exc),
                                "javaClassName": f"org.apache.hadoop.yarn.webapp.{kind}"}}


def serve(rm, host: str, port: int) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer((host, port), _handler(rm))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="yarn-rest").start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"
