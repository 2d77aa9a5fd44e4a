"""The control plane: the stream catalog and every operation that changes a stream's shape.

``ControlPlane`` keeps each stream's ``StreamCore``, persists it through the ``Catalog`` after
every change, and starts, closes and stops shard hosts through a *pool* (in-process hosts or
Ray actors; see ``rayemr.kinesis.local`` and ``rayemr.kinesis.actors``). On start it reloads
the catalog, restarts (or re-attaches to) the hosts of every shard still within retention and
finishes a reshard a crash interrupted. Data-plane calls never pass through here: callers ask
for a stream's ``Route`` once and talk to the shard hosts directly.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

from rayemr.kinesis import listing
from rayemr.kinesis.catalog import Catalog
from rayemr.kinesis.config import KinesisSettings
from rayemr.kinesis.errors import (
    InvalidArgumentException, LimitExceededException, ResourceInUseException,
    ResourceNotFoundException,
)
from rayemr.kinesis.host import ShardSpec
from rayemr.kinesis.limits import LIMITS_TAG, PROFILES, ShardLimits
from rayemr.kinesis.stream import ON_DEMAND_SHARDS, Reshard, ShardMeta, StreamCore, StreamStatus

log = logging.getLogger(__name__)


class Pool(Protocol):
    """Starts and calls shard hosts (in-process objects or Ray actors)."""

    def start(self, spec: ShardSpec) -> Any: ...
    def stop(self, handle: Any, delete: bool) -> None: ...
    def call_many(self, calls: Sequence[tuple[Any, str, tuple]]) -> list[Any]: ...
    def result(self, pending: Any) -> Any: ...


@dataclass(frozen=True)
class Route:
    """What the data plane needs of one stream: where each shard's host is."""

    stream: str
    created_ms: int
    arn: str
    limits: ShardLimits
    open_shards: tuple[tuple[int, str], ...]  # (starting hash key, shard id), by key
    handles: Mapping[str, Any]  # every listed shard -> its host
    children: Mapping[str, tuple[dict, ...]]  # closed shard -> its ChildShards


