"""Shuffle spec execution: cut a table into partitions, assemble and sort a partition.

Pure functions over Arrow tables; the driver decides where they run. Hashing must give the
same partition for the same key in every process, so Python's salted ``hash()`` is not used:
keys are hashed with numpy over the Arrow buffers themselves (a position-weighted polynomial
over the bytes of string/binary keys, finished with MurmurHash3's 64-bit mixer), with no
Python call per row. Values that compare equal across Arrow types hash equal: every integer
type hashes as int64, an integral float as the same integer, string and binary by their bytes.
"""
from __future__ import annotations

import bisect

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.engine.graph import ShuffleSpec

_U64 = np.uint64
_MIX1 = _U64(0xFF51AFD7ED558CCD)
_MIX2 = _U64(0xC4CEB9FE1A85EC53)
_PRIME = _U64(0x100000001B3)
_NULL_HASH = _U64(0x9E3779B97F4A7C15)
_POWERS = np.ones(1, dtype=np.uint64)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U64(33))
    h = h * _MIX1
    h = h ^ (h >> _U64(33))
    h = h * _MIX2
    return h ^ (h >> _U64(33))


def _powers(n: int) -> np.ndarray:
    """``_PRIME ** i`` modulo 2**64 for i < n (cached, grown on demand)."""
    global _POWERS
    if len(_POWERS) < n:
        size = max(n, 2 * len(_POWERS), 64)
        p = np.empty(size, dtype=np.uint64)
        p[0] = 1
        with np.errstate(over="ignore"):
            for i in range(1, size):  # once per process, a few hundred entries typically
                p[i] = p[i - 1] * _PRIME
        _POWERS = p
    return _POWERS


def _hash_bytes_array(arr: pa.Array) -> np.ndarray:
    """Hash every value of a binary/string array (offsets + data buffers), vectorized."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    large = pa.types.is_large_binary(arr.type) or pa.types.is_large_string(arr.type)
    off_type = np.int64 if large else np.int32
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_type, count=n + 1,
                            offset=arr.offset * np.dtype(off_type).itemsize).astype(np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    offsets -= start
    lengths = np.diff(offsets)
    total = end - start
    if total:
        data = np.frombuffer(bufs[2], dtype=np.uint8, count=total, offset=start)
        pos = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        weights = _powers(int(lengths.max()))[pos]
        contrib = (data.astype(np.uint64) + _U64(1)) * weights
        csum = np.zeros(total + 1, dtype=np.uint64)
        np.cumsum(contrib, out=csum[1:])
        h = csum[offsets[1:]] - csum[offsets[:-1]]
    else:
        h = np.zeros(n, dtype=np.uint64)
    h = h + lengths.astype(np.uint64) * _PRIME
    return _fmix64(h)


def _as_hashable(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_dictionary(t):
        return _as_hashable(arr.dictionary_decode())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.view(pa.binary() if pa.types.is_string(t) else pa.large_binary())
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        return arr.cast(pa.large_binary())
    if pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.binary())
    return arr


def hash_array(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A deterministic uint64 hash of every value (nulls hash to a fixed value)."""
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 0:
            return np.zeros(0, dtype=np.uint64)
        return np.concatenate([hash_array(c) for c in arr.chunks])
    arr = _as_hashable(arr)
    t = arr.type
    with np.errstate(over="ignore"):
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            h = _hash_bytes_array(arr)
        elif pa.types.is_integer(t) or pa.types.is_boolean(t):
            ints = pc.cast(arr, pa.int64(), safe=False).fill_null(0)
            h = _fmix64(ints.to_numpy(zero_copy_only=False).view(np.uint64) ^ _PRIME)
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            f = pc.cast(arr, pa.float64(), safe=False).fill_null(0.0).to_numpy(
                zero_copy_only=False) + 0.0  # -0.0 becomes 0.0
            integral = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 2.0**63)
            bits = np.where(integral, f.astype(np.int64, copy=False).view(np.uint64) ^ _PRIME,
                            f.view(np.uint64))
            h = _fmix64(bits)
        elif pa.types.is_temporal(t):
            if pa.types.is_timestamp(t):
                arr = pc.cast(arr, pa.timestamp("us", tz=t.tz), safe=False)
            h = hash_array(pc.cast(arr.view(pa.int64()) if arr.type.bit_width == 64
                                   else arr.cast(pa.int32()).cast(pa.int64()), pa.int64()))
        elif pa.types.is_null(t):
            h = np.full(len(arr), _NULL_HASH, dtype=np.uint64)
        else:  # nested types: their repr, per row (rare as shuffle keys)
            import zlib
            h = _fmix64(np.fromiter((zlib.crc32(repr(v).encode()) for v in arr.to_pylist()),
                                    np.uint64, len(arr)))
        if arr.null_count:
            valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
            h = np.where(valid, h, _NULL_HASH)
    return h


