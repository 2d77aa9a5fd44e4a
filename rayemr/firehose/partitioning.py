"""Dynamic partitioning: partition keys from a JQ query over each JSON record (``jq`` bindings).

The ``MetadataExtractionQuery`` (e.g. ``{event_type: .type, day: .ts[:10]}``) must give one
object per record with a scalar for every key the prefix uses. jq decides every result; what
changes is how many records it is shown at once:

1. A query that reads the record only through top-level fields (``jqfields.root_fields``) is
   evaluated once per distinct combination of those fields' values: Arrow reads the fields of a
   whole batch in C++ (string values only: a number's text could matter to jq, e.g. ``1.50``),
   the records are grouped by value, and jq sees one small object per group.
2. Otherwise the batch goes to jq as one JSON array, with a marker between records so a record
   that is not exactly one JSON value cannot shift the others, and each record's query wrapped
   in ``try`` so one failure does not fail the batch.
3. Records that fail, and batches jq refuses, are evaluated one by one (``reference``) -- the
   definition the other two must agree with -- so each failure has its own reason.

``groups`` answers ``[(keys or failure, [record positions])]``, the shape routing wants.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import UnsupportedError
from rayemr.firehose import ndjson
from rayemr.firehose.errors import InvalidArgumentException
from rayemr.firehose.jqfields import root_fields

#: Partitions a stream may have open at once (AWS's default quota).
ACTIVE_PARTITION_LIMIT = 500
FAILED = "DynamicPartitioning.MetadataExtractionFailed"
_NUL = "\u0000"


@dataclass(frozen=True)
class KeyFailure:
    """Why a record's partition keys could not be had."""

    code: str
    message: str


Keys = Union[dict, KeyFailure]


@functools.lru_cache(maxsize=128)
def _compile(program: str) -> Any:
    """A compiled jq program (compiling takes milliseconds; a program is reused freely)."""
    try:
        import jq
    except ImportError:  # pragma: no cover - jq is a dependency
        raise UnsupportedError("dynamic partitioning needs the jq package: "
                               "pip install jq (or install rayemr[firehose])") from None
    return jq.compile(program)


def _batch_program(query: str) -> str:
    # the query's text is a function body: its own defs and pipes stay inside it
    return (f"def __rayemr_query: {query}\n;\n"
            "if length % 2 == 1 and ([.[range(1; length; 2)] == \"\\u0000\"] | all) "
            "then [.[range(0; length; 2)] | try [__rayemr_query] catch \"\\u0000\"] "
            "else error(\"misaligned batch\") end")


