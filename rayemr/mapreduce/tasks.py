"""The stage functions of mrjob-style jobs: what one map or reduce task does.

A :class:`StreamingStage` is a chain of parts run in one task: the map side of step 0 over an
input split (or the reduce side of step *i* over a shuffled partition), then the map sides of
following map-only steps, ending either in the shuffle of the next reducer (after its
combiner, map-side) or in writing ``part-m/r-NNNNN`` through the committer.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import UserError
from rayemr.engine.context import TaskContext
from rayemr.mapreduce.chain import Chain, JobOptions
from rayemr.mapreduce.jobinfo import is_mrjob_job, pick_protocols
from rayemr.mapreduce.protocol import roundtrip_types
from rayemr.mapreduce.source import JobSource
from rayemr.mapreduce.streams import (PairEncoder, Stream, decoded_groups, group_pairs,
                                      grouped_lines, lines_of_groups, mapped_pairs,
                                      regroup_lines, run_command, run_groups)

MR = "Map-Reduce Framework"
FS = "File System Counters"


class MalformedRecordError(UserError):
    """An input record the job's input protocol cannot decode."""


class _CounterSink:
    """A binary stderr for mrjob jobs: their ``reporter:counter:`` lines become counters."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.buf = b""

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if line.startswith("reporter:counter:"):
                group, counter, amount = line[len("reporter:counter:"):].rsplit(",", 2)
                self.ctx.increment_counter(group, counter, int(amount))
            elif line.startswith("reporter:status:"):
                self.ctx.set_status(line[len("reporter:status:"):])
        return len(data)

    def flush(self) -> None:
        pass


@contextmanager
def _workdir(files: tuple[tuple[str, bytes], ...]) -> Iterator[str | None]:
    """A working directory holding the job's FILES, current while the task runs."""
    if not files:
        yield None
        return
    d = tempfile.mkdtemp(prefix="rayemr-task-")
    old = os.getcwd()
    try:
        for name, data in files:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        os.chdir(d)
        yield d
    finally:
        os.chdir(old)
        shutil.rmtree(d, ignore_errors=True)


class StreamingStage:
    """The stage function (``fn(ctx, inputs)``) of one chain of an mrjob-style job."""

    def __init__(self, source: JobSource, chain: Chain, options: JobOptions) -> None:
        self.source = source
        self.chain = chain
        self.options = options

    def __call__(self, ctx: TaskContext, inputs: dict[str, Any]) -> pa.Table | None:
        job = self.source.build()
        if is_mrjob_job(job):
            job.sandbox(stderr=_CounterSink(ctx))
        else:
            job._ctx = ctx
        with _workdir(self.options.files) as cwd:
            return _Task(job, self.chain, self.options, ctx, cwd).run(inputs)


