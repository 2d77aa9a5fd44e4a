"""Records in columns: what a delivery stream moves instead of one object per record.

A ``Chunk`` is records that travel together -- a put, a routing round, one partition's share of
it -- as a sequence-number array, an arrival-time array, their bytes and, once converted, their
rows (an Arrow table, one row per record). Taking a group of records is one numpy/Arrow
``take``; nothing per record is built in Python on the way from a put to a Parquet object.
``Owed`` is which obligations (data, backup) each logged record still has, as one byte per
sequence number.
"""
from __future__ import annotations

from itertools import chain
from typing import Sequence

import numpy as np
import pyarrow as pa

from rayemr.core.native import optional
from rayemr.firehose.requests import record_id

_native_sizes = optional("rayemr.firehose._puts", "sizes")


def sizes(datas: Sequence[bytes]) -> tuple[np.ndarray, int]:
    """The sizes of records (int64) and their sum: one C pass over a list of bytes."""
    if _native_sizes is not None and type(datas) is list:
        try:
            packed, total = _native_sizes(datas)
        except TypeError:  # not all bytes: counted below
            pass
        else:
            return np.frombuffer(packed, "<u4").astype(np.int64), total
    lens = np.fromiter(map(len, datas), np.int64, len(datas))
    return lens, int(lens.sum())


class Record:
    """One record, where a path works record by record (failures, transformation)."""

    __slots__ = ("seq", "arrival", "data")

    def __init__(self, seq: int, arrival: float, data: bytes) -> None:
        self.seq, self.arrival, self.data = seq, arrival, data

    @property
    def record_id(self) -> str:
        return record_id(int(self.arrival * 1000), self.seq)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and (self.seq, self.arrival, self.data) == (
            other.seq, other.arrival, other.data)

    def __repr__(self) -> str:
        return f"Record({self.seq}, {self.arrival}, {self.data[:40]!r})"


class Chunk:
    """Records in columns (see the module docstring): ``lens`` are their incoming sizes; a
    converted chunk may keep its rows and drop the bytes (``datas`` None)."""

    __slots__ = ("seqs", "arrivals", "datas", "rows", "lens", "_nbytes")

    def __init__(self, seqs: np.ndarray, arrivals: np.ndarray, datas: list[bytes] | None,
                 rows: pa.Table | None = None, lens: np.ndarray | None = None,
                 nbytes: int | None = None) -> None:
        self.seqs, self.arrivals, self.datas, self.rows = seqs, arrivals, datas, rows
        if lens is None:
            assert datas is not None, "a chunk without its bytes needs their sizes"
            lens = np.fromiter(map(len, datas), np.int64, len(datas))
        self.lens = lens
        self._nbytes = nbytes  # the sum of lens, once known

    @classmethod
    def arrived(cls, first: int, arrival: float, datas: list[bytes],
                lens: np.ndarray | None = None, nbytes: int | None = None) -> Chunk:
        """A put's records: consecutive sequence numbers, one arrival time (``lens``: their
        sizes, and ``nbytes`` their sum, if known)."""
        n = len(datas)
        return cls(np.arange(first, first + n, dtype=np.int64), np.full(n, arrival), datas,
                   lens=lens, nbytes=nbytes)

    @classmethod
    def of(cls, records: Sequence[Record]) -> Chunk:
        return cls(np.fromiter((r.seq for r in records), np.int64, len(records)),
                   np.fromiter((r.arrival for r in records), np.float64, len(records)),
                   [r.data for r in records])

    @classmethod
    def concat(cls, chunks: Sequence[Chunk]) -> Chunk:
        if len(chunks) == 1:
            return chunks[0]
        datas = None
        if all(c.datas is not None for c in chunks):
            datas = list(chain.from_iterable(c.datas for c in chunks))  # type: ignore[misc]
        rows = None
        if all(c.rows is not None for c in chunks):
            rows = pa.concat_tables([c.rows for c in chunks])  # type: ignore[misc]
        return cls(np.concatenate([c.seqs for c in chunks]),
                   np.concatenate([c.arrivals for c in chunks]), datas, rows,
                   np.concatenate([c.lens for c in chunks]))

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def nbytes(self) -> int:
        if self._nbytes is None:
            self._nbytes = int(self.lens.sum())
        return self._nbytes

    def take(self, positions: Sequence[int] | np.ndarray, rows: pa.Table | None = None,
             row_positions: np.ndarray | None = None, *, keep_data: bool = True) -> Chunk:
        """The records at ``positions`` (in that order), with ``rows`` (a table aligned with
        this chunk, or with ``row_positions`` into it) taken alongside; ``keep_data=False``
        drops their bytes (converted records need only their rows)."""
        idx = np.asarray(positions, dtype=np.int64)
        if _identity(idx, len(self.seqs)):
            seqs, arrivals, lens, datas = self.seqs, self.arrivals, self.lens, self.datas
        else:
            seqs, arrivals, lens = self.seqs[idx], self.arrivals[idx], self.lens[idx]
            datas = (None if self.datas is None or not keep_data
                     else [self.datas[i] for i in idx.tolist()])
        if rows is not None:
            at = idx if row_positions is None else row_positions
            if not _identity(at, rows.num_rows):
                rows = rows.take(at)
        return Chunk(seqs, arrivals, datas if keep_data else None, rows, lens)

    def record(self, i: int) -> Record:
        assert self.datas is not None
        return Record(int(self.seqs[i]), float(self.arrivals[i]), self.datas[i])

    def records(self) -> list[Record]:
        return [self.record(i) for i in range(len(self))]

    @property
    def oldest(self) -> float:
        return float(self.arrivals.min()) if len(self.arrivals) else float("inf")


