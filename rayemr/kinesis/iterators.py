"""Shard iterators: opaque, tamper-evident tokens that expire five minutes after issue.

A token is the base64 of a small binary record (stream name and creation time, shard index,
the next position to read, an optional earliest arrival time, the issue time) followed by an
HMAC-SHA256 of it under the service's iterator key. ``peek`` reads a token without checking it
(to route a request to its shard); ``verify`` is what the shard does before reading: a token
whose MAC does not match is refused as ``InvalidArgumentException``, one older than five
minutes as ``ExpiredIteratorException``, as AWS does. The key never leaves the service.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass, replace

from rayemr.kinesis.errors import ExpiredIteratorException, InvalidArgumentException

#: Iterators are valid this long after issue (AWS: 5 minutes).
LIFETIME_S = 300.0
_VERSION = 1
_HEAD = struct.Struct(">BQIQQQQB")  # version, created ms, shard, pos hi, pos lo, min ts, issued
_MAC_BYTES = 16
MAX_LENGTH = 512


@dataclass(frozen=True)
class IteratorState:
    """Where a reader is: records of ``shard_index`` at ``position`` or later."""

    stream: str
    stream_created_ms: int
    shard_index: int
    position: int
    issued_ms: int
    min_arrival_ms: int = 0  # AT_TIMESTAMP in the future: skip records that arrived earlier

    def advanced(self, position: int, now: float) -> IteratorState:
        """The iterator a GetRecords answer hands back: further on, freshly issued."""
        return replace(self, position=position, issued_ms=int(now * 1000))


def mint(state: IteratorState, key: bytes) -> str:
    name = state.stream.encode("utf-8")
    body = _HEAD.pack(_VERSION, state.stream_created_ms, state.shard_index,
                      state.position >> 64, state.position & (2**64 - 1),
                      state.min_arrival_ms, state.issued_ms, len(name)) + name
    mac = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.b64encode(body + mac).decode("ascii")


def _invalid(token: object) -> InvalidArgumentException:
    shown = str(token)[:40] + ("..." if len(str(token)) > 40 else "")
    return InvalidArgumentException(f"Invalid ShardIterator: {shown!r} is not a shard iterator "
                                    "issued by this service")


def _split(token: object) -> tuple[bytes, bytes, IteratorState]:
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_LENGTH:
        raise _invalid(token)
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _invalid(token) from None
    if len(raw) < _HEAD.size + _MAC_BYTES:
        raise _invalid(token)
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    version, created, shard, hi, lo, min_ts, issued, name_len = _HEAD.unpack_from(body)
    name = body[_HEAD.size:]
    if version != _VERSION or len(name) != name_len:
        raise _invalid(token)
    try:
        stream = name.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(token) from None
    return body, mac, IteratorState(stream, created, shard, (hi << 64) | lo, issued, min_ts)


def peek(token: object) -> IteratorState:
    """The state a token claims, unchecked (for routing only)."""
    return _split(token)[2]


def verify(token: object, key: bytes, now: float) -> IteratorState:
    """The state of a token this service issued and that has not expired."""
    body, mac, state = _split(token)
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]):
        raise _invalid(token)
    now_ms = int(now * 1000)
    if now_ms - state.issued_ms > LIFETIME_S * 1000:
        raise ExpiredIteratorException(
            f"Iterator expired. The iterator was created at time {state.issued_ms} while right "
            f"now it is {now_ms} which is further in the future than the tolerated delay of "
            f"{int(LIFETIME_S * 1000)} milliseconds.")
    return state
