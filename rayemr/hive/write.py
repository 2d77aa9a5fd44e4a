"""Writing query results from the tasks: Hive's file formats, one part file per task.

The last stage of an INSERT, CTAS or INSERT OVERWRITE DIRECTORY hands its rows to
:func:`write_rows` instead of returning them: the rows are shaped to the target's columns
(INSERT's positional casts, a column list's reordering with NULL for unlisted columns),
split by dynamic partition values into ``key=value`` folders, serialised in the table's
format and written through the job's output committer (``ctx.open_output``), so nothing is
visible until every task succeeded and the job commits. The driver gets back a small table
per task: the dynamic partition values written and the row count of each.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa
import pyarrow.compute as pc

from rayemr.hive import exec as hexec
from rayemr.hive.metastore.models import StorageFormat, escape_path_value

ROWS = "__rows"


@dataclass(frozen=True)
class WriteSpec:
    """How the tasks of a write stage turn their rows into files.

    ``columns``: the target's data columns (name, Hive type) followed by ``dynamic``
    partition columns; ``None`` writes the query's columns as they are (a directory).
    ``source``: for each of those columns, the index of the query column feeding it, or
    ``None`` for NULL (an INSERT column list); empty means positional.
    """

    storage: StorageFormat
    what: str
    columns: Optional[tuple[tuple[str, str], ...]] = None
    dynamic: tuple[str, ...] = ()
    source: tuple[Optional[int], ...] = ()

    @property
    def query_arity(self) -> Optional[int]:
        if self.columns is None:
            return None
        if self.source:
            return sum(1 for i in self.source if i is not None)
        return len(self.columns)


def serialize(data: pa.Table, fmt: StorageFormat) -> bytes:
    """Rows in a Hive storage format (TEXTFILE uses LazySimpleSerDe's delimiters)."""
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(data, buf)
        return buf.getvalue()
    if fmt.kind == "orc":
        import pyarrow.orc as orc

        buf = io.BytesIO()
        orc.write_table(data, buf)
        return buf.getvalue()
    if fmt.kind == "json":
        rows = data.to_pylist()
        return "".join(json.dumps(r, default=str) + "\n" for r in rows).encode()
    if fmt.kind == "csv":
        import pyarrow.csv as pacsv

        props = fmt.props
        buf = io.BytesIO()
        pacsv.write_csv(data, buf, pacsv.WriteOptions(
            include_header=False, delimiter=props.get("separatorChar", ","),
            quoting_style="all_valid"))
        return buf.getvalue()
    p = fmt.props
    return hexec.text_lines(data, p.get("field.delim", "\x01"),
                            p.get("serialization.null.format", "\\N"),
                            p.get("collection.delim", "\x02"), p.get("mapkey.delim", "\x03"))


def file_name(task_index: int, fmt: StorageFormat) -> str:
    """Hive's part file names: ``000003_0`` (``.parquet``/``.orc`` for those formats)."""
    base = f"{task_index:06d}_0"
    return base + {"parquet": ".parquet", "orc": ".orc"}.get(fmt.kind, "")


def partition_value(v: Any) -> str:
    if v is None:
        return hexec.HIVE_DEFAULT_PARTITION
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def partition_path(keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    return "/".join(f"{k}={escape_path_value(v)}" for k, v in zip(keys, values))


def shape(table: pa.Table, write: WriteSpec) -> pa.Table:
    """The query's rows as the target's columns (casts, column-list order, NULLs)."""
    if write.columns is None:
        return table
    return hexec.cast_to_schema(table, write.columns, write.what, write.source or None)


def split_dynamic(data: pa.Table, keys: tuple[str, ...]
                  ) -> list[tuple[tuple[str, ...], pa.Table]]:
    """Rows grouped by their dynamic partition values (as partition value strings)."""
    if not keys:
        return [((), data)]
    combos = data.select(list(keys)).group_by(list(keys)).aggregate([]).to_pylist()
    out = []
    for combo in combos:
        mask = None
        for k in keys:
            v = combo[k]
            m = pc.is_null(data[k]) if v is None else pc.equal(
                data[k], pa.scalar(v, data.schema.field(k).type))
            mask = m if mask is None else pc.and_(mask, m)
        out.append((tuple(partition_value(combo[k]) for k in keys), data.filter(mask)))
    return out


def summary(keys: tuple[str, ...], groups: list[tuple[tuple[str, ...], int]]) -> pa.Table:
    cols = {k: pa.array([g[0][i] for g in groups], pa.string()) for i, k in enumerate(keys)}
    cols[ROWS] = pa.array([g[1] for g in groups], pa.int64())
    return pa.table(cols)


def write_rows(ctx: Any, write: WriteSpec, table: pa.Table) -> pa.Table:
    """Write one task's rows through the job's committer; returns its summary table."""
    data = shape(table, write)
    written: list[tuple[tuple[str, ...], int]] = []
    if data.num_rows:
        names = [n for n in data.column_names if n not in write.dynamic]
        for values, part in split_dynamic(data, write.dynamic):
            if not part.num_rows:
                continue
            name = file_name(ctx.task_index, write.storage)
            if write.dynamic:
                name = partition_path(write.dynamic, values) + "/" + name
            body = serialize(part.select(names), write.storage)
            with ctx.open_output(name) as f:
                f.write(body)
            written.append((values, part.num_rows))
    ctx.increment_counter("HIVE", "RECORDS_WRITTEN", data.num_rows)
    return summary(write.dynamic, written)
