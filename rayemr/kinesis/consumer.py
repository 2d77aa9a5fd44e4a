"""The consumer library (KCL's model): workers lease shards and feed record processors.

Users subclass ``RecordProcessor`` (``initialize``, ``process_records``, ``lease_lost``,
``shard_ended``, ``shutdown_requested``, with KCL's names) and run ``Worker``s: in threads of
one process, in several processes or as Ray actors (``rayemr.kinesis.actors.start_consumers``).
Workers of one application share a lease table (``LeaseService``, persisted through EMRFS;
the Ray actor ``LeaseTableActor`` shares it across processes). Each worker, in a loop:

- keeps one lease per shard in the table (new shards get leases with their parents);
- renews the leases it holds (losing one stops its processor: ``lease_lost``);
- takes leases that are free or expired, up to its share, a parent shard's children only
  once the parent is finished (``SHARD_END``), so records of a key stay in order;
- reads each held shard from its checkpoint and hands the records to the processor, which
  checkpoints when it has processed them.

Delivery is at least once: after a crash, a shard is read again from its last checkpoint.
A shard is read at most every ``read_interval_s`` (0.2 s: Kinesis allows 5 GetRecords
calls per second per shard).
Works with any boto3-shaped Kinesis client: ``rayemr.kinesis.client()`` or
``boto3.client("kinesis", endpoint_url=...)``.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from rayemr.kinesis.leases import LATEST, SHARD_END, TRIM_HORIZON, Lease, LeaseTable, LeaseTaker

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The worker no longer holds the shard's lease (another worker took it)."""


class RecordProcessor:
    """What an application does with the records of one shard (subclass it)."""

    def initialize(self, shard_id: str, starting_sequence: str) -> None:
        """Called once before the first records of a shard."""

    def process_records(self, records: list[dict], checkpointer: Checkpointer,
                        millis_behind_latest: int) -> None:
        """Process a batch (boto3's record dicts), then ``checkpointer.checkpoint()``."""
        raise NotImplementedError

    def lease_lost(self) -> None:
        """Another worker owns the shard now; stop (checkpointing is no longer possible)."""

    def shard_ended(self, checkpointer: Checkpointer) -> None:
        """Every record of the shard was delivered; checkpoint to let its children start."""
        checkpointer.checkpoint()

    def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        """The worker is stopping; checkpoint what was processed."""


class LeaseService:
    """One application's lease table, thread-safe, persisted at ``location`` (or memory)."""

    def __init__(self, app: str, location: str | None = None) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._catalog = None
        doc = None
        if location is not None:
            from rayemr.kinesis.catalog import Catalog

            self._catalog = Catalog(location)
            doc = self._catalog.read_json(self._path)
        self._table = LeaseTable.from_dict(doc)

    @property
    def _path(self) -> str:
        return f"leases/app-{self.app}.json"

    def _save(self) -> None:
        if self._catalog is not None:
            self._catalog.write_json(self._path, self._table.to_dict())

    def _change(self, method: str, *args: Any) -> Any:
        with self._lock:
            out = getattr(self._table, method)(*args)
            if out:
                self._save()
            return out

    def list(self) -> list[Lease]:
        with self._lock:
            return self._table.list()

    def create_if_absent(self, lease: Lease) -> bool:
        return self._change("create_if_absent", lease)

    def take(self, shard_id: str, owner: str, expected_counter: int) -> Lease | None:
        return self._change("take", shard_id, owner, expected_counter)

    def renew(self, shard_id: str, owner: str) -> Lease | None:
        return self._change("renew", shard_id, owner)

    def checkpoint(self, shard_id: str, owner: str, checkpoint: str) -> Lease | None:
        return self._change("checkpoint", shard_id, owner, checkpoint)

    def release(self, shard_id: str, owner: str) -> bool:
        return self._change("release", shard_id, owner)


