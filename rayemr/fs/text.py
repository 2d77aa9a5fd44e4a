"""Text splits -> Arrow record batches of lines, with Hadoop's LineRecordReader rule.

A line belongs to the split in which its first byte lies: a split that does not start at 0
skips the bytes up to and including the first ``\\n`` at or after ``start - 1`` (if the byte
before ``start`` is a newline, the line at ``start`` is its own), and a split keeps reading past
its end to finish the last line it owns. Lines end at ``\\n``; a ``\\r`` before it is dropped
(CRLF); a last line without a newline is a line. Compressed files are one split and are read
as a decompressed stream; their offsets are positions in the decompressed text.

The hot path never loops over lines in Python: newline positions come from numpy over each
block, lines become an Arrow binary array built on the block's own buffer, and pyarrow
compute trims the terminators.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import UserError
from rayemr.fs.blocks import RangeReader, iter_decompressed, iter_ranges
from rayemr.fs.config import EmrfsConfig
from rayemr.fs.errors import storage_errors
from rayemr.fs.resolve import arrow_filesystem, resolve
from rayemr.fs.s3 import S3_SCHEMES
from rayemr.fs.splits import Split, codec_for

DEFAULT_BATCH_ROWS = 65536
_NL = 10
_CR = 13


def text_schema(binary: bool = False) -> pa.Schema:
    return pa.schema([("offset", pa.int64()), ("line", pa.binary() if binary else pa.string())])


def read_text_batches(split: Split, config: EmrfsConfig | None = None,
                      batch_rows: int = DEFAULT_BATCH_ROWS, binary: bool = False
                      ) -> Iterator[pa.RecordBatch]:
    """Record batches (``offset`` int64, ``line`` string, or binary if asked) of one split.

    Lines that are not valid UTF-8 get U+FFFD replacement characters unless ``binary``.
    """
    if split.format == "parquet":
        raise UserError(f"{split}: is a Parquet split; read it with read_parquet_split")
    if batch_rows <= 0:
        raise UserError(f"batch_rows={batch_rows}: must be positive")
    config = config or EmrfsConfig()
    fs, path = resolve(split.url, config)
    block = config.read_block_size
    with storage_errors(split.url):
        codec = codec_for(split.url) if split.format == "compressed" else None
        if split.format == "compressed" and codec is None:
            raise UserError(f"{split.url}: compressed split without a known codec extension")
        native = config.native_reads and split.url.split("://", 1)[0].lower() in S3_SCHEMES
        if codec is not None:
            afs = arrow_filesystem(split.url, config)[0] if native else None
            blocks = iter_decompressed(fs, path, codec, block, afs)
            yield from _lines(blocks, 0, 2**63 - 1, batch_rows, binary)
            return
        if split.length <= 0:
            return
        arrow_file = None
        if native:
            afs, apath = arrow_filesystem(split.url, config)
            arrow_file = afs.open_input_file(apath)
        reader = RangeReader(fs, path, arrow_file)
        try:
            begin = split.start - 1 if split.start > 0 else 0
            blocks = iter_ranges(reader, begin, split.end, split.file_size, block)
            try:
                yield from _lines(blocks, split.start, split.end, batch_rows, binary)
            finally:
                blocks.close()
        finally:
            reader.close()


def _lines(blocks: Iterator[tuple[int, bytes]], start: int, end: int, batch_rows: int,
           binary: bool) -> Iterator[pa.RecordBatch]:
    """Lines starting in [start, end) from consecutive (offset, bytes) blocks."""
    skipping = start > 0  # drop bytes through the first newline at/after start - 1
    pending: list[bytes] = []  # bytes of the current, unfinished line
    pending_len = 0
    line_start = start  # file offset of pending[0]
    for offset, block in blocks:
        if not block:
            continue
        view = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(view == _NL)
        if skipping:
            if len(newlines) == 0:
                if offset + len(block) >= end:
                    return  # the skipped line runs past the split: no line starts here
                continue
            first = int(newlines[0]) + 1
            newlines = newlines[1:]
            skipping = False
            line_start = offset + first
            if line_start >= end:
                return
            block = block[first:] if newlines.size == 0 else block
            if newlines.size == 0:
                pending, pending_len = ([block] if block else []), len(block)
                continue
            # lines start at `first` within this block; no pending bytes before them
            data, shift, base = block, first, offset
        else:
            if len(newlines) == 0:
                pending.append(block)
                pending_len += len(block)
                continue
            if pending:
                data = b"".join(pending) + block
                newlines = newlines + pending_len
                base = line_start
            else:
                data, base = block, offset
            shift = 0
        # Complete lines in data: [shift, nl0], [nl0+1, nl1], ...; line i starts at starts[i].
        starts = np.empty(len(newlines), dtype=np.int64)
        starts[0] = shift
        starts[1:] = newlines[:-1] + 1
        owned = int(np.searchsorted(starts + base, end, side="left"))
        if owned:
            yield from _emit(data, starts[:owned], newlines[:owned], base, batch_rows, binary)
        rest = int(newlines[-1]) + 1
        if owned < len(newlines) or base + rest >= end:
            return
        tail = data[rest:]
        pending, pending_len, line_start = ([tail] if tail else []), len(tail), base + rest
    if skipping or not pending_len or line_start >= end:
        return
    data = b"".join(pending) + b"\n"  # the last line of a file without a trailing newline
    yield from _emit(data, np.zeros(1, dtype=np.int64), np.array([len(data) - 1]), line_start,
                     batch_rows, binary, strip_cr=False)


def _emit(data: bytes, starts: np.ndarray, newlines: np.ndarray, base: int, batch_rows: int,
          binary: bool, strip_cr: bool = True) -> Iterator[pa.RecordBatch]:
    """Batches for lines data[starts[i]:newlines[i]] (a \\r before the \\n dropped)."""
    n = len(starts)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = starts[0]
    offsets[1:] = newlines + 1
    buf = pa.py_buffer(data)
    if offsets[-1] < 2**31 - 1:
        raw = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                     buf])
    else:
        raw = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), buf])
    lines = pc.binary_slice(raw, 0, -1)
    view = np.frombuffer(data, dtype=np.uint8)
    before = newlines - 1
    has_cr = (before >= starts) & (view[np.maximum(before, 0)] == _CR)
    if strip_cr and has_cr.any():
        lines = pc.if_else(pa.array(has_cr), pc.binary_slice(lines, 0, -1), lines)
    if pa.types.is_large_binary(lines.type):
        lines = lines.cast(pa.binary())
    if not binary:
        lines = _to_string(lines)
    positions = pa.array(starts + base, type=pa.int64())
    schema = text_schema(binary)
    for lo in range(0, n, batch_rows):
        hi = min(lo + batch_rows, n)
        yield pa.RecordBatch.from_arrays([positions.slice(lo, hi - lo), lines.slice(lo, hi - lo)],
                                         schema=schema)


def _to_string(lines: pa.Array) -> pa.Array:
    try:
        return lines.cast(pa.string())
    except pa.ArrowInvalid:  # not UTF-8: replace bad bytes, as Hadoop's Text.toString does
        return pa.array([b.decode("utf-8", "replace") if b is not None else None
                         for b in lines.to_pylist()], type=pa.string())
