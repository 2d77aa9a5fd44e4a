"""Delivery streams whose source is a rayemr Kinesis stream (``KinesisStreamAsSource``).

The stream is read with Kinesis's consumer library (``rayemr.kinesis.consumer``): one
``Worker`` per delivery stream, on a thread of the stream's host, holding the lease of every
shard in a lease table kept next to the stream's write-ahead log. For each batch the record
processor hands the records to the delivery stream, which logs them (durable on return) with
the shard's position, and only then checkpoints. A crash between the two makes the consumer
read those records again; the delivery stream knows from its log how far each shard was
logged, skips them and counts them (``SourceRecordsReadAgain``).

As in Firehose, the stream is read from the delivery stream's creation
(``DeliveryStartTimestamp``): records that arrived in the Kinesis stream earlier are skipped
(``SourceRecordsBeforeStart``; arrival times and the creation time come from the clocks of the
machines involved). Each shard is asked for records once a second while it has none, and
``PutRecord``/``PutRecordBatch`` are refused on such a stream, as AWS does.

The only module of ``rayemr.firehose`` that imports ``rayemr.kinesis``.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable, Sequence

from rayemr.firehose.config import StreamConfig
from rayemr.firehose.errors import InvalidArgumentException
from rayemr.firehose.settings import FirehoseSettings
from rayemr.kinesis.consumer import Checkpointer, LeaseService, RecordProcessor, Worker
from rayemr.kinesis.leases import TRIM_HORIZON

log = logging.getLogger(__name__)
STREAM_ARN = re.compile(r"^arn:[^:]+:kinesis:[^:]*:\d*:stream/([a-zA-Z0-9_.-]{1,128})$")
#: Seconds between GetRecords calls of an idle shard (Firehose: once a second per shard).
POLL_S = 1.0
#: Seconds before a consumer that failed is started again (from its checkpoints).
RESTART_S = 1.0
#: Records one GetRecords call returns at most.
MAX_RECORDS = 10_000

#: deliver(shard id, records' bytes, last sequence number read): log them, durably.
Deliver = Callable[[str, Sequence[bytes], int], None]


def stream_name(arn: Any) -> str:
    """The Kinesis stream a ``KinesisStreamARN`` names."""
    m = STREAM_ARN.match(arn) if isinstance(arn, str) else None
    if not m:
        raise InvalidArgumentException(
            f"KinesisStreamSourceConfiguration.KinesisStreamARN {arn!r} is not a Kinesis stream "
            "ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)")
    return m.group(1)


def kinesis_client(settings: FirehoseSettings) -> Any:
    """A Kinesis client on the backend the settings name (see ``FirehoseSettings``)."""
    import rayemr.kinesis as kinesis

    if settings.kinesis_backend == "local":
        ks = kinesis.KinesisSettings(**({"location": settings.kinesis_location}
                                        if settings.kinesis_location else {}))
        return kinesis.client("local", ks)
    return kinesis.client("ray")


def check_source(config: StreamConfig, settings: FirehoseSettings) -> None:
    """At creation: the Kinesis stream must exist."""
    from rayemr.kinesis.errors import ResourceNotFoundException

    name = stream_name(config.kinesis_arn)
    try:
        kinesis_client(settings).describe_stream_summary(StreamName=name)
    except ResourceNotFoundException:
        raise InvalidArgumentException(
            f"KinesisStreamARN {config.kinesis_arn}: Kinesis stream {name} not found") from None


class _Processor(RecordProcessor):
    """One shard's records into the delivery stream, checkpointed once logged."""

    def __init__(self, source: KinesisSource) -> None:
        self.source = source
        self.shard = ""
        self.logged: str | None = None  # last sequence number logged (or skipped)

    def initialize(self, shard_id: str, starting_sequence: str) -> None:
        self.shard = shard_id

    def process_records(self, records: list[dict], checkpointer: Checkpointer,
                        millis_behind_latest: int) -> None:
        last = records[-1]["SequenceNumber"]
        self.source.take(self.shard, records, millis_behind_latest)
        self.logged = last
        checkpointer.checkpoint(last)

    def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        if self.logged is not None:  # never past what was logged
            checkpointer.checkpoint(self.logged)


class KinesisSource:
    """Reads one delivery stream's Kinesis stream on a thread (see the module docstring)."""

    def __init__(self, config: StreamConfig, created_ms: int, settings: FirehoseSettings,
                 deliver: Deliver, logged: Callable[[str], int], count: Callable[[str, int], None],
                 *, client: Any = None) -> None:
        self.stream = stream_name(config.kinesis_arn)
        self.start_s = created_ms / 1000
        self.deliver, self.logged, self.count = deliver, logged, count
        self.client = client if client is not None else kinesis_client(settings)
        self.lease_url = (f"{settings.location.rstrip('/')}/sources/stream-{config.name}/"
                          f"{created_ms}")
        self.leases = LeaseService("firehose", self.lease_url)
        self.worker_id = f"firehose-{config.name}"
        self.behind: dict[str, int] = {}
        self.error: str | None = None
        self._stop = threading.Event()
        self._worker: Worker | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"firehose-source-{config.name}")
        self._thread.start()

    def take(self, shard: str, records: list[dict], millis_behind: int) -> None:
        """A batch the consumer read: skip what is logged already or predates the stream,
        log the rest (durable on return)."""
        self.behind[shard] = millis_behind
        floor = self.logged(shard)
        fresh: list[bytes] = []
        again = early = 0
        for r in records:
            if int(r["SequenceNumber"]) <= floor:
                again += 1
            elif _arrival(r) < self.start_s:
                early += 1
            else:
                fresh.append(r["Data"])
        self.count("SourceRecordsRead", len(records))
        self.count("SourceRecordsReadAgain", again)
        self.count("SourceRecordsBeforeStart", early)
        if fresh:
            self.deliver(shard, fresh, int(records[-1]["SequenceNumber"]))

    def _run(self) -> None:
        while not self._stop.is_set():
            worker = Worker("firehose", self.stream, lambda: _Processor(self), client=self.client,
                            leases=self.leases, worker_id=self.worker_id,
                            initial_position=TRIM_HORIZON, poll_s=POLL_S,
                            max_records=MAX_RECORDS)
            with self._lock:
                if self._stop.is_set():
                    return
                self._worker = worker
            try:
                worker.run()
                self.error = None
            except Exception as exc:  # noqa: BLE001 - start again from the checkpoints
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("firehose source %s: the consumer failed, restarting: %s",
                            self.worker_id, self.error)
                self._stop.wait(RESTART_S)

    def status(self) -> dict[str, Any]:
        worker = self._worker
        return {"SourceStream": self.stream,
                "SourceShards": sorted(worker.held) if worker is not None else [],
                "SourceMillisBehindLatest": max(self.behind.values(), default=None),
                "SourceError": self.error}

    def stop(self, delete: bool = False) -> None:
        """Stop reading (each shard checkpoints what was logged); forget the leases with
        the delivery stream."""
        with self._lock:
            self._stop.set()
            if self._worker is not None:
                self._worker.stop()
        self._thread.join(timeout=60)
        if delete:
            from rayemr import fs as emrfs

            fs, path = emrfs.resolve(self.lease_url)
            with emrfs.storage_errors(self.lease_url):
                if fs.exists(path):
                    fs.rm(path, recursive=True)


def _arrival(record: dict) -> float:
    value = record.get("ApproximateArrivalTimestamp")
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value) if value is not None else float("inf")