def error_code(exc: BaseException) -> str | None:
    """AWS's error code of a boto3 ``ClientError`` or a rayemr Kinesis error."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


@dataclass
class _Shard:
    lease: Lease
    processor: RecordProcessor
    iterator: str | None = None
    delivered: str | None = None  # sequence number of the last record handed over
    ended: bool = False
    next_read: float = 0.0  # not before this time (a shard takes 5 GetRecords calls/s)
    children: list[dict] = field(default_factory=list)


class Checkpointer:
    """Records a shard's progress in the lease table (only while the lease is held)."""

    def __init__(self, worker: Worker, shard: _Shard, at_end: bool = False) -> None:
        self._worker, self._shard, self._at_end = worker, shard, at_end

    def checkpoint(self, sequence_number: str | None = None) -> None:
        """Mark records up to ``sequence_number`` (default: the last delivered) processed;
        at the end of a shard, mark the shard finished. Raises ``LeaseLost``."""
        value = SHARD_END if self._at_end and sequence_number is None else (
            sequence_number or self._shard.delivered)
        if value is None:
            return
        got = self._worker.leases.checkpoint(self._shard.lease.shard_id,
                                             self._worker.worker_id, value)
        if got is None:
            raise LeaseLost(self._shard.lease.shard_id)
        self._shard.lease = got


