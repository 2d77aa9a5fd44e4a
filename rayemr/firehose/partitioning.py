"""Dynamic partitioning: partition keys from a JQ query over each JSON record (``jq`` bindings).

The ``MetadataExtractionQuery`` (e.g. ``{event_type: .type, day: .ts[:10]}``) must give one
object per record with a scalar for every key the prefix uses. A whole batch is evaluated in
one jq call; if that fails (a record that is not JSON, a query error on one record), records
are evaluated one by one so only the bad ones fail, each with its reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from rayemr.core.errors import UnsupportedError
from rayemr.firehose.errors import InvalidArgumentException

#: Partitions a stream may have open at once (AWS's default quota).
ACTIVE_PARTITION_LIMIT = 500


@dataclass(frozen=True)
class KeyFailure:
    """Why a record's partition keys could not be had."""

    code: str
    message: str


def _jq():
    try:
        import jq
    except ImportError:  # pragma: no cover - jq is a dependency
        raise UnsupportedError("dynamic partitioning needs the jq package: "
                               "pip install jq (or install rayemr[firehose])") from None
    return jq


class Partitioner:
    """Evaluates one stream's MetadataExtractionQuery for the keys its prefix uses."""

    def __init__(self, query: str, keys: Sequence[str]) -> None:
        self.query = query
        self.keys = tuple(keys)
        try:
            self._program = _jq().compile(query)
            # one array per input, so a batch's results line up with its records
            self._batch = _jq().compile(f"[{query}]")
        except ValueError as exc:
            raise InvalidArgumentException(
                f"MetadataExtractionQuery {query!r} is not a valid JQ expression: "
                f"{str(exc).splitlines()[0]}") from None

    def __reduce__(self):  # jq programs do not pickle; recompile on the other side
        return (Partitioner, (self.query, self.keys))

    def keys_for(self, records: Sequence[bytes]) -> list[dict[str, str] | KeyFailure]:
        """The partition keys of each record, or why it has none."""
        texts: list[str | None] = []
        for data in records:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            texts.append(text if text is not None and text.strip() else None)
        if records and all(t is not None for t in texts):
            try:
                outs = self._batch.input_text("\n".join(texts)).all()
            except ValueError:
                outs = None
            # every record holds at least one JSON value, so equal counts mean one each
            if outs is not None and len(outs) == len(records):
                return [self._check(o[0]) if len(o) == 1 else self._many(len(o)) for o in outs]
        return [self._one(t) for t in texts]

    @staticmethod
    def _many(n: int) -> KeyFailure:
        return KeyFailure("DynamicPartitioning.MetadataExtractionFailed",
                          f"query gave {n} results for one record; expected one object")

    def _one(self, text: str | None) -> dict[str, str] | KeyFailure:
        if text is None:
            return KeyFailure("DynamicPartitioning.MetadataExtractionFailed",
                              "record is empty or not UTF-8 text")
        try:
            json.loads(text)
        except ValueError as exc:
            return KeyFailure("DynamicPartitioning.MetadataExtractionFailed",
                              f"record is not JSON: {exc}")
        try:
            outs = self._program.input_text(text).all()
        except ValueError as exc:
            return KeyFailure("DynamicPartitioning.MetadataExtractionFailed",
                              f"query failed: {str(exc).splitlines()[0]}")
        if len(outs) != 1:
            return self._many(len(outs))
        return self._check(outs[0])

    def _check(self, out: Any) -> dict[str, str] | KeyFailure:
        if not isinstance(out, dict):
            return KeyFailure("DynamicPartitioning.MetadataExtractionFailed",
                              f"query result is {type(out).__name__}, not an object")
        keys: dict[str, str] = {}
        for k in self.keys:
            v = out.get(k)
            if v is None or isinstance(v, (dict, list)):
                what = "missing or null" if v is None else "not a scalar"
                return KeyFailure("DynamicPartitioning.MetadataExtractionFailed",
                                  f"partition key {k!r} is {what}")
            keys[k] = ("true" if v else "false") if isinstance(v, bool) else (
                str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        return keys
