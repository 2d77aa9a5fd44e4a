"""Puts straight to a Ray-hosted stream's process, without an actor call each.

A Ray actor call carrying a PutRecordBatch of 66 KB costs 2-2.6 ms on a small machine, several
times the put itself. So a stream's host (``StreamHost.put_endpoint``) also listens on a TCP
port of its node, and a client that reached it through Ray once (``RayPool``) sends its puts
there: one request and one answer per put on a connection it keeps. Everything else about a put
is the actor path's: the host's ``put``, acknowledged once its records are in the write-ahead
log, and the request's token, so a put retried after a lost answer is not logged twice.

The port is open to whoever can reach the node, so a connection is untrusted until it proves it
holds the endpoint's secret (32 random bytes, which only Ray hands out: ``put_endpoint``), and
every request is checked as the API checks one:

- the handshake is mutual: the server sends a nonce, the client answers with
  ``HMAC-SHA256(secret, "client" + server nonce + client nonce)`` and its own nonce, the server
  proves itself with ``HMAC-SHA256(secret, "server" + server nonce + client nonce)``; the secret
  never crosses the wire. A connection that fails it, or does not finish it within
  ``HANDSHAKE_S``, is closed before anything is read into the stream;
- a request's sizes are checked before its body is read: at most 500 records, 1,000 KiB each and
  4 MiB in all (AWS's limits and errors, as ``requests.batch_data`` refuses them); a request
  that breaks one is answered with the error and the connection is closed (its body is never
  read);
- at most ``MAX_CONNECTIONS`` connections at once (more are closed at once), and a connection
  idle for ``IDLE_S`` is closed: memory is bounded by the connections times one request.

The connection is authenticated, not encrypted: like Ray's own traffic between nodes, it trusts
the cluster's network not to alter bytes in flight.

A client on the host's own machine connects to a Unix socket instead (a round trip of a 66 KB
put takes half the time of one through TCP on loopback): the server also listens at a path it
makes itself (``puts.sock`` in a new folder of random name, the folder open to its owner only,
the socket too), named in the endpoint beside the machine's identity (``machine_id``). The
handshake and the checks are the same on both; a client elsewhere, or one that cannot reach the
path (another container), uses TCP.

Wire format (little-endian). Handshake: server ``b"RFP1"`` + nonce (32); client MAC (32) +
nonce (32); server MAC (32). Request: ``b"PUT1"``, records ``n`` (u32), bytes in all (u32),
token (16), ``n`` sizes (u32 each), the records back to back. Answer: ``b"ANS1"``, length (u32),
a JSON document: ``{"epoch_ms", "first", "n"}`` when every record was taken, with ``"slots"`` and
``"errors"`` when some were not, or ``{"error": <AWS code>, "message": ...}``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import socket
import struct
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from rayemr.core.native import optional
from rayemr.firehose.errors import BY_CODE, FirehoseError, InternalFailureException
from rayemr.firehose.requests import (MAX_BATCH_RECORDS, MAX_CALL_BYTES, MAX_RECORD_BYTES,
                                      PutResult)

log = logging.getLogger(__name__)

HELLO, REQUEST, ANSWER = b"RFP1", b"PUT1", b"ANS1"
_REQUEST = struct.Struct("<4sII16s")
_ANSWER = struct.Struct("<4sI")
NONCE = MAC = 32
#: Seconds a new connection has to prove it holds the secret.
HANDSHAKE_S = 5.0
#: Seconds a connection may stay idle (or take over the rest of a request) before it is closed.
IDLE_S = 300.0
#: Connections served at once; more are closed as they arrive.
MAX_CONNECTIONS = 64
#: Longest answer a client reads (a batch's errors as JSON are far smaller).
MAX_ANSWER = 1 << 20
#: Seconds a client waits for a put's answer before it takes the connection for broken (a
#: host whose machine vanished sends no reset) and asks Ray where the stream is now.
ANSWER_S = 60.0


def _mac(secret: bytes, side: bytes, server_nonce: bytes, client_nonce: bytes) -> bytes:
    return hmac.new(secret, side + server_nonce + client_nonce, hashlib.sha256).digest()


@dataclass(frozen=True)
class Endpoint:
    """Where a stream's host takes puts, and the secret that opens it (never in a repr);
    ``unix_path``: its Unix socket, for clients on ``machine`` (see ``machine_id``)."""

    host: str
    port: int
    secret: bytes = field(repr=False)
    unix_path: str = ""
    machine: str = ""


_MACHINE: list[str] = []


def machine_id() -> str:
    """This machine's identity: its host name and, on Linux, this boot's id (two machines
    may share a name; a path is only worth trying on the machine that made it)."""
    if not _MACHINE:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                boot = f.read().strip()
        except OSError:
            boot = ""
        _MACHINE.append(f"{socket.gethostname()}/{boot}")
    return _MACHINE[0]


#: The longest Unix socket path every platform takes (``sun_path`` is 104 bytes on macOS).
_MAX_UNIX_PATH = 100


def _socket_folder() -> str | None:
    """A new folder, open to its owner only, for a put socket: in the Ray session's folder
    (removed with the session) when this process is a Ray worker, else the temporary folder;
    None without Unix sockets or where the path would be too long."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    parents = [tempfile.gettempdir()]
    ray = sys.modules.get("ray")
    node = getattr(getattr(getattr(ray, "_private", None), "worker", None), "_global_node",
                   None) if ray is not None else None
    if node is not None:
        try:
            parents.insert(0, node.get_session_dir_path())
        except Exception:  # noqa: BLE001 - not a Ray worker after all
            pass
    for parent in parents:
        # "rayemr-fh-" + 8 random characters + "/puts.sock"
        if len(os.path.join(parent, "rayemr-fh-xxxxxxxx", "puts.sock")) <= _MAX_UNIX_PATH:
            try:
                return tempfile.mkdtemp(prefix="rayemr-fh-", dir=parent)  # mode 0700
            except OSError:
                continue
    return None


