"""One shard's state: positions, admitted and durable records, reads, closing, retention.

``ShardCore`` is pure (no Ray, no I/O, time passed in): a put is *admitted* (throttle checked,
positions assigned) and waits as a pending batch; the shell writes pending batches to the log
and calls ``commit`` (or ``fail``); only committed records are readable, so a reader never sees
a record that could still be lost. ``read`` serves GetRecords from an iterator position;
batches evicted from memory are fetched through a loader the shell passes in.

Shard states follow the shared kernel: OPEN -(CLOSE)-> CLOSED -(EXPIRE)-> EXPIRED.
"""
from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Sequence

from rayemr.core.statemachine import Machine, Tracked
from rayemr.kinesis import seqnum
from rayemr.kinesis.errors import (
    InvalidArgumentException, ProvisionedThroughputExceededException,
)
from rayemr.kinesis.limits import ShardLimits, Throttle
from rayemr.kinesis.records import Batch, Columns


class ShardState(str, Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"


SHARD = Machine("shard", [
    (ShardState.OPEN, "CLOSE", ShardState.CLOSED),
    (ShardState.CLOSED, "EXPIRE", ShardState.EXPIRED),
], final={ShardState.EXPIRED})

ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                  "AT_TIMESTAMP")

Loader = Callable[[Batch], Batch]


class ShardClosed(Exception):
    """A put reached a shard that is no longer open (the caller re-routes to its children)."""

    def __init__(self, shard_id: str) -> None:
        super().__init__(shard_id)
        self.shard_id = shard_id


@dataclass(frozen=True)
class Admitted:
    """What a put got: the batch (None if nothing fit) and how many records were taken."""

    batch: Batch | None
    accepted: int


@dataclass(frozen=True)
class ReadResult:
    records: list[tuple[int, float, str, bytes]]  # (position, arrival, partition key, data)
    next_position: int
    millis_behind: int
    at_end: bool  # closed and fully read: no next iterator


