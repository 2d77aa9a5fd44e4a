"""The Kinesis API: every operation by its AWS name, over a control plane and shard hosts.

``KinesisService.call("PutRecords", params)`` takes the request as the API's JSON has it (with
``Data`` already bytes) and returns the response the same way (timestamps as epoch seconds,
``Data`` as bytes); the Python client and the HTTP endpoint are thin layers over it. Requests
are validated here, at the edge. Control operations go to the control plane; puts and reads
go straight to the shard hosts, through a per-stream ``Route`` cached here and refreshed when a
shard turns out to be closed (puts are re-routed to its children).
"""
from __future__ import annotations

import bisect
import hashlib
import operator
import threading
from datetime import datetime
from itertools import compress, repeat
from typing import Any, Callable, Mapping

from rayemr.kinesis import iterators, seqnum
from rayemr.kinesis.control import Pool, Route
from rayemr.kinesis.errors import (
    InternalFailureException, InvalidArgumentException, KinesisError,
    ProvisionedThroughputExceededException, ResourceNotFoundException, ValidationException,
)
from rayemr.kinesis.hashkeys import parse_hash_key
from rayemr.kinesis.records import Columns
from rayemr.kinesis.validate import validate

_BLOB = (bytes, bytearray, memoryview)
_DIGEST = operator.methodcaller("digest")
#: Re-routing rounds for records that hit a shard closed by a concurrent reshard.
REROUTES = 4


