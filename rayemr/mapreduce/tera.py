"""TeraGen, TeraSort and TeraValidate on the engine, vectorized end to end.

Records are gensort's ASCII format, 100 bytes: a 10-byte printable key, 2 spaces, the row id
in 32 hex digits, 2 spaces, 52 filler bytes, CR LF. TeraSort samples keys from the input,
cuts the key space into ``num_reducers`` ranges (so part-r-00000 < part-r-00001 < ...), and
each reduce task sorts its range; TeraValidate checks the global order and that the
output's checksum (an order-independent sum of record hashes) equals the input's.

Records are read as fixed-size records (one ranged read per split, no line splitting) and
handled as ``(n, 100)`` numpy arrays: keys compare as (8-byte, 2-byte) big-endian integers,
partitions come from ``searchsorted`` over the sampled boundaries, each reduce task sorts
with one ``argsort`` and writes its part in large sequential writes. The shuffle moves one
``fixed_size_binary(100)`` column; no Python runs per record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from rayemr.core.errors import UserError
from rayemr.engine.context import TaskContext
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph

RECORD = 100
KEY = 10
MR = "Map-Reduce Framework"
FS = "File System Counters"


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


# -- fixed-size records, vectorized --------------------------------------------------------
def read_records(split: Any, fs_config: Any = None, limit: int | None = None) -> np.ndarray:
    """The records (``(n, 100)`` uint8) that start in ``split``: one ranged read, no line
    splitting (TeraSort's input format is fixed-size records, as Hadoop's TeraInputFormat)."""
    from rayemr.fs import arrow_filesystem

    if getattr(split, "format", "text") != "text" or split.file_size % RECORD:
        raise UserError(f"{split.url}: not TeraGen output ({split.file_size} bytes, "
                        f"{getattr(split, 'format', 'text')}); TeraSort reads uncompressed "
                        f"files of {RECORD}-byte records")
    first = -(-split.start // RECORD)
    end = min(-(-(split.start + split.length) // RECORD), split.file_size // RECORD)
    if limit is not None:
        end = min(end, first + limit)
    if end <= first:
        return np.zeros((0, RECORD), dtype=np.uint8)
    fs, path = arrow_filesystem(split.url, fs_config)
    with fs.open_input_file(path) as f:
        buf = f.read_at((end - first) * RECORD, first * RECORD)
    if len(buf) != (end - first) * RECORD:
        raise UserError(f"{split.url}: short read at byte {first * RECORD} (file changed?)")
    return np.frombuffer(buf, dtype=np.uint8).reshape(-1, RECORD)


def key_parts(records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each record's 10-byte key as (first 8 bytes, last 2 bytes) big-endian integers: their
    lexicographic order is the keys' byte order."""
    keys = np.ascontiguousarray(records[:, :KEY])
    prefix = keys[:, :8].copy().view(">u8").ravel().astype(np.uint64)
    suffix = keys[:, 8:].copy().view(">u2").ravel().astype(np.uint16)
    return prefix, suffix


def sort_order(records: np.ndarray) -> np.ndarray:
    """Indices that sort records by key (stable)."""
    prefix, suffix = key_parts(records)
    order = np.argsort(prefix, kind="stable")
    p = prefix[order]
    if len(p) > 1 and bool(np.any(p[1:] == p[:-1])):  # equal 8-byte prefixes: rare
        order = np.lexsort((suffix, prefix))
    return order


def sorted_records(records: np.ndarray) -> np.ndarray:
    """A copy of ``records`` in key order (whole 100-byte items gathered, not bytes)."""
    if len(records) < 2:
        return records
    items = np.ascontiguousarray(records).view(f"V{RECORD}").ravel()
    return items[sort_order(records)].view(np.uint8).reshape(-1, RECORD)


def range_ids(records: np.ndarray, boundaries: tuple[tuple[bytes], ...]) -> np.ndarray:
    """Partition of every record: how many boundaries are <= its key (bisect_right)."""
    if not boundaries:
        return np.zeros(len(records), dtype=np.int64)
    bounds = np.frombuffer(b"".join(b[0][:KEY].ljust(KEY, b"\0") for b in boundaries),
                           dtype=np.uint8).reshape(-1, KEY)
    bp, bs = key_parts(bounds)
    prefix, suffix = key_parts(records)
    lo = np.searchsorted(bp, prefix, side="left")
    hi = np.searchsorted(bp, prefix, side="right")
    ids = lo.astype(np.int64)
    for i in np.flatnonzero(hi > lo):  # a boundary shares the 8-byte prefix: rare
        ids[i] = lo[i] + int(np.searchsorted(bs[lo[i]:hi[i]], suffix[i], side="right"))
    return ids


def as_arrow(records: np.ndarray) -> pa.Array:
    """Records as one ``fixed_size_binary(100)`` column (no copy)."""
    records = np.ascontiguousarray(records)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(RECORD), len(records),
                                                [None, pa.py_buffer(records)])


