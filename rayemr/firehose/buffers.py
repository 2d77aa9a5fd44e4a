"""Buffering: one buffer per destination prefix, flushed by size or by age, whichever first.

Pure: the caller passes the time (``now``, epoch seconds) and gets back the keys to flush.
A buffer's age counts from its first record; ``IntervalInSeconds`` 0 flushes at once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from rayemr.firehose.chunks import Chunk, Record
from rayemr.firehose.errors import InvalidArgumentException

MiB = 1024 * 1024
SIZE_RANGE = (1, 128)
INTERVAL_RANGE = (0, 900)
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_S = 300


@dataclass(frozen=True)
class BufferingHints:
    size_mb: int = DEFAULT_SIZE_MB
    interval_s: int = DEFAULT_INTERVAL_S

    def __post_init__(self) -> None:
        for name, value, (lo, hi) in (("SizeInMBs", self.size_mb, SIZE_RANGE),
                                      ("IntervalInSeconds", self.interval_s, INTERVAL_RANGE)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidArgumentException(
                    f"BufferingHints.{name} {value!r} is out of range: expected an integer "
                    f"from {lo} to {hi}")

    @property
    def size_bytes(self) -> int:
        return self.size_mb * MiB

    @classmethod
    def from_api(cls, d: Mapping[str, Any] | None) -> "BufferingHints":
        d = d or {}
        return cls(d.get("SizeInMBs", DEFAULT_SIZE_MB), d.get("IntervalInSeconds",
                                                              DEFAULT_INTERVAL_S))

    def to_api(self) -> dict[str, int]:
        return {"SizeInMBs": self.size_mb, "IntervalInSeconds": self.interval_s}


@dataclass
class Buffer:
    """One prefix's records, as the chunks they were routed in."""

    key: str
    opened: float
    chunks: list[Chunk] = field(default_factory=list)
    size: int = 0
    count: int = 0
    #: its first chunks already encoded (``rayemr.firehose.convert.RowGroups``), if any
    ahead: Any = None

    @functools.cached_property
    def oldest_arrival(self) -> float:
        """Asked once a buffer is taken (its records no longer change)."""
        return min(c.oldest for c in self.chunks)

    @functools.cached_property
    def chunk(self) -> Chunk:
        """All its records as one chunk (asked once a buffer is taken)."""
        return Chunk.concat(self.chunks)

    @property
    def records(self) -> list[Record]:
        return self.chunk.records()


class Buffers:
    """The open buffers of one destination, keyed by evaluated prefix."""

    def __init__(self, hints: BufferingHints) -> None:
        self.hints = hints
        self._open: dict[str, Buffer] = {}
        self.records = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, key: str) -> bool:
        return key in self._open

    def add(self, key: str, record: Record, now: float) -> bool:
        """Buffer one record; True when its buffer is now due (full, or interval 0)."""
        return self.add_chunk(key, Chunk.of([record]), now)

    def add_chunk(self, key: str, chunk: Chunk, now: float) -> bool:
        """Buffer records in order; True when their buffer is now due."""
        buf = self._open.get(key)
        if buf is None:
            buf = self._open[key] = Buffer(key, now)
        buf.chunks.append(chunk)
        buf.size += chunk.nbytes
        buf.count += len(chunk)
        self.records += len(chunk)
        self.bytes += chunk.nbytes
        return buf.size >= self.hints.size_bytes or self.hints.interval_s == 0

    def due(self, now: float) -> list[str]:
        """Keys of buffers that are full or older than the interval, oldest first."""
        out = [b for b in self._open.values()
               if b.size >= self.hints.size_bytes or now - b.opened >= self.hints.interval_s]
        return [b.key for b in sorted(out, key=lambda b: b.opened)]

    def next_deadline(self) -> float | None:
        """When the oldest open buffer becomes due by age (None: nothing buffered)."""
        if not self._open:
            return None
        return min(b.opened for b in self._open.values()) + self.hints.interval_s

    def take(self, key: str) -> Buffer:
        buf = self._open.pop(key)
        self.records -= buf.count
        self.bytes -= buf.size
        return buf

    def take_all(self) -> list[Buffer]:
        out = sorted(self._open.values(), key=lambda b: b.opened)
        self._open.clear()
        self.records = self.bytes = 0
        return out

    def restore(self, buf: Buffer) -> None:
        """Put back a taken buffer that was not published (a failed flush tries it again)."""
        for name in ("chunk", "oldest_arrival"):  # it may take more records now
            buf.__dict__.pop(name, None)
        buf.ahead = None  # encoded again from its rows
        now = self._open.get(buf.key)
        if now is not None:  # reopened meanwhile: the restored records go first
            buf.chunks += now.chunks
            buf.size += now.size
            buf.count += now.count
            self.records -= now.count
            self.bytes -= now.size
        self._open[buf.key] = buf
        self.records += buf.count
        self.bytes += buf.size

    def keys(self) -> Iterable[str]:
        return list(self._open)

    def open_buffers(self) -> list[Buffer]:
        return list(self._open.values())