def epoch(value: Any) -> float:
    """A timestamp parameter (epoch seconds, or a datetime) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class KinesisService:
    """The API (see the module docstring); ``control`` is a ControlPlane or a proxy of one."""

    def __init__(self, control: Any, pool: Pool) -> None:
        self.control = control
        self.pool = pool
        self.settings = control.settings_()
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._ops: dict[str, Callable[[Mapping[str, Any]], dict]] = {
            name: getattr(self, "_" + _snake(name)) for name in OPERATIONS}

    def call(self, operation: str, params: Mapping[str, Any] | None = None) -> dict:
        op = self._ops.get(operation)
        if op is None:
            raise InvalidArgumentException(f"Operation {operation} is not supported")
        params = params if params is not None else {}
        validate(operation, params, records=False)  # PutRecords' records: in _prepare
        return op(params)

    # -- helpers -----------------------------------------------------------------------------
    def _name(self, params: Mapping[str, Any]) -> str:
        name, arn = params.get("StreamName"), params.get("StreamARN")
        if arn:
            parts = arn.split(":", 5)
            if (len(parts) != 6 or not parts[5].startswith("stream/")
                    or parts[4] != self.settings.account or parts[3] != self.settings.region):
                raise ResourceNotFoundException(f"Stream {arn} not found.")
            from_arn = parts[5][len("stream/"):]
            if name and name != from_arn:
                raise InvalidArgumentException(
                    f"StreamName {name} and StreamARN {arn} name different streams")
            return from_arn
        if not name:
            raise ValidationException("Either StreamName or StreamARN should be provided.")
        return name

    def _route(self, name: str, refresh: bool = False) -> Route:
        with self._lock:
            route = None if refresh else self._routes.get(name)
        if route is None:
            try:
                route = self.control.route(name)
            except ResourceNotFoundException:
                with self._lock:
                    self._routes.pop(name, None)
                raise
            with self._lock:
                self._routes[name] = route
        return route

    def _one(self, handle: Any, method: str, *args: Any) -> Any:
        return self.pool.result(self.pool.call_many([(handle, method, args)])[0])

    # -- control operations ------------------------------------------------------------------------
    def _create_stream(self, p: Mapping[str, Any]) -> dict:
        mode = (p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        self.control.create_stream(p["StreamName"], p.get("ShardCount"), mode,
                                   dict(p.get("Tags") or {}))
        return {}

    def _delete_stream(self, p: Mapping[str, Any]) -> dict:
        name = self._name(p)
        self.control.delete_stream(name, bool(p.get("EnforceConsumerDeletion")))
        with self._lock:
            self._routes.pop(name, None)
        return {}

    def _describe_stream(self, p: Mapping[str, Any]) -> dict:
        return self.control.describe_stream(self._name(p), p.get("Limit") or 100,
                                            p.get("ExclusiveStartShardId"))

    def _describe_stream_summary(self, p: Mapping[str, Any]) -> dict:
        return self.control.describe_stream_summary(self._name(p))

    def _list_streams(self, p: Mapping[str, Any]) -> dict:
        if p.get("NextToken") and p.get("ExclusiveStartStreamName"):
            raise InvalidArgumentException(
                "NextToken and ExclusiveStartStreamName cannot be provided together.")
        return self.control.list_streams(p.get("Limit") or 100,
                                         p.get("ExclusiveStartStreamName"), p.get("NextToken"))

    def _list_shards(self, p: Mapping[str, Any]) -> dict:
        token = p.get("NextToken")
        named = p.get("StreamName") or p.get("StreamARN")
        if token and (named or p.get("ExclusiveStartShardId") or p.get("ShardFilter")
                      or p.get("StreamCreationTimestamp") is not None):
            raise InvalidArgumentException(
                "NextToken cannot be provided together with StreamName, StreamARN, "
                "ExclusiveStartShardId, ShardFilter or StreamCreationTimestamp.")
        if p.get("ExclusiveStartShardId") and p.get("ShardFilter"):
            raise InvalidArgumentException(
                "ExclusiveStartShardId and ShardFilter cannot be provided together.")
        created = p.get("StreamCreationTimestamp")
        shard_filter = p.get("ShardFilter")
        if shard_filter and shard_filter.get("Timestamp") is not None:
            shard_filter = {**shard_filter, "Timestamp": epoch(shard_filter["Timestamp"])}
        return self.control.list_shards(
            None if token else self._name(p), max_results=p.get("MaxResults") or 1000,
            exclusive_start=p.get("ExclusiveStartShardId"), shard_filter=shard_filter,
            next_token=token, created=None if created is None else epoch(created))

    def _split_shard(self, p: Mapping[str, Any]) -> dict:
        self.control.split_shard(self._name(p), p["ShardToSplit"], p["NewStartingHashKey"])
        return {}

    def _merge_shards(self, p: Mapping[str, Any]) -> dict:
        self.control.merge_shards(self._name(p), p["ShardToMerge"], p["AdjacentShardToMerge"])
        return {}

    def _update_shard_count(self, p: Mapping[str, Any]) -> dict:
        return self.control.update_shard_count(self._name(p), p["TargetShardCount"],
                                               p["ScalingType"])

    def _increase_stream_retention_period(self, p: Mapping[str, Any]) -> dict:
        self.control.set_retention(self._name(p), p["RetentionPeriodHours"], True)
        return {}

    def _decrease_stream_retention_period(self, p: Mapping[str, Any]) -> dict:
        self.control.set_retention(self._name(p), p["RetentionPeriodHours"], False)
        return {}

    def _add_tags_to_stream(self, p: Mapping[str, Any]) -> dict:
        self.control.add_tags(self._name(p), dict(p["Tags"]))
        return {}

    def _remove_tags_from_stream(self, p: Mapping[str, Any]) -> dict:
        self.control.remove_tags(self._name(p), list(p["TagKeys"]))
        return {}

    def _list_tags_for_stream(self, p: Mapping[str, Any]) -> dict:
        return self.control.list_tags(self._name(p), p.get("ExclusiveStartTagKey"),
                                      p.get("Limit") or 50)

    def _consumer_stream(self, p: Mapping[str, Any]) -> str:
        arn = p.get("StreamARN")
        if not arn and p.get("ConsumerARN"):
            arn = p["ConsumerARN"].split("/consumer/", 1)[0]
        if not arn:
            raise InvalidArgumentException("StreamARN or ConsumerARN is required")
        return self._name({"StreamARN": arn})

    def _register_stream_consumer(self, p: Mapping[str, Any]) -> dict:
        return self.control.register_consumer(self._consumer_stream(p), p["ConsumerName"])

    def _describe_stream_consumer(self, p: Mapping[str, Any]) -> dict:
        return self.control.describe_consumer(self._consumer_stream(p), p.get("ConsumerName"),
                                              p.get("ConsumerARN"))

    def _deregister_stream_consumer(self, p: Mapping[str, Any]) -> dict:
        self.control.deregister_consumer(self._consumer_stream(p), p.get("ConsumerName"),
                                         p.get("ConsumerARN"))
        return {}

    def _list_stream_consumers(self, p: Mapping[str, Any]) -> dict:
        return self.control.list_consumers(self._consumer_stream(p), p.get("MaxResults") or 100,
                                           p.get("NextToken"))

    def _describe_limits(self, p: Mapping[str, Any]) -> dict:
        return self.control.describe_limits()

    # -- puts -------------------------------------------------------------------------------------
    def _prepare(self, route: Route, records: list, where: str, params: Mapping[str, Any]
                 ) -> tuple[list[str], list[bytes], dict[int, int]]:
        """Keys, data and explicit hash keys of the records, checked in one pass
        (C-level loops: this is the hot path). A record that looks wrong sends the request
        through the full validation, which names every problem as AWS does."""
        op = "PutRecords" if where == "records" else "PutRecord"
        try:
            keys = [r["PartitionKey"] for r in records]
            datas = [r["Data"] for r in records]
        except (KeyError, TypeError):
            keys = datas = []
        key_lens = list(map(len, keys)) if set(map(type, keys)) == {str} else []
        if (not keys or not key_lens or min(key_lens) < 1 or max(key_lens) > 256
                or not set(map(type, datas)) <= {bytes, bytearray, memoryview}):
            validate(op, params)
            raise ValidationException(f"{op}: a record is not valid")
        if set(map(type, datas)) != {bytes}:
            datas = [bytes(d) for d in datas]
        data_lens = list(map(len, datas))
        max_bytes = route.limits.record_max_bytes
        if max(data_lens) > max_bytes:
            i = next(i for i, n in enumerate(data_lens) if n > max_bytes)
            at = f"records.{i + 1}.member.data" if where == "records" else "data"
            raise ValidationException(
                f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 "
                f"lim={data_lens[i]} cap={data_lens[i]}]' at '{at}' failed to satisfy "
                f"constraint: Member must have length less than or equal to {max_bytes}")
        if not "".join(keys).isascii():
            key_lens = [len(k.encode("utf-8")) for k in keys]
        explicit: dict[int, int] = {}
        if any(map(operator.contains, records, repeat("ExplicitHashKey"))):
            for i, r in enumerate(records):
                text = r.get("ExplicitHashKey")
                if text is None:
                    continue
                hk = parse_hash_key(text)
                if hk is None:
                    validate(op, params)
                    raise InvalidArgumentException(
                        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                        f"[0, 2^128-1]. Specified value was {text}")
                explicit[i] = hk
        limit = route.limits.put_request_max_bytes
        if sum(data_lens) + sum(key_lens) > limit:
            raise InvalidArgumentException(
                f"Records size exceeds {limit // (1024 * 1024)} MB limit")
        return keys, datas, explicit

    @staticmethod
    def _groups(route: Route, todo: list[int], keys: list[str],
                explicit: dict[int, int]) -> dict[str, list[int]]:
        """Records by the open shard owning their hash key (no hashing with one shard).

        MD5 digests compare as bytes the way the big-endian numbers they are compare, so the
        shard of each record is a bisection of its digest among the shards' starting keys,
        in C-level passes."""
        shards = route.open_shards
        if len(shards) == 1:
            return {shards[0][1]: todo}
        starts = [s.to_bytes(16, "big") for s, _ in shards]
        ids = [sid for _, sid in shards]
        picked = _pick(keys, todo)
        if "".join(picked).isascii():
            encoded = map(str.encode, picked)
        else:
            encoded = (k.encode("utf-8") for k in picked)
        digests = map(_DIGEST, map(hashlib.md5, encoded))
        where = list(map(bisect.bisect_right, repeat(starts), digests))
        for j, i in enumerate(todo) if explicit else ():
            if i in explicit:
                where[j] = bisect.bisect_right(starts, explicit[i].to_bytes(16, "big"))
        groups = {ids[w - 1]: list(compress(todo, map(w.__eq__, where)))
                  for w in sorted(set(where))}
        return groups

    def _put(self, name: str, keys: list[str], datas: list[bytes], explicit: dict[int, int],
             ordering: int | None = None) -> list[dict]:
        """Put records (already checked); one result per record, as PutRecords reports."""
        results: list[dict | None] = [None] * len(keys)
        todo = list(range(len(keys)))
        route = self._route(name)
        for _ in range(REROUTES):
            items = list(self._groups(route, todo, keys, explicit).items())
            calls = []
            for sid, idx in items:
                if len(idx) == len(keys):  # all of them: no picking
                    cols = Columns.of(keys, datas)
                else:
                    cols = Columns.of(_pick(keys, idx), _pick(datas, idx))
                calls.append((route.handles[sid], "put_columns", (cols, ordering)))
            pending = self.pool.call_many(calls)
            todo = []
            for (sid, idx), p in zip(items, pending):
                try:
                    got = self.pool.result(p)
                except KinesisError as exc:
                    for i in idx:
                        results[i] = _failed(exc)
                    continue
                if got is None:  # closed by a reshard: try its children
                    todo.extend(idx)
                    continue
                first, accepted = got
                done = [{"SequenceNumber": n, "ShardId": sid} for n in seqnum.encode_range(
                    first, accepted, seqnum.shard_index(sid))]
                if len(idx) == len(results) and accepted == len(idx):
                    results = done  # type: ignore[assignment]  # the common case: no mapping
                else:
                    for i, res in zip(idx, done):
                        results[i] = res
                throttled = _throttled(sid, name, self.settings.account)
                for i in idx[accepted:]:
                    results[i] = throttled
            if not todo:
                break
            todo.sort()
            route = self._route(name, refresh=True)
        for i in todo:
            results[i] = _failed(InternalFailureException("Internal service failure."))
        return results  # type: ignore[return-value]

    def _put_records(self, p: Mapping[str, Any]) -> dict:
        name = self._name(p)
        keys, datas, explicit = self._prepare(self._route(name), p["Records"], "records", p)
        results = self._put(name, keys, datas, explicit)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}

    def _put_record(self, p: Mapping[str, Any]) -> dict:
        name = self._name(p)
        keys, datas, explicit = self._prepare(self._route(name), [p], "data", p)
        ordering = None
        if p.get("SequenceNumberForOrdering") is not None:
            ordering = seqnum.parse(p["SequenceNumberForOrdering"],
                                    what="SequenceNumberForOrdering")[0]
        (result,) = self._put(name, keys, datas, explicit, ordering)
        if "ErrorCode" in result:
            cls = (ProvisionedThroughputExceededException
                   if result["ErrorCode"] == "ProvisionedThroughputExceededException"
                   else InternalFailureException)
            raise cls(result["ErrorMessage"])
        return {**result, "EncryptionType": "NONE"}

    # -- reads ------------------------------------------------------------------------------------
    def _get_shard_iterator(self, p: Mapping[str, Any]) -> dict:
        name = self._name(p)
        kind, shard_id = p["ShardIteratorType"], p["ShardId"]
        seq, ts = p.get("StartingSequenceNumber"), p.get("Timestamp")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and seq is None:
            raise InvalidArgumentException(
                f"Must specify StartingSequenceNumber for {kind} ShardIteratorType")
        if kind == "AT_TIMESTAMP" and ts is None:
            raise InvalidArgumentException(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                "Current request has no timestamp parameter.")
        handle = self._handle(name, shard_id)
        token = self._one(handle, "iterator", kind, seq, None if ts is None else epoch(ts))
        return {"ShardIterator": token}

    def _handle(self, name: str, shard_id: str) -> Any:
        route = self._route(name)
        handle = route.handles.get(shard_id)
        if handle is None:
            route = self._route(name, refresh=True)
            handle = route.handles.get(shard_id)
        if handle is None:
            raise ResourceNotFoundException(
                f"Shard {shard_id} in stream {name} under account {self.settings.account} does "
                "not exist")
        return handle

    def _get_records(self, p: Mapping[str, Any]) -> dict:
        token = p["ShardIterator"]
        state = iterators.peek(token)
        shard_id = seqnum.shard_id(state.shard_index)
        route = self._route(state.stream)
        if route.created_ms != state.stream_created_ms:
            raise ResourceNotFoundException(
                f"Shard {shard_id} in stream {state.stream} under account "
                f"{self.settings.account} does not exist (the stream was deleted)")
        out = self._one(self._handle(state.stream, shard_id), "get_records", token,
                        p.get("Limit") or 10000)
        if "NextShardIterator" not in out:
            children = route.children.get(shard_id)
            if not children:
                children = self._route(state.stream, refresh=True).children.get(shard_id, ())
            out["ChildShards"] = list(children)
        return out


def _pick(values: list, idx: list[int]) -> list:
    """``[values[i] for i in idx]`` in one C-level pass."""
    if len(idx) == 1:
        return [values[idx[0]]]
    return list(operator.itemgetter(*idx)(values)) if idx else []


def _throttled(shard_id: str, stream: str, account: str) -> dict:
    return {"ErrorCode": "ProvisionedThroughputExceededException",
            "ErrorMessage": f"Rate exceeded for shard {shard_id} in stream {stream} under "
                            f"account {account}."}


def _failed(exc: KinesisError) -> dict:
    code = "ProvisionedThroughputExceededException" if isinstance(
        exc, ProvisionedThroughputExceededException) else "InternalFailure"
    return {"ErrorCode": code, "ErrorMessage": exc.message}


def _snake(name: str) -> str:
    out = []
    for ch in name:
        if ch.isupper() and out:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


#: Every operation the service answers, by its AWS name.
OPERATIONS = (
    "CreateStream", "DeleteStream", "DescribeStream", "DescribeStreamSummary", "ListStreams",
    "ListShards", "PutRecord", "PutRecords", "GetShardIterator", "GetRecords", "SplitShard",
    "MergeShards", "UpdateShardCount", "IncreaseStreamRetentionPeriod",
    "DecreaseStreamRetentionPeriod", "AddTagsToStream", "RemoveTagsFromStream",
    "ListTagsForStream", "RegisterStreamConsumer", "DescribeStreamConsumer",
    "DeregisterStreamConsumer", "ListStreamConsumers", "DescribeLimits",
)