def hash_columns(table: pa.Table | pa.RecordBatch, keys: tuple[str, ...] | list[str]
                 ) -> np.ndarray:
    """One uint64 hash per row over ``keys`` (order matters)."""
    h = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for key in keys:
            h = h * _U64(31) + hash_array(table.column(key))
    return h


def _range_ids(table: pa.Table, spec: ShuffleSpec) -> np.ndarray:
    n = table.num_rows
    if len(spec.keys) == 1:
        col = table.column(spec.keys[0])
        bounds = [b[0] for b in spec.boundaries]
        t = col.type
        if pa.types.is_fixed_size_binary(t):
            width = t.byte_width
            data = pa.concat_arrays(col.chunks) if col.num_chunks != 1 else col.chunk(0)
            if data.null_count == 0 and all(len(b) == width for b in bounds):
                vals = np.frombuffer(data.buffers()[1], dtype=f"V{width}", count=n,
                                     offset=data.offset * width)
                return _searchsorted_void(vals, bounds, width)
        if (pa.types.is_integer(t) or pa.types.is_floating(t)) and col.null_count == 0:
            return np.searchsorted(np.asarray(bounds), col.to_numpy(), side="right"
                                   ).astype(np.int64)
        if pa.types.is_binary(t) or pa.types.is_string(t) or pa.types.is_large_binary(t) \
                or pa.types.is_large_string(t):
            if col.null_count == 0:
                vals = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
                return np.searchsorted(np.asarray(bounds, dtype=object), vals,
                                       side="right").astype(np.int64)
    rows = list(zip(*(table.column(k).to_pylist() for k in spec.keys)))
    bounds_t = list(spec.boundaries)
    return np.fromiter((bisect.bisect_right(bounds_t, r) for r in rows), np.int64, n)


def _searchsorted_void(vals: np.ndarray, bounds: list[bytes], width: int) -> np.ndarray:
    """Range ids of fixed-width byte keys: compare as big-endian unsigned integers."""
    # Bytewise order of fixed-width keys == order of the big-endian integer they spell;
    # split into an 8-byte prefix and the rest and search lexicographically.
    raw = vals.view(np.uint8).reshape(-1, width)
    braw = np.frombuffer(b"".join(bounds), dtype=np.uint8).reshape(-1, width)
    ids = np.zeros(len(raw), dtype=np.int64)
    # bisect_right: count boundaries <= value, done one boundary at a time (few boundaries).
    for b in braw:
        diff = raw != b
        first = np.where(diff.any(axis=1), diff.argmax(axis=1), width)
        eq = first == width
        safe = np.minimum(first, width - 1)
        greater = raw[np.arange(len(raw)), safe] > b[safe]
        ids += (eq | (~eq & greater)).astype(np.int64)
    return ids


def partition_ids(table: pa.Table, spec: ShuffleSpec) -> np.ndarray:
    """The partition number of every row of ``table``."""
    n = table.num_rows
    if spec.kind == "single" or spec.num_partitions == 1:
        return np.zeros(n, dtype=np.int64)
    if spec.kind == "column":
        return np.asarray(table.column(spec.keys[0]).to_numpy(zero_copy_only=False),
                          dtype=np.int64) % spec.num_partitions
    if spec.kind == "range":
        return _range_ids(table, spec)
    h = hash_columns(table, spec.keys)
    return (h % _U64(spec.num_partitions)).astype(np.int64)


def split_table(table: pa.Table, spec: ShuffleSpec) -> list[pa.Table]:
    """Cut ``table`` into ``spec.num_partitions`` tables (some possibly empty)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if spec.num_partitions == 1:
        return [table]
    ids = partition_ids(table, spec)
    order = np.argsort(ids, kind="stable")
    counts = np.bincount(ids, minlength=spec.num_partitions)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    taken = table.take(pa.array(order))
    return [taken.slice(int(bounds[p]), int(counts[p])) for p in range(spec.num_partitions)]


def assemble(blocks: list[pa.Table], spec: ShuffleSpec | None, schema: pa.Schema | None = None
             ) -> pa.Table:
    """Concatenate one partition's blocks from every upstream task, sorting if asked."""
    blocks = [b for b in blocks if b is not None and (b.num_columns or b.num_rows)]
    if not blocks:
        return schema.empty_table() if schema is not None else pa.table({})
    table = pa.concat_tables(blocks, promote_options="permissive") if len(blocks) > 1 \
        else blocks[0]
    if spec is not None and spec.sort_by and table.num_rows > 1:
        table = table.take(pc.sort_indices(table, sort_keys=list(spec.sort_by)))
    return table
