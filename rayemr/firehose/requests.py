"""PutRecord / PutRecordBatch requests checked against Firehose's limits, before anything is
accepted: at most 500 records a call, 1,000 KiB a record, 4 MiB a call.

A request that breaks a limit is refused whole with AWS's error (nothing is acknowledged);
per-record failures of an accepted request (a full buffer) are reported per record with
``FailedPutCount``, as AWS does. ``PutResult`` is a put's answer before it takes AWS's shape
(record ids and ``RequestResponses`` built in one pass from the first sequence number).
"""
from __future__ import annotations

import base64
import collections.abc
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from rayemr.core.native import optional
from rayemr.firehose.errors import InvalidArgumentException, ValidationException

MAX_BATCH_RECORDS = 500
MAX_RECORD_BYTES = 1000 * 1024
MAX_CALL_BYTES = 4 * 1024 * 1024


def record_data(record: Any, where: str | int) -> bytes:
    """The bytes of one ``Record`` (``{"Data": blob}``); strings are UTF-8. ``where`` names it
    in errors: a field, or its position in a batch."""
    if type(record) is dict and type(record.get("Data")) is bytes:  # the common case, fast
        data = record["Data"]
        if len(data) <= MAX_RECORD_BYTES:
            return data
    if isinstance(where, int):
        where = f"records.{where + 1}.member"
    if not isinstance(record, Mapping) or "Data" not in record:
        raise ValidationException(f"1 validation error detected: {where}.Data: Member must "
                                  "not be null")
    data = record["Data"]
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ValidationException(f"{where}.Data must be a blob, got {type(data).__name__}")
    if len(data) > MAX_RECORD_BYTES:
        raise ValidationException(
            f"1 validation error detected: Value at '{where}.data' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_RECORD_BYTES} "
            f"(got {len(data)} bytes)")
    return data


def batch_data(records: Any) -> list[bytes]:
    """The bytes of every record of a PutRecordBatch, checked against the batch limits."""
    if type(records) is not list and (not isinstance(records, collections.abc.Sequence)
                                      or isinstance(records, (str, bytes))):
        raise ValidationException("Records must be a list")
    if not 1 <= len(records) <= MAX_BATCH_RECORDS:
        raise ValidationException(
            f"1 validation error detected: Value at 'records' failed to satisfy constraint: "
            f"Member must have length between 1 and {MAX_BATCH_RECORDS} (got {len(records)})")
    out = _plain_data(records)
    if out is None:  # something to convert or to refuse: record by record
        out = [record_data(r, i) for i, r in enumerate(records)]
        total = sum(map(len, out))
    else:
        out, total = out
    if total > MAX_CALL_BYTES:
        raise InvalidArgumentException(
            f"PutRecordBatch request is {total} bytes; the limit is {MAX_CALL_BYTES} bytes "
            "(4 MiB) per call")
    return out


_DATA = operator.itemgetter("Data")
#: The C helpers of a put (``rayemr/firehose/_puts.c``), or None: the Python below.
_native_plain = optional("rayemr.firehose._puts", "plain_datas")
_native_responses = optional("rayemr.firehose._puts", "record_responses")


def _plain_data(records: Sequence[Any]) -> tuple[list[bytes], int] | None:
    """Every ``Data`` and their total size when all are bytes within the record limit (one C
    pass, or C-level passes), else None."""
    if _native_plain is not None:
        return _native_plain(records, MAX_RECORD_BYTES) if type(records) is list else None
    if set(map(type, records)) != {dict}:
        return None
    try:
        out = list(map(_DATA, records))
    except KeyError:
        return None
    if set(map(type, out)) != {bytes}:
        return None
    total = sum(map(len, out))
    # no record can be over the limit if all of them together are not
    if total > MAX_RECORD_BYTES and max(map(len, out)) > MAX_RECORD_BYTES:
        return None
    return out, total


