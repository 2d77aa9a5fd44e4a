"""A Python client with boto3's Firehose methods, arguments, answers and error codes.

``rayemr.firehose.client()`` returns one: ``put_record_batch(DeliveryStreamName=...,
Records=[{"Data": b"..."}])`` and so on, answering what ``boto3.client("firehose")`` answers
(timestamps as aware datetimes, a ``ResponseMetadata``). Errors are
``client.exceptions.<AWS code>`` classes whose ``response["Error"]["Code"]`` is AWS's code, as
with botocore's ``ClientError``. ``metrics()`` and ``flush()`` are rayemr's own.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from rayemr.firehose.api import OPERATIONS, FirehoseService, snake
from rayemr.firehose.errors import BY_CODE

_TIMESTAMPS = ("CreateTimestamp", "LastUpdateTimestamp", "DeliveryStartTimestamp")
_WITH_TIMESTAMPS = ("DescribeDeliveryStream",)


def _request_id() -> str:
    """A version-4 UUID from the random module (``uuid.uuid4`` makes a system call each time)."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _datetimes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (datetime.fromtimestamp(v, tz=timezone.utc)
                    if k in _TIMESTAMPS and isinstance(v, (int, float)) else _datetimes(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_datetimes(v) for v in value]
    return value


class FirehoseClient:
    """boto3's ``firehose`` client shape over a :class:`FirehoseService`."""

    def __init__(self, service: FirehoseService, closer: Any = None) -> None:
        self._service = service
        self._closer = closer
        self.exceptions = SimpleNamespace(**BY_CODE)
        for op in OPERATIONS:
            setattr(self, snake(op), self._method(op))

    def _method(self, op: str):
        def call(**params: Any) -> dict:
            answer = self._service.call(op, params)
            if op in _WITH_TIMESTAMPS:
                answer = _datetimes(answer)
            answer["ResponseMetadata"] = {"RequestId": _request_id(), "HTTPStatusCode": 200}
            return answer
        call.__name__ = snake(op)
        call.__doc__ = f"Firehose's {op}, as boto3's ``{snake(op)}``."
        return call

    def metrics(self, name: str | None = None) -> dict[str, dict[str, Any]]:
        """Per stream: records in, delivered, failed, bytes, delivery latency, recovery."""
        return self._service.metrics(name)

    def flush(self, name: str) -> int:
        """Deliver what a stream has buffered now (tests, demos); returns objects written."""
        _, _, handle = self._service.control.route(name)
        return self._service.pool.call(handle, "flush")

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
