"""PutRecord / PutRecordBatch requests checked against Firehose's limits, before anything is
accepted: at most 500 records a call, 1,000 KiB a record, 4 MiB a call.

A request that breaks a limit is refused whole with AWS's error (nothing is acknowledged);
per-record failures of an accepted request (a full buffer) are reported per record with
``FailedPutCount``, as AWS does.
"""
from __future__ import annotations

import base64
import collections.abc
from typing import Any, Mapping, Sequence

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
    if total > MAX_CALL_BYTES:
        raise InvalidArgumentException(
            f"PutRecordBatch request is {total} bytes; the limit is {MAX_CALL_BYTES} bytes "
            "(4 MiB) per call")
    return out


def _plain_data(records: Sequence[Any]) -> list[bytes] | None:
    """Every ``Data`` when all are bytes within the record limit (C-level passes), else None."""
    if set(map(type, records)) != {dict}:
        return None
    try:
        out = [r["Data"] for r in records]
    except KeyError:
        return None
    if set(map(type, out)) != {bytes}:
        return None
    # no record can be over the limit if all of them together are not
    if sum(map(len, out)) > MAX_RECORD_BYTES and max(map(len, out)) > MAX_RECORD_BYTES:
        return None
    return out


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
        return _run_ids(epoch_ms, seqs.start, seqs.stop)  # type: ignore[return-value]
    head = f"{epoch_ms:016x}"
    return [None if s is None else head + format(s, "024x") for s in seqs]


def _run_ids(epoch_ms: int, start: int, stop: int) -> list[str]:
    """``record_id`` of consecutive sequence numbers: a head per 4096 of them, then joins."""
    out: list[str] = []
    s = start
    while s < stop:
        low = s & 0xFFF
        m = min(stop - s, 4096 - low)
        out.extend(map(f"{epoch_ms:016x}{s >> 12:021x}".__add__, _LOW[low:low + m]))
        s += m
    return out