def _identity(idx: np.ndarray, n: int) -> bool:
    """Whether ``idx`` is 0, 1, ..., n - 1."""
    return len(idx) == n and (n == 0 or (int(idx[0]) == 0 and int(idx[-1]) == n - 1
                                         and bool(np.all(np.diff(idx) == 1))))


class Owed:
    """What each logged record still owes (a bit mask per sequence number; 0: nothing).

    Sequence numbers only grow, so the masks are one array from the lowest record the log
    must keep; ``lowest()`` drops the settled ones before it.
    """

    def __init__(self) -> None:
        self.base = 0
        self._masks = np.zeros(1024, dtype=np.uint8)
        self._end = 0  # masks[:_end] are in use
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def _room(self, low: int, high: int) -> None:
        """Make sequence numbers ``low`` .. ``high`` addressable (masks past ``_end`` are 0)."""
        if not self._count:  # nothing owed: start afresh at low
            self._masks[:self._end] = 0
            self.base, self._end = low, 0
        if low < self.base:
            raise ValueError(f"sequence number {low} is below the owed window ({self.base})")
        need = high - self.base + 1
        if need > len(self._masks):
            grown = np.zeros(max(need, 2 * len(self._masks)), dtype=np.uint8)
            grown[:self._end] = self._masks[:self._end]
            self._masks = grown
        self._end = max(self._end, need)

    def add(self, first: int, n: int, mask: int) -> None:
        """Records ``first`` .. ``first + n - 1`` owe ``mask``."""
        if n <= 0 or not mask:
            return
        self._room(first, first + n - 1)
        lo = first - self.base
        part = self._masks[lo:lo + n]
        self._count += n - int(np.count_nonzero(part))
        part[:] = mask

    def set(self, seqs: np.ndarray, masks: np.ndarray) -> None:
        """Records ``seqs`` (increasing) owe ``masks`` (recovery)."""
        seqs = np.asarray(seqs, dtype=np.int64)
        masks = np.asarray(masks, dtype=np.uint8)
        keep = masks != 0
        seqs, masks = seqs[keep], masks[keep]
        if not len(seqs):
            return
        self._room(int(seqs[0]), int(seqs[-1]))
        idx = seqs - self.base
        self._count += len(idx) - int(np.count_nonzero(self._masks[idx]))
        self._masks[idx] = masks

    def meet(self, seqs: np.ndarray | Sequence[int], bit: int) -> None:
        """The records ``seqs`` (distinct) no longer owe ``bit``."""
        idx = np.asarray(seqs, dtype=np.int64) - self.base
        idx = idx[(idx >= 0) & (idx < self._end)]
        if not len(idx):
            return
        before = self._masks[idx]
        after = before & np.uint8(~bit & 0xFF)
        self._masks[idx] = after
        self._count -= int(np.count_nonzero(before)) - int(np.count_nonzero(after))

    def owes(self, seq: int) -> int:
        i = seq - self.base
        return int(self._masks[i]) if 0 <= i < self._end else 0

    def lowest(self) -> int | None:
        """The lowest sequence number still owing something (None: none)."""
        if not self._count:
            return None
        nz = np.flatnonzero(self._masks[:self._end])
        first = int(nz[0])
        if first:  # forget the settled prefix
            self._masks[:self._end - first] = self._masks[first:self._end]
            self._masks[self._end - first:self._end] = 0
            self._end -= first
            self.base += first
        return self.base