class ControlPlane:
    """See the module docstring. Thread-safe: one lock around every operation."""

    def __init__(self, settings: KinesisSettings, pool: Pool, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.pool = pool
        self.clock = clock
        self.catalog = Catalog(settings.location)
        self.catalog.iterator_key(create=True)
        self._lock = threading.RLock()
        self.streams: dict[str, StreamCore] = {}
        self.handles: dict[tuple[str, str], Any] = {}
        self._recover()

    def __repr__(self) -> str:
        return f"ControlPlane({self.settings.location!r}, {len(self.streams)} streams)"

    # -- lifecycle ---------------------------------------------------------------------------
    def _recover(self) -> None:
        for doc in self.catalog.streams():
            stream = StreamCore.from_dict(doc)
            self.streams[stream.name] = stream
            if stream.status.state is StreamStatus.DELETING:
                self._drop(stream)
                continue
            for meta in stream.listed():
                self._start(stream, meta)
            if stream.resharding is not None:
                log.info("stream %s: finishing an interrupted %s", stream.name,
                         stream.resharding.kind)
                self._finish(stream)
            if stream.updating_to is not None:
                self._scale(stream, stream.updating_to)
            if stream.status.state is StreamStatus.CREATING:
                stream.status.fire("CREATED", now=self.clock())
                self._save(stream)

    def _spec(self, stream: StreamCore, meta: ShardMeta) -> ShardSpec:
        s = self.settings
        return ShardSpec(stream.name, stream.created_ms, meta.shard_id, meta.starting_position,
                         stream.limits, stream.retention_s,
                         self.catalog.shard_url(stream.name, stream.created_ms, meta.shard_id),
                         self.catalog.location, fsync=s.fsync,
                         linger_ms=s.effective_linger_ms, segment_bytes=s.segment_bytes,
                         cache_bytes=s.cache_bytes)

    def _start(self, stream: StreamCore, meta: ShardMeta) -> Any:
        handle = self.pool.start(self._spec(stream, meta))
        self.handles[(stream.name, meta.shard_id)] = handle
        return handle

    def _save(self, stream: StreamCore) -> None:
        self.catalog.save_stream(stream.name, stream.to_dict())

    def _stream(self, name: str) -> StreamCore:
        stream = self.streams.get(name)
        if stream is None or stream.status.state is StreamStatus.DELETING:
            raise ResourceNotFoundException(
                f"Stream {name} under account {self.settings.account} not found.")
        return stream

    def shutdown(self) -> None:
        """Stop every host (their logs stay)."""
        with self._lock:
            for handle in self.handles.values():
                self.pool.stop(handle, False)
            self.handles.clear()

    # -- streams -----------------------------------------------------------------------------
    def create_stream(self, name: str, shard_count: int | None, mode: str,
                      tags: Mapping[str, str]) -> None:
        with self._lock:
            if name in self.streams:
                raise ResourceInUseException(
                    f"Stream {name} under account {self.settings.account} already exists.")
            if mode == "ON_DEMAND":
                shard_count = shard_count or ON_DEMAND_SHARDS
            elif shard_count is None:
                raise InvalidArgumentException(
                    "ShardCount is required for a stream in PROVISIONED mode")
            open_now = sum(len(s.open_shards()) for s in self.streams.values())
            if open_now + shard_count > self.settings.shard_limit:
                raise LimitExceededException(
                    f"This request would exceed the shard limit for the account "
                    f"{self.settings.account} in {self.settings.region}. Current limit of "
                    f"shards is {self.settings.shard_limit}. Number of additional shards that "
                    f"would have resulted from this request: {shard_count}.")
            limits = self._limits(tags)
            stream = StreamCore(name, self.settings.arn(name), shard_count=shard_count,
                                now=self.clock(), limits=limits, mode=mode, tags=tags)
            self.streams[name] = stream
            self._save(stream)
            try:
                for meta in stream.listed():
                    self._start(stream, meta)
            except Exception:
                self._drop(stream)
                raise
            stream.status.fire("CREATED", now=self.clock())
            self._save(stream)

    def _limits(self, tags: Mapping[str, str]) -> ShardLimits:
        profile = tags.get(LIMITS_TAG)
        if profile is None:
            return self.settings.default_limits()
        if profile not in PROFILES:
            raise InvalidArgumentException(
                f"Tag {LIMITS_TAG}={profile!r}: use one of {', '.join(PROFILES)}")
        return ShardLimits.profile(profile)

    def delete_stream(self, name: str, enforce_consumer_deletion: bool) -> None:
        with self._lock:
            stream = self._stream(name)
            if stream.consumers and not enforce_consumer_deletion:
                raise ResourceInUseException(
                    f"Stream {name} under account {self.settings.account} has registered "
                    "consumers; deregister them or set EnforceConsumerDeletion")
            stream.status.fire("DELETE", now=self.clock())
            self._save(stream)
            self._drop(stream)

    def _drop(self, stream: StreamCore) -> None:
        for meta in list(stream.shards.values()):
            handle = self.handles.pop((stream.name, meta.shard_id), None)
            if handle is not None:
                self.pool.stop(handle, True)
        self.catalog.delete_stream(stream.name)
        self.streams.pop(stream.name, None)

    # -- reads of metadata -----------------------------------------------------------------------
    def describe_stream(self, name: str, limit: int, exclusive_start: str | None) -> dict:
        with self._lock:
            return listing.describe_stream(self._stream(name), limit, exclusive_start)

    def describe_stream_summary(self, name: str) -> dict:
        with self._lock:
            return listing.describe_summary(self._stream(name))

    def list_streams(self, limit: int, exclusive_start: str | None,
                     next_token: str | None) -> dict:
        with self._lock:
            live = [s for s in self.streams.values()
                    if s.status.state is not StreamStatus.DELETING]
            return listing.list_streams(live, limit, exclusive_start, next_token, self.clock())

    def list_shards(self, name: str | None, *, max_results: int, exclusive_start: str | None,
                    shard_filter: Mapping[str, Any] | None, next_token: str | None,
                    created: float | None) -> dict:
        with self._lock:
            if name is None:
                doc = listing.read_token(next_token or "", "shards", self.clock())
                name = doc["s"]
            stream = self._stream(name)  # type: ignore[arg-type]
            if created is not None and int(created * 1000) != stream.created_ms:
                raise ResourceNotFoundException(
                    f"Stream {name} created at {created} not found (it was created at "
                    f"{stream.created})")
            return listing.list_shards(stream, max_results=max_results,
                                       exclusive_start=exclusive_start,
                                       shard_filter=shard_filter, next_token=next_token,
                                       now=self.clock())

    def describe_limits(self) -> dict:
        with self._lock:
            open_now = sum(len(s.open_shards()) for s in self.streams.values())
            on_demand = sum(1 for s in self.streams.values() if s.mode == "ON_DEMAND")
            return {"ShardLimit": self.settings.shard_limit, "OpenShardCount": open_now,
                    "OnDemandStreamCount": on_demand, "OnDemandStreamCountLimit": 50}

    def route(self, name: str) -> Route:
        with self._lock:
            stream = self._stream(name)
            opened = sorted((m.hash_range.start, m.shard_id) for m in stream.open_shards())
            listed = stream.listed()
            return Route(stream.name, stream.created_ms, stream.arn, stream.limits,
                         tuple(opened),
                         {m.shard_id: self.handles[(name, m.shard_id)] for m in listed},
                         {m.shard_id: tuple(listing.child_shards(stream, m.shard_id))
                          for m in listed if not m.open})

    def settings_(self) -> KinesisSettings:
        return self.settings

    # -- resharding ----------------------------------------------------------------------------
    def split_shard(self, name: str, shard_id: str, new_starting_hash_key: str) -> None:
        with self._lock:
            stream = self._stream(name)
            plan = stream.plan_split(shard_id, new_starting_hash_key, self._room(stream))
            self._reshard(stream, plan)

    def merge_shards(self, name: str, shard_id: str, adjacent_id: str) -> None:
        with self._lock:
            stream = self._stream(name)
            self._reshard(stream, stream.plan_merge(shard_id, adjacent_id))

    def update_shard_count(self, name: str, target: int, scaling_type: str) -> dict:
        with self._lock:
            stream = self._stream(name)
            current = stream.plan_update(target, scaling_type, self._room(stream))
            stream.start_update(target, self.clock())
            self._save(stream)
            self._scale(stream, target)
            return {"StreamName": name, "CurrentShardCount": current,
                    "TargetShardCount": target, "StreamARN": stream.arn}

    def _room(self, stream: StreamCore) -> int:
        """Open shards this stream may have under the account's shard limit."""
        others = sum(len(s.open_shards()) for s in self.streams.values() if s is not stream)
        return self.settings.shard_limit - others

    def _scale(self, stream: StreamCore, target: int) -> None:
        while True:
            step = stream.next_uniform_step(target)
            if step is None:
                break
            self._reshard(stream, step)
        stream.end_update(self.clock())
        self._save(stream)

    def _reshard(self, stream: StreamCore, plan: Reshard) -> None:
        stream.begin(plan, self.clock())
        self._save(stream)  # the intent survives a crash; recovery finishes it
        self._finish(stream)

    def _finish(self, stream: StreamCore) -> None:
        plan = stream.resharding
        assert plan is not None
        parents = [self.handles[(stream.name, sid)] for sid in plan.parents]
        pending = self.pool.call_many([(h, "close", ()) for h in parents])
        endings = {sid: self.pool.result(p) for sid, p in zip(plan.parents, pending)}
        children = stream.finish(endings, self.clock())
        for meta in children:
            self._start(stream, meta)
        self._save(stream)

    # -- retention, tags, consumers --------------------------------------------------------------
    def set_retention(self, name: str, hours: int, increase: bool) -> None:
        with self._lock:
            stream = self._stream(name)
            stream.set_retention(hours, increase=increase)
            self._save(stream)
            hosts = [self.handles[(name, m.shard_id)] for m in stream.listed()]
            for p in self.pool.call_many([(h, "set_retention", (stream.retention_s,))
                                          for h in hosts]):
                self.pool.result(p)

    def add_tags(self, name: str, tags: Mapping[str, str]) -> None:
        with self._lock:
            stream = self._stream(name)
            if len(set(stream.tags) | set(tags)) > 50:
                raise LimitExceededException(
                    f"Stream {name} would have more than 50 tags")
            stream.tags.update(tags)
            self._save(stream)

    def remove_tags(self, name: str, keys: Sequence[str]) -> None:
        with self._lock:
            stream = self._stream(name)
            for k in keys:
                stream.tags.pop(k, None)
            self._save(stream)

    def list_tags(self, name: str, exclusive_start: str | None, limit: int) -> dict:
        with self._lock:
            return listing.list_tags(self._stream(name), exclusive_start, limit)

    def register_consumer(self, name: str, consumer: str) -> dict:
        with self._lock:
            stream = self._stream(name)
            c = stream.add_consumer(consumer, self.clock())
            self._save(stream)
            return {"Consumer": c.to_wire()}

    def describe_consumer(self, name: str, consumer: str | None, arn: str | None) -> dict:
        with self._lock:
            stream = self._stream(name)
            c = listing.consumer_by(stream, consumer, arn)
            return {"ConsumerDescription": {**c.to_wire(), "StreamARN": stream.arn}}

    def deregister_consumer(self, name: str, consumer: str | None, arn: str | None) -> None:
        with self._lock:
            stream = self._stream(name)
            c = listing.consumer_by(stream, consumer, arn)
            del stream.consumers[c.name]
            self._save(stream)

    def list_consumers(self, name: str, max_results: int, next_token: str | None) -> dict:
        with self._lock:
            stream = self._stream(name)
            after = listing.read_token(next_token, "consumers", self.clock())["a"] \
                if next_token else ""
            names = sorted(n for n in stream.consumers if n > after)
            page = names[:max_results]
            out: dict[str, Any] = {"Consumers": [stream.consumers[n].to_wire() for n in page]}
            if len(names) > len(page):
                out["NextToken"] = listing.make_token("consumers", page[-1], self.clock())
            return out

    # -- upkeep --------------------------------------------------------------------------------
    def maintain(self) -> list[str]:
        """Expire closed shards past retention (their hosts stop, logs go); returns them."""
        gone = []
        with self._lock:
            now = self.clock()
            for stream in list(self.streams.values()):
                expired = stream.expire_due(now)
                for sid in expired:
                    handle = self.handles.pop((stream.name, sid), None)
                    if handle is not None:
                        self.pool.stop(handle, True)
                    gone.append(f"{stream.name}/{sid}")
                if expired:
                    self._save(stream)
        return gone

    def stats(self, name: str) -> list[dict]:
        with self._lock:
            stream = self._stream(name)
            hosts = [self.handles[(name, m.shard_id)] for m in stream.listed()]
        return [self.pool.result(p) for p in self.pool.call_many([(h, "stats", ())
                                                                   for h in hosts])]

