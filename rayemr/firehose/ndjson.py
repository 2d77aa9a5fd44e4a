"""A batch of JSON records parsed whole by Arrow's JSON reader, one row per record, or nothing.

Arrow reads newline-delimited JSON in C++, but it knows nothing of record boundaries: a record
holding two objects gives two rows, a blank one none, an unfinished one may run into the next,
so rows could silently shift onto the wrong records. Two layouts keep them aligned:

**Plain**, when every record starts with ``{``, ends with ``}`` (or every one with ``}\\n``) and
holds no other newline: one record a line (a blank line between them with ``}\\n``, which
Arrow skips). No object can run from one line into the next (a line ends with ``}`` and the
next begins with ``{``, which JSON never allows after a value), and every line gives at least
one row or an error, so exactly ``n`` rows means one per record.

**Wrapped**, otherwise: each record is the value of a wrapper object, ``{"\\u0000":<record>}``,
one wrapper a line, trusted only if there is one row per record, each with a non-null wrapped
value and no other top-level key:

- a record cannot forge the wrapper's key: a JSON key holding U+0000 must be spelled
  ``\\u0000`` (a raw control character is not JSON), and batches containing that spelling
  anywhere but in the wrappers are refused;
- a record that is not exactly one JSON value either breaks the text (Arrow refuses it), closes
  its wrapper early and leaves text that can only form a top-level object without the key (a
  null row), or adds members to its wrapper (a top-level column of its own); all are seen.
- a record that is not an object (``null``, a number, ...) gives a null row or a type error.

Neither layout ever lets a record be a document that starts a text: Arrow 26 crashes on a text
whose first document is ``null``. Every table read is fully validated: Arrow 26 can infer an
invalid list column (``[null, "x"]``). ``None`` means "ask someone slower": the caller falls back to
its per-record path, never guesses.
"""
from __future__ import annotations

import io
from typing import NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json

from rayemr.core.native import optional

KEY = "\x00"
_OPEN = b'{"\\u0000":'
_SEPARATOR = b'}\n{"\\u0000":'
_FORGED = b"\\u0000"
#: Nesting jq refuses to parse (a little under its limit); longer records are checked for it.
JQ_DEPTH = 9990
THREADED_BYTES = 1 << 20
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)
#: The plain layout's join and checks in one pass without the GIL (``_puts.c``), or None.
_native_join = optional("rayemr.firehose._puts", "join_plain")
#: Flat records read straight into Arrow's buffers without the GIL (``_rows.c``), or None.
_flat_columns = optional("rayemr.firehose._rows", "flat_columns")
#: The column types ``_rows.c`` reads, and how it names them.
_FLAT_KINDS = {pa.string(): 0, pa.int64(): 1, pa.int32(): 2, pa.int16(): 3, pa.int8(): 4,
               pa.float64(): 5, pa.bool_(): 6, pa.timestamp("us"): 7}


class Joined(NamedTuple):
    """Records joined for Arrow: the text, whether each is in a wrapper, and whether the text
    is all ASCII (None: not known yet)."""

    text: bytes
    wrapped: bool
    ascii: bool | None = None

    def is_ascii(self) -> bool:
        return self.text.isascii() if self.ascii is None else self.ascii


def joinable(records: Sequence[bytes], lens: np.ndarray | None = None) -> Joined | None:
    """The records joined in one of the layouts (see the module docstring), or None if there
    are none or a record could forge a wrapper; ``lens``: their sizes, if known."""
    if not records:
        return None
    if _native_join is not None:  # the same layout, checked and joined without the GIL
        native = _native_join(records)
        if native is not None:
            return Joined(native[0], False, native[1])
    else:
        plain = _plain(records, lens)
        if plain is not None:
            return Joined(plain, False)
    parts = list(records)  # one join: the first and last records take the ends along
    parts[0], parts[-1] = _OPEN + parts[0], parts[-1] + b"}"
    if len(parts) == 1:
        parts[0] = _OPEN + records[0] + b"}"
    joined = _SEPARATOR.join(parts)
    if joined.count(_FORGED) != len(records):  # only the wrappers may spell it
        return None
    return Joined(joined, True)


