"""Read-only answers about streams: DescribeStream(Summary), ListStreams, ListShards, tags,
consumers, with AWS's paging (``NextToken``s that expire after five minutes). Pure."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping, Sequence

from rayemr.kinesis.errors import (
    ExpiredNextTokenException, InvalidArgumentException, ResourceNotFoundException,
)
from rayemr.kinesis.stream import ShardMeta, StreamCore

TOKEN_LIFETIME_S = 300.0


def make_token(kind: str, after: str, now: float, **extra: Any) -> str:
    doc = {"k": kind, "a": after, "t": round(now, 3), **extra}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def read_token(token: str, kind: str, now: float) -> dict[str, Any]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if not isinstance(doc, dict) or doc.get("k") != kind:
            raise ValueError(kind)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise InvalidArgumentException(f"Invalid NextToken: {token[:40]!r}") from None
    if now - float(doc.get("t", 0)) > TOKEN_LIFETIME_S:
        raise ExpiredNextTokenException(
            "The timestamp of the given NextToken is older than the allowed period of 300 "
            "seconds. Use a new token.")
    return doc


def describe_stream(stream: StreamCore, limit: int, exclusive_start: str | None
                    ) -> dict[str, Any]:
    shards = stream.listed()
    if exclusive_start:
        shards = [m for m in shards if m.shard_id > exclusive_start]
    page = shards[:limit]
    return {"StreamDescription": {
        "StreamName": stream.name, "StreamARN": stream.arn,
        "StreamStatus": stream.status.state.value,
        "StreamModeDetails": {"StreamMode": stream.mode},
        "Shards": [m.to_wire() for m in page], "HasMoreShards": len(shards) > len(page),
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": stream.created,
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}], "EncryptionType": "NONE"}}


def describe_summary(stream: StreamCore) -> dict[str, Any]:
    return {"StreamDescriptionSummary": {
        "StreamName": stream.name, "StreamARN": stream.arn,
        "StreamStatus": stream.status.state.value,
        "StreamModeDetails": {"StreamMode": stream.mode},
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": stream.created,
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}], "EncryptionType": "NONE",
        "OpenShardCount": len(stream.open_shards()),
        "ConsumerCount": len(stream.consumers)}}


def list_streams(streams: Sequence[StreamCore], limit: int, exclusive_start: str | None,
                 next_token: str | None, now: float) -> dict[str, Any]:
    if next_token:
        exclusive_start = read_token(next_token, "streams", now)["a"]
    ordered = sorted(streams, key=lambda s: s.name)
    if exclusive_start:
        ordered = [s for s in ordered if s.name > exclusive_start]
    page = ordered[:limit]
    more = len(ordered) > len(page)
    out: dict[str, Any] = {
        "StreamNames": [s.name for s in page], "HasMoreStreams": more,
        "StreamSummaries": [{"StreamName": s.name, "StreamARN": s.arn,
                             "StreamStatus": s.status.state.value,
                             "StreamModeDetails": {"StreamMode": s.mode},
                             "StreamCreationTimestamp": s.created} for s in page]}
    if more and page:
        out["NextToken"] = make_token("streams", page[-1].name, now)
    return out


def _filtered(stream: StreamCore, shard_filter: Mapping[str, Any] | None,
              now: float) -> list[ShardMeta]:
    shards = stream.listed()
    if not shard_filter:
        return shards
    kind = shard_filter["Type"]
    shard_id, ts = shard_filter.get("ShardId"), shard_filter.get("Timestamp")
    if kind == "AFTER_SHARD_ID":
        if not shard_id:
            raise InvalidArgumentException("ShardFilter of type AFTER_SHARD_ID needs a ShardId")
        return [m for m in shards if m.shard_id > shard_id]
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP") and ts is None:
        raise InvalidArgumentException(f"ShardFilter of type {kind} needs a Timestamp")
    if kind == "AT_LATEST":
        return [m for m in shards if m.open]
    if kind == "FROM_TRIM_HORIZON":
        return shards
    at = now - stream.retention_s if kind == "AT_TRIM_HORIZON" else float(ts)  # type: ignore
    at = max(at, stream.created)
    if kind in ("AT_TRIM_HORIZON", "AT_TIMESTAMP"):
        return [m for m in shards if m.created_at <= at
                and (m.closed_at is None or m.closed_at >= at)]
    return [m for m in shards if m.closed_at is None or m.closed_at >= at]  # FROM_TIMESTAMP


def list_shards(stream: StreamCore, *, max_results: int, exclusive_start: str | None,
                shard_filter: Mapping[str, Any] | None, next_token: str | None,
                now: float) -> dict[str, Any]:
    if next_token:
        doc = read_token(next_token, "shards", now)
        if doc.get("s") != stream.name or doc.get("c") != stream.created_ms:
            raise InvalidArgumentException("Invalid NextToken: it belongs to another stream")
        exclusive_start, shard_filter = doc["a"], doc.get("f")
    shards = _filtered(stream, shard_filter, now)
    if exclusive_start:
        shards = [m for m in shards if m.shard_id > exclusive_start]
    page = shards[:max_results]
    out: dict[str, Any] = {"Shards": [m.to_wire() for m in page]}
    if len(shards) > len(page) and page:
        out["NextToken"] = make_token("shards", page[-1].shard_id, now, s=stream.name,
                                      c=stream.created_ms, f=dict(shard_filter or {}) or None)
    return out


def list_tags(stream: StreamCore, exclusive_start: str | None, limit: int) -> dict[str, Any]:
    keys = sorted(stream.tags)
    if exclusive_start:
        keys = [k for k in keys if k > exclusive_start]
    page = keys[:limit]
    return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in page],
            "HasMoreTags": len(keys) > len(page)}


def child_shards(stream: StreamCore, shard_id: str) -> list[dict[str, Any]]:
    return [{"ShardId": m.shard_id, "ParentShards": list(m.parents),
             "HashKeyRange": m.hash_range.to_wire()} for m in stream.children_of(shard_id)]


def consumer_by(stream: StreamCore, name: str | None, arn: str | None) -> Any:
    for c in stream.consumers.values():
        if (name and c.name == name) or (arn and c.arn == arn):
            return c
    raise ResourceNotFoundException(
        f"Consumer {name or arn} under stream {stream.name} not found")
