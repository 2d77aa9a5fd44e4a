"""Request validation at the edge, with AWS's error types and messages.

A value of the wrong JSON type is a ``SerializationException``; a value breaking a constraint
of the API's model (length, range, pattern, enum) is a ``ValidationException`` listing every
violation as AWS does ("2 validation errors detected: Value 'x' at 'streamName' failed to
satisfy constraint: ..."). Checks that need the stream (sizes against its limits, hash keys
in range) live with the operations. Pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from rayemr.kinesis.errors import SerializationException, ValidationException

NAME_PATTERN = "[a-zA-Z0-9_.-]+"
HASH_KEY_PATTERN = r"0|([1-9]\d{0,38})"
SEQ_PATTERN = r"0|([1-9]\d{0,128})"
SHARD_ID_PATTERN = NAME_PATTERN
ARN_PATTERN = r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+"


@dataclass(frozen=True)
class Spec:
    """Constraints of one member: ``kind`` is str|int|bool|blob|list|map|struct|timestamp."""

    kind: str
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    item: Spec | None = None
    members: Mapping[str, Spec] = field(default_factory=dict)
    required: bool = False


def S(min: int | None = None, max: int | None = None, pattern: str | None = None,
      enum: tuple[str, ...] = (), required: bool = False) -> Spec:
    return Spec("str", min, max, pattern, enum, required=required)


def I(min: int | None = None, max: int | None = None, required: bool = False) -> Spec:  # noqa: E743
    return Spec("int", min, max, required=required)


NAME = S(1, 128, NAME_PATTERN)
ARN = S(1, 2048, ARN_PATTERN)
SHARD_ID = S(1, 128, SHARD_ID_PATTERN)
TAGS = Spec("map", 1, 200, item=S(0, 256))
BOOL = Spec("bool")
TIMESTAMP = Spec("timestamp")
STREAM = {"StreamName": NAME, "StreamARN": ARN}

SPECS: dict[str, dict[str, Spec]] = {
    "CreateStream": {"StreamName": S(1, 128, NAME_PATTERN, required=True),
                     "ShardCount": I(1, 100000),
                     "StreamModeDetails": Spec("struct", members={
                         "StreamMode": S(enum=("PROVISIONED", "ON_DEMAND"), required=True)}),
                     "Tags": Spec("map", 1, 50, item=S(0, 256))},
    "DeleteStream": {**STREAM, "EnforceConsumerDeletion": BOOL},
    "DescribeStream": {**STREAM, "Limit": I(1, 10000), "ExclusiveStartShardId": SHARD_ID},
    "DescribeStreamSummary": dict(STREAM),
    "ListStreams": {"Limit": I(1, 10000), "ExclusiveStartStreamName": NAME,
                    "NextToken": S(1, 1048576)},
    "ListShards": {**STREAM, "NextToken": S(1, 1048576), "ExclusiveStartShardId": SHARD_ID,
                   "MaxResults": I(1, 10000), "StreamCreationTimestamp": TIMESTAMP,
                   "ShardFilter": Spec("struct", members={
                       "Type": S(enum=("AFTER_SHARD_ID", "AT_TRIM_HORIZON",
                                       "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP",
                                       "FROM_TIMESTAMP"), required=True),
                       "ShardId": SHARD_ID, "Timestamp": TIMESTAMP})},
    "PutRecord": {**STREAM, "Data": Spec("blob", required=True),
                  "PartitionKey": S(1, 256, required=True),
                  "ExplicitHashKey": S(pattern=HASH_KEY_PATTERN),
                  "SequenceNumberForOrdering": S(pattern=SEQ_PATTERN)},
    "PutRecords": {**STREAM, "Records": Spec("list", 1, 500, required=True, item=Spec(
        "struct", members={"Data": Spec("blob", required=True),
                           "ExplicitHashKey": S(pattern=HASH_KEY_PATTERN),
                           "PartitionKey": S(1, 256, required=True)}))},
    "GetShardIterator": {**STREAM, "ShardId": S(1, 128, SHARD_ID_PATTERN, required=True),
                         "ShardIteratorType": S(enum=(
                             "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON",
                             "LATEST", "AT_TIMESTAMP"), required=True),
                         "StartingSequenceNumber": S(pattern=SEQ_PATTERN),
                         "Timestamp": TIMESTAMP},
    "GetRecords": {"ShardIterator": S(1, 512, required=True), "Limit": I(1, 10000),
                   "StreamARN": ARN},
    "SplitShard": {**STREAM, "ShardToSplit": S(1, 128, SHARD_ID_PATTERN, required=True),
                   "NewStartingHashKey": S(pattern=HASH_KEY_PATTERN, required=True)},
    "MergeShards": {**STREAM, "ShardToMerge": S(1, 128, SHARD_ID_PATTERN, required=True),
                    "AdjacentShardToMerge": S(1, 128, SHARD_ID_PATTERN, required=True)},
    "UpdateShardCount": {**STREAM, "TargetShardCount": I(1, 100000, required=True),
                         "ScalingType": S(enum=("UNIFORM_SCALING",), required=True)},
    "IncreaseStreamRetentionPeriod": {**STREAM,
                                      "RetentionPeriodHours": I(1, 8760, required=True)},
    "DecreaseStreamRetentionPeriod": {**STREAM,
                                      "RetentionPeriodHours": I(1, 8760, required=True)},
    "AddTagsToStream": {**STREAM, "Tags": Spec("map", 1, 10, item=S(0, 256), required=True)},
    "RemoveTagsFromStream": {**STREAM, "TagKeys": Spec("list", 1, 50, item=S(1, 128),
                                                       required=True)},
    "ListTagsForStream": {**STREAM, "ExclusiveStartTagKey": S(1, 128), "Limit": I(1, 50)},
    "RegisterStreamConsumer": {"StreamARN": S(1, 2048, ARN_PATTERN, required=True),
                               "ConsumerName": S(1, 128, NAME_PATTERN, required=True)},
    "DescribeStreamConsumer": {"StreamARN": ARN, "ConsumerName": NAME,
                               "ConsumerARN": S(1, 2048)},
    "DeregisterStreamConsumer": {"StreamARN": ARN, "ConsumerName": NAME,
                                 "ConsumerARN": S(1, 2048)},
    "ListStreamConsumers": {"StreamARN": S(1, 2048, ARN_PATTERN, required=True),
                            "NextToken": S(1, 1048576), "MaxResults": I(1, 10000),
                            "StreamCreationTimestamp": TIMESTAMP},
    "DescribeLimits": {},
}


def _path(prefix: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{prefix}.{member}" if prefix else member


def _show(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    text = str(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _type_error(path: str, kind: str, value: Any) -> SerializationException:
    return SerializationException(
        f"Unexpected value type for '{path}': expected {kind}, got {type(value).__name__}")


def _bounds(spec: Spec, value: Any, n: int, what: str, path: str, errors: list[str]) -> None:
    for bound, ok, words in ((spec.min, lambda b: n >= b, "greater than or equal to"),
                             (spec.max, lambda b: n <= b, "less than or equal to")):
        if bound is not None and not ok(bound):
            errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                          f"Member must have {what} {words} {bound}")


def _check(spec: Spec, value: Any, path: str, errors: list[str]) -> None:
    if spec.kind == "str":
        if not isinstance(value, str):
            raise _type_error(path, "a string", value)
        size = len(value)
    elif spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(path, "an integer", value)
        _bounds(spec, value, value, "value", path, errors)
        return
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise _type_error(path, "a boolean", value)
        return
    elif spec.kind == "blob":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise _type_error(path, "bytes", value)
        return  # sizes depend on the stream's limits
    elif spec.kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, datetime)):
            raise _type_error(path, "a timestamp", value)
        return
    elif spec.kind == "list":
        if not isinstance(value, list):
            raise _type_error(path, "a list", value)
        size = len(value)
        for i, item in enumerate(value):
            assert spec.item is not None
            _check(spec.item, item, f"{path}.{i + 1}.member", errors)
    elif spec.kind == "map":
        if not isinstance(value, dict):
            raise _type_error(path, "a map", value)
        size = len(value)
        for k, v in value.items():
            if not isinstance(k, str) or not 1 <= len(k) <= 128:
                errors.append(f"Value '{_show(k)}' at '{path}' failed to satisfy constraint: "
                              "Map keys must have length between 1 and 128")
            assert spec.item is not None
            _check(spec.item, v, f"{path}.{k}", errors)
    else:  # struct
        if not isinstance(value, dict):
            raise _type_error(path, "a structure", value)
        _members(spec.members, value, path, errors)
        return
    _bounds(spec, value, size, "length", path, errors)
    if spec.pattern and isinstance(value, str) and not re.fullmatch(spec.pattern, value):
        errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                      f"Member must satisfy regular expression pattern: {spec.pattern}")
    if spec.enum and value not in spec.enum:
        errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: "
                      f"Member must satisfy enum value set: [{', '.join(spec.enum)}]")


def _members(specs: Mapping[str, Spec], params: Mapping[str, Any], prefix: str,
             errors: list[str]) -> None:
    for name, spec in specs.items():
        value = params.get(name)
        path = _path(prefix, name)
        if value is None:
            if spec.required:
                errors.append(f"Value null at '{path}' failed to satisfy constraint: Member "
                              "must not be null")
            continue
        _check(spec, value, path, errors)


_BLOB = (bytes, bytearray, memoryview)
_HASH_KEY = re.compile(HASH_KEY_PATTERN)


def _records(records: list, errors: list[str]) -> None:
    """PutRecords' records: the generic checks, unrolled (this is the hot path)."""
    spec = SPECS["PutRecords"]["Records"]
    if not records or len(records) > 500:
        bound = ("greater than or equal to 1" if not records else "less than or equal to 500")
        errors.append(f"Value '{_show(records)}' at 'records' failed to satisfy constraint: "
                      f"Member must have length {bound}")
        return
    for i, rec in enumerate(records):
        if type(rec) is not dict:
            raise _type_error(f"records.{i + 1}.member", "a structure", rec)
        key = rec.get("PartitionKey")
        data = rec.get("Data")
        if type(key) is not str or not 1 <= len(key) <= 256 or not isinstance(data, _BLOB):
            _members(spec.item.members, rec, f"records.{i + 1}.member", errors)  # type: ignore
            continue
        explicit = rec.get("ExplicitHashKey")
        if explicit is not None and (type(explicit) is not str
                                     or not _HASH_KEY.fullmatch(explicit)):
            _members(spec.item.members, rec, f"records.{i + 1}.member", errors)  # type: ignore


def validate(operation: str, params: Mapping[str, Any], *, records: bool = True) -> None:
    """Raise ``SerializationException``/``ValidationException`` if ``params`` break the model.

    ``records=False`` leaves PutRecords' records to the caller, which checks them in its own
    pass and calls back with ``records=True`` when one looks wrong (the hot path).
    """
    if not isinstance(params, Mapping):
        raise SerializationException("Start of structure or map found where not expected")
    errors: list[str] = []
    specs = SPECS[operation]
    if operation == "PutRecords" and isinstance(params.get("Records"), list):
        specs = {k: v for k, v in specs.items() if k != "Records"}
        n = len(params["Records"])
        if records or not 1 <= n <= 500:
            _records(params["Records"], errors)
    _members(specs, params, "", errors)
    if errors:
        n = len(errors)
        raise ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: "
                                  + "; ".join(errors))
