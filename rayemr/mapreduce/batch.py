"""The vectorized job API: Arrow batches in, key and value columns out, no Python per record.

::

    class WordCount(BatchJob):
        REDUCE = {"count": "count"}          # declarative: combined map-side, finished reduce-side

        def map_batch(self, batch):          # batch: offset, line (text) or Parquet columns
            words = pc.utf8_split_whitespace(pc.utf8_lower(batch["line"])).flatten()
            return pa.table({"key": words})

``REDUCE`` maps an output column to ``sum``, ``count``, ``min``, ``max``, ``first`` or
``collect`` (a list of values); ``count`` counts rows and needs no input column, the others
aggregate the map output's column of the same name. Instead of ``REDUCE`` a job may define
``reduce_batch(key, table)`` (called once per key with that key's rows) -- per key, never per
record. ``KEYS`` names the key columns (default ``("key",)``). Output: ``OUTPUT_FORMAT``
``text`` (columns joined by tabs, one line per row, sorted by key within a part), ``json``
(JSON lines) or ``parquet``.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import ConfigError, UserError
from rayemr.engine.context import TaskContext
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph
from rayemr.mapreduce.arguments import add_job_arguments
from rayemr.mapreduce.runner import JobRunner

AGGREGATES = ("sum", "count", "min", "max", "first", "collect")
_MAP_SIDE = {"sum": "sum", "count": "count_all", "min": "min", "max": "max", "first": "first",
             "collect": "list"}
_REDUCE_SIDE = {"sum": "sum", "count": "sum", "min": "min", "max": "max", "first": "first",
                "collect": "list"}
MR = "Map-Reduce Framework"
_COMBINE_ROWS = 1 << 20


class BatchJob:
    """Base class of vectorized jobs (see the module docstring)."""

    KEYS: Sequence[str] = ("key",)
    REDUCE: dict[str, str] = {}
    OUTPUT_FORMAT: str = "text"
    JOBCONF: dict[str, str] = {}
    #: Sort each part's rows by these columns (default: the keys) before writing.
    SORT_BY: Sequence[tuple[str, str]] | None = None

    def __init__(self, args: Sequence[str] | None = None) -> None:
        # the same command line as MRJob's (inputs, -r, -o, --num-reducers, --conf ...)
        self.arg_parser = argparse.ArgumentParser(prog=type(self).__name__)
        add_job_arguments(self.arg_parser)
        self.configure_args()
        self._args = list(sys.argv[1:] if args is None else args)
        self.options = self.arg_parser.parse_args(self._args)
        self._validate()

    def configure_args(self) -> None:
        """Override to add arguments with ``self.arg_parser.add_argument``."""

    def add_passthru_arg(self, *args: Any, **kwargs: Any) -> None:
        self.arg_parser.add_argument(*args, **kwargs)

    def _validate(self) -> None:
        for col, agg in self.REDUCE.items():
            if agg not in AGGREGATES:
                raise ConfigError(f"{type(self).__name__}.REDUCE[{col!r}] = {agg!r}: use one "
                                  f"of {', '.join(AGGREGATES)}")
        has_reduce_batch = type(self).reduce_batch is not BatchJob.reduce_batch
        if self.REDUCE and has_reduce_batch:
            raise ConfigError(f"{type(self).__name__}: define REDUCE or reduce_batch, not both")
        if self.OUTPUT_FORMAT not in ("text", "json", "parquet"):
            raise ConfigError(f"OUTPUT_FORMAT={self.OUTPUT_FORMAT!r}: text, json or parquet")

    def map_batch(self, batch: pa.RecordBatch) -> pa.Table | pa.RecordBatch | dict:
        raise NotImplementedError(f"{type(self).__name__} must define map_batch(batch)")

    def reduce_batch(self, key: Any, table: pa.Table) -> pa.Table | dict | None:
        raise NotImplementedError

    def jobconf(self) -> dict[str, str]:
        return dict(self.JOBCONF)

    def make_runner(self) -> JobRunner:
        return JobRunner(self)

    def plan_graph(self, splits: Sequence[Any], *, num_reducers: int, fs_config: Any = None,
                   conf: dict[str, str] | None = None) -> StageGraph:
        """The job's StageGraph over ``splits`` (the runner calls this; see plan_batch_job)."""
        return plan_batch_job(self, splits, num_reducers=num_reducers, fs_config=fs_config,
                              conf=conf)

    @classmethod
    def run(cls) -> None:
        from rayemr.mapreduce.submit import run_command_line

        sys.exit(run_command_line(cls(args=sys.argv[1:])))

    def parse_output(self, chunks):
        buf = b"".join(chunks)
        for line in buf.splitlines():
            if self.OUTPUT_FORMAT == "json":
                yield json.loads(line)
            else:
                yield tuple(line.decode("utf-8").split("\t"))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("arg_parser", None)
        return state


