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

import operator
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import Iterator, Sequence

MAGIC = b"KR"
_VERSION = 1
KIND_RECORDS = 1
KIND_CLOSE = 2
_HEADER = struct.Struct("<2sBBII")
_RECORDS_HEAD = struct.Struct("<QQIQ")
_CLOSE = struct.Struct("<QQQ")
HEADER_SIZE = _HEADER.size
_COUNT = struct.Struct("<I")
#: Largest piece of a put's data sent as one call argument: below Ray's inline limit
#: (100 KiB), so a 5 MiB PutRecords travels in the call itself, not through the object store.
WIRE_CHUNK = 96 * 1024


class Columns:
    """Records of one batch column by column: no Python object per record.

    ``keys`` is the UTF-8 partition keys back to back, ``data`` the records' data back to back
    split into ``chunks`` (any cut: a put's data crosses process boundaries in pieces small
    enough to travel inline), ``key_lens``/``data_lens`` the lengths, in order.
    """

    __slots__ = ("keys", "key_lens", "chunks", "data_lens")

    def __init__(self, keys: bytes, key_lens: array, chunks: Sequence[bytes],
                 data_lens: array) -> None:
        self.keys, self.key_lens, self.chunks, self.data_lens = keys, key_lens, chunks, data_lens

    @classmethod
    def of(cls, keys: Sequence[str], data: Sequence[bytes],
           key_lens: Sequence[int] | None = None) -> Columns:
        """From lists; ``key_lens`` (UTF-8 lengths) when the caller already has them."""
        text = "".join(keys)
        if text.isascii():  # the common case: one encode, lengths from the str lengths
            raw = text.encode("ascii")
            lens = array("H", key_lens if key_lens is not None else map(len, keys))
        else:
            encoded = [k.encode("utf-8") for k in keys]
            raw = b"".join(encoded)
            lens = array("H", map(len, encoded))
        return cls(raw, lens, [b"".join(data)], array("I", map(len, data)))

    @property
    def count(self) -> int:
        return len(self.data_lens)

    @property
    def nbytes(self) -> int:
        return len(self.keys) + sum(self.data_lens)

    def sizes(self) -> list[int]:
        """Each record's size as the limits count it (data plus partition key)."""
        return list(map(operator.add, self.key_lens, self.data_lens))

    def blob(self) -> bytes:
        return self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)

    def head(self, n: int) -> Columns:
        """The first ``n`` records."""
        if n >= self.count:
            return self
        return Columns(self.keys[:sum(self.key_lens[:n])], self.key_lens[:n],
                       [self.blob()[:sum(self.data_lens[:n])]], self.data_lens[:n])

    def lists(self) -> tuple[list[str], list[bytes]]:
        """Partition keys and data as one object per record (for reads)."""
        koffs = list(accumulate(self.key_lens, initial=0))
        if self.keys.isascii():
            text = self.keys.decode("ascii")
            keys = [text[a:b] for a, b in zip(koffs, koffs[1:])]
        else:
            raw = self.keys
            keys = [raw[a:b].decode("utf-8") for a, b in zip(koffs, koffs[1:])]
        blob = self.blob()
        doffs = list(accumulate(self.data_lens, initial=0))
        return keys, [blob[a:b] for a, b in zip(doffs, doffs[1:])]

    def to_wire(self, chunk: int = WIRE_CHUNK) -> tuple[bytes, ...]:
        """Flat parts: the lengths and keys in one, then the data in pieces of at most
        ``chunk`` bytes (few arguments, each small enough to travel inline)."""
        blob = self.blob()
        pieces = [blob] if len(blob) <= chunk else [
            blob[i:i + chunk] for i in range(0, len(blob), chunk)]
        meta = b"".join((_COUNT.pack(self.count), _native(array("H", self.key_lens)).tobytes(),
                         _native(array("I", self.data_lens)).tobytes(), self.keys))
        return (meta, *pieces)

    @classmethod
    def from_wire(cls, meta: bytes, *chunks: bytes) -> Columns:
        (n,) = _COUNT.unpack_from(meta)
        at = _COUNT.size
        kl, dl = array("H"), array("I")
        kl.frombytes(meta[at:at + 2 * n])
        dl.frombytes(meta[at + 2 * n:at + 6 * n])
        return cls(meta[at + 6 * n:], _native(kl), list(chunks), _native(dl))


class Batch:
    """Records one put admitted to one shard, in order, positions ``first .. first+count-1``.

    The records are held as ``Columns`` (as put and as read back from the log) and turned into
    per-record ``keys``/``data`` lists only when read. ``keys``/``data`` are None while the
    batch is only on storage (evicted from memory); ``location`` is where the log put it (set
    once it is durable).
    """

    __slots__ = ("first", "count", "arrival", "nbytes", "location", "_keys", "_data",
                 "columns")

    def __init__(self, first: int, count: int, arrival: float, keys: list[str] | None = None,
                 data: list[bytes] | None = None, nbytes: int = 0, *,
                 columns: Columns | None = None, location: object = None) -> None:
        self.first, self.count, self.arrival, self.nbytes = first, count, arrival, nbytes
        self._keys, self._data, self.columns = keys, data, columns
        self.location = location

    def __repr__(self) -> str:
        return f"Batch(first={self.first}, count={self.count}, arrival={self.arrival})"

    @property
    def last(self) -> int:
        return self.first + self.count - 1

    @property
    def loaded(self) -> bool:
        return self._data is not None or self.columns is not None

    def _lists(self) -> None:
        if self._data is None and self.columns is not None:
            self._keys, self._data = self.columns.lists()
            self.columns = None  # readable now; the frame was written from the columns

    @property
    def keys(self) -> list[str] | None:
        self._lists()
        return self._keys

    @property
    def data(self) -> list[bytes] | None:
        self._lists()
        return self._data

    def evict(self) -> None:
        self._keys = self._data = self.columns = None

    def sizes(self) -> list[int]:
        if self.columns is not None:
            return self.columns.sizes()
        assert self._keys is not None and self._data is not None
        return [len(k.encode("utf-8")) + len(d) for k, d in zip(self._keys, self._data)]


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
    return b"".join(encode_batch_parts(batch))


def encode_batch_parts(batch: Batch) -> list[bytes]:
    """A batch's frame as pieces to write back to back (no copy of the records' data)."""
    cols = batch.columns
    if cols is None:
        assert batch._keys is not None and batch._data is not None
        cols = Columns.of(batch._keys, batch._data)
    lo, hi = _u128(batch.first)
    body = [_RECORDS_HEAD.pack(lo, hi, batch.count, int(batch.arrival * 1000)),
            _native(array("H", cols.key_lens)).tobytes(),
            _native(array("I", cols.data_lens)).tobytes(), cols.keys, *cols.chunks]
    crc = 0
    for part in body:
        crc = zlib.crc32(part, crc)
    length = sum(map(len, body))
    return [_HEADER.pack(MAGIC, KIND_RECORDS, _VERSION, length, crc), *body]


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
    key_end = pos + sum(key_lens)
    cols = Columns(bytes(body[pos:key_end]), key_lens, [bytes(body[key_end:])], data_lens)
    if len(cols.chunks[0]) != sum(data_lens):
        raise CorruptFrame(f"bad record lengths in the frame at {offset}")
    return Batch((hi << 64) | lo, count, arrival_ms / 1000, nbytes=cols.nbytes,
                 columns=cols), end


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
