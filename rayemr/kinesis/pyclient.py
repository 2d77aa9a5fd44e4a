"""A Python client with boto3's Kinesis methods, arguments, answers and error codes.

``rayemr.kinesis.pyclient()`` returns one: ``put_records(StreamName=..., Records=[...])`` and so
on, answering what ``boto3.client("kinesis")`` answers (timestamps as aware datetimes, ``Data``
as bytes, a ``ResponseMetadata``). Errors are ``client.exceptions.<AWS code>`` classes whose
``response["Error"]["Code"]`` is AWS's code, as with botocore's ``ClientError``. Like botocore,
it retries throttling and internal failures a few times with exponential backoff.
"""
from __future__ import annotations

import operator
import random
import time
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Callable

from rayemr.kinesis.errors import (
    BY_CODE, InternalFailureException, KinesisError, ProvisionedThroughputExceededException,
)
from rayemr.kinesis.api import OPERATIONS, KinesisService, _snake

_TIMESTAMPS = ("ApproximateArrivalTimestamp", "StreamCreationTimestamp",
               "ConsumerCreationTimestamp")
#: Operations whose answers carry no timestamp: nothing to convert on the hot path.
_NO_TIMESTAMPS = frozenset({"PutRecord", "PutRecords"})
_DATA = operator.itemgetter("Data")
_RETRYABLE = (InternalFailureException, ProvisionedThroughputExceededException)


def _request_id() -> str:
    """A random version-4 UUID, without the system call ``uuid.uuid4`` makes each time."""
    h = f"{random.getrandbits(128) & _V4_MASK | _V4_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_V4_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)


def _to_datetimes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (datetime.fromtimestamp(v, tz=timezone.utc)
                    if k in _TIMESTAMPS and isinstance(v, (int, float)) else _to_datetimes(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_to_datetimes(v) for v in value]
    return value


def _blob(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if hasattr(value, "read"):
        return value.read()
    return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value  # validation names it
    return value


def _all_bytes(records: list) -> bool:
    """Every record a dict whose Data is already bytes (the usual batch: nothing to copy)."""
    try:
        return set(map(type, map(_DATA, records))) == {bytes}
    except (TypeError, KeyError, IndexError):
        return False


def _inputs(params: dict[str, Any]) -> dict[str, Any]:
    if "Data" in params:
        params["Data"] = _blob(params["Data"])
    records = params.get("Records")
    if isinstance(records, list) and not _all_bytes(records):
        params["Records"] = [{**r, "Data": _blob(r["Data"])} if isinstance(r, dict)
                             and "Data" in r else r for r in records]
    for key in ("Timestamp", "StreamCreationTimestamp"):
        if key in params:
            params[key] = _timestamp(params[key])
    if isinstance(params.get("ShardFilter"), dict) and "Timestamp" in params["ShardFilter"]:
        params["ShardFilter"] = {**params["ShardFilter"],
                                 "Timestamp": _timestamp(params["ShardFilter"]["Timestamp"])}
    return params


class KinesisClient:
    """boto3's Kinesis client surface over a :class:`KinesisService`."""

    def __init__(self, service: KinesisService, *, max_attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._service = service
        self.max_attempts = max_attempts
        self._sleep = sleep
        self.exceptions = SimpleNamespace(ClientError=KinesisError, **BY_CODE)

    def __repr__(self) -> str:
        return f"<rayemr KinesisClient {self._service.settings.location!r}>"

    def can_paginate(self, operation_name: str) -> bool:
        return operation_name in ("list_streams", "list_shards", "list_stream_consumers")

    def _call(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        params = _inputs(dict(kwargs))
        for attempt in range(1, self.max_attempts + 1):
            try:
                out = self._service.call(operation, params)
                break
            except _RETRYABLE:
                if attempt == self.max_attempts:
                    raise
                self._sleep(min(20.0, random.random() * 0.05 * 2 ** attempt))
        if operation not in _NO_TIMESTAMPS:
            out = _to_datetimes(out)
        out["ResponseMetadata"] = {"RequestId": _request_id(), "HTTPStatusCode": 200,
                                   "HTTPHeaders": {}, "RetryAttempts": attempt - 1}
        return out


def _method(operation: str):
    def call(self: KinesisClient, **kwargs: Any) -> dict[str, Any]:
        return self._call(operation, kwargs)

    call.__name__ = _snake(operation)
    call.__doc__ = f"Kinesis {operation}, with boto3's arguments and answer."
    return call


for _op in OPERATIONS:
    setattr(KinesisClient, _snake(_op), _method(_op))
del _op
