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

import functools
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import UserError
from rayemr.core.native import optional
from rayemr.fs.blocks import RangeReader, iter_decompressed, iter_ranges, shared_native_file
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
        arrow_file, owned = None, True
        if native:  # one attempt per native request: retried and counted by EMRFS
            afs, apath = arrow_filesystem(split.url, config, sdk_retries=False)
            key = None  # splits of one listed file version share one open file (no HEAD each)
            if split.mtime is not None:
                key = (split.url, split.file_size, split.mtime, config,
                       config.effective_endpoint())
            arrow_file, owned = shared_native_file(afs, apath, key, config.max_attempts,
                                                   split.url)
        reader = RangeReader(fs, path, arrow_file, owned, config.max_attempts, split.url)
        try:
            begin = split.start - 1 if split.start > 0 else 0
            scan = functools.partial(scan_block, binary=binary)
            blocks = iter_ranges(reader, begin, split.end, split.file_size, block, scan)
            try:
                yield from _lines(blocks, split.start, split.end, batch_rows, binary)
            finally:
                blocks.close()
        finally:
            reader.close()


_NEWLINES = optional("rayemr.fs._lines", "newlines")  # None: numpy below


def find_newlines(data: bytes) -> np.ndarray:
    """Positions of every ``\\n`` in data (int64; without the GIL on large blocks)."""
    if _NEWLINES is not None:
        return np.frombuffer(_NEWLINES(data), dtype=np.int64)
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NL)


class BlockLines:
    """One block's newlines and the complete lines between its first and last newline.

    Built by ``scan_block`` on the read-ahead thread right after the read (numpy and Arrow
    release the GIL), so the consumer only slices: ``lines[i]`` (string or binary, terminator
    dropped) starts at ``starts[i]`` within the block.
    """

    __slots__ = ("first_nl", "last_nl", "starts", "lines")

    def __init__(self, first_nl: int, last_nl: int, starts: np.ndarray,
                 lines: pa.Array | None) -> None:
        self.first_nl = first_nl  # -1: no newline in the block
        self.last_nl = last_nl
        self.starts = starts
        self.lines = lines


def scan_block(data: bytes, binary: bool = False) -> BlockLines:
    newlines = find_newlines(data)
    if len(newlines) == 0:
        return BlockLines(-1, -1, newlines, None)
    starts = newlines[:-1] + 1
    lines = None
    if len(starts):
        lines = _line_array(data, starts, newlines[1:])
        if not binary:  # ASCII is valid UTF-8: reinterpret, no validation pass
            lines = lines.view(pa.string()) if data.isascii() else _to_string(lines)
    return BlockLines(int(newlines[0]), int(newlines[-1]), starts, lines)


def _lines(blocks: Iterator[tuple], start: int, end: int, batch_rows: int, binary: bool
           ) -> Iterator[pa.RecordBatch]:
    """Lines starting in [start, end) from consecutive (offset, bytes[, BlockLines]) blocks.

    A block's lines normally come ready from the read-ahead thread (``scan_block``); they lie
    on the block's own buffer. Only the line that straddles two blocks is copied.
    """
    skipping = start > 0  # drop bytes through the first newline at/after start - 1
    carry: list[bytes] = []  # bytes of the unfinished line that began in earlier blocks
    line_start = start  # file offset of the next line (the one carry holds the head of)
    for item in blocks:
        offset, data = item[0], item[1]
        if not data:
            continue
        scanned = item[2] if len(item) > 2 and item[2] is not None else scan_block(data, binary)
        if scanned.first_nl < 0:
            if skipping:
                if offset + len(data) >= end:
                    return  # the skipped line runs past the split: no line starts here
            else:
                carry.append(data)
            continue
        head = None
        if skipping:
            skipping = False
        else:  # the line that ends at the first newline: carried bytes + this block's start
            piece = data[:scanned.first_nl + 1]
            head = (line_start, b"".join(carry) + piece if carry else piece)
            carry = []
        line_start = offset + scanned.first_nl + 1
        starts = scanned.starts
        owned = int(np.searchsorted(starts, end - offset, side="left")) \
            if line_start < end else 0
        if head is not None or owned:
            yield from _emit(scanned.lines, starts[:owned] + offset, batch_rows, binary, head)
        if owned < len(starts) or line_start >= end:
            return  # a line starting at or after end: the next split's
        rest = scanned.last_nl + 1
        line_start = offset + rest
        if line_start >= end:
            return
        if rest < len(data):
            carry = [data[rest:]]
    if skipping or not carry or line_start >= end:
        return
    last = b"".join(carry) + b"\n"  # the last line of a file without a trailing newline
    yield from _emit(None, np.zeros(0, dtype=np.int64), batch_rows, binary, (line_start, last),
                     strip_cr=False)


def _line_array(data: bytes, starts: np.ndarray, newlines: np.ndarray, strip_cr: bool = True
                ) -> pa.Array:
    """Binary array of data[starts[i]:newlines[i]], a \\r before the \\n dropped."""
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
    if strip_cr and b"\r" in data:  # memchr: most text has no CR at all
        view = np.frombuffer(data, dtype=np.uint8)
        before = newlines - 1
        has_cr = (before >= starts) & (view[np.maximum(before, 0)] == _CR)
        if has_cr.any():
            lines = pc.if_else(pa.array(has_cr), pc.binary_slice(lines, 0, -1), lines)
    if pa.types.is_large_binary(lines.type):
        lines = lines.cast(pa.binary())
    return lines


def _emit(lines: pa.Array | None, positions: np.ndarray, batch_rows: int, binary: bool,
          head: tuple[int, bytes] | None = None, strip_cr: bool = True
          ) -> Iterator[pa.RecordBatch]:
    """Batches of the first ``len(positions)`` of ``lines``, at those file offsets.

    ``head`` is one more line, (file offset, bytes ending in \\n), that comes first; it joins
    the first batch (only that batch's rows are copied).
    """
    schema = text_schema(binary)
    n = len(positions)
    pos = pa.array(positions, type=pa.int64())
    lines = lines.slice(0, n) if n else None
    lo = 0
    if head is not None:
        hb = head[1]
        hl = _line_array(hb, np.zeros(1, dtype=np.int64), np.array([len(hb) - 1]), strip_cr)
        if not binary:
            hl = _to_string(hl)
        hp = pa.array([head[0]], type=pa.int64())
        lo = min(batch_rows - 1, n)
        if lo:
            hp = pa.concat_arrays([hp, pos.slice(0, lo)])
            hl = pa.concat_arrays([hl, lines.slice(0, lo)])
        yield pa.RecordBatch.from_arrays([hp, hl], schema=schema)
    for lo in range(lo, n, batch_rows):
        yield pa.RecordBatch.from_arrays([pos.slice(lo, batch_rows), lines.slice(lo, batch_rows)],
                                         schema=schema)


def _to_string(lines: pa.Array) -> pa.Array:
    try:
        return lines.cast(pa.string())
    except pa.ArrowInvalid:  # not UTF-8: replace bad bytes, as Hadoop's Text.toString does
        return pa.array([b.decode("utf-8", "replace") if b is not None else None
                         for b in lines.to_pylist()], type=pa.string())
