"""A routing round's records read once, partitioned and converted, as chunks per partition.

Partitioning (JQ, tier 1: Arrow reads the query's fields) and conversion (Arrow reads the
table's columns) each need the records parsed; when both are on and both may use Arrow, one
read with the table's columns and the query's fields (as strings) serves both, as pyarrow's own
``read_json`` reads each record once. Whatever cannot be read so falls back to each one's own
path (``Partitioner.groups``, ``Converter.convert``), which decide the same.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa

from rayemr.firehose import ndjson
from rayemr.firehose.chunks import Chunk
from rayemr.firehose.convert import Converter
from rayemr.firehose.partitioning import Keys, Partitioner

#: (position in the chunk, error code, message) of a record that did not convert.
Failed = tuple[int, str, str]


def read_once(records: Sequence[bytes], partitioner: Partitioner | None,
              converter: Converter | None, lens: np.ndarray | None = None) -> pa.Table | None:
    """The records read by Arrow for both the partitioner's fields and the converter's
    columns, or None if one read cannot serve both; ``lens``: their sizes, if known."""
    fields = partitioner.fields if partitioner is not None else None
    if converter is None or not converter.fast or not fields or not records:
        return None
    schema = converter.schema
    for f in fields:
        if f in schema.names:
            if schema.field(f).type != pa.string():  # the partitioner reads strings only
                return None
        else:
            schema = schema.append(pa.field(f, pa.string()))
    joined = partitioner.joinable(records, lens)  # type: ignore[union-attr]
    if joined is None:
        return None
    return ndjson.read_joined(joined, len(records), schema, unexpected="infer")


def convert(converter: Converter, chunk: Chunk, groups: Sequence[tuple[Keys, Sequence[int]]],
            rows: pa.Table | None) -> list[tuple[Keys, Chunk, list[Failed]]]:
    """Each group's records converted (their rows in the chunks; bytes dropped) and the ones
    of it that did not convert, in the order of ``groups``. ``rows``: the chunk's records as
    ``read_once`` read them."""
    if rows is not None:
        table = converter.from_rows(rows)
        if table is not None:
            return [(keys, chunk.take(pos, table, keep_data=False), []) for keys, pos in groups]
    if not groups:
        return []
    positions = np.sort(np.concatenate([np.asarray(pos, dtype=np.int64) for _, pos in groups]))
    assert chunk.datas is not None
    datas = chunk.datas
    converted = converter.convert(datas if len(positions) == len(datas)
                                  else [datas[i] for i in positions.tolist()])
    row_of = np.full(len(chunk), -1, dtype=np.int64)
    row_of[positions[np.asarray(converted.rows, dtype=np.int64)]] = np.arange(
        len(converted.rows))
    why = {int(positions[i]): (code, message) for i, code, message in converted.failed}
    out = []
    for keys, pos in groups:
        pos = np.asarray(pos, dtype=np.int64)
        at = row_of[pos]
        keep = at >= 0
        failed = [(i, *why[i]) for i in pos[~keep].tolist()]
        out.append((keys, chunk.take(pos[keep], converted.table, at[keep], keep_data=False),
                    failed))
    return out