class Partitioner:
    """Evaluates one stream's MetadataExtractionQuery for the keys its prefix uses."""

    def __init__(self, query: str, keys: Sequence[str]) -> None:
        self.query = query
        self.keys = tuple(keys)
        try:
            self._program = _compile(query)
        except ValueError as exc:
            raise InvalidArgumentException(
                f"MetadataExtractionQuery {query!r} is not a valid JQ expression: "
                f"{_first_line(exc)}") from None
        self._values = _compile("1")  # one output per JSON value in a text
        # a comment could swallow the wrapper; input/inputs would read other records
        self._batch = (None if "#" in query or "input" in query
                       else _compile(_batch_program(query)))
        self.fields = root_fields(query) if self._batch is not None else None
        self._schema = (pa.schema([(f, pa.string()) for f in self.fields])
                        if self.fields else None)

    def __reduce__(self):  # jq programs do not pickle; recompile on the other side
        return (Partitioner, (self.query, self.keys))

    # -- batches ---------------------------------------------------------------------------------
    def groups(self, records: Sequence[bytes], table: pa.Table | None = None
               ) -> list[tuple[Keys, Sequence[int]]]:
        """Records grouped by their partition keys (or by why they have none), in order.
        ``table``: the records already read by Arrow from ``joinable(records)``, with the
        query's fields as strings (``rayemr.firehose.routing`` reads once for conversion too)."""
        if not records:
            return []
        if self._schema is not None:
            if table is None:
                joined = self.joinable(records)
                table = None if joined is None else ndjson.read_joined(
                    joined, len(records), self._schema)
            if table is not None:
                return self._by_fields(table)
        return group_keys(self.keys_for(records))

    def joinable(self, records: Sequence[bytes], lens: np.ndarray | None = None
                 ) -> ndjson.Joined | None:
        """The records joined for Arrow if its rows can stand for what jq sees (tier 1);
        ``lens``: their sizes, if known."""
        if self._schema is None:
            return None
        joined = ndjson.joinable(records, lens)
        if joined is None or not ndjson.shallow(records, lens):
            return None
        if not joined.is_ascii():  # ASCII is UTF-8 (one C pass; decoding copies)
            try:
                joined.text.decode("utf-8")  # jq would see U+FFFD where Arrow sees other text
            except UnicodeDecodeError:
                return None
        return joined

    def keys_for(self, records: Sequence[bytes]) -> list[Keys]:
        """The partition keys of each record, or why it has none (tiers 2 and 3)."""
        texts = [_text(d) for d in records]
        out: list[Keys | None] = [None] * len(texts)
        todo = [i for i, t in enumerate(texts) if t is not None]
        results = self._evaluate([texts[i] for i in todo]) if todo else []
        for i, r in zip(todo, results):
            out[i] = r
        return [r if r is not None else self.reference(texts[i]) for i, r in enumerate(out)]

    def _evaluate(self, texts: list[str]) -> list[Keys | None]:
        """Tier 2 over texts; None where a record needs tier 3."""
        joined = ',"\\u0000",'.join(texts)
        # markers are trusted only if no record spells one (a raw U+0000 is not JSON)
        if self._batch is None or joined.count("\\u0000") != len(texts) - 1:
            return [None] * len(texts)
        try:
            outs = self._batch.input_text("[" + joined + "]").all()
        except ValueError:
            return [None] * len(texts)
        if len(outs) != 1 or len(outs[0]) != len(texts):
            return [None] * len(texts)
        return [None if o == _NUL else self._check(o[0]) if len(o) == 1 else _many(len(o))
                for o in outs[0]]

    def _by_fields(self, table: pa.Table) -> list[tuple[Keys, Sequence[int]]]:
        """Tier 1: one jq evaluation per distinct value of the query's fields."""
        columns, values = [], []
        for f in self.fields:
            enc = pc.dictionary_encode(table.column(f).combine_chunks(), null_encoding="encode")
            columns.append(enc.indices.to_numpy(zero_copy_only=False).astype(np.int64))
            values.append(enc.dictionary.to_pylist())
        if len(columns) == 1:  # every dictionary entry occurs
            inverse, rows = columns[0], [[c] for c in range(len(values[0]))]
        else:
            distinct, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
            inverse, rows = inverse.reshape(-1), distinct.tolist()
        texts = [json.dumps({f: values[c][row[c]] for c, f in enumerate(self.fields)})
                 for row in rows]
        keys = self.keys_for([t.encode() for t in texts])
        if len(texts) <= 16:
            parts = (np.flatnonzero(inverse == g) for g in range(len(texts)))
        else:
            order = np.argsort(inverse, kind="stable")
            bounds = np.cumsum(np.bincount(inverse, minlength=len(texts)))[:-1]
            parts = iter(np.split(order, bounds))
        return _merge((k, idx) for k, idx in zip(keys, parts) if len(idx))

    # -- one record ------------------------------------------------------------------------------
    def reference(self, text: str | None) -> Keys:
        """Tier 3, the definition: the keys of one record's text, jq seeing it alone."""
        if text is None:
            return KeyFailure(FAILED, "record is empty or not UTF-8 text")
        try:
            n = len(self._values.input_text(text).all())
        except ValueError as exc:
            return KeyFailure(FAILED, f"record is not JSON: {_first_line(exc)}")
        if n != 1:
            return KeyFailure(FAILED, f"record holds {n} JSON values; expected one")
        try:
            outs = self._program.input_text(text).all()
        except ValueError as exc:
            return KeyFailure(FAILED, f"query failed: {_first_line(exc)}")
        if len(outs) != 1:
            return _many(len(outs))
        return self._check(outs[0])

    def _check(self, out: Any) -> Keys:
        if not isinstance(out, dict):
            return KeyFailure(FAILED, f"query result is {type(out).__name__}, not an object")
        keys: dict[str, str] = {}
        for k in self.keys:
            v = out.get(k)
            if v is None or isinstance(v, (dict, list)):
                what = "missing or null" if v is None else "not a scalar"
                return KeyFailure(FAILED, f"partition key {k!r} is {what}")
            keys[k] = ("true" if v else "false") if isinstance(v, bool) else (
                str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        return keys


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.strip() else None


def _first_line(exc: BaseException) -> str:
    """jq's message, first line ("error(\"\")" gives none at all)."""
    lines = str(exc).splitlines()
    return lines[0] if lines else "(jq gave no message)"


def _many(n: int) -> KeyFailure:
    return KeyFailure(FAILED, f"query gave {n} results for one record; expected one object")


def _identity(keys: Keys) -> Any:
    return tuple(keys.items()) if isinstance(keys, dict) else keys


def group_keys(found: Sequence[Keys]) -> list[tuple[Keys, list[int]]]:
    """Positions grouped by equal keys (or equal failures), groups in first-seen order."""
    out: dict[Any, tuple[Keys, list[int]]] = {}
    for i, k in enumerate(found):
        out.setdefault(_identity(k), (k, []))[1].append(i)
    return list(out.values())


def _merge(parts: Any) -> list[tuple[Keys, Sequence[int]]]:
    """Groups of positions (arrays) with equal keys joined, in first-seen order."""
    out: dict[Any, tuple[Keys, Sequence[int]]] = {}
    for k, idx in parts:
        slot = out.get(_identity(k))
        out[_identity(k)] = (k, idx) if slot is None else (
            slot[0], np.sort(np.concatenate([slot[1], idx])))
    return list(out.values())
