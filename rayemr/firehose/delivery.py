"""One delivery stream at work: log, route, buffer, flush, publish -- and recover.

``put`` appends a batch to the write-ahead log (the acknowledgement point), then routes each
record: transformation (Lambda contract), partition keys (JQ or the function's metadata), the
active-partition limit, into one buffer per destination prefix; failures into error buffers
by error type; source records into the backup buffer. ``tick`` flushes buffers that are full
or old enough. Flushing a buffer converts it (JSON -> Parquet/ORC) or compresses it, then for
each object: log an INTENT, publish the object whole (EMRFS), register its Hive partition, log
DONE. ``recover`` replays the log: an INTENT whose object is visible is finished (no second
copy); one whose object is absent has its uploads aborted and its records routed again --
those are counted as redelivered.

No Ray here: the actor in ``rayemr.firehose.actor`` (and the in-process service) wrap it.
"""
from __future__ import annotations

import base64
import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rayemr.firehose import prefixes as px
from rayemr.firehose.buffers import Buffer, Buffers, Record
from rayemr.firehose.compress import EXTENSIONS, compress
from rayemr.firehose.config import StreamConfig
from rayemr.firehose.convert import Converter
from rayemr.firehose.partitioning import KeyFailure, Partitioner, group_keys
from rayemr.firehose.requests import record_ids
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


@dataclass
class PutResult:
    record_ids: list[str | None]
    errors: list[tuple[str, str] | None]


