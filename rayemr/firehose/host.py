"""A delivery stream's host: the stream, a lock and a flusher thread.

In-process (``LocalPool``) it is a plain object; on Ray the same class is the body of a
restartable actor (``rayemr.firehose.control.RayPool``): Ray re-runs ``__init__`` after the
actor, its process or its node dies, and ``__init__`` recovers from the write-ahead log.
"""
from __future__ import annotations

import functools
import logging
import sys
import threading
import time
import warnings
from typing import Any, Sequence

from rayemr.core.errors import RayEmrError
from rayemr.firehose.config import StreamConfig
from rayemr.firehose.delivery import DeliveryStream
from rayemr.firehose.direct import Endpoint, PutServer
from rayemr.firehose.errors import FirehoseError, InternalFailureException
from rayemr.firehose.requests import PutResult, settled
from rayemr.firehose.settings import FirehoseSettings

log = logging.getLogger(__name__)
#: Longest the flusher sleeps between looks at the buffers.
TICK_S = 0.1


class StreamHost:
    """One delivery stream live: puts (any thread) log under ``_lock`` and wait for their fsync
    outside it; the flusher thread routes pending records -- worked out without ``_lock``
    (``prepare``: Arrow, jq, conversion), then applied under it -- and flushes due buffers.
    ``_routing`` keeps one routing round at a time: taken before ``_lock`` by the flusher and
    by whatever must see every record in the buffers (flush, update, stop)."""

    def __init__(self, config: StreamConfig, version: int, created_ms: int,
                 settings: FirehoseSettings) -> None:
        self._lock = threading.Lock()
        self._routing = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.stream = DeliveryStream(config, version, created_ms, settings, route_inline=False)
        self.stream.recover()
        self._failure: str | None = None
        self._puts: PutServer | None = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"firehose-{config.name}")
        self._thread.start()
        self.source = None
        if config.source != "DirectPut":
            from rayemr.firehose.source import KinesisSource

            self.source = KinesisSource(config, created_ms, settings, self._put_source,
                                        self._logged, self._count)

    # -- the Kinesis source's callbacks (its consumer's thread) ------------------------------------
    def _put_source(self, shard: str, datas: Sequence[bytes], last: int) -> None:
        """Log records read from a shard once the buffers have room (back-pressure: the reader
        waits, records are never refused)."""
        limit = self.stream.settings.max_buffered_bytes
        while not self._stop.is_set():
            with self._lock:
                if self.stream.buffered_bytes() < limit:
                    break
            time.sleep(TICK_S)
        with self._lock:
            ticket = self.stream.put_source(shard, datas, last)
            if self.stream.route_wanted:
                self._wake.set()
        self.stream.wal.durable(ticket)  # before the consumer checkpoints

    def _logged(self, shard: str) -> int:
        with self._lock:
            return (self.stream.positions or {}).get(shard, -1)

    def _count(self, metric: str, n: int) -> None:
        if n:
            with self._lock:
                self.stream.metrics[metric] += n

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                deadline = self.stream.next_deadline()
            wait = TICK_S if deadline is None else max(0.0, min(TICK_S, deadline - time.time()))
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                with self._routing:
                    self._round()
                self._failure = None
                self.stream.wal.prepare_ahead()  # no lock of the stream's held: puts go on
            except Exception as exc:  # noqa: BLE001 - keep the buffers, retry next tick
                with self._lock:
                    self.stream.metrics["FlushErrors"] += 1
                self._failure = f"{type(exc).__name__}: {exc}"
                log.warning("delivery stream %s: flush failed, will retry: %s",
                            self.stream.config.name, self._failure)
                self._stop.wait(1.0)

    def _round(self) -> None:
        """Route what is pending (worked out outside the lock), then flush what is due."""
        with self._lock:
            chunk = self.stream.take_pending()
        if chunk is not None:
            try:
                routed = self.stream.prepare(chunk)
            except BaseException:
                with self._lock:  # nothing of it was applied: it is pending again
                    self.stream.requeue(chunk)
                raise
            with self._lock:
                self.stream.apply(routed)
            self.stream.encode_ahead()  # outside the lock: Parquet row groups, no GIL
        with self._lock:
            self.stream.tick()

    def ping(self) -> bool:
        return True

    def put_endpoint(self) -> Endpoint:
        """Where this host takes puts without an actor call (``rayemr.firehose.direct``): a
        port on its node, opened on first use; the answer holds the secret that opens it, so
        only Ray hands it out."""
        with self._lock:
            if self._puts is None:
                self._puts = PutServer(self.put_deferred, _node_address(),
                                       self.stream.config.name)
            return self._puts.endpoint

    def put(self, datas: Sequence[bytes], token: bytes = b"") -> PutResult:
        """Log and take a put; answered once its records are on disk (group commit: the
        fsync happens outside the lock, shared with the puts that arrive meanwhile)."""
        result = self.put_deferred(datas, token)
        result.settle()
        result.settle = settled  # nothing left to wait for (and the answer may cross Ray)
        return result

    def put_deferred(self, datas: Sequence[bytes], token: bytes = b"") -> PutResult:
        """Log and take a put, its records on their way to disk: its ``settle()`` waits for
        them (InternalFailureException if they could not be written), so the caller can
        build its answer meanwhile -- and must settle before it answers."""
        try:
            with self._lock:
                result = self.stream.put(datas, token)
                if self.stream.route_wanted:
                    self._wake.set()
        except FirehoseError:
            raise
        except (OSError, RayEmrError) as exc:
            raise self._log_failed(exc) from None
        if result.ticket:
            result.settle = functools.partial(self._durable, result.ticket)
        return result

    def _durable(self, ticket: int) -> None:
        try:
            self.stream.wal.durable(ticket)
        except (OSError, RayEmrError) as exc:
            raise self._log_failed(exc) from None

    def _log_failed(self, exc: BaseException) -> InternalFailureException:
        """AWS's answer to a put whose records could not be logged (the cause, with the log's
        path, goes to this process's log, not to the caller)."""
        log.warning("delivery stream %s: could not log a put: %s", self.stream.config.name, exc)
        return InternalFailureException(
            "the records could not be written to the stream's write-ahead log "
            f"({type(exc).__name__}); the call is not acknowledged: retry it")

    def update(self, config: StreamConfig, version: int) -> None:
        with self._routing, self._lock:
            self.stream.flush_all()
            self.stream.configure(config, version)

    def flush(self) -> int:
        with self._routing, self._lock:
            return self.stream.flush_all()

    def metrics(self) -> dict[str, Any]:
        with self._lock:
            out = self.stream.snapshot()
        out["LastFlushError"] = self._failure
        if self.source is not None:
            out.update(self.source.status())
        out.update(_placement())
        if self._puts is not None:
            counts = dict(self._puts.counts)
            out.update({"DirectPuts": counts["puts"], "DirectPutConnections": counts["connections"],
                        "DirectPutConnectionsRefused": counts["refused"],
                        "DirectPutRequestsRefused": counts["rejected"]})
        return out

    def stop(self, delete: bool = False) -> None:
        """Stop: deliver what is buffered (also when the stream is deleted: every acknowledged
        record is delivered), then close the log (and delete it with the stream)."""
        if self._puts is not None:  # no more puts: what was acknowledged is delivered below
            self._puts.close()
        if self.source is not None:  # first: what it logs is delivered below
            self.source.stop(delete)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        with self._routing, self._lock:
            self.stream.flush_all()
            self.stream.close(delete)


def _node_address() -> str:
    """The address other nodes reach this process at: its Ray node's (loopback without Ray)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return "127.0.0.1"
    return ray.util.get_node_ip_address()


def _placement() -> dict[str, Any]:
    """Where a Ray-hosted stream runs, and whether Ray restarted it (empty in-process)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return {}
    ctx = ray.get_runtime_context()
    if ctx.get_actor_id() is None:
        return {}
    with warnings.catch_warnings():
        # the property reads Ray's own deprecated ``actor_id``: a warning about Ray's code
        # that would reach the user's console
        warnings.simplefilter("ignore", DeprecationWarning)
        restarted = ctx.was_current_actor_reconstructed
    return {"HostNode": ctx.get_node_id(), "HostRestarted": restarted}