def _as_table(out: Any) -> pa.Table:
    if isinstance(out, pa.Table):
        return out
    if isinstance(out, pa.RecordBatch):
        return pa.Table.from_batches([out])
    if isinstance(out, dict):
        return pa.table(out)
    raise UserError(f"map_batch/reduce_batch must return a pyarrow Table, RecordBatch or "
                    f"dict of columns, not {type(out).__name__}")


def _aggregate(table: pa.Table, keys: Sequence[str], reduce: dict[str, str],
               side: dict[str, str]) -> pa.Table:
    aggs = []
    names = list(keys)
    for col, agg in reduce.items():
        fn = side[agg]
        if fn == "count_all":
            aggs.append(([], "count_all"))
        else:
            aggs.append((col, fn))
        names.append(col)
    grouped = table.group_by(list(keys), use_threads=False).aggregate(aggs)
    # aggregate() puts the aggregates first, then the keys
    out = grouped.select([*(f"{c}_{side[a]}" if side[a] != "count_all" else "count_all"
                            for c, a in reduce.items()), *keys])
    out = out.rename_columns([*reduce.keys(), *keys]).select(names)
    for col, agg in reduce.items():
        if agg == "collect" and side is _REDUCE_SIDE:
            out = out.set_column(out.schema.get_field_index(col), col,
                                 _flatten_lists(out.column(col)))
    return out


def _flatten_lists(col: pa.ChunkedArray) -> pa.ChunkedArray:
    # reduce side of collect: list<list<x>> -> list<x>
    return pa.chunked_array([_flat1(c) for c in col.chunks])


def _flat1(arr: pa.Array) -> pa.Array:
    offsets = arr.offsets
    inner = arr.values
    inner_offsets = inner.offsets
    new_offsets = inner_offsets.take(offsets)
    return pa.ListArray.from_arrays(new_offsets, inner.values)


@dataclass(frozen=True)
class _BatchStage:
    job: BatchJob
    side: str  # "map" | "reduce"
    fs_config: Any = None
    batch_rows: int = 1 << 17

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> pa.Table | None:
        if self.side == "map":
            return self._map(ctx, inputs["split"])
        return self._reduce(ctx, inputs["shuffle"])

    def _batches(self, ctx: TaskContext, split: Any):
        from rayemr.fs import read_parquet_split, read_text_batches

        if getattr(split, "format", "text") == "parquet":
            table = read_parquet_split(split, config=self.fs_config)
            ctx.increment_counter(MR, "Map input records", table.num_rows)
            yield from table.to_batches(self.batch_rows)
            return
        for batch in read_text_batches(split, self.fs_config, batch_rows=self.batch_rows):
            ctx.increment_counter(MR, "Map input records", batch.num_rows)
            ctx.increment_counter("File System Counters", "Bytes read",
                                  (pc.sum(pc.binary_length(batch.column(1))).as_py() or 0)
                                  + batch.num_rows)
            yield batch

    def _map(self, ctx: TaskContext, split: Any) -> pa.Table:
        job, keys = self.job, list(self.job.KEYS)
        pending: list[pa.Table] = []
        combined: list[pa.Table] = []
        rows = 0
        for batch in self._batches(ctx, split):
            out = _as_table(job.map_batch(batch))
            for k in keys:
                if k not in out.column_names:
                    raise UserError(f"{type(job).__name__}.map_batch returned no key column "
                                    f"{k!r} (columns: {out.column_names})")
            ctx.increment_counter(MR, "Map output records", out.num_rows)
            pending.append(out)
            rows += out.num_rows
            if job.REDUCE and rows >= _COMBINE_ROWS:
                combined.append(self._combine(ctx, pending))
                pending, rows = [], 0
        if job.REDUCE:
            if pending or not combined:
                combined.append(self._combine(ctx, pending))
            result = combined[0] if len(combined) == 1 else _aggregate(
                pa.concat_tables(combined), keys, job.REDUCE, _REDUCE_SIDE)
        else:
            result = pa.concat_tables(pending, promote_options="permissive") if pending \
                else pa.table({k: pa.array([], pa.string()) for k in keys})
        ctx.increment_counter(MR, "Spilled Records", result.num_rows)
        return result

    def _combine(self, ctx: TaskContext, tables: list[pa.Table]) -> pa.Table:
        job = self.job
        if not tables:
            cols = {k: pa.array([], pa.string()) for k in job.KEYS}
            for c, a in job.REDUCE.items():
                cols[c] = pa.array([], pa.int64())
            return pa.table(cols)
        t = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 \
            else tables[0]
        ctx.increment_counter(MR, "Combine input records", t.num_rows)
        out = _aggregate(t, job.KEYS, job.REDUCE, _MAP_SIDE)
        ctx.increment_counter(MR, "Combine output records", out.num_rows)
        return out

    def _reduce(self, ctx: TaskContext, table: pa.Table) -> None:
        job, keys = self.job, list(self.job.KEYS)
        ctx.increment_counter(MR, "Reduce input records", table.num_rows)
        if table.num_columns == 0 or table.num_rows == 0:
            out = None
        elif job.REDUCE:
            out = _aggregate(table, keys, job.REDUCE, _REDUCE_SIDE)
            ctx.increment_counter(MR, "Reduce input groups", out.num_rows)
        else:
            out = self._reduce_groups(ctx, table, keys)
        if out is not None and out.num_rows:
            sort_by = list(job.SORT_BY) if job.SORT_BY else [(k, "ascending") for k in keys]
            out = out.take(pc.sort_indices(out, sort_keys=sort_by))
            ctx.increment_counter(MR, "Reduce output records", out.num_rows)
        _write(ctx, out, job.OUTPUT_FORMAT)
        return None

    def _reduce_groups(self, ctx: TaskContext, table: pa.Table, keys: list[str]
                       ) -> pa.Table | None:
        import numpy as np

        if type(self.job).reduce_batch is BatchJob.reduce_batch:
            return table  # identity reducer: sorted, grouped rows
        table = table.take(pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys]))
        n = table.num_rows
        change = np.zeros(n, dtype=bool)
        change[0] = True
        for k in keys:
            col = table.column(k).combine_chunks()
            if n > 1:
                change[1:] |= pc.not_equal(col.slice(1), col.slice(0, n - 1)).fill_null(
                    True).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(change).tolist() + [n]
        key_rows = table.select(keys).take(pa.array(starts[:-1])).to_pylist()
        outs = []
        ctx.increment_counter(MR, "Reduce input groups", len(key_rows))
        for i, krow in enumerate(key_rows):
            key = krow[keys[0]] if len(keys) == 1 else tuple(krow[k] for k in keys)
            res = self.job.reduce_batch(key, table.slice(starts[i], starts[i + 1] - starts[i]))
            if res is not None:
                outs.append(_as_table(res))
        return pa.concat_tables(outs, promote_options="permissive") if outs else None


