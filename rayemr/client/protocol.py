"""The gateway's wire format: frames of one kind byte, a 4-byte length, a payload.

``J`` frames carry a JSON object (requests, replies, events); ``O`` and ``E`` frames carry
bytes for the client's stdout and stderr. The first frame a client sends is
``{"op": "hello", "token": ...}``; the server answers ``{"ok": true}`` or an error and closes.
"""
from __future__ import annotations

import json
import socket
import struct
from typing import Any

JSON, STDOUT, STDERR = b"J", b"O", b"E"
KINDS = (JSON, STDOUT, STDERR)
#: Largest frame either side accepts; a bigger length means a broken or hostile peer.
MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct("!cI")
VERSION = 1


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(payload)} bytes is larger than {MAX_FRAME}")
    sock.sendall(_HEADER.pack(kind, len(payload)) + payload)


def send_json(sock: socket.socket, obj: dict[str, Any]) -> None:
    send(sock, JSON, json.dumps(obj, separators=(",", ":"), default=str).encode())


def _exact(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            if got:
                raise ProtocolError("connection closed in the middle of a frame")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """The next ``(kind, payload)``, or None when the peer closed the connection."""
    header = _exact(sock, _HEADER.size)
    if header is None:
        return None
    kind, size = _HEADER.unpack(header)
    if kind not in KINDS or size > MAX_FRAME:
        raise ProtocolError("not a rayemr gateway frame")
    payload = _exact(sock, size) if size else b""
    if payload is None:
        raise ProtocolError("connection closed in the middle of a frame")
    return kind, payload


def recv_json(sock: socket.socket) -> dict[str, Any] | None:
    frame = recv(sock)
    if frame is None:
        return None
    kind, payload = frame
    if kind != JSON:
        raise ProtocolError("expected a JSON frame")
    obj = json.loads(payload)
    if not isinstance(obj, dict):
        raise ProtocolError("expected a JSON object")
    return obj
