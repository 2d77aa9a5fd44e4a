"""Shuffle spec execution: cut a table into partitions, assemble and sort a partition.

Pure functions over Arrow tables; the driver decides where they run. Hashing must give the
same partition for the same key in every process, so Python's salted ``hash()`` is not used.
"""
from __future__ import annotations

import bisect
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.engine.graph import ShuffleSpec


def _key_bytes(values: list) -> list[bytes]:
    return [repr(v).encode() for v in values]


def partition_ids(table: pa.Table, spec: ShuffleSpec) -> np.ndarray:
    """The partition number of every row of ``table``."""
    n = table.num_rows
    if spec.kind == "single" or spec.num_partitions == 1:
        return np.zeros(n, dtype=np.int64)
    if spec.kind == "column":
        return np.asarray(table.column(spec.keys[0]).to_numpy(zero_copy_only=False),
                          dtype=np.int64) % spec.num_partitions
    if spec.kind == "range":
        rows = list(zip(*(table.column(k).to_pylist() for k in spec.keys)))
        bounds = list(spec.boundaries)
        return np.fromiter((bisect.bisect_right(bounds, r) for r in rows), np.int64, n)
    h = np.zeros(n, dtype=np.uint32)
    for key in spec.keys:
        col = _key_bytes(table.column(key).to_pylist())
        h = h * np.uint32(31) + np.fromiter((zlib.crc32(b) for b in col), np.uint32, n)
    return (h % np.uint32(spec.num_partitions)).astype(np.int64)


def split_table(table: pa.Table, spec: ShuffleSpec) -> list[pa.Table]:
    """Cut ``table`` into ``spec.num_partitions`` tables (some possibly empty)."""
    ids = partition_ids(table, spec)
    if spec.num_partitions == 1:
        return [table]
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    taken = table.take(pa.array(order))
    bounds = np.searchsorted(sorted_ids, np.arange(spec.num_partitions + 1))
    return [taken.slice(int(bounds[p]), int(bounds[p + 1] - bounds[p]))
            for p in range(spec.num_partitions)]


def assemble(blocks: list[pa.Table], spec: ShuffleSpec | None, schema: pa.Schema | None = None
             ) -> pa.Table:
    """Concatenate one partition's blocks from every upstream task, sorting if asked."""
    blocks = [b for b in blocks if b is not None]
    if not blocks:
        return schema.empty_table() if schema is not None else pa.table({})
    table = pa.concat_tables(blocks, promote_options="permissive")
    if spec is not None and spec.sort_by and table.num_rows:
        table = table.take(pc.sort_indices(table, sort_keys=list(spec.sort_by)))
    return table
