"""The server side of Thrift's SASL transport, PLAIN mechanism (what pyhive and beeline speak).

Negotiation messages are a status byte (START=1, OK=2, BAD=3, ERROR=4, COMPLETE=5), a
4-byte big-endian length and a payload. The client sends ``START "PLAIN"`` and then its
initial response ``authzid NUL authcid NUL password`` (status OK or COMPLETE); the server
answers ``COMPLETE`` or ``BAD`` with a reason. Afterwards every Thrift message travels in
frames of a 4-byte length and the data (PLAIN negotiates no integrity or privacy layer).

The framing helpers are pure functions; :class:`TSaslServerTransport` runs them over a socket.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from io import BytesIO
from typing import Callable

from thrift.transport.TTransport import (CReadableTransport, TTransportBase,
                                         TTransportException)

START, OK, BAD, ERROR, COMPLETE = 1, 2, 3, 4, 5
_STATUSES = {START, OK, BAD, ERROR, COMPLETE}

#: Largest negotiation payload accepted (a user name and a password fit many times over).
MAX_NEGOTIATION_PAYLOAD = 64 * 1024
#: Largest data frame accepted from a client (requests are small; Hive's default is 100 MB).
DEFAULT_MAX_FRAME = 100 * 1024 * 1024


class SaslError(Exception):
    """The peer broke the SASL protocol or failed authentication."""


def encode_message(status: int, payload: bytes = b"") -> bytes:
    if status not in _STATUSES:
        raise ValueError(f"unknown SASL status {status}")
    return struct.pack(">BI", status, len(payload)) + payload


def decode_header(header: bytes) -> tuple[int, int]:
    """``(status, length)`` of a 5-byte negotiation header; raises SaslError when invalid."""
    if len(header) != 5:
        raise SaslError("truncated SASL header")
    status, length = struct.unpack(">BI", header)
    if status not in _STATUSES:
        raise SaslError(f"invalid SASL status byte {status}")
    if length > MAX_NEGOTIATION_PAYLOAD:
        raise SaslError(f"SASL payload of {length} bytes is too large")
    return status, length


@dataclass(frozen=True)
class PlainCredentials:
    authzid: str
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password
        return f"PlainCredentials(authzid={self.authzid!r}, username={self.username!r})"


def parse_plain(payload: bytes) -> PlainCredentials:
    """Split a PLAIN initial response (RFC 4616)."""
    parts = payload.split(b"\x00")
    if len(parts) != 3:
        raise SaslError("malformed PLAIN response")
    try:
        authzid, user, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise SaslError("PLAIN response is not UTF-8") from None
    if not user:
        raise SaslError("PLAIN response has no user name")
    return PlainCredentials(authzid, user, password)


def encode_frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


#: check(username, password) -> True when the credentials are accepted.
Authenticator = Callable[[str, str], bool]


class TSaslServerTransport(TTransportBase, CReadableTransport):
    """A server-side SASL/PLAIN transport over an accepted Thrift socket transport."""

    def __init__(self, trans, authenticate: Authenticator, *,
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._trans = trans
        self._authenticate = authenticate
        self._max_frame = max_frame
        self._wbuf = BytesIO()
        self._rbuf = BytesIO()
        self.username: str | None = None

    # -- negotiation ----------------------------------------------------------------------
    def _recv(self) -> tuple[int, bytes]:
        status, length = decode_header(self._trans.readAll(5))
        return status, (self._trans.readAll(length) if length else b"")

    def _send(self, status: int, payload: bytes = b"") -> None:
        self._trans.write(encode_message(status, payload))
        self._trans.flush()

    def negotiate(self) -> str:
        """Run the SASL exchange; returns the authenticated user or raises SaslError."""
        try:
            status, mech = self._recv()
            if status != START:
                raise SaslError("expected a SASL START message")
            if mech.strip().upper() != b"PLAIN":
                raise SaslError(f"unsupported SASL mechanism {mech[:32]!r}")
            status, payload = self._recv()
            if status not in (OK, COMPLETE):
                raise SaslError("expected the PLAIN initial response")
            creds = parse_plain(payload)
        except SaslError as exc:
            self._refuse(ERROR, str(exc))
            raise
        try:
            ok = self._authenticate(creds.username, creds.password)
        except SaslError as exc:  # refused before the password was looked at (back-off)
            self._refuse(BAD, str(exc))
            raise
        if not ok:
            self._refuse(BAD, "Error validating the login: authentication failed")
            raise SaslError(f"authentication failed for user {creds.username!r}")
        self._send(COMPLETE)
        self.username = creds.username
        return creds.username

    def _refuse(self, status: int, reason: str) -> None:
        try:
            self._send(status, reason.encode("utf-8"))
        except Exception:  # the peer may already be gone
            pass

    # -- data -------------------------------------------------------------------------------
    def isOpen(self) -> bool:
        return self._trans.isOpen()

    def open(self) -> None:  # the server side is opened by accept()
        pass

    def close(self) -> None:
        self._trans.close()

    def read(self, sz: int) -> bytes:
        ret = self._rbuf.read(sz)
        if len(ret) == sz:
            return ret
        self._read_frame()
        return ret + self._rbuf.read(sz - len(ret))

    def _read_frame(self) -> None:
        (length,) = struct.unpack(">I", self._trans.readAll(4))
        if length > self._max_frame:
            raise TTransportException(TTransportException.SIZE_LIMIT,
                                      f"frame of {length} bytes exceeds {self._max_frame}")
        self._rbuf = BytesIO(self._trans.readAll(length))

    def write(self, buf: bytes) -> None:
        self._wbuf.write(buf)

    def flush(self) -> None:
        data = self._wbuf.getvalue()
        self._wbuf = BytesIO()
        self._trans.write(encode_frame(data))
        self._trans.flush()

    # -- CReadableTransport (lets the C decoder read frames directly) -----------------------
    @property
    def cstringio_buf(self):
        return self._rbuf

    def cstringio_refill(self, partialread: bytes, reqlen: int):
        while len(partialread) < reqlen:
            self._read_frame()
            partialread += self._rbuf.getvalue()
        self._rbuf = BytesIO(partialread)
        return self._rbuf
