"""Data transformation with Firehose's Lambda contract, run as a Python callable.

The operator registers functions by name (``FirehoseSettings.lambdas``: name -> callable or
``"module:function"``); a stream's ``LambdaArn`` names one (``arn:aws:lambda:...:function:NAME``
or just ``NAME``), so a remote client can only run what the operator allowed. The function is
called as a Lambda handler, ``fn(event, context)``, with ``event = {"invocationId",
"deliveryStreamArn", "region", "records": [{"recordId", "approximateArrivalTimestamp",
"data" (base64)}]}`` and must return ``{"records": [{"recordId", "result", "data"[,
"metadata": {"partitionKeys": {...}}]}]}`` with every input recordId exactly once and result
``Ok``, ``Dropped`` or ``ProcessingFailed``. An invocation that raises or answers outside the
contract is retried (``NumberOfRetries``, 3 by default); after that its records go to the
``processing-failed`` error output, as do records the function marks ``ProcessingFailed``.
"""
from __future__ import annotations

import base64
import binascii
import importlib
import inspect
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from rayemr.firehose.errors import InvalidArgumentException

RESULTS = ("Ok", "Dropped", "ProcessingFailed")
INVOCATION_BYTES = 1024 * 1024


@dataclass
class Transformed:
    """What a transformation made of a batch, by input position."""

    ok: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (index, code, message)
    attempts: int = 0


def function_name(arn: str) -> str:
    parts = arn.split(":")
    if arn.startswith("arn:") and len(parts) >= 7 and parts[2] == "lambda":
        return parts[6]
    return arn


def resolve_function(arn: str, registry: Mapping[str, Any]) -> Callable[..., Any]:
    """The registered callable a LambdaArn names; refuses anything not registered."""
    name = function_name(arn)
    target = registry.get(name)
    if target is None:
        raise InvalidArgumentException(
            f"LambdaArn {arn!r}: no transformation function {name!r} is registered "
            "(the operator registers them: FirehoseSettings.lambdas / --lambda NAME=module:fn)")
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            target = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise InvalidArgumentException(
                f"transformation function {name!r} -> {target!r} cannot be loaded: {exc}"
            ) from None
    if not callable(target):
        raise InvalidArgumentException(f"transformation function {name!r} is not callable")
    return target


def _call(fn: Callable[..., Any], event: dict[str, Any]) -> Any:
    try:
        n = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        n = 2
    return fn(event, None) if n >= 2 else fn(event)


def _check_answer(answer: Any, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The answer's records in input order; ValueError says how it breaks the contract."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("records"), list):
        raise ValueError("the function's answer has no 'records' list")
    by_id: dict[str, dict[str, Any]] = {}
    for rec in answer["records"]:
        if not isinstance(rec, Mapping) or "recordId" not in rec:
            raise ValueError("an answer record has no recordId")
        if rec["recordId"] in by_id:
            raise ValueError(f"recordId {rec['recordId']} is answered twice")
        if rec.get("result") not in RESULTS:
            raise ValueError(f"record {rec['recordId']}: result {rec.get('result')!r} is not "
                             "Ok, Dropped or ProcessingFailed")
        by_id[rec["recordId"]] = dict(rec)
    missing = [i for i in ids if i not in by_id]
    extra = set(by_id) - set(ids)
    if missing or extra:
        raise ValueError(f"recordIds do not match the input ({len(missing)} missing, "
                         f"{len(extra)} unknown)")
    return [by_id[i] for i in ids]


def transform(fn: Callable[..., Any], records: Sequence[tuple[str, float, bytes]], *,
              stream_arn: str, region: str, retries: int = 3,
              max_bytes: int = INVOCATION_BYTES) -> Transformed:
    """Run ``fn`` over ``records`` (``(recordId, arrival, data)``) in invocations of at most
    ``max_bytes`` of input, each retried ``retries`` times."""
    out = Transformed()
    start = 0
    while start < len(records):
        end, size = start, 0
        while end < len(records) and (end == start or size + len(records[end][2]) <= max_bytes):
            size += len(records[end][2])
            end += 1
        _invoke(fn, records, start, end, stream_arn, region, retries, out)
        start = end
    return out


def _invoke(fn, records, start: int, end: int, stream_arn: str, region: str, retries: int,
            out: Transformed) -> None:
    chunk = records[start:end]
    ids = [r[0] for r in chunk]
    event = {"invocationId": str(uuid.uuid4()), "deliveryStreamArn": stream_arn,
             "region": region,
             "records": [{"recordId": rid, "approximateArrivalTimestamp": int(arr * 1000),
                          "data": base64.b64encode(data).decode()}
                         for rid, arr, data in chunk]}
    error = ""
    for _ in range(retries + 1):
        out.attempts += 1
        try:
            answers = _check_answer(_call(fn, event), ids)
        except Exception as exc:  # noqa: BLE001 - the user's function may raise anything
            error = f"{type(exc).__name__}: {exc}"
            continue
        for i, rec in enumerate(answers, start=start):
            if rec["result"] == "Dropped":
                out.dropped.append(i)
            elif rec["result"] == "ProcessingFailed":
                out.failed.append((i, "Lambda.ProcessingFailed",
                                   "the function marked the record ProcessingFailed"))
            else:
                try:
                    data = base64.b64decode(rec.get("data") or "", validate=True)
                except (binascii.Error, ValueError):
                    out.failed.append((i, "Lambda.InvalidResponse",
                                       "the function returned data that is not base64"))
                    continue
                keys = ((rec.get("metadata") or {}).get("partitionKeys") or {})
                out.ok.append((i, data, {str(k): str(v) for k, v in keys.items()}))
        return
    for i in range(start, end):
        out.failed.append((i, "Lambda.FunctionError",
                           f"invocation failed after {retries + 1} attempts: {error}"))
