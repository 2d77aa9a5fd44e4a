"""TeraGen, TeraSort and TeraValidate on the engine, vectorized end to end.

Records are gensort's ASCII format, 100 bytes: a 10-byte printable key, 2 spaces, the row id
in 32 hex digits, 2 spaces, 52 filler bytes, CR LF. TeraSort samples keys from the input,
cuts the key space into ``num_reducers`` ranges (so part-r-00000 < part-r-00001 < ...), and
each reduce task sorts its range; TeraValidate checks the global order and that the
output's checksum (an order-independent sum of record hashes) equals the input's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import UserError
from rayemr.engine.context import TaskContext
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph
from rayemr.engine.shuffle import hash_array

RECORD = 100
KEY = 10
MR = "Map-Reduce Framework"


def make_records(first_row: int, count: int, seed: int = 42) -> bytes:
    """``count`` records starting at row ``first_row`` (deterministic per row range)."""
    rows = np.arange(first_row, first_row + count, dtype=np.uint64)
    rng = np.random.default_rng([seed, first_row])
    out = np.empty((count, RECORD), dtype=np.uint8)
    out[:, :KEY] = rng.integers(32, 127, size=(count, KEY), dtype=np.uint8)
    out[:, KEY:KEY + 2] = ord(" ")
    hexdigits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    out[:, 12:28] = ord("0")  # row ids < 2**64: the upper 16 hex digits are zero
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nib = ((rows[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
    out[:, 28:44] = hexdigits[nib]
    out[:, 44:46] = ord(" ")
    base = (rows % np.uint64(26)).astype(np.uint8)
    out[:, 46:98] = (base[:, None] + np.arange(52, dtype=np.uint8)) % np.uint8(26) + \
        np.uint8(65)
    out[:, 98] = 13
    out[:, 99] = 10
    return out.tobytes()


@dataclass(frozen=True)
class _Gen:
    seed: int

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> None:
        first, count = inputs["rows"]
        with ctx.open_output(f"part-m-{ctx.task_index:05d}") as f:
            step = 1 << 18
            for start in range(first, first + count, step):
                n = min(step, first + count - start)
                f.write(make_records(start, n, self.seed))
        ctx.increment_counter(MR, "Map output records", count)
        return None


def teragen_graph(num_records: int, num_maps: int = 2, seed: int = 42) -> StageGraph:
    if num_records < 0 or num_maps < 1:
        raise UserError("teragen needs num_records >= 0 and num_maps >= 1")
    per = -(-num_records // num_maps) if num_records else 0
    ranges = tuple((i * per, max(0, min(per, num_records - i * per))) for i in range(num_maps))
    return StageGraph((Stage("Stage-1", _Gen(seed), (SplitInput("rows", ranges),),
                             description="generate records"),), name="TeraGen")


def _lines(ctx: TaskContext, split: Any, fs_config: Any):
    from rayemr.fs import read_text_batches

    for batch in read_text_batches(split, fs_config, batch_rows=1 << 18, binary=True):
        ctx.increment_counter(MR, "Map input records", batch.num_rows)
        yield batch.column(1)


@dataclass(frozen=True)
class _SortMap:
    fs_config: Any = None

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> pa.Table:
        chunks = list(_lines(ctx, inputs["split"], self.fs_config))
        lines = pa.chunked_array(chunks, pa.binary()).combine_chunks() if chunks else \
            pa.array([], pa.binary())
        keys = pc.binary_slice(lines, 0, KEY).cast(pa.binary(KEY)) if len(lines) else \
            pa.array([], pa.binary(KEY))
        return pa.table({"key": keys, "line": lines})


def _write_lines(ctx: TaskContext, name: str, lines: pa.Array) -> None:
    with ctx.open_output(name) as f:
        if len(lines) == 0:
            return
        joined = pc.binary_join_element_wise(lines, pa.scalar(b"", pa.binary()),
                                             pa.scalar(b"\r\n", pa.binary()))
        joined = joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
        bufs = joined.buffers()
        off = np.frombuffer(bufs[1], dtype=np.int32, count=len(joined) + 1,
                            offset=joined.offset * 4)
        f.write(bytes(memoryview(bufs[2])[int(off[0]):int(off[-1])]))


def _sort_reduce(ctx: TaskContext, inputs: dict[str, Any]) -> None:
    table = inputs["shuffle"]
    lines = table.column("line") if table.num_columns else pa.chunked_array([], pa.binary())
    ctx.increment_counter(MR, "Reduce input records", len(lines))
    _write_lines(ctx, f"part-r-{ctx.task_index:05d}", lines.combine_chunks())
    return None


def sample_boundaries(splits: list[Any], num_partitions: int, sample_size: int = 100_000,
                      fs_config: Any = None) -> tuple[tuple[bytes], ...]:
    """Range boundaries from keys sampled across the splits (TeraSort's sampler)."""
    from rayemr.fs import read_text_batches

    if num_partitions <= 1 or not splits:
        return ()
    chosen = splits if len(splits) <= 10 else [splits[i * len(splits) // 10]
                                              for i in range(10)]
    per = max(1, sample_size // len(chosen))
    keys: list[bytes] = []
    for split in chosen:
        got = 0
        for batch in read_text_batches(split, fs_config, batch_rows=min(per, 1 << 16),
                                       binary=True):
            keys.extend(pc.binary_slice(batch.column(1), 0, KEY).to_pylist())
            got += batch.num_rows
            if got >= per:
                break
    keys.sort()
    if not keys:
        return tuple((b" " * KEY,) for _ in range(num_partitions - 1))
    return tuple((keys[min(len(keys) - 1, (i * len(keys)) // num_partitions)].ljust(KEY),)
                 for i in range(1, num_partitions))


def terasort_graph(splits: list[Any], num_reducers: int, boundaries, fs_config: Any = None
                   ) -> StageGraph:
    if not splits:
        raise UserError("terasort: the input has no files")
    spec = ShuffleSpec(num_reducers, ("key",), kind="range" if num_reducers > 1 else "single",
                       boundaries=boundaries if num_reducers > 1 else (),
                       sort_by=(("key", "ascending"),))
    return StageGraph((
        Stage("Stage-1", _SortMap(fs_config), (SplitInput("split", tuple(splits)),),
              output=spec, kind="map", description="key records, range-partition"),
        Stage("Stage-2", _sort_reduce, (ShuffleInput("shuffle", "Stage-1"),), kind="reduce",
              description="sort range, write"),
    ), name="TeraSort")


@dataclass(frozen=True)
class _Validate:
    fs_config: Any = None

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> pa.Table:
        split = inputs["split"]
        first = last = None
        count = 0
        checksum = np.uint64(0)
        unsorted = 0
        prev = None
        for lines in _lines(ctx, split, self.fs_config):
            if len(lines) == 0:
                continue
            keys = pc.binary_slice(lines, 0, KEY).cast(pa.binary(KEY))
            raw = np.frombuffer(keys.buffers()[1], dtype=f"S{KEY}", count=len(keys),
                                offset=keys.offset * KEY)
            # fixed-width bytes compare as big-endian strings; trailing NULs cannot occur
            unsorted += int(np.count_nonzero(raw[1:] < raw[:-1]))
            if prev is not None and raw[0] < prev:
                unsorted += 1
            prev = raw[-1]
            first = raw[0] if first is None else first
            last = raw[-1]
            count += len(lines)
            with np.errstate(over="ignore"):
                checksum = checksum + hash_array(lines).sum(dtype=np.uint64)
        return pa.table({"url": [split.url], "start": [split.start],
                         "first": pa.array([first], pa.binary()),
                         "last": pa.array([last], pa.binary()), "count": [count],
                         "unsorted": [unsorted], "checksum": pa.array([int(checksum)],
                                                                      pa.uint64())})


def validate_graph(splits: list[Any], fs_config: Any = None) -> StageGraph:
    return StageGraph((Stage("Stage-1", _Validate(fs_config),
                             (SplitInput("split", tuple(splits)),), collect=True,
                             description="check order, sum record hashes"),),
                      name="TeraValidate")


@dataclass(frozen=True)
class Validation:
    records: int
    checksum: int
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def summarize_validation(tables: list[pa.Table]) -> Validation:
    rows = sorted((r for t in tables for r in t.to_pylist()), key=lambda r: (r["url"],
                                                                             r["start"]))
    errors = []
    total = 0
    checksum = 0
    prev_last = None
    for r in rows:
        total += r["count"]
        checksum = (checksum + r["checksum"]) % (1 << 64)
        if r["unsorted"]:
            errors.append(f"{r['url']}: {r['unsorted']} records out of order")
        if r["count"] and prev_last is not None and r["first"] < prev_last:
            errors.append(f"{r['url']}: starts with a key below the previous part's last key")
        if r["count"]:
            prev_last = r["last"]
    return Validation(total, checksum, tuple(errors))


def teragen(output: str, num_records: int, *, num_maps: int = 2, runner: str = "ray",
            seed: int = 42, overwrite: bool = False, fs_config: Any = None, **kwargs: Any):
    from rayemr.engine import run_graph
    from rayemr.fs import OutputCommitter

    committer = OutputCommitter(output, config=fs_config, overwrite=overwrite)
    return run_graph(teragen_graph(num_records, num_maps, seed), runner=runner,
                     committer=committer, **kwargs)


def terasort(input: str, output: str, *, num_reducers: int = 2, runner: str = "ray",
             overwrite: bool = False, fs_config: Any = None, split_size: int | None = None,
             **kwargs: Any):
    from rayemr.engine import run_graph
    from rayemr.fs import OutputCommitter, compute_splits

    splits = compute_splits([input], split_size=split_size, config=fs_config)
    bounds = sample_boundaries(splits, num_reducers, fs_config=fs_config)
    committer = OutputCommitter(output, config=fs_config, overwrite=overwrite)
    return run_graph(terasort_graph(splits, num_reducers, bounds, fs_config), runner=runner,
                     committer=committer, **kwargs)


def teravalidate(url: str, *, runner: str = "ray", fs_config: Any = None,
                 split_size: int | None = None, **kwargs: Any) -> Validation:
    from rayemr.engine import run_graph
    from rayemr.fs import compute_splits

    splits = compute_splits([url], split_size=split_size, config=fs_config)
    res = run_graph(validate_graph(splits, fs_config), runner=runner, **kwargs)
    return summarize_validation(res.outputs["Stage-1"])