def decode_wire(records: Any) -> Any:
    """Records as the JSON protocol sends them (``Data`` base64) with ``Data`` as bytes."""
    if not isinstance(records, list):
        return records
    out = []
    for r in records:
        if isinstance(r, Mapping) and isinstance(r.get("Data"), str):
            try:
                r = {**r, "Data": base64.b64decode(r["Data"], validate=True)}
            except ValueError:
                raise ValidationException("Record Data is not valid base64") from None
        out.append(r)
    return out


def record_id(epoch_ms: int, seq: int) -> str:
    """An opaque, unique RecordId (AWS's are long digit-and-letter strings)."""
    return f"{epoch_ms:016x}{seq:024x}"


_LOW = [format(i, "03x") for i in range(4096)]  # the last 3 hex digits of a sequence number


def record_ids(epoch_ms: int, seqs: Sequence[int | None]) -> list[str | None]:
    """``record_id`` of many records that arrived together (None stays None)."""
    if isinstance(seqs, range) and seqs.step == 1:
        out: list[str] = []
        for head, low, m in _runs(epoch_ms, seqs.start, seqs.stop):
            out.extend(map(head.__add__, _LOW[low:low + m]))
        return out  # type: ignore[return-value]
    head = f"{epoch_ms:016x}"
    return [None if s is None else head + format(s, "024x") for s in seqs]


def record_responses(epoch_ms: int, first: int, n: int) -> list[dict[str, str]]:
    """PutRecordBatch's ``RequestResponses`` of ``n`` records that all were taken, their
    sequence numbers from ``first``: ``[{"RecordId": ...}, ...]`` built in one pass."""
    if _native_responses is not None and 0 <= epoch_ms < 1 << 64 and 0 <= first < 1 << 63:
        return _native_responses(epoch_ms, first, n)
    out: list[dict[str, str]] = []
    for head, low, m in _runs(epoch_ms, first, first + n):
        out.extend([{"RecordId": head + s} for s in _LOW[low:low + m]])
    return out


def _runs(epoch_ms: int, start: int, stop: int) -> Iterator[tuple[str, int, int]]:
    """Consecutive sequence numbers as runs sharing all but their last 3 hex digits: (the
    ids' common head, the first one's last 3 digits as a number, the run's length)."""
    s = start
    while s < stop:
        low = s & 0xFFF
        m = min(stop - s, 4096 - low)
        yield f"{epoch_ms:016x}{s >> 12:021x}", low, m
        s += m


def settled() -> None:
    """A put already on disk: nothing to wait for."""


@dataclass
class PutResult:
    """A put's answer, compact (it may cross Ray): record ``i`` has the id
    ``record_id(epoch_ms, first + slots[i])`` (``slots[i]`` None: refused, its reason in
    ``errors[i]``); ``errors`` is None when every record was taken. ``settle()`` returns once
    the put's records are on disk (``StreamHost.put_deferred``: the caller builds its answer
    meanwhile, and must settle before answering); a no-op for a put already there."""

    epoch_ms: int
    first: int
    slots: Sequence[int | None]  # range(n) when every record was taken
    errors: list[tuple[str, str] | None] | None = None
    ticket: int = 0  # the log frame that must be on disk before the answer (``wal.durable``)
    settle: Callable[[], None] = field(default=settled, compare=False, repr=False)

    @property
    def failed(self) -> int:
        return 0 if self.errors is None else len(self.errors) - self.errors.count(None)

    @property
    def record_ids(self) -> list[str | None]:
        if self.errors is None:
            return record_ids(self.epoch_ms, range(self.first, self.first + len(self.slots)))
        return record_ids(self.epoch_ms, [None if s is None else self.first + s
                                          for s in self.slots])

    def responses(self) -> list[dict[str, str]]:
        """PutRecordBatch's ``RequestResponses``."""
        if self.errors is None:
            return record_responses(self.epoch_ms, self.first, len(self.slots))
        return [{"RecordId": rid} if err is None else {"ErrorCode": err[0], "ErrorMessage": err[1]}
                for rid, err in zip(self.record_ids, self.errors)]