class ProtocolError(Exception):
    """The peer broke the wire format; the connection is closed."""


def set_timeout(sock: socket.socket, seconds: float) -> None:
    """Make each receive or send on ``sock`` fail (``OSError``: EAGAIN) after ``seconds``
    without progress, as ``settimeout`` does, but with the socket left blocking: the kernel
    keeps the timer (``SO_RCVTIMEO``/``SO_SNDTIMEO``), so a call is one system call instead of
    a ``poll`` and the call (Python's timeout polls before every receive and send)."""
    sock.settimeout(None)
    whole = int(seconds)
    value = struct.pack("@ll", whole, int((seconds - whole) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def _read(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes, or ProtocolError if the peer closes first."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if not k:
            raise ProtocolError(f"connection closed after {got} of {n} bytes")
        got += k
    return bytes(buf)


def check_head(n: int, total: int) -> tuple[str, str] | None:
    """AWS's error code and message if a request of ``n`` records and ``total`` bytes breaks
    PutRecordBatch's limits (as ``requests.batch_data`` refuses it), or None."""
    if not 1 <= n <= MAX_BATCH_RECORDS:
        return ("ValidationException",
                "1 validation error detected: Value at 'records' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_BATCH_RECORDS} (got {n})")
    if total > MAX_CALL_BYTES:
        return ("InvalidArgumentException",
                f"PutRecordBatch request is {total} bytes; the limit is {MAX_CALL_BYTES} bytes "
                "(4 MiB) per call")
    return None


def check_sizes(total: int, sizes: np.ndarray) -> tuple[str, str] | None:
    """The error if the records' ``sizes`` break the record limit or do not add up."""
    over = np.flatnonzero(sizes > MAX_RECORD_BYTES)
    if len(over):
        i = int(over[0])
        return ("ValidationException",
                f"1 validation error detected: Value at 'records.{i + 1}.member.data' "
                "failed to satisfy constraint: Member must have length less than or equal "
                f"to {MAX_RECORD_BYTES} (got {int(sizes[i])} bytes)")
    added = int(sizes.sum(dtype=np.int64))
    if added != total:
        return ("SerializationException",
                f"the records' sizes add up to {added} bytes, not the {total} announced")
    return None


def _split(body: bytes, raw_sizes: bytes) -> list[bytes]:
    """The records of ``body``, whose sizes ``raw_sizes`` holds (checked to add up)."""
    out, pos = [], 0
    for size in np.frombuffer(raw_sizes, "<u4").tolist():
        out.append(body[pos:pos + size])
        pos += size
    return out


def _sizes(datas: Sequence[bytes]) -> tuple[bytes, int]:
    """The records' sizes as little-endian uint32 values, and their sum."""
    return struct.pack(f"<{len(datas)}I", *map(len, datas)), sum(map(len, datas))


#: ``_split`` and ``_sizes`` in C (``rayemr/firehose/_puts.c``), or the Python above.
split = optional("rayemr.firehose._puts", "split") or _split
_native_sizes = optional("rayemr.firehose._puts", "sizes")


def sizes(datas: Sequence[bytes]) -> tuple[bytes, int]:
    """``_sizes`` in one C pass when ``datas`` is a list of bytes."""
    if _native_sizes is not None and type(datas) is list:
        try:
            return _native_sizes(datas)
        except TypeError:  # not all bytes: the error comes from the join
            pass
    return _sizes(datas)


def encode_result(result: PutResult) -> dict[str, Any]:
    doc: dict[str, Any] = {"epoch_ms": result.epoch_ms, "first": result.first,
                           "n": len(result.slots)}
    if result.errors is not None:
        doc["slots"] = list(result.slots)
        doc["errors"] = result.errors
    return doc


def decode_result(doc: dict[str, Any]) -> PutResult:
    if "error" in doc:
        raise BY_CODE.get(doc["error"], InternalFailureException)(str(doc.get("message", "")))
    if "errors" not in doc:
        return PutResult(int(doc["epoch_ms"]), int(doc["first"]), range(int(doc["n"])))
    errors = [None if e is None else (str(e[0]), str(e[1])) for e in doc["errors"]]
    return PutResult(int(doc["epoch_ms"]), int(doc["first"]), list(doc["slots"]), errors)


@dataclass(frozen=True)
class Request:
    """A put request read whole and within every limit: its records and token."""

    datas: list[bytes]
    token: bytes


def read_request(conn: socket.socket) -> Request | tuple[str, str] | None:
    """The next request on ``conn``: the request, or AWS's error code and message if it breaks
    a limit (its body left unread), or None if the client closed the connection between
    requests. ProtocolError for anything but a request, OSError from the socket. In one C call
    when the extension is built (every receive without the GIL), else in Python."""
    if _native_recv is None:
        return _read_request(conn)
    got = _native_recv(conn.fileno(), MAX_BATCH_RECORDS, MAX_CALL_BYTES, MAX_RECORD_BYTES)
    if got[0] == 0:
        return None
    if got[0] == 4:
        raise ProtocolError(f"connection closed after {got[1]} of {got[2]} bytes")
    magic, n, total, token = got[1:5]
    if magic != REQUEST:
        raise ProtocolError("not a put request")
    if got[0] == 3:
        return Request(got[6], token)
    why = check_head(n, total) if got[0] == 1 else check_sizes(total, np.frombuffer(got[5], "<u4"))
    if why is None:  # the C checks and these disagree: never, but never trust it either
        raise ProtocolError("a request the checks could not place")
    return why


def _read_request(conn: socket.socket) -> Request | tuple[str, str] | None:
    """``read_request`` in Python."""
    try:
        head = _read(conn, _REQUEST.size)
    except ProtocolError:
        return None  # closed between requests: the client is done
    magic, n, total, token = _REQUEST.unpack(head)
    if magic != REQUEST:
        raise ProtocolError("not a put request")
    why = check_head(n, total)
    if why is None:  # at most 500 sizes to read
        raw_sizes = _read(conn, 4 * n)
        why = check_sizes(total, np.frombuffer(raw_sizes, "<u4"))
        if why is None:
            return Request(split(_read(conn, total), raw_sizes), token)
    return why


_native_recv = optional("rayemr.firehose._puts", "recv_request")


# -- the server (in the stream's host) --------------------------------------------------------------
class PutServer:
    """Takes puts for ``put(datas, token) -> PutResult`` on ``host`` (a free port) and, with
    ``unix``, on a Unix socket for clients on this machine; each result is settled
    (``PutResult.settle``) before it is answered."""

    def __init__(self, put: Callable[[list[bytes], bytes], PutResult], host: str,
                 name: str = "stream", *, unix: bool = True) -> None:
        self._put = put
        self._name = name
        self._secret = secrets.token_bytes(32)
        self._sock = socket.create_server(
            (host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.settimeout(0.5)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._folder, self._unix = self._listen_unix() if unix else (None, None)
        self.endpoint = Endpoint(host, self._sock.getsockname()[1], self._secret,
                                 self._unix.getsockname() if self._unix else "",
                                 machine_id() if self._unix else "")
        self.counts = {"connections": 0, "refused": 0, "puts": 0, "rejected": 0}
        for listener in filter(None, (self._sock, self._unix)):
            threading.Thread(target=self._accept, args=(listener,), daemon=True,
                             name=f"firehose-{name}-puts").start()

    @staticmethod
    def _listen_unix() -> tuple[str | None, socket.socket | None]:
        """The server's Unix socket (in a folder of its own), or (None, None) where there is
        none to be had: TCP serves every client then."""
        folder = _socket_folder()
        if folder is None:
            return None, None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path = os.path.join(folder, "puts.sock")
            sock.bind(path)
            os.chmod(path, 0o600)
            sock.listen()
            sock.settimeout(0.5)
        except OSError as exc:
            sock.close()
            shutil.rmtree(folder, ignore_errors=True)
            log.debug("no Unix socket for puts (%s); TCP only", exc)
            return None, None
        return folder, sock

    def __repr__(self) -> str:
        return f"PutServer({self.endpoint.host}:{self.endpoint.port})"

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        if self._unix is not None:
            self._unix.close()
            shutil.rmtree(self._folder, ignore_errors=True)
        with self._lock:
            for conn in list(self._open):
                _shut(conn)

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                full = len(self._open) >= MAX_CONNECTIONS
                if not full:
                    self._open.add(conn)
                self.counts["refused" if full else "connections"] += 1
            if full:
                _shut(conn)
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name=f"firehose-{self._name}-conn").start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if conn.family != socket.AF_UNIX:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            set_timeout(conn, HANDSHAKE_S)
            server_nonce = secrets.token_bytes(NONCE)
            conn.sendall(HELLO + server_nonce)
            reply = _read(conn, MAC + NONCE)
            mac, client_nonce = reply[:MAC], reply[MAC:]
            if not hmac.compare_digest(mac, _mac(self._secret, b"client", server_nonce,
                                                 client_nonce)):
                raise ProtocolError("the client does not hold the secret")
            conn.sendall(_mac(self._secret, b"server", server_nonce, client_nonce))
            set_timeout(conn, IDLE_S)
            while self._request(conn):
                pass
        except (ProtocolError, OSError) as exc:  # a broken or hostile peer: drop it
            log.debug("firehose %s: put connection closed: %s", self._name, exc)
        finally:
            with self._lock:
                self._open.discard(conn)
            _shut(conn)

    def _request(self, conn: socket.socket) -> bool:
        """Serve one request; False once the client is done (or must be dropped)."""
        got = read_request(conn)
        if got is None:
            return False  # closed between requests: the client is done
        if isinstance(got, tuple):  # refused whole, its body unread: the connection cannot go on
            with self._lock:
                self.counts["rejected"] += 1
            self._answer(conn, {"error": got[0], "message": got[1]})
            return False
        datas, token = got.datas, got.token
        try:
            result = self._put(datas, token)
            doc = encode_result(result)  # while its records go to disk
            result.settle()
            with self._lock:
                self.counts["puts"] += 1
        except FirehoseError as exc:
            doc = {"error": exc.aws_code, "message": exc.message}
        except Exception as exc:  # noqa: BLE001 - answered as AWS answers a failure
            log.warning("firehose %s: a direct put failed: %s", self._name, exc)
            doc = {"error": "InternalFailure", "message": f"{type(exc).__name__}: {exc}"}
        self._answer(conn, doc)
        return True

    @staticmethod
    def _answer(conn: socket.socket, doc: dict[str, Any]) -> None:
        body = json.dumps(doc, separators=(",", ":")).encode()
        conn.sendall(_ANSWER.pack(ANSWER, len(body)) + body)


def _connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    """A connection to the endpoint: its Unix socket from the same machine, else TCP."""
    if endpoint.unix_path and endpoint.machine == machine_id():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(endpoint.unix_path)
            return sock
        except OSError:  # not reachable from here (another container): TCP
            sock.close()
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _shut(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


# -- the client -------------------------------------------------------------------------------------
class PutConnection:
    """One authenticated connection to a stream's ``PutServer`` (one put at a time)."""

    def __init__(self, endpoint: Endpoint, timeout: float = ANSWER_S) -> None:
        self.endpoint = endpoint
        self._sock = _connect(endpoint, timeout)
        try:
            set_timeout(self._sock, timeout)
            hello = _read(self._sock, len(HELLO) + NONCE)
            if hello[:len(HELLO)] != HELLO:
                raise ProtocolError("the endpoint is not a Firehose put server")
            server_nonce, client_nonce = hello[len(HELLO):], secrets.token_bytes(NONCE)
            self._sock.sendall(_mac(endpoint.secret, b"client", server_nonce, client_nonce)
                               + client_nonce)
            if not hmac.compare_digest(_read(self._sock, MAC), _mac(
                    endpoint.secret, b"server", server_nonce, client_nonce)):
                raise ProtocolError("the endpoint does not hold the stream's secret")
        except BaseException:
            self.close()
            raise

    def put(self, datas: Sequence[bytes], token: bytes) -> PutResult:
        """The stream's answer to a put (its errors raised as themselves); OSError or
        ProtocolError if the connection broke (the put may or may not have been taken:
        retry it with the same token)."""
        lens, total = sizes(datas)
        head = _REQUEST.pack(REQUEST, len(datas), total, token.ljust(16, b"\0")[:16])
        self._sock.sendall(b"".join((head, lens, *datas)))
        magic, size = _ANSWER.unpack(_read(self._sock, _ANSWER.size))
        if magic != ANSWER or size > MAX_ANSWER:
            raise ProtocolError("not an answer to a put")
        return decode_result(json.loads(_read(self._sock, size)))

    def close(self) -> None:
        _shut(self._sock)

    def __repr__(self) -> str:
        return f"PutConnection({self.endpoint.host}:{self.endpoint.port})"
