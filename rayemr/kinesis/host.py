"""The shell around one ``ShardCore``: its log, group commit, recovery and retention.

A ``ShardHost`` runs inside a Ray actor (``rayemr.kinesis.actors``) or in the caller's process
(``rayemr.kinesis.local``). ``put_columns`` (or ``put_many``, several puts at once) admits
records, then waits until the group-commit thread has written them to the log; only then are
they acknowledged and readable. The commit thread writes every batch waiting at that moment
as one group (one append + flush/fsync on local disk, one object on S3), optionally after
lingering a few milliseconds to gather more.
On start the host replays its log, so a restarted actor or process has every acknowledged
record back.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rayemr.kinesis import iterators
from rayemr.kinesis.errors import InternalFailureException, InvalidArgumentException
from rayemr.kinesis.iterators import IteratorState
from rayemr.kinesis.limits import ShardLimits
from rayemr.kinesis.log import ShardLog
from rayemr.kinesis.records import (
    Batch, CloseMarker, Columns, decode_frame, encode_batch_parts, encode_close,
)
from rayemr.kinesis.shard import Admitted, ShardClosed, ShardCore, ShardState

log = logging.getLogger(__name__)

#: How often the commit thread applies retention when idle.
MAINTAIN_EVERY_S = 60.0
_LOADED_CACHE = 16


@dataclass(frozen=True)
class ShardSpec:
    """Everything a host needs to (re)start: picklable, no secrets."""

    stream: str
    stream_created_ms: int
    shard_id: str
    starting_position: int
    limits: ShardLimits
    retention_s: float
    log_url: str
    catalog_url: str
    fsync: bool = True
    linger_ms: float = 0.0
    segment_bytes: int = 64 * 1024 * 1024
    cache_bytes: int = 64 * 1024 * 1024


class ShardHost:
    """One shard, live: see the module docstring."""

    def __init__(self, spec: ShardSpec, *, key: bytes | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self.clock = clock
        if key is None:
            from rayemr.kinesis.catalog import Catalog

            key = Catalog(spec.catalog_url).iterator_key()
        self._key = key
        self.core = ShardCore(spec.shard_id, starting_position=spec.starting_position,
                              limits=spec.limits, retention_s=spec.retention_s, now=clock(),
                              cache_bytes=spec.cache_bytes)
        self.log = ShardLog(spec.log_url, fsync=spec.fsync, segment_bytes=spec.segment_bytes)
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._failed: dict[int, str] = {}
        self._loaded: OrderedDict[tuple, Batch] = OrderedDict()
        self._stopped = False
        self._recover()
        self._thread = threading.Thread(target=self._commit_loop, daemon=True,
                                        name=f"commit-{spec.stream}-{spec.shard_id}")
        self._thread.start()

    def __repr__(self) -> str:
        return f"<ShardHost {self.spec.stream}/{self.spec.shard_id}>"

    def _recover(self) -> None:
        n = 0
        for frame, location in self.log.recover():
            if isinstance(frame, CloseMarker):
                self.core.mark_closed(frame.ending, frame.closed_at)
                continue
            frame.location = location
            self.core.load(frame)
            n += frame.count
        if n:
            log.info("%s: recovered %d records from %s", self, n, self.spec.log_url)
        self.core.trim(self.clock())

    # -- writes --------------------------------------------------------------------------------
    def put_columns(self, cols: Columns, ordering: int | None = None
                    ) -> tuple[int, int] | None:
        """``(first position, accepted)`` once durable; None if the shard is closed.

        ``accepted`` < ``cols.count``: the rest exceeded the shard's throughput this second.
        """
        (result,) = self.put_many([(cols, ordering)])
        if isinstance(result, Exception):
            raise result
        return result

    def put_many(self, puts: Sequence[tuple[Columns, int | None]]
                 ) -> list[tuple[int, int] | None | InternalFailureException]:
        """Several puts, admitted in order and made durable together (one wait): for each,
        what ``put_columns`` answers, or the error it would raise."""
        with self._cond:
            admitted: list[Admitted | None] = []
            for cols, ordering in puts:
                try:
                    admitted.append(self.core.admit_columns(cols, self.clock(), ordering))
                except ShardClosed:
                    admitted.append(None)
            batches = [a.batch for a in admitted if a is not None and a.batch is not None]
            if batches:
                self._cond.notify_all()
            for batch in batches:
                while batch.location is None and id(batch) not in self._failed:
                    self._cond.wait()
            errors = {id(b): self._failed.pop(id(b)) for b in batches if id(b) in self._failed}
        out: list[tuple[int, int] | None | InternalFailureException] = []
        for a in admitted:
            if a is None or a.batch is None:
                out.append(None if a is None else (0, 0))
            elif id(a.batch) in errors:
                out.append(InternalFailureException(
                    f"shard {self.spec.shard_id} of stream {self.spec.stream} could not store "
                    f"the records: {errors[id(a.batch)]}"))
            else:
                out.append((a.batch.first, a.accepted))
        return out

    def _commit_loop(self) -> None:
        linger = self.spec.linger_ms / 1000
        last_maintain = self.clock()
        while True:
            with self._cond:
                while not self.core.pending and not self._stopped:
                    self._cond.wait(timeout=MAINTAIN_EVERY_S)
                    if self.clock() - last_maintain >= MAINTAIN_EVERY_S:
                        break
                if self._stopped and not self.core.pending:
                    return
            if not self.core.pending:
                self.maintain()
                last_maintain = self.clock()
                continue
            if linger:
                time.sleep(linger)
            with self._cond:
                batches = self.core.take_pending()
            self._write(batches)

    def _write(self, batches: list[Batch]) -> None:
        frames = [encode_batch_parts(b) for b in batches]
        try:
            with self._write_lock:
                locations = self.log.append(frames, newest=batches[-1].arrival)
        except Exception as exc:  # noqa: BLE001 - every waiter must hear about it
            log.warning("%s: writing %d batches failed: %s", self, len(batches), exc)
            with self._cond:
                self.core.fail(batches)
                for b in batches:
                    self._failed[id(b)] = str(exc)
                self._cond.notify_all()
            return
        with self._cond:
            for b, location in zip(batches, locations):
                b.location = location
            self.core.commit(batches)
            self._cond.notify_all()

    def close(self) -> int:
        """Stop taking puts, wait for pending ones, mark the log closed; the ending position."""
        with self._cond:
            if self.core.ending_position is not None:
                return self.core.ending_position
            if self.core.state.state is ShardState.OPEN:
                self.core.close(self.clock())
            while self.core.pending:
                self._cond.wait()
            ending = self.core.ending
        with self._write_lock:
            self.log.append([[encode_close(ending, self.clock())]], newest=0.0)
        with self._cond:
            self.core.ending_position = ending
        return ending

    # -- reads ---------------------------------------------------------------------------------
    def iterator(self, kind: str, sequence: str | None = None,
                 timestamp: float | None = None) -> str:
        now = self.clock()
        with self._cond:
            position, min_ms = self.core.iterator_position(
                kind, sequence=sequence, timestamp=timestamp, now=now, stream=self.spec.stream)
        state = IteratorState(self.spec.stream, self.spec.stream_created_ms, self.core.index,
                              position, int(now * 1000), min_ms)
        return iterators.mint(state, self._key)

    def get_records(self, token: str, limit: int) -> dict[str, Any]:
        """GetRecords for a token of this shard (verified here, where the key is)."""
        now = self.clock()
        state = iterators.verify(token, self._key, now)
        if (state.stream, state.stream_created_ms, state.shard_index) != (
                self.spec.stream, self.spec.stream_created_ms, self.core.index):
            raise InvalidArgumentException("Invalid ShardIterator: it was not issued for shard "
                                           f"{self.spec.shard_id} of stream {self.spec.stream}")
        with self._cond:
            result = self.core.read(state.position, limit, now,
                                    min_arrival_ms=state.min_arrival_ms, loader=self._load)
        index = self.core.index
        from rayemr.kinesis.seqnum import encode

        records = [{"SequenceNumber": encode(pos, index), "ApproximateArrivalTimestamp": at,
                    "Data": data, "PartitionKey": key}
                   for pos, at, key, data in result.records]
        out: dict[str, Any] = {"Records": records, "MillisBehindLatest": result.millis_behind}
        if not result.at_end:
            out["NextShardIterator"] = iterators.mint(
                state.advanced(max(result.next_position, state.position), now), self._key)
        return out

    def _load(self, batch: Batch) -> Batch:
        location = batch.location
        cached = self._loaded.get(location)  # type: ignore[arg-type]
        if cached is not None:
            self._loaded.move_to_end(location)  # type: ignore[arg-type]
            return cached
        frame, _ = decode_frame(self.log.read(location))  # type: ignore[arg-type]
        assert isinstance(frame, Batch) and frame.first == batch.first
        self._loaded[location] = frame  # type: ignore[index]
        if len(self._loaded) > _LOADED_CACHE:
            self._loaded.popitem(last=False)
        return frame

    # -- upkeep ----------------------------------------------------------------------------------
    def set_retention(self, retention_s: float) -> None:
        with self._cond:
            self.core.retention_s = retention_s

    def maintain(self) -> int:
        """Apply retention: drop records and log segments older than the horizon."""
        now = self.clock()
        with self._cond:
            dropped = self.core.trim(now)
            horizon = now - self.core.retention_s
        with self._write_lock:
            self.log.trim(horizon)
        return sum(b.count for b in dropped)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return self.core.stats()

    def stop(self, delete: bool = False) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=30)
        with self._write_lock:
            if delete:
                self.log.delete()
            else:
                self.log.close()

    def ping(self) -> str:
        return self.spec.shard_id