class _Task:
    def __init__(self, job: Any, chain: Chain, options: JobOptions, ctx: TaskContext,
                 cwd: str | None) -> None:
        self.job, self.chain, self.options, self.ctx, self.cwd = job, chain, options, ctx, cwd
        self.steps = job._steps_desc()

    def count(self, name: str, n: int = 1, group: str = MR) -> None:
        self.ctx.increment_counter(group, name, n)

    def run(self, inputs: dict[str, Any]) -> pa.Table | None:
        c = self.chain
        if c.start == "split":
            url = getattr(inputs["split"], "url", "")
            os.environ["mapreduce_map_input_file"] = os.environ["map_input_file"] = url
            stream = self.map_side(c.first, self.read_split(inputs["split"], c.first))
        else:
            stream = self.reduce_side(c.first, inputs["shuffle"])
        for step in c.maps:
            stream = self.map_side(step, stream)
        if c.end == "write":
            self.write(stream)
            return None
        return self.shuffle(stream, c.end_step)

    # -- input -------------------------------------------------------------------------
    def read_split(self, split: Any, step: int) -> Stream:
        desc = self.steps[step].get("mapper")
        if desc is None or desc["type"] != "script" or desc.get("pre_filter"):
            return Stream("lines", self._split_lines(split))
        proto = pick_protocols(self.job, step, "mapper")[0]
        if getattr(split, "format", "text") == "parquet":
            return Stream("pairs", self._parquet_rows(split), _NoRoundTrip(proto))
        return Stream("pairs", self._decode(split, proto), _NoRoundTrip(proto))

    def _batches(self, split: Any) -> Iterator[pa.RecordBatch]:
        from rayemr.fs import read_text_batches

        for batch in read_text_batches(split, self.options.fs_config,
                                       batch_rows=self.options.batch_rows, binary=True):
            lines = batch.column(1)
            self.count("Map input records", len(lines))
            nbytes = pc.sum(pc.binary_length(lines)).as_py() or 0
            self.count("Bytes read", nbytes + len(lines), FS)
            yield batch

    def _split_lines(self, split: Any) -> Iterator[bytes]:
        for batch in self._batches(split):
            yield from batch.column(1).to_pylist()

    def _parquet_rows(self, split: Any) -> Iterator[tuple[Any, Any]]:
        from rayemr.fs import read_parquet_split

        table = read_parquet_split(split, config=self.options.fs_config)
        self.count("Map input records", table.num_rows)
        for batch in table.to_batches(self.options.batch_rows):
            for row in batch.to_pylist():
                yield None, row

    def _decode(self, split: Any, proto: Any) -> Iterator[tuple[Any, Any]]:
        """The split's records decoded by the input protocol, batch by batch (chained in C:
        no Python frame per record)."""
        return itertools.chain.from_iterable(self._decoded_batches(split, proto))

    def _decoded_batches(self, split: Any, proto: Any) -> Iterator[Any]:
        fast_text = type(proto).__name__ in ("TextValueProtocol", "RawValueProtocol") and \
            type(proto).__module__ in ("rayemr.mapreduce.protocol", "mrjob.protocol")
        read = proto.read
        for batch in self._batches(split):
            lines = batch.column(1)
            if fast_text:
                try:
                    strs = lines.cast(pa.string()).to_pylist()
                except pa.ArrowInvalid:
                    strs = None  # some line is not UTF-8: the protocol decides (latin-1)
                if strs is not None:
                    yield zip(itertools.repeat(None), strs)
                    continue
            raw = lines.to_pylist()
            try:
                yield list(map(read, raw))
            except Exception:  # noqa: BLE001 -- find the bad record, name it or skip it
                yield self._decode_each(split, batch, raw, read)

    def _decode_each(self, split: Any, batch: pa.RecordBatch, raw: list, read) -> list:
        offsets = batch.column(0).to_pylist()
        out = []
        for i, line in enumerate(raw):
            try:
                out.append(read(line))
            except Exception as exc:  # noqa: BLE001 -- any decoding failure
                if self.options.skip_bad_records:
                    self.count("Map skipped records")
                    continue
                raise MalformedRecordError(
                    f"{split.url}: malformed record at byte offset {offsets[i]}: "
                    f"{type(exc).__name__}: {exc}",
                    hint="fix the input, or skip and count such records with "
                         "--skip-bad-records (SKIP_BAD_RECORDS = True)") from None
        return out

    # -- map side ----------------------------------------------------------------------
    def map_side(self, step: int, stream: Stream) -> Stream:
        desc = self.steps[step].get("mapper")
        if desc is None:
            return stream
        stream = self._counting(stream)
        if desc["type"] == "command":
            return Stream("lines", run_command(desc["command"], stream.lines(), self.cwd,
                                               f"step {step + 1} mapper"))
        if desc.get("pre_filter"):
            stream = Stream("lines", run_command(desc["pre_filter"], stream.lines(), self.cwd,
                                                 f"step {step + 1} mapper pre-filter"))
        read, write = pick_protocols(self.job, step, "mapper")
        pairs = stream.pairs(read) if not isinstance(stream.proto, _NoRoundTrip) \
            else stream.items
        st = self.job.steps()[step]
        return Stream("pairs", mapped_pairs(st["mapper"], st["mapper_init"], st["mapper_final"],
                                            pairs), write, count_name="Map output records")

    def _counting(self, stream: Stream) -> Stream:
        """The stream with its pending count taken as it is consumed."""
        if not stream.count_name:
            return stream
        return Stream(stream.kind, self._counted(stream.items, stream.count_name),
                      stream.proto)

    def _items(self, stream: Stream):
        if stream.count_name:
            return self._counted(stream.items, stream.count_name)
        return stream.items

    def _counted(self, it, name: str):
        n = 0
        try:
            for kv in it:
                n += 1
                yield kv
        finally:
            self.count(name, n)

    # -- shuffle -----------------------------------------------------------------------
    def shuffle(self, stream: Stream, step: int) -> pa.Table:
        part_of = None
        if hasattr(self.job, "has_partitioner") and self.job.has_partitioner():
            n = self.chain.num_partitions
            part_of = lambda k, _p=self.job.partition: int(_p(k, n))  # noqa: E731
        combiner = self.steps[step].get("combiner")
        if combiner is None or combiner["type"] != "script" or stream.kind == "lines":
            stream = self._counting(stream)
        if combiner is not None and combiner["type"] == "command":
            lines = sorted(stream.lines(), key=lambda line: line.split(b"\t", 1)[0])
            stream = Stream("lines", run_command(combiner["command"], lines, self.cwd,
                                                 f"step {step + 1} combiner"))
            combiner = None
        if stream.kind == "lines":
            if part_of is not None:  # a Python partitioner needs decoded keys
                proto = pick_protocols(self.job, step, "combiner")[0]
                read = proto.read
                part_of_line = lambda kb, _f=part_of, _r=read: _f(_r(kb + b"\t")[0])  # noqa
                enc = PairEncoder(proto, part_of_line)
            else:
                enc = PairEncoder(None)
            if combiner is not None:
                proto = pick_protocols(self.job, step, "combiner")[0]
                stream = Stream("pairs", list(stream.pairs(proto)), proto)
            else:
                enc.add_lines(stream.lines())
                table = enc.table()
                self.count("Spilled Records", table.num_rows)
                return table
        proto = stream.proto
        enc = PairEncoder(proto, part_of)
        if combiner is not None:
            cproto = pick_protocols(self.job, step, "combiner")[0]
            rt = frozenset(compat_roundtrip(proto, cproto))
            n_in = n_out = 0
            st = self.job.steps()[step]
            # the mapper's output goes straight into the grouping loop (counted there)
            batches = group_pairs(stream.items, rt, proto, cproto,
                                  spill_bytes=self.spill_bytes())
            for groups in batches:
                n_in += sum(n for _, _, n in groups)
                out = _combine_groups(st, groups)
                n_out += len(out)
                enc.add_pairs(out)
            self.count("Combine input records", n_in)
            self.count("Combine output records", n_out)
            if stream.count_name:
                self.count(stream.count_name, n_in)
        else:
            enc.add_pairs(self._items(stream))
        table = enc.table()
        self.count("Spilled Records", table.num_rows)
        return table

    def spill_bytes(self) -> int:
        """Map-side memory for grouping before a combiner pass (Hadoop's sort buffer)."""
        raw = self.ctx.conf.get("mapreduce.task.io.sort.mb", "") or "100"
        try:
            return max(1, int(float(raw))) << 20
        except ValueError:
            raise UserError(f"mapreduce.task.io.sort.mb={raw!r}: not a number") from None

    # -- reduce side -------------------------------------------------------------------
    def reduce_side(self, step: int, table: pa.Table) -> Stream:
        desc = self.steps[step]["reducer"]
        if table.num_columns == 0:
            table = pa.table({"key": pa.array([], pa.binary()),
                              "value": pa.array([], pa.binary())})
        groups = grouped_lines(table)
        if desc["type"] == "command" or desc.get("pre_filter"):
            cmd = desc.get("command") or desc.get("pre_filter")
            lines = run_command(cmd, self._count_groups(lines_of_groups(groups), table),
                                self.cwd, f"step {step + 1} reducer")
            if desc["type"] == "command":
                return Stream("lines", self._counted(iter(lines), "Reduce output records"))
            groups = regroup_lines(lines)
        else:
            self.count("Reduce input records", table.num_rows)
        read, write = pick_protocols(self.job, step, "reducer")
        n_groups = [0]

        def on_group(_n: int) -> None:
            n_groups[0] += 1

        st = self.job.steps()[step]
        out = self._counted(run_groups(st["reducer"], st["reducer_init"], st["reducer_final"],
                                       decoded_groups(groups, read, on_group)),
                            "Reduce output records")
        return Stream("pairs", _then(out, lambda: self.count("Reduce input groups",
                                                              n_groups[0])), write)

    def _count_groups(self, lines, table):
        self.count("Reduce input records", table.num_rows)
        return lines

    # -- output ------------------------------------------------------------------------
    def write(self, stream: Stream) -> None:
        name = f"part-{self.chain.output_kind}-{self.ctx.task_index:05d}"
        stream = self._counting(stream)
        if self.options.output_format == "parquet":
            import pyarrow.parquet as pq

            pairs = list(stream.items) if stream.kind == "pairs" else \
                [(None, line.decode("utf-8", "replace")) for line in stream.items]
            table = pa.table({"key": [k for k, _ in pairs], "value": [v for _, v in pairs]})
            with self.ctx.open_output(name + ".parquet") as f:
                pq.write_table(table, f)
            return
        with self.ctx.open_output(name) as f:
            buf: list[bytes] = []
            size = 0
            for line in stream.lines():
                buf.append(line)
                size += len(line) + 1
                if size >= 4 << 20:
                    f.write(b"\n".join(buf) + b"\n")
                    buf, size = [], 0
            if buf:
                f.write(b"\n".join(buf) + b"\n")


class _NoRoundTrip:
    """Marks pairs decoded straight from input lines (no encode/decode round trip)."""

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.write = getattr(proto, "write", None)


def _combine_groups(step: Any, groups) -> list:
    """combiner_init, the combiner once per key with that key's values, combiner_final."""
    return list(run_groups(step["combiner"], step["combiner_init"], step["combiner_final"],
                           ((key, iter(values)) for key, values, _ in groups)))


def _then(it, fn):
    yield from it
    fn()


def compat_roundtrip(write_proto: Any, read_proto: Any) -> tuple[type, ...]:
    if type(write_proto) is not type(read_proto):
        return ()
    return roundtrip_types(write_proto)


__all__ = ["MalformedRecordError", "StreamingStage"]