def _plain(records: Sequence[bytes], lens: np.ndarray | None = None) -> bytes | None:
    """The records one a line, if each is ``{...}`` (or each ``{...}\n``) with no other
    newline; checked over the joined text at the records' boundaries (C-level passes and
    numpy, no Python call per record)."""
    n = len(records)
    joined = b"\n".join(records)
    if not (joined.startswith(b"{") and joined.endswith((b"}", b"}\n"))):
        return None
    lines = joined.count(b"\n")
    if lines == n - 1:  # every newline is a separator: each must be between "}" and "{"
        if n == 1:
            return joined
        if joined.endswith(b"\n"):  # the last record is empty
            return None
        text = np.frombuffer(joined, dtype=np.uint8)
        if lens is None:
            lens = np.fromiter(map(len, records), np.int64, n)
        seps = np.cumsum(lens[:-1] + 1) - 1
        if (text[seps] == 10).all() and (text[seps - 1] == 125).all() and (
                text[seps + 1] == 123).all():  # "\n", "}", "{"
            return joined
        return None
    # each record ends with "}\n": every newline is one of n - 1 "}\n\n{" or the last one
    if lines == 2 * n - 1 and joined.endswith(b"}\n") and joined.count(b"}\n\n{") == n - 1:
        return joined
    return None


def shallow(records: Sequence[bytes], lens: np.ndarray | None = None) -> bool:
    """True if no record can nest deeper than jq parses (a record shorter than the limit, or
    with fewer brackets than it, cannot); Arrow has no such limit. ``lens``: their sizes."""
    longest = (max(map(len, records), default=0) if lens is None
               else int(lens.max()) if len(lens) else 0)
    if longest < JQ_DEPTH:
        return True
    return all(r.count(b"[") + r.count(b"{") < JQ_DEPTH for r in records if len(r) >= JQ_DEPTH)


def read_flat(text: bytes, n: int, schema: pa.Schema) -> pa.Table | None:
    """Plain-layout text of ``n`` flat records with ``schema``'s columns and no other keys, in
    the simple spellings ``_rows.c`` reads, straight into Arrow's buffers: the table Arrow's
    JSON reader gives for them, about five times faster; None for anything else (the caller
    asks Arrow)."""
    if _flat_columns is None:
        return None
    kinds = tuple(_FLAT_KINDS.get(f.type, -1) for f in schema)
    if -1 in kinds or not all(f.name.isascii() for f in schema):
        return None
    columns = _flat_columns(text, n, tuple(f.name.encode() for f in schema), kinds)
    if columns is None:
        return None
    arrays = []
    for field, (validity, values, offsets, nulls) in zip(schema, columns):
        buffers = [None if validity is None else pa.py_buffer(validity)]
        if offsets is not None:
            buffers.append(pa.py_buffer(offsets))
        buffers.append(pa.py_buffer(values))
        arrays.append(pa.Array.from_buffers(field.type, n, buffers, null_count=nulls))
    return pa.Table.from_arrays(arrays, schema=schema)


def read_records(records: Sequence[bytes], schema: pa.Schema, *,
                 unexpected: str = "ignore") -> pa.Table | None:
    """One row per record with ``schema``'s columns (plus the keys Arrow found beyond them with
    ``unexpected="infer"``), or None if Arrow cannot read every record as one JSON object."""
    joined = joinable(records)
    return None if joined is None else read_joined(joined, len(records), schema,
                                                   unexpected=unexpected)


def read_joined(joined: Joined, n: int, schema: pa.Schema, *,
                unexpected: str = "ignore") -> pa.Table | None:
    """``read_records`` over records already joined by ``joinable``."""
    text = joined.text
    if not joined.wrapped and _flat_columns is not None:
        flat = read_flat(text, n, schema)
        if flat is not None:
            return flat
    # unexpected keys are inferred at every level: a member a record added to its wrapper
    # must show up as a column of its own
    opts = pa_json.ParseOptions(
        explicit_schema=pa.schema([pa.field(KEY, pa.struct(list(schema)))])
        if joined.wrapped else schema,
        unexpected_field_behavior="infer" if joined.wrapped else unexpected,
        newlines_in_values=joined.wrapped and text.count(b"\n") != n - 1)  # a record spans lines
    # threads pay off on big batches only; a small one would wait for them
    reads = pa_json.ReadOptions(use_threads=len(text) >= THREADED_BYTES)
    try:
        table = pa_json.read_json(io.BytesIO(text), parse_options=opts, read_options=reads)
        # Arrow 26 can build an invalid list array when it infers one that starts with null
        # (``[null, "x"]``); such a table must never be used
        table.validate(full=True)
    except _ERRORS:
        return None
    if table.num_rows != n:
        return None
    if not joined.wrapped:
        return table if unexpected == "infer" else table.select(schema.names)
    if table.num_columns != 1:
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
