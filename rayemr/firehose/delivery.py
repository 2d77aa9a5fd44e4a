"""One delivery stream at work: log, route, buffer, flush, publish -- and recover.

``put`` appends a batch to the write-ahead log (the acknowledgement point) and keeps it as a
pending chunk (``rayemr.firehose.chunks``: records in columns). Pending records are routed in
rounds -- at every ``tick`` (the host's flusher runs one at least every 0.1 s), or at once when
they could fill a buffer -- so Arrow and jq see big batches: transformation (Lambda contract),
partition keys (JQ or the function's metadata), the active-partition limit, conversion
(JSON -> Parquet/ORC rows, read once with partitioning: ``rayemr.firehose.routing``), into one
buffer per destination prefix; failures into error buffers by error type; source records into
the backup buffer. ``tick`` then flushes buffers that are full or old enough. Flushing a buffer
writes its rows (Parquet/ORC) or compresses its bytes, then for each object: log an INTENT,
publish the object whole (EMRFS), register its Hive partition, log DONE. ``recover`` replays the log: an INTENT whose object is visible is finished (no second
copy); one whose object is absent has its uploads aborted and its records routed again --
those are counted as redelivered.

No Ray here: the host in ``rayemr.firehose.host`` (an actor on Ray, or in-process) wraps it.
"""
from __future__ import annotations

import base64
import functools
import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from rayemr.firehose import prefixes as px, publish, routing
from rayemr.firehose.buffers import MiB, Buffer, Buffers
from rayemr.firehose.chunks import Chunk, Owed, Record, sizes
from rayemr.firehose.compress import EXTENSIONS, compress
from rayemr.firehose.config import StreamConfig
from rayemr.firehose.convert import Converter
from rayemr.firehose.partitioning import KeyFailure, Keys, Partitioner, group_keys
from rayemr.firehose.requests import PutResult
from rayemr.firehose.settings import FirehoseSettings
from rayemr.firehose.sink import HiveBinding, Sink
from rayemr.firehose.transform import resolve_function, transform
from rayemr.firehose.wal import WriteAheadLog

log = logging.getLogger(__name__)
DATA, BACKUP = "data", "backup"
_BIT = {DATA: 1, BACKUP: 2}  # obligations a record still has, as a bit mask
LATENCY_SAMPLES = 4096
#: Puts remembered by token, so their retries are recognised.
RECENT_PUTS = 16384
#: Pending bytes that are routed at once (less if a buffer would be full with less).
ROUTE_BYTES = 4 * MiB
#: Rows of a converted buffer written ahead of its flush as one Parquet row group
#: (``encode_ahead``), so the flush has only the rest to encode.
ROW_GROUP_ROWS = 1 << 15

#: A record that failed: (record, error output type, error code, message, attempts made).
Failure = tuple[Record, str, str, str, int]
#: A routing round's partition (keys not yet admitted): the positions of its records in the
#: round's chunk, what is buffered (converted: rows only) and the ones of them that did not
#: convert (record, code, message).
Group = tuple[Keys, np.ndarray, Chunk, list[tuple[Record, str, str]]]


@dataclass
class Routed:
    """A routing round worked out from the stream's configuration alone (``prepare``: the
    host does it without the stream's lock); ``apply`` puts it into the buffers."""

    source: Chunk  # the records as they were pending
    config: StreamConfig  # the configuration it was worked out with
    backup: bool
    chunk: Chunk  # the records partitioned (transformed, if the stream transforms)
    dropped: np.ndarray  # sequence numbers the transformation dropped
    failures: list[Failure]
    groups: list[Group]