def _write(ctx: TaskContext, table: pa.Table | None, fmt: str) -> None:
    name = f"part-r-{ctx.task_index:05d}"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with ctx.open_output(name + ".parquet") as f:
            pq.write_table(table if table is not None else pa.table({}), f)
        return
    with ctx.open_output(name) as f:
        if table is None or table.num_rows == 0:
            return
        if fmt == "json":
            for batch in table.to_batches(65536):
                f.write(b"".join(json.dumps(r).encode() + b"\n" for r in batch.to_pylist()))
            return
        for batch in table.to_batches(1 << 18):
            cols = [_text(batch.column(i)) for i in range(batch.num_columns)]
            f.write(text_lines(cols))


def text_lines(cols: list[pa.Array]) -> bytes:
    """Rows of string columns as tab-separated, newline-terminated lines (vectorized)."""
    joined = pc.binary_join_element_wise(*cols, pa.scalar(""), "\t") if len(cols) > 1 \
        else pc.binary_join_element_wise(cols[0], pa.scalar(""), "\n")
    if len(cols) > 1:  # "a\tb\t" -> "a\tb\n": replace the trailing tab
        joined = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(joined, 0, -1), pa.scalar(""), "\n")
    joined = joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
    if len(joined) == 0:
        return b""
    import numpy as np

    large = pa.types.is_large_string(joined.type)
    width = 8 if large else 4
    bufs = joined.buffers()
    off = np.frombuffer(bufs[1], dtype=np.int64 if large else np.int32, count=len(joined) + 1,
                        offset=joined.offset * width)
    return bytes(memoryview(bufs[2])[int(off[0]):int(off[-1])])


def _text(col: pa.Array) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col.fill_null("")
    if pa.types.is_list(col.type) or pa.types.is_struct(col.type):
        return pa.array([json.dumps(v) for v in col.to_pylist()], pa.string())
    return pc.cast(col, pa.string()).fill_null("")


def plan_batch_job(job: BatchJob, splits: Sequence[Any], *, num_reducers: int,
                   fs_config: Any = None, conf: dict[str, str] | None = None) -> StageGraph:
    """Two stages: map (+ declarative combine) over splits, reduce into part files."""
    if not splits:
        raise UserError(f"{type(job).__name__}: the input has no files")
    keys = tuple(job.KEYS)
    spec = ShuffleSpec(num_reducers, keys)
    stages = (
        Stage("Stage-1", _BatchStage(job, "map", fs_config), (SplitInput("split", tuple(splits)),),
              output=spec, kind="map", description="map_batch -> combine -> shuffle"),
        Stage("Stage-2", _BatchStage(job, "reduce", fs_config),
              (ShuffleInput("shuffle", "Stage-1"),), kind="reduce",
              description="reduce -> write"),
    )
    return StageGraph(stages, name=type(job).__name__,
                      conf=tuple(sorted((conf or {}).items())))
