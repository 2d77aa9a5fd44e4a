"""A batch of JSON records parsed whole by Arrow's JSON reader, one row per record, or nothing.

Arrow reads newline-delimited JSON in C++, but it knows nothing of record boundaries: a record
holding two objects gives two rows, a blank one none, so rows could silently shift onto the
wrong records. Each record is therefore read as the value of a wrapper object,
``{"\\u0000":<record>}``, one wrapper per line, and the rows are trusted only if there is one
per record, each with a non-null wrapped value and no other top-level key:

- a record cannot forge the wrapper's key: a JSON key holding U+0000 must be spelled
  ``\\u0000`` (a raw control character is not JSON), and batches containing that spelling
  anywhere but in the wrappers are refused;
- a record that is not exactly one JSON value either breaks the text (Arrow refuses it), closes
  its wrapper early and leaves text that can only form a top-level object without the key (a
  null row), or adds members to its wrapper (a top-level column of its own); all are seen.
- a record that is not an object (``null``, a number, ...) gives a null row or a type error.

Wrapping also keeps records from ever being a top-level document: Arrow 26 crashes on a text
whose first document is ``null``. ``None`` means "ask someone slower": the caller falls back to
its per-record path, never guesses.
"""
from __future__ import annotations

import io
from typing import Sequence

import pyarrow as pa
import pyarrow.json as pa_json

KEY = "\x00"
_OPEN = b'{"\\u0000":'
_SEPARATOR = b'}\n{"\\u0000":'
_FORGED = b"\\u0000"
#: Nesting jq refuses to parse (a little under its limit); longer records are checked for it.
JQ_DEPTH = 9990
THREADED_BYTES = 1 << 20
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def joinable(records: Sequence[bytes]) -> bytes | None:
    """The records in their wrappers, one a line, or None if there are none or a record could
    forge a wrapper."""
    if not records:
        return None
    parts = list(records)  # one join: the first and last records take the ends along
    parts[0], parts[-1] = _OPEN + parts[0], parts[-1] + b"}"
    if len(parts) == 1:
        parts[0] = _OPEN + records[0] + b"}"
    joined = _SEPARATOR.join(parts)
    if joined.count(_FORGED) != len(records):  # only the wrappers may spell it
        return None
    return joined


def shallow(records: Sequence[bytes]) -> bool:
    """True if no record can nest deeper than jq parses (a record shorter than the limit, or
    with fewer brackets than it, cannot); Arrow has no such limit."""
    if max(map(len, records), default=0) < JQ_DEPTH:
        return True
    return all(r.count(b"[") + r.count(b"{") < JQ_DEPTH for r in records if len(r) >= JQ_DEPTH)


def read_records(records: Sequence[bytes], schema: pa.Schema, *,
                 unexpected: str = "ignore") -> pa.Table | None:
    """One row per record with ``schema``'s columns (plus the keys Arrow found beyond them with
    ``unexpected="infer"``), or None if Arrow cannot read every record as one JSON object."""
    joined = joinable(records) if records else None
    return None if joined is None else read_joined(joined, len(records), schema,
                                                   unexpected=unexpected)


def read_joined(joined: bytes, n: int, schema: pa.Schema, *,
                unexpected: str = "ignore") -> pa.Table | None:
    """``read_records`` over records already joined by ``joinable``."""
    # unexpected keys are inferred at every level: a member a record added to its wrapper
    # must show up as a column of its own
    opts = pa_json.ParseOptions(
        explicit_schema=pa.schema([pa.field(KEY, pa.struct(list(schema)))]),
        unexpected_field_behavior="infer",
        newlines_in_values=joined.count(b"\n") != n - 1)  # a record spans lines
    # threads pay off on big batches only; a small one would wait for them
    reads = pa_json.ReadOptions(use_threads=len(joined) >= THREADED_BYTES)
    try:
        table = pa_json.read_json(io.BytesIO(joined), parse_options=opts, read_options=reads)
    except _ERRORS:
        return None
    if table.num_rows != n or table.num_columns != 1:
        return None
    wrapped = table.column(0)
    if wrapped.null_count or not pa.types.is_struct(wrapped.type):
        return None
    fields = list(wrapped.type)
    children = [chunk.flatten() for chunk in wrapped.chunks]
    columns = [pa.chunked_array([c[i] for c in children], type=f.type)
               for i, f in enumerate(fields)]
    out = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    return out if unexpected == "infer" else out.select(schema.names)
