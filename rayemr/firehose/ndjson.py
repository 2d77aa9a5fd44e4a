"""A batch of JSON records parsed whole by Arrow's JSON reader, one row per record, or nothing.

Arrow reads newline-delimited JSON in C++, but it knows nothing of record boundaries: a record
holding two objects gives two rows, a blank one none, so rows could silently shift onto the
wrong records. Records are therefore joined with a marker object (``{"\\u0000":0}``) between
them, and the rows are trusted only if markers and records alternate exactly. No record can
forge a marker: a JSON key holding U+0000 must be spelled ``\\u0000`` (a raw control character
is not JSON), and batches containing that spelling are refused. ``None`` means "ask
someone slower": the caller falls back to its per-record path, never guesses.
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

MARKER = "\x00"
_SEPARATOR = b'\n{"\\u0000":0}\n'
_FORGED = b"\\u0000"
#: Nesting jq refuses to parse (a little under its limit); longer records are checked for it.
JQ_DEPTH = 9990
THREADED_BYTES = 1 << 20
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def joinable(records: Sequence[bytes]) -> bytes | None:
    """The records joined with markers, or None if a record could forge a marker."""
    joined = _SEPARATOR.join(records)
    if joined.count(_FORGED) != len(records) - 1:  # only the separators may spell it
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
    """One row per record with ``schema``'s columns (plus inferred ones with
    ``unexpected="infer"``), or None if Arrow cannot read every record as one JSON object."""
    joined = joinable(records) if records else None
    return None if joined is None else read_joined(joined, len(records), schema,
                                                   unexpected=unexpected)


def read_joined(joined: bytes, n: int, schema: pa.Schema, *,
                unexpected: str = "ignore") -> pa.Table | None:
    """``read_records`` over records already joined by ``joinable``."""
    opts = pa_json.ParseOptions(explicit_schema=schema.append(pa.field(MARKER, pa.int8())),
                                unexpected_field_behavior=unexpected)
    # threads pay off on big batches only; a small one would wait for them
    reads = pa_json.ReadOptions(use_threads=len(joined) >= THREADED_BYTES)
    try:
        table = pa_json.read_json(io.BytesIO(joined), parse_options=opts, read_options=reads)
    except _ERRORS:
        return None
    if table.num_rows != 2 * n - 1:
        return None
    is_marker = _validity(table.column(MARKER))
    expected = np.arange(2 * n - 1) % 2 == 1
    if not np.array_equal(is_marker, expected):
        return None
    if n > 1:
        table = table.filter(pc.invert(pa.array(is_marker)))
    return table.drop_columns([MARKER])


def _validity(column: pa.ChunkedArray) -> np.ndarray:
    """Which rows are not null, as numpy booleans, straight from the validity bitmaps."""
    parts = []
    for chunk in column.chunks:
        bitmap = chunk.buffers()[0]
        if bitmap is None:
            parts.append(np.full(len(chunk), chunk.null_count == 0))
            continue
        bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
        parts.append(bits[chunk.offset:chunk.offset + len(chunk)].astype(bool))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