def as_records(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if len(column) == 0:
        return np.zeros((0, RECORD), dtype=np.uint8)
    return np.frombuffer(column.buffers()[1], dtype=np.uint8, count=len(column) * RECORD,
                         offset=column.offset * RECORD).reshape(-1, RECORD)


def record_hashes(records: np.ndarray) -> np.ndarray:
    """A 64-bit hash of every record (its 12 leading 8-byte words and last 4 bytes)."""
    words = np.ascontiguousarray(records[:, :96]).view("<u8")
    tail = np.ascontiguousarray(records[:, 96:]).view("<u4").ravel().astype(np.uint64)
    with np.errstate(over="ignore"):
        h = words @ _WORD_WEIGHTS if len(words) else np.zeros(0, np.uint64)
        h = h + tail * _TAIL_WEIGHT
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
    return h


def _weights() -> tuple[np.ndarray, np.uint64]:
    w = np.empty(13, dtype=np.uint64)
    w[0] = 1
    with np.errstate(over="ignore"):
        for i in range(1, 13):
            w[i] = w[i - 1] * np.uint64(0x100000001B3)
    return w[:12], w[12]


_WORD_WEIGHTS, _TAIL_WEIGHT = _weights()


@dataclass(frozen=True)
class _SortMap:
    fs_config: Any = None
    boundaries: tuple = ()

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> pa.Table:
        # sorted here, so each reduce task gets sorted runs: its sort finds and merges them,
        # and its gather reads a few sequential streams instead of random records
        records = sorted_records(read_records(inputs["split"], self.fs_config))
        ctx.increment_counter(MR, "Map input records", len(records))
        ctx.increment_counter(FS, "Bytes read", records.size)
        ctx.increment_counter(MR, "Map output records", len(records))
        return pa.table({"__partition__": range_ids(records, self.boundaries),
                         "record": as_arrow(records)})


def _write_records(ctx: TaskContext, name: str, records: np.ndarray) -> None:
    with ctx.open_output(name) as f:
        step = max(1, (16 << 20) // RECORD)  # large sequential writes
        for i in range(0, len(records), step):
            f.write(memoryview(np.ascontiguousarray(records[i:i + step]).reshape(-1)))


def _sort_reduce(ctx: TaskContext, inputs: dict[str, Any]) -> None:
    table = inputs["shuffle"]
    records = as_records(table.column("record")) if table.num_columns else \
        np.zeros((0, RECORD), dtype=np.uint8)
    ctx.increment_counter(MR, "Reduce input records", len(records))
    ctx.increment_counter(MR, "Reduce output records", len(records))
    _write_records(ctx, f"part-r-{ctx.task_index:05d}", sorted_records(records))
    return None


def sample_boundaries(splits: list[Any], num_partitions: int, sample_size: int = 100_000,
                      fs_config: Any = None) -> tuple[tuple[bytes], ...]:
    """Range boundaries from keys sampled across the splits (TeraSort's sampler)."""
    if num_partitions <= 1 or not splits:
        return ()
    chosen = splits if len(splits) <= 10 else [splits[i * len(splits) // 10]
                                              for i in range(10)]
    per = max(1, sample_size // len(chosen))
    samples = [read_records(s, fs_config, limit=per) for s in chosen]
    records = np.concatenate(samples) if samples else np.zeros((0, RECORD), np.uint8)
    if not len(records):
        return tuple((b" " * KEY,) for _ in range(num_partitions - 1))
    keys = sorted_records(records)[:, :KEY]
    n = len(keys)
    return tuple((keys[min(n - 1, (i * n) // num_partitions)].tobytes(),)
                 for i in range(1, num_partitions))


def terasort_graph(splits: list[Any], num_reducers: int, boundaries, fs_config: Any = None
                   ) -> StageGraph:
    if not splits:
        raise UserError("terasort: the input has no files")
    # partitions are computed in the map (vectorized) and travel as a column; each reduce
    # task sorts its range with numpy
    spec = ShuffleSpec(num_reducers, ("__partition__",), kind="column")
    return StageGraph((
        Stage("Stage-1", _SortMap(fs_config, tuple(boundaries) if num_reducers > 1 else ()),
              (SplitInput("split", tuple(splits)),), output=spec, kind="map",
              description="read records, range-partition"),
        Stage("Stage-2", _sort_reduce, (ShuffleInput("shuffle", "Stage-1"),), kind="reduce",
              description="sort range, write"),
    ), name="TeraSort")


@dataclass(frozen=True)
class _Validate:
    fs_config: Any = None

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> pa.Table:
        split = inputs["split"]
        records = read_records(split, self.fs_config)
        n = len(records)
        ctx.increment_counter(MR, "Map input records", n)
        unsorted = 0
        first = last = None
        if n:
            prefix, suffix = key_parts(records)
            if n > 1:
                dp, ds = prefix[1:], suffix[1:]
                pp, ps = prefix[:-1], suffix[:-1]
                unsorted = int(np.count_nonzero((dp < pp) | ((dp == pp) & (ds < ps))))
            first, last = records[0, :KEY].tobytes(), records[-1, :KEY].tobytes()
        with np.errstate(over="ignore"):
            checksum = int(record_hashes(records).sum(dtype=np.uint64))
        return pa.table({"url": [split.url], "start": [split.start],
                         "first": pa.array([first], pa.binary()),
                         "last": pa.array([last], pa.binary()), "count": [n],
                         "unsorted": [unsorted], "checksum": pa.array([checksum],
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