class DeliveryStream:
    """The work of one delivery stream (see the module docstring)."""

    def __init__(self, config: StreamConfig, version: int, created_ms: int,
                 settings: FirehoseSettings, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.created_ms = created_ms
        self.clock = clock
        self.rng = rng or random.Random()
        self.wal = WriteAheadLog(settings.wal_url(config.name, created_ms),
                                 sync=settings.wal_sync)
        self.sink = Sink(settings.metastore_path, settings.warehouse, settings.emrfs)
        self.next_seq = 0
        # seq -> obligations not yet met (bits of _BIT); filled in increasing seq order, so
        # the first key is the lowest record the log must keep
        self.owed: dict[int, int] = {}
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
            return PutResult(record_ids(int(arrival * 1000), range(first, first + n)),
                             [None] * n)
        now = self.clock()
        self.metrics["IncomingPutRequests"] += 1
        accepted, slots = self._admit(datas)
        first = self.next_seq
        if accepted:
            self.wal.append_records(first, now, accepted, token)
            self.next_seq += len(accepted)
            if token and not any(s is None for s in slots):
                self._remember(token, (first, now, len(accepted)))
        self._accept(first, now, accepted)
        if len(accepted) == len(slots):
            ids = record_ids(int(now * 1000), range(first, first + len(slots)))
            errors: list[tuple[str, str] | None] = [None] * len(slots)
        else:
            ids = record_ids(int(now * 1000),
                             [None if slot is None else first + slot for slot in slots])
            errors = [("ServiceUnavailableException", "Slow down.") if slot is None else None
                      for slot in slots]
        self.metrics["ThrottledRecords"] += len(slots) - len(accepted)
        return PutResult(ids, errors)

    def put_source(self, shard: str, datas: Sequence[bytes], last: int) -> None:
        """Log records read from a source shard, up to its sequence number ``last``, with that
        position (durable on return), then route them; all are taken (the reader waits for
        room instead)."""
        now = self.clock()
        first = self.next_seq
        assert self.positions is not None, "not a Kinesis-sourced stream"
        positions = {shard: max(last, self.positions.get(shard, -1))}
        self.wal.append_records(first, now, datas, positions=positions)
        self.positions.update(positions)
        self.next_seq += len(datas)
        self._accept(first, now, list(datas))

    def _accept(self, first: int, now: float, accepted: list[bytes]) -> None:
        """Records just logged from ``first`` on: owed, counted and routed."""
        records = [Record(first + i, now, d) for i, d in enumerate(accepted)]
        mask = _BIT[DATA] | (_BIT[BACKUP] if self.backup is not None else 0)
        self.owed.update(dict.fromkeys(range(first, first + len(records)), mask))
        self.metrics["IncomingRecords"] += len(records)
        self.metrics["IncomingBytes"] += sum(map(len, accepted))
        self.route(records, backup=self.backup is not None)

    def _admit(self, datas: Sequence[bytes]) -> tuple[list[bytes], Sequence[int | None]]:
        """The records that fit in the stream's buffers, and each one's slot among them
        (None: refused, "Slow down."); at least one is always taken."""
        room = self.settings.max_buffered_bytes - self.buffered_bytes()
        if sum(map(len, datas)) <= room:
            return list(datas), range(len(datas))
        accepted: list[bytes] = []
        slots: list[int | None] = []
        for data in datas:
            if room - len(data) < 0 and accepted:
                slots.append(None)
                continue
            room -= len(data)
            slots.append(len(accepted))
            accepted.append(data)
        return accepted, slots

    def _remember(self, token: bytes, put: tuple[int, float, int]) -> None:
        self.batches[token] = put
        while len(self.batches) > RECENT_PUTS:
            self.batches.pop(next(iter(self.batches)))

    def buffered_bytes(self) -> int:
        return self.data.bytes + self.errors.bytes + (self.backup.bytes if self.backup else 0)

    def route(self, records: list[Record], backup: bool, data: bool = True) -> None:
        """Into buffers: the backup's, then by partition keys (groups of records at once)."""
        now = self.clock()
        if backup and self.backup is not None and records:
            self.backup.add_many("backup", records, now)
        if not data or not records:
            return
        if self.function is not None:
            records, lambda_keys = self._transform(records, now)
            groups = self._with_lambda_keys(records, lambda_keys)
        elif self.partitioner is not None:
            groups = self.partitioner.groups([r.data for r in records])
        else:
            groups = [({}, range(len(records)))]
        for keys, positions in groups:
            members = [records[i] for i in positions]
            if isinstance(keys, KeyFailure):
                for r in members:
                    self._fail(r, px.PARTITIONING_FAILED, keys.code, keys.message, now)
            else:
                self._buffer(keys, members, now)

    def _with_lambda_keys(self, records: list[Record], lambda_keys: list[dict[str, str]]):
        """Groups of transformed records by the function's keys, then the query's."""
        found: list[Any] = list(lambda_keys)
        if self.partitioner is not None and records:
            jq_keys = self.partitioner.keys_for([r.data for r in records])
            found = [k if isinstance(k, KeyFailure) else {**extra, **k}
                     for k, extra in zip(jq_keys, lambda_keys)]
        return group_keys(found)

    def _buffer(self, keys: dict[str, str], records: list[Record], now: float) -> None:
        names = self.config.destination.layout.prefix.partition_keys
        missing = [n for n in names if n not in keys]
        if missing:
            for r in records:
                self._fail(r, px.PARTITIONING_FAILED,
                           "DynamicPartitioning.MetadataExtractionFailed",
                           f"no value for partition key {missing[0]!r}", now)
            return
        key = json.dumps([keys[n] for n in names]) if names else ""
        if (names and key not in self.data
                and len(self.data) >= self.settings.active_partition_limit):
            for r in records:
                self._fail(r, px.ACTIVE_PARTITION_EXCEEDED,
                           "DynamicPartitioning.ActivePartitionExceeded",
                           f"the stream already has {len(self.data)} active partitions "
                           f"(limit {self.settings.active_partition_limit})", now)
            return
        delim = self.config.processing.append_delimiter
        if delim is not None:
            tail = delim.encode()
            records = [Record(r.seq, r.arrival, r.data + tail) for r in records]
        self.data.add_many(key, records, now)

    def _transform(self, records: list[Record], now: float):
        p = self.config.processing
        result = transform(self.function, [(r.record_id, r.arrival, r.data) for r in records],
                           stream_arn=self.arn, region=self.settings.region,
                           retries=p.lambda_retries)
        for i in result.dropped:
            self.metrics["DroppedRecords"] += 1
            self._mark_done([records[i].seq], DATA, "")
        for i, code, message in result.failed:
            self._fail(records[i], px.PROCESSING_FAILED, code, message, now,
                       attempts=result.attempts)
        out, keys = [], []
        for i, data, k in sorted(result.ok, key=lambda t: t[0]):
            r = records[i]
            out.append(Record(r.seq, r.arrival, data))
            keys.append(k)
        return out, keys

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
        self.errors.add(error_type, Record(r.seq, r.arrival, line), now)

    # -- flushing ------------------------------------------------------------------------------
    def tick(self) -> int:
        """Flush every buffer that is due; returns the objects published."""
        now = self.clock()
        n = 0
        for buffers, flush in self._all_buffers():
            for key in buffers.due(now):
                n += flush(key, buffers.take(key))
        if n:
            self._truncate()
        return n

    def flush_all(self) -> int:
        n = 0
        for buffers, flush in self._all_buffers():
            for buf in buffers.take_all():
                n += flush(buf.key, buf)
        if n:
            self._truncate()
        return n

    def next_deadline(self) -> float | None:
        times = [b.next_deadline() for b, _ in self._all_buffers()]
        times = [t for t in times if t is not None]
        return min(times) if times else None

    def _all_buffers(self):
        out = [(self.data, self._flush_data), (self.errors, self._flush_errors)]
        if self.backup is not None:
            out.append((self.backup, self._flush_backup))
        return out

    def _flush_data(self, key: str, buf: Buffer) -> int:
        names = self.config.destination.layout.prefix.partition_keys
        values = dict(zip(names, json.loads(key))) if names else {}
        layout = self.config.destination.layout
        prefix = layout.object_prefix(buf.oldest_arrival, values, rng=self.rng)
        records = buf.records
        if self.converter is not None:
            converted = self.converter.convert([r.data for r in records])
            now = self.clock()
            for i, code, message in converted.failed:
                self._fail(records[i], px.FORMAT_CONVERSION_FAILED, code, message, now)
            good = [records[i] for i in converted.rows]
            n = 0
            if good:
                ext = self.config.file_extension
                ext = ext if ext is not None else "." + self.config.conversion.output
                n += self._publish(prefix, ext, self.converter.write(converted.table), good,
                                   DATA, buf.oldest_arrival)
            if converted.failed:
                n += sum(self._flush_errors(k, self.errors.take(k))
                         for k in [px.FORMAT_CONVERSION_FAILED] if k in self.errors)
            return n
        comp = self.config.destination.compression
        body = compress(b"".join(r.data for r in records), comp)
        ext = self.config.file_extension
        return self._publish(prefix, EXTENSIONS[comp] if ext is None else ext, body, records,
                             DATA, buf.oldest_arrival)

    def _flush_errors(self, error_type: str, buf: Buffer) -> int:
        prefix = self.config.destination.layout.error_object_prefix(
            buf.oldest_arrival, error_type, rng=self.rng)
        self.metrics["FailedRecords"] += len(buf.records)
        return self._publish(prefix, "", b"".join(r.data for r in buf.records), buf.records,
                             DATA, buf.oldest_arrival, delivered=False)

    def _flush_backup(self, key: str, buf: Buffer) -> int:
        b = self.config.backup
        prefix = b.layout.object_prefix(buf.oldest_arrival, rng=self.rng)
        body = compress(b"".join(r.data for r in buf.records), b.compression)
        self.metrics["BackupRecords"] += len(buf.records)
        return self._publish(prefix, EXTENSIONS[b.compression], body, buf.records, BACKUP,
                             buf.oldest_arrival, bucket=self.settings.bucket_url(b.bucket),
                             delivered=False)

    def _publish(self, prefix: str, ext: str, body: bytes, records: list[Record], kind: str,
                 oldest: float, *, bucket: str | None = None, delivered: bool = True) -> int:
        name = px.object_name(self.config.name, self.version, oldest, ext)
        url = f"{bucket or self.dest_url}/{prefix}{name}"
        seqs = [r.seq for r in records]
        self.wal.append_intent(url, kind, seqs)
        self.sink.publish(url, body)
        if delivered and self.binding is not None:
            if self.sink.register(self.binding, url):
                self.metrics["PartitionsRegistered"] += 1
        self._mark_done(seqs, kind, url)
        now = self.clock()
        if delivered:
            self.metrics["DeliveredRecords"] += len(records)
            self.metrics["DeliveredBytes"] += len(body)
            self.metrics["DeliveredObjects"] += 1
            step = max(1, len(records) // 64)
            self.latencies.extend(now - r.arrival for r in records[::step])
        return 1

    def _mark_done(self, seqs: Sequence[int], kind: str, url: str) -> None:
        self.wal.append_done(url, kind, seqs)
        keep = ~_BIT[kind]
        owed = self.owed
        for s in seqs:
            m = owed.get(s)
            if m is not None:
                m &= keep
                if m:
                    owed[s] = m
                else:
                    del owed[s]

    def _truncate(self) -> None:
        if self.positions:  # the newest segment (kept) says how far each shard was logged
            self.wal.append_positions(self.positions)
        self.wal.truncate(next(iter(self.owed), None), keep_newest=self.positions is not None)

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
        pending_data, pending_backup = [], []
        for seq in sorted(replay.records):
            owed = {k for k in kinds if seq not in replay.done.get(k, ())}
            if not owed:
                continue
            arrival, data = replay.records[seq]
            r = Record(seq, arrival, data)
            self.owed[seq] = sum(_BIT[k] for k in owed)
            (pending_data if DATA in owed else []).append(r)
            if BACKUP in owed:
                pending_backup.append(r)
        self.route(pending_backup, backup=True, data=False)
        self.route(pending_data, backup=False)
        n = len({r.seq for r in pending_data} | {r.seq for r in pending_backup})
        self.metrics["RecoveredRecords"] += n
        self.metrics["Recoveries"] += 1
        if n:
            log.info("delivery stream %s: %d record(s) recovered from the log",
                     self.config.name, n)
        return n

    # -- reporting -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        out = dict(self.metrics)
        out.update({"BufferedRecords": self.data.records + self.errors.records,
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
