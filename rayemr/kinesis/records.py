"""Batches of records and their binary frames (the unit a shard log stores).

A *batch* is what one put admitted to one shard: ``count`` records with consecutive positions
from ``first``, one arrival time, their partition keys and data. A *frame* is a batch (or a
shard's close marker) as bytes, with a CRC so a torn or damaged frame is detected::

    "KR" | kind u8 | version u8 | body length u32 | crc32(body) u32 | body
    records body: first position (u128) | count u32 | arrival ms u64 |
                  key lengths u16[count] | data lengths u32[count] | keys | data
    close body:   ending position (u128) | closed ms u64

Pure: bytes in, bytes out.
"""
from __future__ import annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Iterator

MAGIC = b"KR"
_VERSION = 1
KIND_RECORDS = 1
KIND_CLOSE = 2
_HEADER = struct.Struct("<2sBBII")
_RECORDS_HEAD = struct.Struct("<QQIQ")
_CLOSE = struct.Struct("<QQQ")
HEADER_SIZE = _HEADER.size


@dataclass
class Batch:
    """Records one put admitted to one shard, in order, positions ``first .. first+count-1``.

    ``keys``/``data`` are None while the batch is only on storage (evicted from memory);
    ``location`` is where the log put it (set once it is durable).
    """

    first: int
    count: int
    arrival: float
    keys: list[str] | None
    data: list[bytes] | None
    nbytes: int
    location: object = field(default=None, repr=False)

    @property
    def last(self) -> int:
        return self.first + self.count - 1

    @property
    def loaded(self) -> bool:
        return self.data is not None

    def evict(self) -> None:
        self.keys = self.data = None

    def sizes(self) -> list[int]:
        assert self.keys is not None and self.data is not None
        return [len(k.encode("utf-8")) + len(d) for k, d in zip(self.keys, self.data)]


class CorruptFrame(ValueError):
    """A frame whose header or CRC does not check (a torn write at the end of a log)."""


def _u128(value: int) -> tuple[int, int]:
    return value & (2**64 - 1), value >> 64


def _pack(kind: int, body: bytes) -> bytes:
    return _HEADER.pack(MAGIC, kind, _VERSION, len(body), zlib.crc32(body)) + body


def _native(arr: array) -> array:
    if sys.byteorder != "little":
        arr.byteswap()
    return arr


def encode_batch(batch: Batch) -> bytes:
    assert batch.keys is not None and batch.data is not None
    text = "".join(batch.keys)
    if text.isascii():  # the common case: one encode, lengths from the str lengths
        key_bytes = text.encode("ascii")
        key_lens = array("H", map(len, batch.keys))
    else:
        encoded = [k.encode("utf-8") for k in batch.keys]
        key_bytes = b"".join(encoded)
        key_lens = array("H", map(len, encoded))
    data_lens = array("I", map(len, batch.data))
    lo, hi = _u128(batch.first)
    body = b"".join((_RECORDS_HEAD.pack(lo, hi, batch.count, int(batch.arrival * 1000)),
                     _native(key_lens).tobytes(), _native(data_lens).tobytes(), key_bytes,
                     b"".join(batch.data)))
    return _pack(KIND_RECORDS, body)


def encode_close(ending: int, closed_at: float) -> bytes:
    lo, hi = _u128(ending)
    return _pack(KIND_CLOSE, _CLOSE.pack(lo, hi, int(closed_at * 1000)))


@dataclass(frozen=True)
class CloseMarker:
    ending: int
    closed_at: float


def decode_frame(buf: bytes | memoryview, offset: int = 0) -> tuple[Batch | CloseMarker, int]:
    """The frame at ``offset`` and the offset after it; ``CorruptFrame`` if it does not check."""
    view = memoryview(buf)
    if len(view) - offset < HEADER_SIZE:
        raise CorruptFrame(f"truncated header at {offset}")
    magic, kind, version, length, crc = _HEADER.unpack_from(view, offset)
    start = offset + HEADER_SIZE
    body = view[start:start + length]
    if magic != MAGIC or version != _VERSION or len(body) != length or zlib.crc32(body) != crc:
        raise CorruptFrame(f"bad frame at {offset}")
    end = start + length
    if kind == KIND_CLOSE:
        lo, hi, closed_ms = _CLOSE.unpack_from(body)
        return CloseMarker((hi << 64) | lo, closed_ms / 1000), end
    if kind != KIND_RECORDS:
        raise CorruptFrame(f"unknown frame kind {kind} at {offset}")
    lo, hi, count, arrival_ms = _RECORDS_HEAD.unpack_from(body)
    pos = _RECORDS_HEAD.size
    key_lens = array("H")
    key_lens.frombytes(body[pos:pos + 2 * count])
    pos += 2 * count
    data_lens = array("I")
    data_lens.frombytes(body[pos:pos + 4 * count])
    pos += 4 * count
    _native(key_lens)
    _native(data_lens)
    keys, data = [], []
    for n in key_lens:
        keys.append(bytes(body[pos:pos + n]).decode("utf-8"))
        pos += n
    total = 0
    for n in data_lens:
        data.append(bytes(body[pos:pos + n]))
        pos += n
        total += n
    nbytes = total + sum(key_lens)
    return Batch((hi << 64) | lo, count, arrival_ms / 1000, keys, data, nbytes), end


def iter_frames(buf: bytes | memoryview) -> Iterator[tuple[Batch | CloseMarker, int, int]]:
    """``(frame, start, end)`` for each whole frame; stops quietly at a torn tail."""
    offset = 0
    while offset < len(buf):
        try:
            frame, end = decode_frame(buf, offset)
        except CorruptFrame:
            return
        yield frame, offset, end
        offset = end