class ShardCore:
    """State of one shard (see the module docstring)."""

    def __init__(self, shard_id: str, *, starting_position: int, limits: ShardLimits,
                 retention_s: float, now: float, cache_bytes: int = 64 * 1024 * 1024) -> None:
        self.shard_id = shard_id
        self.index = seqnum.shard_index(shard_id)
        self.starting_position = starting_position
        self.limits = limits
        self.throttle = Throttle(limits)
        self.retention_s = retention_s
        self.cache_bytes = cache_bytes
        self.state: Tracked[ShardState] = Tracked(SHARD, shard_id, ShardState.OPEN, now=now)
        self.last_position = starting_position - 1  # last assigned
        self.last_arrival = 0.0
        self.ending_position: int | None = None
        self.pending: deque[Batch] = deque()
        self.batches: list[Batch] = []  # committed, in position order
        self._firsts: list[int] = []
        self._cached = 0  # bytes of committed batches held in memory
        self._trim_index = 0  # batches before this index are trimmed (kept for cheap appends)
        self._evict_index = 0  # batches before this index are not in memory
        self._tip = starting_position - 1  # position of the newest committed record

    # -- writes -------------------------------------------------------------------------------
    def admit(self, keys: Sequence[str], data: Sequence[bytes], sizes: Sequence[int],
              now: float, ordering: int | None = None) -> Admitted:
        """Take the records that fit this second's throughput; assign their positions."""
        n = self._room(len(keys), sizes, now)
        if n == 0:
            return Admitted(None, 0)
        return self._admitted(n, now, ordering, list(keys[:n]), list(data[:n]),
                              sum(sizes[:n]), None)

    def admit_columns(self, cols: Columns, now: float,
                      ordering: int | None = None) -> Admitted:
        """``admit`` for records held column by column (no per-record objects made)."""
        n = self._room(cols.count, None if self.throttle.unlimited else cols.sizes(), now)
        if n == 0:
            return Admitted(None, 0)
        cols = cols.head(n)
        return self._admitted(n, now, ordering, None, None, cols.nbytes, cols)

    def _room(self, count: int, sizes: Sequence[int] | None, now: float) -> int:
        if self.state.state is not ShardState.OPEN:
            raise ShardClosed(self.shard_id)
        if sizes is None:
            return count
        return self.throttle.admit_puts(list(sizes), now)

    def _admitted(self, n: int, now: float, ordering: int | None, keys: list[str] | None,
                  data: list[bytes] | None, nbytes: int, cols: Columns | None) -> Admitted:
        first = max(self.last_position + 1, int(now * 1_000_000))
        if ordering is not None:
            first = max(first, ordering + 1)
        self.last_position = first + n - 1
        arrival = max(int(now * 1000) / 1000, self.last_arrival)  # AWS: millisecond precision
        self.last_arrival = arrival
        batch = Batch(first, n, arrival, keys, data, nbytes, columns=cols)
        self.pending.append(batch)
        return Admitted(batch, n)

    def take_pending(self) -> list[Batch]:
        """Every pending batch, oldest first, for the shell to write (they stay pending)."""
        return list(self.pending)

    def commit(self, batches: Sequence[Batch]) -> None:
        """These pending batches (oldest first) are durable: make them readable."""
        for batch in batches:
            head = self.pending.popleft()
            assert head is batch, "batches are committed in the order they were admitted"
            self._append(batch)
        self._evict()

    def fail(self, batches: Sequence[Batch]) -> None:
        """Writing these pending batches failed: drop them (their positions stay unused)."""
        dropped = {id(b) for b in batches}
        self.pending = deque(b for b in self.pending if id(b) not in dropped)

    def load(self, batch: Batch) -> None:
        """Recovery: a batch read back from the log, in order."""
        self._append(batch)
        self.last_position = max(self.last_position, batch.last)
        self.last_arrival = max(self.last_arrival, batch.arrival)
        self._evict()

    def _append(self, batch: Batch) -> None:
        self.batches.append(batch)
        self._firsts.append(batch.first)
        self._tip = max(self._tip, batch.last)
        if batch.loaded:
            self._cached += batch.nbytes

    def _evict(self) -> None:
        """Keep at most ``cache_bytes`` of committed records in memory (newest kept)."""
        i = max(self._evict_index, self._trim_index)
        while self._cached > self.cache_bytes and i < len(self.batches) - 1:
            b = self.batches[i]
            if b.location is None:
                break  # not durable yet: must stay
            if b.loaded:
                b.evict()
                self._cached -= b.nbytes
            i += 1
        self._evict_index = i

    # -- closing and retention ----------------------------------------------------------------
    def close(self, now: float) -> None:
        """No more puts (pending ones still commit); ``ending`` is final once they have."""
        self.state.fire("CLOSE", now=now)

    @property
    def ending(self) -> int:
        """The last position this shard will ever hold (closed shards only)."""
        if self.ending_position is not None:
            return self.ending_position
        return max(self.last_position, self.starting_position)

    def mark_closed(self, ending: int, closed_at: float) -> None:
        """Recovery: the log says the shard was closed."""
        if self.state.state is ShardState.OPEN:
            self.state.fire("CLOSE", now=closed_at)
        self.ending_position = ending
        self.last_position = max(self.last_position, ending)

    def trim(self, now: float) -> list[Batch]:
        """Forget batches older than the retention period; returns them."""
        horizon = now - self.retention_s
        start = i = self._trim_index
        while i < len(self.batches) and self.batches[i].arrival < horizon:
            b = self.batches[i]
            if b.loaded:
                self._cached -= b.nbytes
            i += 1
        dropped = self.batches[start:i]
        for b in dropped:
            b.evict()
        self._trim_index = i
        if i > 1024 and i * 2 > len(self.batches):  # compact the lists now and then
            del self.batches[:i], self._firsts[:i]
            self._trim_index = 0
            self._evict_index = max(0, self._evict_index - i)
        return dropped

    def expire_due(self, now: float) -> bool:
        """Whether a closed shard's records have all passed the retention period."""
        if self.state.state is not ShardState.CLOSED:
            return False
        return now - self.state.entered[ShardState.CLOSED] >= self.retention_s

    # -- reads ------------------------------------------------------------------------------
    @property
    def last_committed(self) -> int:
        """Position of the newest readable record (``starting - 1`` when none)."""
        return self._tip

    def iterator_position(self, kind: str, *, sequence: str | None = None,
                          timestamp: float | None = None, now: float,
                          stream: str = "") -> tuple[int, int]:
        """``(position, min_arrival_ms)`` where an iterator of ``kind`` starts."""
        if kind == "TRIM_HORIZON":
            return 0, 0
        if kind == "LATEST":
            return self.last_committed + 1, 0
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            position, index = seqnum.parse(sequence, stream=stream, shard_id=self.shard_id)
            if index != self.index:
                raise InvalidArgumentException(
                    f"Invalid StartingSequenceNumber. It encodes {seqnum.shard_id(index)}, "
                    f"while it was used in a call to a shard with {self.shard_id}")
            return (position if kind == "AT_SEQUENCE_NUMBER" else position + 1), 0
        if kind == "AT_TIMESTAMP":
            assert timestamp is not None
            i = bisect.bisect_left(self.batches, timestamp, lo=self._trim_index,
                                   key=lambda b: b.arrival)
            if i < len(self.batches):
                return self.batches[i].first, 0
            return self.last_committed + 1, int(timestamp * 1000) if timestamp > now else 0
        raise InvalidArgumentException(f"Unknown ShardIteratorType {kind!r}")

    def _live(self) -> list[Batch]:
        return self.batches[self._trim_index:]

    def read(self, position: int, limit: int, now: float, *, min_arrival_ms: int = 0,
             loader: Loader | None = None) -> ReadResult:
        """Records from ``position`` on (at most ``limit`` and the byte cap), for GetRecords."""
        if not self.throttle.admit_get(now):
            raise ProvisionedThroughputExceededException(
                f"Rate exceeded for shard {self.shard_id}: more than "
                f"{self.limits.get_calls_per_s} GetRecords calls or "
                f"{self.limits.get_bytes_per_s} bytes per second")
        out: list[tuple[int, float, str, bytes]] = []
        nbytes = 0
        i = max(bisect.bisect_right(self._firsts, position) - 1, self._trim_index)
        next_position = position
        full = False
        while i < len(self.batches) and not full:
            batch = self.batches[i]
            i += 1
            if batch.last < position:
                continue
            if not batch.loaded:
                if loader is None:
                    raise RuntimeError(f"{self.shard_id}: batch at {batch.first} is not in "
                                       "memory and no loader was given")
                batch = loader(batch)
            keys, data = batch.keys, batch.data
            assert keys is not None and data is not None
            skip = batch.arrival * 1000 < min_arrival_ms
            for j in range(max(0, position - batch.first), batch.count):
                size = len(data[j]) + len(keys[j])
                if out and (len(out) >= limit or nbytes + size > self.limits.get_max_bytes):
                    full = True
                    break
                if not skip:
                    out.append((batch.first + j, batch.arrival, keys[j], data[j]))
                    nbytes += size
                next_position = batch.first + j + 1
                if len(out) >= limit:
                    full = True
                    break
        self.throttle.got(nbytes, now)
        tip = self.last_committed
        behind = 0
        if next_position <= tip:
            nxt = self._arrival_at(next_position)
            behind = max(0, int((now - nxt) * 1000)) if nxt is not None else 0
        at_end = (self.state.state is not ShardState.OPEN and not self.pending
                  and next_position > tip)
        return ReadResult(out, next_position, behind, at_end)

    def _arrival_at(self, position: int) -> float | None:
        """Arrival time of the first committed record at ``position`` or later."""
        i = max(bisect.bisect_right(self._firsts, position) - 1, self._trim_index)
        if i < len(self.batches) and self.batches[i].last < position:
            i += 1
        return self.batches[i].arrival if i < len(self.batches) else None

    # -- description ---------------------------------------------------------------------------
    def sequence_number(self, position: int) -> str:
        return seqnum.encode(position, self.index)

    def stats(self) -> dict[str, int | str]:
        live = self._live()
        return {"ShardId": self.shard_id, "State": self.state.state.value,
                "Records": sum(b.count for b in live), "Bytes": sum(b.nbytes for b in live),
                "Pending": sum(b.count for b in self.pending), "CachedBytes": self._cached}