class Worker:
    """One consumer of an application (see the module docstring)."""

    def __init__(self, app: str, stream: str, processor_factory: Callable[[], RecordProcessor],
                 *, client: Any, leases: Any, worker_id: str | None = None,
                 initial_position: str = TRIM_HORIZON, failover_s: float = 10.0,
                 poll_s: float = 0.2, max_records: int = 10_000, sync_s: float = 5.0,
                 read_interval_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if initial_position not in (TRIM_HORIZON, LATEST):
            raise ValueError(f"initial_position must be {TRIM_HORIZON} or {LATEST}")
        self.app, self.stream = app, stream
        self.factory = processor_factory
        self.client, self.leases = client, leases
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.initial_position = initial_position
        self.failover_s, self.poll_s, self.max_records = failover_s, poll_s, max_records
        self.sync_s, self.read_interval_s = sync_s, read_interval_s
        self.clock, self.sleep = clock, sleep
        self.taker = LeaseTaker(self.worker_id, failover_s)
        self.held: dict[str, _Shard] = {}
        self.processed = 0
        self._stop = threading.Event()
        self._last = {"sync": -1e18, "renew": -1e18, "take": -1e18}

    def __repr__(self) -> str:
        return f"<Worker {self.worker_id} of {self.app} on {self.stream}: {sorted(self.held)}>"

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Work until ``stop()`` (or ``until()`` is true), then hand the leases back."""
        try:
            while not self._stop.is_set() and not (until and until()):
                if not self.run_once():
                    self._stop.wait(self.poll_s)
        finally:
            self.shutdown()

    def stop(self) -> None:
        self._stop.set()

    def run_once(self) -> int:
        """One round: sync, renew and take leases when due, read each held shard once."""
        now = self.clock()
        if self._due("sync", now, self.sync_s):
            self.sync_shards()
        if self._due("renew", now, self.failover_s / 3):
            self.renew()
        if self._due("take", now, self.failover_s / 3):
            self.take()
        done = 0
        for shard in list(self.held.values()):
            if shard.next_read <= now:
                shard.next_read = now + self.read_interval_s
                done += self._poll(shard)
        return done

    def _due(self, what: str, now: float, every: float) -> bool:
        if now - self._last[what] >= every:
            self._last[what] = now
            return True
        return False

    # -- leases -------------------------------------------------------------------------------------
    def sync_shards(self) -> None:
        """A lease for every shard of the stream (children start where their parents end)."""
        shards: list[dict] = []
        page = self.client.list_shards(StreamName=self.stream)
        shards += page["Shards"]
        while page.get("NextToken"):
            page = self.client.list_shards(NextToken=page["NextToken"])
            shards += page["Shards"]
        listed = {s["ShardId"] for s in shards}
        for s in shards:
            self._ensure(s["ShardId"], (s.get("ParentShardId"), s.get("AdjacentParentShardId")),
                         listed)

    def _ensure(self, shard_id: str, parents: tuple, listed: set[str] | None = None) -> None:
        parents = tuple(p for p in parents if p)
        known = listed if listed is not None else set(parents)
        start = TRIM_HORIZON if any(p in known for p in parents) else self.initial_position
        self.leases.create_if_absent(Lease(shard_id, checkpoint=start, parents=parents))

    def renew(self) -> None:
        for shard_id in list(self.held):
            if self.leases.renew(shard_id, self.worker_id) is None:
                self._lost(shard_id)

    def take(self) -> None:
        leases = self.leases.list()
        for lease in leases:  # ours already (a restarted worker with the same id)
            if lease.owner == self.worker_id and lease.shard_id not in self.held \
                    and not lease.finished:
                self._start(lease)
        for lease in self.taker.plan(leases, self.clock()):
            got = self.leases.take(lease.shard_id, self.worker_id, lease.counter)
            if got is not None:
                log.info("%s took %s (from %s)", self.worker_id, got.shard_id, lease.owner)
                self._start(got)

    def _start(self, lease: Lease) -> None:
        processor = self.factory()
        processor.initialize(lease.shard_id, lease.checkpoint)
        self.held[lease.shard_id] = _Shard(lease, processor)

    def _lost(self, shard_id: str) -> None:
        shard = self.held.pop(shard_id, None)
        if shard is not None:
            log.info("%s lost the lease of %s", self.worker_id, shard_id)
            shard.processor.lease_lost()

    # -- reading ------------------------------------------------------------------------------------
    def _iterator(self, shard: _Shard) -> str:
        position = shard.delivered or shard.lease.checkpoint
        args: dict[str, Any] = {"StreamName": self.stream, "ShardId": shard.lease.shard_id}
        if position in (TRIM_HORIZON, LATEST):
            args["ShardIteratorType"] = position
        else:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                        StartingSequenceNumber=position)
        return self.client.get_shard_iterator(**args)["ShardIterator"]

    def _poll(self, shard: _Shard) -> int:
        sid = shard.lease.shard_id
        try:
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            page = self.client.get_records(ShardIterator=shard.iterator,
                                           Limit=self.max_records)
        except Exception as exc:  # noqa: BLE001 - decide by AWS's error code
            code = error_code(exc)
            if code == "ExpiredIteratorException":
                shard.iterator = None
            elif code == "ResourceNotFoundException":
                self.held.pop(sid, None)
            elif code not in ("ProvisionedThroughputExceededException", "InternalFailure",
                              "InternalFailureException"):
                raise
            return 0
        records = page["Records"]
        if records:
            shard.delivered = records[-1]["SequenceNumber"]
            try:
                shard.processor.process_records(records, Checkpointer(self, shard),
                                                page.get("MillisBehindLatest", 0))
            except LeaseLost:
                self._lost(sid)
                return len(records)
            self.processed += len(records)
        shard.iterator = page.get("NextShardIterator")
        if shard.iterator is None:
            self._end(shard, page.get("ChildShards") or [])
        return len(records)

    def _end(self, shard: _Shard, children: list[dict]) -> None:
        sid = shard.lease.shard_id
        try:
            shard.processor.shard_ended(Checkpointer(self, shard, at_end=True))
            if not shard.lease.finished:
                log.warning("%s: the processor did not checkpoint at the end of %s; "
                            "checkpointing SHARD_END for it", self.worker_id, sid)
                Checkpointer(self, shard, at_end=True).checkpoint()
        except LeaseLost:
            self._lost(sid)
            return
        for child in children:
            self._ensure(child["ShardId"], tuple(child.get("ParentShards", ())))
        self.held.pop(sid, None)
        self._last["take"] = -1e18  # children may be ready now

    def shutdown(self) -> None:
        """Let each processor checkpoint, then hand the leases back."""
        for sid, shard in list(self.held.items()):
            try:
                shard.processor.shutdown_requested(Checkpointer(self, shard))
            except LeaseLost:
                pass
            self.leases.release(sid, self.worker_id)
        self.held.clear()