class DeliveryStream:
    """The work of one delivery stream (see the module docstring)."""

    def __init__(self, config: StreamConfig, version: int, created_ms: int,
                 settings: FirehoseSettings, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, route_inline: bool = True) -> None:
        self.settings = settings
        self.created_ms = created_ms
        self.clock = clock
        self.rng = rng or random.Random()
        self.wal = WriteAheadLog(settings.wal_url(config.name, created_ms),
                                 sync=settings.wal_sync, segment_bytes=settings.wal_segment_bytes)
        self.sink = Sink(settings.metastore_path, settings.warehouse, settings.emrfs)
        self.next_seq = 0
        self.owed = Owed()  # obligations not yet met (bits of _BIT) by seq
        self.pending: list[Chunk] = []  # logged, not yet routed
        self.pending_bytes = 0
        self.routing: Chunk | None = None  # taken from pending, not yet in the buffers
        # route_inline: a put routes what is pending once it could fill a buffer; otherwise
        # it only raises route_wanted (the host's flusher routes, outside the stream's lock)
        self.route_inline = route_inline
        self.route_wanted = False
        self._failed: dict[str, list[Record]] = {}  # a routing round's failures, by type
        self.batches: dict[bytes, tuple[int, float, int]] = {}
        self.metrics: dict[str, float] = {k: 0 for k in (
            "IncomingRecords", "IncomingBytes", "IncomingPutRequests", "DeliveredRecords",
            "DeliveredBytes", "DeliveredObjects", "FailedRecords", "DroppedRecords",
            "BackupRecords", "ThrottledRecords", "PartitionsRegistered",
            "RecoveredRecords", "RedeliveredRecords", "Recoveries", "FlushErrors",
            "RetriedPutRequests")}
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        # a Kinesis-sourced stream: source shard -> last sequence number in the log
        self.positions: dict[str, int] | None = None
        if config.source != "DirectPut":
            self.positions = {}
            self.metrics.update(SourceRecordsRead=0, SourceRecordsReadAgain=0,
                                SourceRecordsBeforeStart=0)
        self.configure(config, version)

    # -- configuration -------------------------------------------------------------------------
    def configure(self, config: StreamConfig, version: int) -> None:
        """Take a (new) configuration; open buffers are flushed first by the caller."""
        self.config, self.version = config, version
        dest = config.destination
        self.dest_url = self.settings.bucket_url(dest.bucket)
        self.data = Buffers(dest.hints)
        self.errors = Buffers(dest.hints)
        self.backup = Buffers(config.backup.hints) if config.backup else None
        hints = [dest.hints] + ([config.backup.hints] if config.backup else [])
        self.route_bytes = (0 if any(h.interval_s == 0 for h in hints)
                            else min([ROUTE_BYTES] + [h.size_bytes for h in hints]))
        p = config.processing
        self.partitioner = (Partitioner(p.metadata_query, dest.layout.prefix.partition_keys)
                            if config.dynamic_partitioning and p.metadata_query else None)
        self.function = (resolve_function(p.lambda_arn, dict(self.settings.lambdas))
                         if p.lambda_arn else None)
        self.binding: HiveBinding | None = None
        self.converter: Converter | None = None
        conv = config.conversion
        if conv:
            table = self.sink.table(conv.database, conv.table)
            self.converter = Converter([(c.name, c.type) for c in table.columns], conv)
            literal = dest.layout.prefix.parts[0] if dest.layout.prefix.parts and isinstance(
                dest.layout.prefix.parts[0], str) else ""
            self.binding = self.sink.binding(conv.database, conv.table,
                                             f"{self.dest_url}/{literal}".rstrip("/"))

    @property
    def arn(self) -> str:
        return self.settings.stream_arn(self.config.name)

    # -- putting -------------------------------------------------------------------------------
    def put(self, datas: Sequence[bytes], token: bytes = b"") -> PutResult:
        """Log a batch (durable on return), then route it; per-record throttling as AWS.

        ``token`` (16 bytes, random per client call) makes a retried call -- its answer lost
        to a crash -- return the first call's answer instead of logging the records twice."""
        if token and token in self.batches:
            first, arrival, n = self.batches[token]
            self.metrics["RetriedPutRequests"] += 1
            self.wal.sync()  # the first call may still be waiting for its fsync
            return PutResult(int(arrival * 1000), first, range(n))
        now = self.clock()
        self.metrics["IncomingPutRequests"] += 1
        accepted, slots, lens, total = self._admit(datas)
        first = self.next_seq
        ticket = 0
        if accepted:
            chunk = Chunk.arrived(first, now, accepted, lens, total)
            ticket = self.wal.append_records(first, now, accepted, token, lens=chunk.lens)
            self.next_seq += len(accepted)
            if token and len(accepted) == len(slots):
                self._remember(token, (first, now, len(accepted)))
            self._accept(chunk)
        self.metrics["ThrottledRecords"] += len(slots) - len(accepted)
        if len(accepted) == len(slots):
            return PutResult(int(now * 1000), first, range(len(slots)), None, ticket)
        errors: list[tuple[str, str] | None] = [
            ("ServiceUnavailableException", "Slow down.") if slot is None else None
            for slot in slots]
        return PutResult(int(now * 1000), first, slots, errors, ticket)

    def put_source(self, shard: str, datas: Sequence[bytes], last: int) -> int:
        """Log records read from a source shard, up to its sequence number ``last``, with that
        position; all are taken (the reader waits for room instead). Returns the ticket to
        wait for (``wal.durable``) before checkpointing."""
        now = self.clock()
        first = self.next_seq
        assert self.positions is not None, "not a Kinesis-sourced stream"
        positions = {shard: max(last, self.positions.get(shard, -1))}
        chunk = Chunk.arrived(first, now, list(datas))
        ticket = self.wal.append_records(first, now, datas, positions=positions,
                                         lens=chunk.lens)
        self.positions.update(positions)
        self.next_seq += len(datas)
        self._accept(chunk)
        return ticket

    def _accept(self, chunk: Chunk) -> None:
        """Records just logged: owed, counted, pending."""
        mask = _BIT[DATA] | (_BIT[BACKUP] if self.backup is not None else 0)
        self.owed.add(int(chunk.seqs[0]), len(chunk), mask)
        nbytes = chunk.nbytes
        self.metrics["IncomingRecords"] += len(chunk)
        self.metrics["IncomingBytes"] += nbytes
        self.pending.append(chunk)
        self.pending_bytes += nbytes
        if self.pending_bytes >= self.route_bytes:
            if self.route_inline:
                self.route_pending()
            else:
                self.route_wanted = True

    def route_pending(self) -> None:
        """Route every pending record, as one batch."""
        chunk = self.take_pending()
        if chunk is not None:
            self.route(chunk, backup=self.backup is not None)

    def take_pending(self) -> Chunk | None:
        """Every pending record, as one chunk (None: nothing pending); ``requeue`` gives it
        back if it could not be routed."""
        self.route_wanted = False
        if not self.pending:
            return None
        chunk = self.routing = Chunk.concat(self.pending)
        self.pending, self.pending_bytes = [], 0
        return chunk

    def requeue(self, chunk: Chunk) -> None:
        self.routing = None
        self.pending.insert(0, chunk)
        self.pending_bytes += chunk.nbytes

    def _admit(self, datas: Sequence[bytes]
               ) -> tuple[list[bytes], Sequence[int | None], np.ndarray | None, int | None]:
        """The records that fit in the stream's buffers, each one's slot among them (None:
        refused, "Slow down.") and, when all fit, their sizes and total; at least one is
        always taken."""
        room = self.settings.max_buffered_bytes - self.buffered_bytes()
        lens, total = sizes(datas)
        if total <= room:
            return ((datas if type(datas) is list else list(datas)), range(len(datas)), lens,
                    total)
        accepted: list[bytes] = []
        slots: list[int | None] = []
        for data in datas:
            if room - len(data) < 0 and accepted:
                slots.append(None)
                continue
            room -= len(data)
            slots.append(len(accepted))
            accepted.append(data)
        return accepted, slots, None, None

    def _remember(self, token: bytes, put: tuple[int, float, int]) -> None:
        self.batches[token] = put
        while len(self.batches) > RECENT_PUTS:
            self.batches.pop(next(iter(self.batches)))

    def buffered_bytes(self) -> int:
        return (self.pending_bytes + (self.routing.nbytes if self.routing is not None else 0)
                + self.data.bytes + self.errors.bytes + (self.backup.bytes if self.backup else 0))

    def route(self, chunk: Chunk, backup: bool, data: bool = True) -> None:
        """Into buffers: the backup's, then by partition keys (groups of records at once),
        converted when the stream converts; failures into the error buffers."""
        self.apply(self.prepare(chunk, backup, data))

    # -- routing, in two halves: prepare (the configuration only), apply (the stream) ----------
    def prepare(self, chunk: Chunk, backup: bool = True, data: bool = True) -> Routed:
        """Transformation, partition keys and conversion of a chunk: reads the configuration
        (and calls the transformation function) but changes nothing of the stream."""
        out = Routed(chunk, self.config, backup and self.backup is not None and len(chunk) > 0,
                     chunk, np.zeros(0, dtype=np.int64), [], [])
        if not data or not len(chunk):
            return out
        rows = None
        if self.function is not None:
            chunk, lambda_keys = self._transform(chunk, out)
            groups = self._with_lambda_keys(chunk, lambda_keys)
        elif self.partitioner is not None:
            assert chunk.datas is not None
            rows = routing.read_once(chunk.datas, self.partitioner, self.converter,
                                     chunk.lens)
            groups = self.partitioner.groups(chunk.datas, rows)
        else:
            groups = [({}, range(len(chunk)))]
        out.chunk = chunk
        keyed: list[tuple[Keys, np.ndarray]] = []
        for keys, positions in groups:
            if isinstance(keys, KeyFailure):
                out.failures.extend((chunk.record(i), px.PARTITIONING_FAILED, keys.code,
                                     keys.message, 1) for i in positions)
            else:
                keyed.append((keys, np.asarray(positions, dtype=np.int64)))
        if self.converter is not None:
            converted = routing.convert(self.converter, chunk, keyed, rows)
            out.groups.extend((keys, pos, part, [(chunk.record(i), code, message)
                                                 for i, code, message in failed])
                              for (keys, pos), (_, part, failed) in zip(keyed, converted))
        else:
            out.groups.extend((keys, pos, chunk.take(pos), []) for keys, pos in keyed)
        return out

    def apply(self, routed: Routed) -> None:
        """Put a prepared round into the buffers: the backup's, admitted partitions', the
        error buffers'."""
        if routed.config is not self.config:  # reconfigured meanwhile: work it out again
            routed = self.prepare(routed.source, routed.backup, True)
        self.routing = None
        now = self.clock()
        if routed.backup and self.backup is not None:
            self.backup.add_chunk("backup", routed.source, now)
        try:
            if len(routed.dropped):
                self.metrics["DroppedRecords"] += len(routed.dropped)
                self._mark_done(routed.dropped, DATA, "")
            for record, error_type, code, message, attempts in routed.failures:
                self._fail(record, error_type, code, message, now, attempts=attempts)
            self._admit_groups(routed.chunk, routed.groups, now)
        finally:
            for error_type, failed in self._failed.items():
                self.errors.add_chunk(error_type, Chunk.of(failed), now)
            self._failed = {}

    def _admit_groups(self, chunk: Chunk, groups: list[Group], now: float) -> None:
        """Each group into its partition's buffer, or to the error output: a key missing,
        or one partition more than the active-partition limit."""
        names = self.config.destination.layout.prefix.partition_keys
        limit = self.settings.active_partition_limit
        delim = self.config.processing.append_delimiter
        opened: set[str] = set()  # partitions this round opens
        for keys, positions, part, unconverted in groups:
            failure = None
            if any(n not in keys for n in names):
                missing = next(n for n in names if n not in keys)
                failure = (px.PARTITIONING_FAILED, "DynamicPartitioning.MetadataExtractionFailed",
                           f"no value for partition key {missing!r}")
            else:
                key = json.dumps([keys[n] for n in names]) if names else ""
                active = len(self.data) + len(opened)
                if names and key not in self.data and key not in opened:
                    if active >= limit:
                        failure = (px.ACTIVE_PARTITION_EXCEEDED,
                                   "DynamicPartitioning.ActivePartitionExceeded",
                                   f"the stream already has {active} active partitions "
                                   f"(limit {limit})")
                    else:
                        opened.add(key)
            if failure is not None:  # every record of it, converted or not
                for i in positions.tolist():
                    self._fail(chunk.record(i), *failure, now)
                continue
            for r, code, message in unconverted:
                self._fail(r, px.FORMAT_CONVERSION_FAILED, code, message, now)
            if not len(part):
                continue
            if delim is not None and part.datas is not None:
                tail = delim.encode()
                part = Chunk(part.seqs, part.arrivals, [d + tail for d in part.datas])
            # a new buffer's interval counts from its oldest record's arrival, not the round
            self.data.add_chunk(key, part, min(now, part.oldest))

    def _with_lambda_keys(self, chunk: Chunk, lambda_keys: list[dict[str, str]]):
        """Groups of transformed records by the function's keys, then the query's."""
        found: list[Any] = list(lambda_keys)
        if self.partitioner is not None and len(chunk):
            assert chunk.datas is not None
            jq_keys = self.partitioner.keys_for(chunk.datas)
            found = [k if isinstance(k, KeyFailure) else {**extra, **k}
                     for k, extra in zip(jq_keys, lambda_keys)]
        return group_keys(found)

    def _transform(self, chunk: Chunk, out: Routed) -> tuple[Chunk, list[dict[str, str]]]:
        """The records the function kept, transformed, and their keys; what it dropped and
        what failed go into ``out``."""
        p = self.config.processing
        records = chunk.records()
        result = transform(self.function, [(r.record_id, r.arrival, r.data) for r in records],
                           stream_arn=self.arn, region=self.settings.region,
                           retries=p.lambda_retries)
        out.dropped = chunk.seqs[np.asarray(result.dropped, dtype=np.int64)]
        out.failures.extend((records[i], px.PROCESSING_FAILED, code, message, result.attempts)
                            for i, code, message in result.failed)
        kept, keys = [], []
        for i, data, k in sorted(result.ok, key=lambda t: t[0]):
            r = records[i]
            kept.append(Record(r.seq, r.arrival, data))
            keys.append(k)
        return Chunk.of(kept), keys

    def _fail(self, r: Record, error_type: str, code: str, message: str, now: float,
              attempts: int = 1) -> None:
        doc: dict[str, Any] = {
            "attemptsMade": attempts, "arrivalTimestamp": int(r.arrival * 1000),
            "errorCode": code, "errorMessage": message,
            "attemptEndingTimestamp": int(now * 1000),
            "rawData": base64.b64encode(r.data).decode(), "recordId": r.record_id}
        if error_type == px.PROCESSING_FAILED and self.config.processing.lambda_arn:
            doc["lambdaArn"] = self.config.processing.lambda_arn
        if error_type == px.FORMAT_CONVERSION_FAILED and self.config.conversion:
            c = self.config.conversion
            doc = {"attemptsMade": attempts, "arrivalTimestamp": doc["arrivalTimestamp"],
                   "ErrorCode": code, "ErrorMessage": message,
                   "attemptEndingTimestamp": doc["attemptEndingTimestamp"],
                   "rawData": doc["rawData"], "sequenceNumber": str(r.seq),
                   "subSequenceNumber": 0,
                   "dataCatalogTable": {"catalogId": None, "databaseName": c.database,
                                        "tableName": c.table, "region": self.settings.region,
                                        "versionId": "LATEST", "catalogArn": None}}
        line = (json.dumps(doc) + "\n").encode()
        self._failed.setdefault(error_type, []).append(Record(r.seq, r.arrival, line))

    # -- flushing ------------------------------------------------------------------------------
    def tick(self) -> int:
        """Route what is pending (unless the host routes: ``route_inline`` False), then flush
        every buffer that is due; returns the objects published."""
        if self.route_inline:
            self.route_pending()
        now = self.clock()
        return self._flush([(buffers, buffers.take(key)) for buffers in self._all_buffers()
                            for key in buffers.due(now)])

    def encode_ahead(self) -> None:
        """Write every ``ROW_GROUP_ROWS`` rows of a converted (Parquet) buffer as a row group
        while it fills, so its flush has only the rest to encode. The host's flusher calls it
        without the stream's lock: only the flusher changes the buffers meanwhile."""
        if self.converter is None:
            return
        jobs = []
        for buf in self.data.open_buffers():
            ahead = buf.ahead
            done = 0 if ahead is None else ahead.chunks
            rest = buf.chunks[done:]
            if (ahead is not None and ahead.failed) or sum(map(len, rest)) < ROW_GROUP_ROWS:
                continue
            if ahead is None:
                ahead = buf.ahead = self.converter.row_groups()
                if ahead is None:  # ORC: written whole
                    return
            jobs.append(functools.partial(ahead.write, pa.concat_tables([c.rows for c in rest]),
                                          done + len(rest)))
        publish.results(publish.run_all(jobs))  # buffers' row groups at once, on threads

    def flush_all(self) -> int:
        self.route_pending()
        return self._flush([(buffers, buf) for buffers in self._all_buffers()
                            for buf in buffers.take_all()])

    def next_deadline(self) -> float | None:
        """When a buffer is next due by age (pending records are routed at every tick)."""
        times = [b.next_deadline() for b in self._all_buffers()]
        times = [t for t in times if t is not None]
        return min(times) if times else None

    def _all_buffers(self) -> list[Buffers]:
        return [self.data, self.errors] + ([self.backup] if self.backup is not None else [])

    def _flush(self, taken: list[tuple[Buffers, Buffer]]) -> int:
        """Publish taken buffers, a batch at a time (``rayemr.firehose.publish``); if one
        fails, the buffers not yet being published go back for the next try. Returns the
        objects published."""
        n = i = 0
        try:
            while i < len(taken):
                batch = taken[i:i + publish.BATCH_BUFFERS]
                bodies = publish.results(publish.run_all(
                    [functools.partial(self._encoder(b), buf) for b, buf in batch]))
                i += len(batch)  # from here on, its objects may be published: never again
                out = [self._outgoing(b, buf, body) for (b, buf), body in zip(batch, bodies)]
                done, error = self._publish_all(out)
                n += done
                if error is not None:
                    raise error
        finally:
            for buffers, buf in taken[i:]:
                buffers.restore(buf)
            if n:
                self._truncate()
        return n

    def _encoder(self, buffers: Buffers) -> Callable[[Buffer], bytes]:
        """What a buffer's object holds (no side effect: may run on a thread)."""
        if buffers is self.errors:
            return lambda buf: b"".join(buf.chunk.datas or ())
        if buffers is self.backup:
            comp = self.config.backup.compression  # type: ignore[union-attr]
            return lambda buf: compress(b"".join(buf.chunk.datas or ()), comp)
        if self.converter is not None:  # converted when routed: rows
            return functools.partial(publish.encode_rows, write=self.converter.write)
        comp = self.config.destination.compression
        return lambda buf: compress(b"".join(buf.chunk.datas or ()), comp)

    def _outgoing(self, buffers: Buffers, buf: Buffer, body: bytes) -> publish.Outgoing:
        """Where a taken buffer's object goes (data, error output or backup)."""
        oldest = buf.oldest_arrival
        if buffers is self.errors:
            prefix = self.config.destination.layout.error_object_prefix(oldest, buf.key,
                                                                        rng=self.rng)
            self.metrics["FailedRecords"] += len(buf.chunk)
            return self._object(self.dest_url, prefix, "", body, buf, DATA, False)
        if buffers is self.backup:
            b = self.config.backup
            assert b is not None
            self.metrics["BackupRecords"] += len(buf.chunk)
            return self._object(self.settings.bucket_url(b.bucket),
                                b.layout.object_prefix(oldest, rng=self.rng),
                                EXTENSIONS[b.compression], body, buf, BACKUP, False)
        names = self.config.destination.layout.prefix.partition_keys
        values = dict(zip(names, json.loads(buf.key))) if names else {}
        prefix = self.config.destination.layout.object_prefix(oldest, values, rng=self.rng)
        ext = self.config.file_extension
        if ext is None:
            conv = self.config.conversion
            ext = ("." + conv.output if self.converter is not None and conv is not None
                   else EXTENSIONS[self.config.destination.compression])
        return self._object(self.dest_url, prefix, ext, body, buf, DATA, True)

    def _object(self, bucket: str, prefix: str, ext: str, body: bytes, buf: Buffer, kind: str,
                delivered: bool) -> publish.Outgoing:
        name = px.object_name(self.config.name, self.version, buf.oldest_arrival, ext)
        return publish.Outgoing(f"{bucket}/{prefix}{name}", body, buf.chunk, kind, delivered)

    def _publish_all(self, objects: list[publish.Outgoing]
                     ) -> tuple[int, BaseException | None]:
        """Publish objects at once: their intents on disk first (one sync), the objects on
        threads, the partitions of those that landed registered, their DONE logged. Returns
        how many landed and the first error."""
        for o in objects:
            self.wal.append_intent(o.url, o.kind, o.chunk.seqs, sync=False)
        self.wal.sync()  # every intent on disk before its object is
        outcomes = publish.run_all([functools.partial(self.sink.publish, o.url, o.body)
                                    for o in objects])
        landed = [o for o, (_, exc) in zip(objects, outcomes) if exc is None]
        error = next((exc for _, exc in outcomes if exc is not None), None)
        if self.binding is not None:
            try:
                self.metrics["PartitionsRegistered"] += self.sink.register_all(
                    self.binding, [o.url for o in landed if o.delivered])
            except Exception as exc:  # noqa: BLE001 - no DONE for them: recovery registers
                landed, error = [o for o in landed if not o.delivered], exc
        now = self.clock()
        for o in landed:
            self._mark_done(o.chunk.seqs, o.kind, o.url)
            if o.delivered:
                self.metrics["DeliveredRecords"] += len(o.chunk)
                self.metrics["DeliveredBytes"] += len(o.body)
                self.metrics["DeliveredObjects"] += 1
                step = max(1, len(o.chunk) // 64)
                self.latencies.extend((now - o.chunk.arrivals[::step]).tolist())
        return len(landed), error

    def _mark_done(self, seqs: np.ndarray, kind: str, url: str) -> None:
        self.wal.append_done(url, kind, seqs)
        self.owed.meet(seqs, _BIT[kind])

    def _truncate(self) -> None:
        if self.positions:  # the newest segment (kept) says how far each shard was logged
            self.wal.append_positions(self.positions)
        self.wal.truncate(self.owed.lowest(), keep_newest=self.positions is not None)

    # -- recovery ------------------------------------------------------------------------------
    def recover(self) -> int:
        """Replay the log; returns how many records were routed again."""
        replay = self.wal.replay()
        self.next_seq = replay.next_seq
        if self.positions is not None:
            self.positions.update(replay.positions)
        for token, put in replay.batches.items():
            self._remember(token, put)
        for url, (kind, seqs) in replay.intents.items():
            if url in replay.done_urls:
                continue
            if self.sink.exists(url):  # published, DONE lost: finish it, no second copy
                if kind == DATA and self.binding is not None:
                    self.sink.register(self.binding, url)
                self.wal.append_done(url, kind, seqs)
                replay.done.setdefault(kind, set()).update(seqs)
            else:
                self.sink.abort(url)
                self.metrics["RedeliveredRecords"] += len(seqs)
        kinds = {DATA, BACKUP} if self.backup is not None else {DATA}
        pending_data, pending_backup, seqs, masks = [], [], [], []
        for seq in sorted(replay.records):
            mask = sum(_BIT[k] for k in kinds if seq not in replay.done.get(k, ()))
            if not mask:
                continue
            arrival, data = replay.records[seq]
            r = Record(seq, arrival, data)
            seqs.append(seq)
            masks.append(mask)
            if mask & _BIT[DATA]:
                pending_data.append(r)
            if mask & _BIT[BACKUP]:
                pending_backup.append(r)
        self.owed.set(np.asarray(seqs, dtype=np.int64), np.asarray(masks, dtype=np.uint8))
        self.route(Chunk.of(pending_backup), backup=True, data=False)
        self.route(Chunk.of(pending_data), backup=False)
        n = len(seqs)
        self.metrics["RecoveredRecords"] += n
        self.metrics["Recoveries"] += 1
        self.wal.open()  # the segment the next puts go to, prepared now rather than in a put
        if n:
            log.info("delivery stream %s: %d record(s) recovered from the log",
                     self.config.name, n)
        return n

    # -- reporting -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        out = dict(self.metrics)
        pending = sum(map(len, self.pending)) + (len(self.routing) if self.routing else 0)
        out.update({"BufferedRecords": pending + self.data.records + self.errors.records,
                    "BufferedBytes": self.buffered_bytes(), "ActivePartitions": len(self.data),
                    "DeliveryLatencyP50": lat[len(lat) // 2] if lat else None,
                    "DeliveryLatencyP99": lat[min(len(lat) - 1, int(len(lat) * .99))]
                    if lat else None})
        return out

    def close(self, delete: bool = False) -> None:
        if delete:
            self.wal.destroy()
        else:
            self.wal.close()
        self.sink.close()
