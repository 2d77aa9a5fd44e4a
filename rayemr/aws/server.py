"""The one AWS-style HTTP endpoint: every service rayemr offers on one port.

A request is routed by ``X-Amz-Target`` (``<TargetPrefix>.<Operation>``) to its service, its
SigV4 signature is verified against the configured credentials (scoped to that service's
signing name), its JSON body is decoded and the service's answer encoded, with AWS's error
shapes (``{"__type": ..., "message": ...}`` and ``x-amzn-ErrorType``) and AWS's order of
checks (content type and target, body, signature, then the operation). The endpoint binds
loopback unless told otherwise and bounds what a client can hold: request size, concurrent
connections, idle keep-alive time.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping, Sequence

from rayemr.aws import protocol, sigv4
from rayemr.aws.credentials import Credentials
from rayemr.aws.errors import AwsError, wire_error
from rayemr.aws.protocol import JsonService
from rayemr.core.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PORT = 4566
_NOT_AUTHORIZED = "Unable to determine service/operation name to be authorized"
HEALTH_PATH = "/_rayemr/health"


@dataclass(frozen=True)
class EndpointConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body_bytes: int = 7 * 1024 * 1024
    max_connections: int = 128
    idle_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is not between 0 and 65535")
        if self.max_connections < 1 or self.max_body_bytes < 1024:
            raise ConfigError("max_connections must be >= 1 and max_body_bytes >= 1024")

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._slots = threading.BoundedSemaphore(endpoint.config.max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):  # too many connections: refuse this one
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rayemr"
    sys_version = ""

    @property
    def endpoint(self) -> Endpoint:
        return self.server.endpoint  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.endpoint.config.idle_timeout_s)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str,
              error_type: str | None = None, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _error(self, err: AwsError, content_type: str) -> None:
        if err.xml:
            self._send(err.status, protocol.xml_error_body(err.code, err.message or None),
                       "application/xml", err.code)
        else:
            self._send(err.status, protocol.error_body(err.code, err.message), content_type,
                       err.code)

    def _refuse_method(self) -> None:
        self._read_body()
        if self.path.split("?", 1)[0] == HEALTH_PATH and self.command == "GET":
            self._send(200, protocol.encode(self.endpoint.health()), "application/json")
            return
        self._error(AwsError("AccessDeniedException", _NOT_AUTHORIZED, 403, xml=True),
                    "application/xml")

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse_method  # noqa: N815

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0 or n > self.endpoint.config.max_body_bytes:
            self._send(413, b"", "application/xml", close=True)
            return None
        return self.rfile.read(n)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self._read_body()
        if body is None:
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        target = self.headers.get("X-Amz-Target") or ""
        prefix, _, operation = target.partition(".")
        service = self.endpoint.by_prefix.get(prefix)
        reply_type = service.content_type if service else "application/x-amz-json-1.1"
        try:
            params = self._check(body, content_type, target, service, operation)
            self._answer(service, operation, params, reply_type)  # type: ignore[arg-type]
        except AwsError as err:
            self._error(err, reply_type)

    def _check(self, body: bytes, content_type: str, target: str, service: JsonService | None,
               operation: str) -> dict:
        """AWS's order: content type and target, body, signature; returns the params."""
        if not content_type.startswith("application/x-amz-json-"):
            if not target:
                raise AwsError("AccessDeniedException", _NOT_AUTHORIZED, 403, xml=True)
            raise AwsError("UnknownOperationException", "", 404, xml=True)
        known = service is not None and operation in service.operations
        if not body:
            raise AwsError("SerializationException" if known else "UnknownOperationException",
                           "")
        if not known:
            what = f"Operation {operation} is not supported" if service else \
                f"Unknown X-Amz-Target {target[:64]!r}"
            raise AwsError("UnknownOperationException", what)
        assert service is not None
        if content_type != service.content_type:
            raise AwsError("UnknownOperationException", "", 404, xml=True)
        params = protocol.decode_body(body)
        headers = {k.lower(): v for k, v in self.headers.items()}
        path, _, query = self.path.partition("?")
        sigv4.verify("POST", path, query, headers, body, self.endpoint.credentials.secrets,
                     service.signing_name)
        protocol.decode_blobs(params, service.blobs.get(operation, ()))
        return params

    def _answer(self, service: JsonService, operation: str, params: dict,
                reply_type: str) -> None:
        try:
            result = service.call(operation, params)
        except Exception as exc:  # noqa: BLE001 - every error becomes AWS's shape
            status, code, message = wire_error(exc)
            if status >= 500:
                log.warning("%s.%s failed: %s", service.name, operation, exc,
                            exc_info=not isinstance(exc, AwsError))
            self._send(status, protocol.error_body(code, message), reply_type, code)
            return
        self._send(200, protocol.encode(result), reply_type)


class Endpoint:
    """The HTTP server (see the module docstring); ``start()`` runs it on a thread."""

    def __init__(self, services: Sequence[JsonService], credentials: Credentials,
                 config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self.credentials = credentials
        self.services = list(services)
        self.by_prefix: Mapping[str, JsonService] = {s.target_prefix: s for s in services}
        if len(self.by_prefix) != len(self.services):
            raise ConfigError("two services answer the same X-Amz-Target prefix")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Endpoint({self.url}, {[s.name for s in self.services]})"

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            return self.config.host, self.config.port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def health(self) -> dict:
        return {"services": {s.name: "running" for s in self.services}}

    def bind(self) -> None:
        if self._server is None:
            if not self.config.loopback:
                log.warning("the AWS endpoint listens on %s, beyond this machine; every "
                            "request must still be signed with the configured credentials",
                            self.config.host)
            self._server = _Server((self.config.host, self.config.port), _Handler, self)

    def start(self) -> str:
        """Serve on a background thread; returns the URL."""
        self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="rayemr-aws-endpoint")
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self.bind()
        assert self._server is not None
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for service in self.services:
            if service.close is not None:
                service.close()
