"""Cut a compiled query into stages of typed operators, and print them (EXPLAIN).

Pure: turns a :class:`~rayemr.hive.plan.QueryPlan` (after the physical rules of
:mod:`rayemr.hive.rules`) plus the splits of each scan into a
:class:`~rayemr.hive.plan.PhysicalPlan`; the first of :data:`SHAPES` that fits the plan
cuts it (map stages scan splits with pruned columns and pushed filters; when the query is
one aggregate over one table, map tasks aggregate partially and reduce tasks merge
hash-partitioned partial states; a final stage runs the rest in DuckDB).
:mod:`rayemr.hive.tasks` runs the operators; this module imports neither the tasks nor
DuckDB nor Ray.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from rayemr.engine.graph import BroadcastInput, ShuffleInput, ShuffleSpec, SplitInput
from rayemr.hive.plan import (Fetch, FileOutput, FileSplit, Fragment, HiveStage,
                              PartialAggregate, PhysicalPlan, QueryPlan, ReduceOutput,
                              TableScan, Transform)


def stage_name(n: int) -> str:
    return f"Stage-{n}"


@dataclass(frozen=True)
class Cut:
    """How to cut a plan into stages, besides the plan itself: each scan's splits, the
    application name, the number of reducers and the size limits of the shapes below.

    ``small_job_bytes``: when every input together is at most this many bytes (in at most
    four splits), the query runs as one task (Hive's automatic local mode for small jobs);
    0 turns small jobs off. ``small_parquet_bytes``: so does a query whose inputs are all
    Parquet and at most this many bytes together, in any number of splits (DuckDB pipelines
    Parquet into the query, with every thread the task is given, so one task reads them as
    fast as a stage of tasks would, without the stages' fixed cost).
    ``map_only``: the query is row by row over one table (no aggregate, join, order or
    limit), so each map task runs the whole fragment over its split (a map-only job).
    ``inline_bytes``: a table of at most this many bytes that is not the aggregated one is
    read by each task that uses it, not scanned by a stage of its own (0: never);
    ``final_bytes``: the query's final task reads the tables only it uses itself, smallest
    first, up to this many bytes in all (at least those of ``inline_bytes``)."""

    splits: Mapping[str, Sequence[FileSplit]]
    name: str = "hive"
    reducers: int = 1
    small_job_bytes: int = 0
    map_only: bool = False
    inline_bytes: int = 0
    final_bytes: int = 0
    small_parquet_bytes: int = 0


def build_physical(plan: QueryPlan, splits: Mapping[str, Sequence[FileSplit]],
                   name: str = "hive", reducers: int = 1, small_job_bytes: int = 0,
                   map_only: bool = False, inline_bytes: int = 0,
                   final_bytes: int = 0, small_parquet_bytes: int = 0) -> PhysicalPlan:
    """The stages of ``plan``: the first of :data:`SHAPES` that fits it cuts them (the
    arguments are those of :class:`Cut`)."""
    cut = Cut(splits, name, reducers, small_job_bytes, map_only, inline_bytes, final_bytes,
              small_parquet_bytes)
    for shape in SHAPES:
        if shape.fits(plan, cut):
            return PhysicalPlan(tuple(shape.stages(plan, cut)), name=name)
    raise AssertionError("the last shape fits every plan")  # pragma: no cover


@dataclass(frozen=True)
class Shape:
    """One way a query runs: ``fits`` says whether the plan has that shape, ``stages`` cuts
    it (stage ids numbered in order from Stage-1)."""

    name: str
    fits: Callable[[QueryPlan, Cut], bool]
    stages: Callable[[QueryPlan, Cut], list[HiveStage]]


def _fits_small_job(plan: QueryPlan, cut: Cut) -> bool:
    if cut.small_job_bytes <= 0 or plan.transform:
        return False
    sizes = [sp.length or sp.size for ss in cut.splits.values() for sp in ss]
    if sum(sizes) <= cut.small_job_bytes and len(sizes) <= 4:
        return True
    return (not cut.map_only and sum(sizes) <= cut.small_parquet_bytes
            and all(sc.storage.kind == "parquet" for sc in plan.scans))


def _small_job(plan: QueryPlan, cut: Cut) -> list[HiveStage]:
    ops = tuple(TableScan(s, tuple(cut.splits.get(s.id) or ()), inline=True)
                for s in plan.scans) + (Fragment(plan.final_sql), Fetch())
    return [HiveStage(stage_name(1), ops, kind="map",
                      description="small job: scan and finish in one task")]


def _fits_map_only(plan: QueryPlan, cut: Cut) -> bool:
    return (cut.map_only and len(plan.scans) == 1 and plan.agg is None
            and plan.sort is None and not plan.transform)


def _map_only(plan: QueryPlan, cut: Cut) -> list[HiveStage]:
    scan = plan.scans[0]
    return [HiveStage(stage_name(1), (TableScan(scan), Fragment(plan.final_sql), Fetch()),
                      (_split_input(scan.id, cut.splits),), kind="map",
                      description=f"map-only over {scan.table}")]


def _map_join(plan: QueryPlan, cut: Cut) -> list[HiveStage]:
    """Scan stages (small tables read where they are used), then the partial aggregate's
    reduce side or the result, then the TRANSFORM script if any."""
    stages = _Stages(plan, cut.splits, cut.reducers, cut.inline_bytes, cut.final_bytes)
    stages.scans()
    if plan.agg is not None:
        stages.reduce_side()
    else:
        stages.result()
    if plan.transform:
        stages.transform()
    return stages.stages


def _fits_shuffle_join(plan: QueryPlan, cut: Cut) -> bool:
    return plan.agg is not None and bool(plan.agg.shuffle_join)


def with_write(physical: PhysicalPlan, write: Any) -> PhysicalPlan:
    """The plan with its last (fetched) stage writing its rows through the committer
    (``rayemr.hive.write.WriteSpec``) and returning only partitions and row counts."""
    last = physical.stages[-1]
    if not any(isinstance(op, Fetch) for op in last.operators):
        raise ValueError(f"{physical.name}: the last stage {last.id} is not fetched")
    ops = tuple(FileOutput(write) if isinstance(op, Fetch) else op for op in last.operators)
    stage = replace(last, operators=ops, description=f"{last.description}; write {write.what}")
    return replace(physical, stages=physical.stages[:-1] + (stage,))


def _split_input(scan_id: str, splits: dict[str, Sequence[FileSplit]]) -> SplitInput:
    """A scan's splits as a stage input (one placeholder split when there are none, so the
    stage still runs one task and returns the query's empty result)."""
    return SplitInput("split", tuple(splits.get(scan_id) or ()) or (FileSplit(""),))


def _aggregate_output(keys: tuple[str, ...], reducers: int) -> ReduceOutput:
    return ReduceOutput(ShuffleSpec(reducers, keys, "hash") if keys and reducers > 1
                        else ShuffleSpec(1, (), "single"))


def _sort_plan(plan: QueryPlan, cut: Cut) -> list[HiveStage]:
    sort = plan.sort
    scan = plan.scans[0]
    return [
        HiveStage(stage_name(1),
                  (TableScan(scan), Fragment(sort.map_sql),
                   ReduceOutput(ShuffleSpec(cut.reducers, ("__part",), "column"))),
                  (_split_input(scan.id, cut.splits),), kind="map",
                  description=f"scan {scan.table}, range partition on the sort key"),
        HiveStage(stage_name(2), (Fragment(sort.reduce_sql, ("part",)), Fetch()),
                  (ShuffleInput("part", stage_name(1)),), kind="reduce",
                  description="sort each range"),
    ]


class _Stages:
    """The stages of a map-join plan as they are cut: scan stages, the partial aggregate,
    the reduce side. Scans of small tables (``small``) get no stage: the tasks that use
    them read them (``read_here``)."""

    def __init__(self, plan: QueryPlan, splits: dict[str, Sequence[FileSplit]],
                 reducers: int, inline_bytes: int, final_bytes: int) -> None:
        self.plan, self.splits, self.reducers = plan, splits, reducers
        size = {sc.id: sum(sp.length or sp.size for sp in splits.get(sc.id) or ())
                for sc in plan.scans}
        agg = plan.agg
        # read by every task of the partial aggregate: only tables small enough to repeat
        mapped = set(agg.broadcast) if agg is not None else set()
        self.small = {i for i in mapped if 0 < inline_bytes and size[i] <= inline_bytes}
        # read by the query's one final task: the smallest first, up to final_bytes in all
        # (never a side of a shuffle join)
        joined = {sid for sid, _key in agg.shuffle_join} if agg is not None else set()
        total = 0
        for i in sorted((i for i in size if i not in mapped | joined and (
                agg is None or i != agg.scan_id)), key=lambda i: (size[i], i)):
            if inline_bytes <= 0 or size[i] > max(inline_bytes, final_bytes - total):
                break
            self.small.add(i)
            total += size[i]
        self.by_id = {sc.id: sc for sc in plan.scans}
        self.stages: list[HiveStage] = []
        self.of_scan: dict[str, str] = {}

    def next_id(self) -> str:
        return stage_name(len(self.stages) + 1)

    def read_here(self, ids) -> tuple[TableScan, ...]:
        return tuple(TableScan(self.by_id[i], tuple(self.splits.get(i) or ()), inline=True)
                     for i in ids if i in self.small)

    def sent(self, ids) -> tuple[BroadcastInput, ...]:
        return tuple(BroadcastInput(i, self.of_scan[i]) for i in ids if i not in self.small)

    def scans(self) -> None:
        agg = self.plan.agg
        ordered = list(self.plan.scans)
        if agg is not None:  # the streamed scan reads the broadcast scans: it goes last
            ordered.sort(key=lambda sc: sc.id == agg.scan_id)
        for scan in ordered:
            if scan.id in self.small:
                continue
            split = _split_input(scan.id, self.splits)
            sid = self.next_id()
            if agg is not None and scan.id == agg.scan_id:
                sent = self.sent(agg.broadcast)
                ops = (TableScan(scan),) + self.read_here(agg.broadcast) + (
                    PartialAggregate(agg.partial_sql, tuple(b.name for b in sent)),
                    _aggregate_output(agg.keys, self.reducers))
                self.stages.append(HiveStage(sid, ops, (split,) + sent, kind="map",
                                             description=f"partial aggregate over {scan.table}"))
            else:
                self.stages.append(HiveStage(sid, (TableScan(scan),), (split,), kind="map",
                                             description=f"scan {scan.table}"))
            self.of_scan[scan.id] = sid

    def reduce_side(self) -> None:
        agg = self.plan.agg
        rest = [s.id for s in self.plan.scans if s.id != agg.scan_id
                and s.id not in agg.broadcast]
        partials = ShuffleInput("partials", self.of_scan[agg.scan_id])
        if self.stages[-1].output.num_partitions == 1:
            # one reducer: merge and finish in the same task
            sql = f"WITH reduced AS ({agg.final_sql}) {agg.top_sql}"
            inputs = (partials,) + self.sent(rest)
            ops = self.read_here(rest) + (Fragment(sql, tuple(i.name for i in inputs)),
                                          Fetch())
            self.stages.append(HiveStage(self.next_id(), ops, inputs, kind="reduce",
                                         description="final aggregate and result"))
            return
        red = self.next_id()
        self.stages.append(HiveStage(red, (Fragment(agg.final_sql, ("partials",)),),
                                     (partials,), kind="reduce",
                                     description="final aggregate"))
        inputs = (BroadcastInput("reduced", red),) + self.sent(rest)
        ops = self.read_here(rest) + (Fragment(agg.top_sql, tuple(i.name for i in inputs)),
                                      Fetch())
        self.stages.append(HiveStage(self.next_id(), ops, inputs, kind="reduce",
                                     description="result"))

    def result(self) -> None:
        ids = [s.id for s in self.plan.scans]
        inputs = self.sent(ids)
        ops = self.read_here(ids) + (
            Fragment(self.plan.final_sql, tuple(i.name for i in inputs)), Fetch())
        self.stages.append(HiveStage(
            self.next_id(), ops, inputs, kind="reduce" if inputs else "map",
            description="result" if inputs else "scan and result in one task"))

    def transform(self) -> None:
        spec = self.plan.transform
        last = self.stages[-1]
        self.stages[-1] = replace(last, operators=tuple(
            op for op in last.operators if not isinstance(op, Fetch)))
        self.stages.append(HiveStage(
            self.next_id(), (Transform(spec.command, spec.columns, spec.split_all), Fetch()),
            (BroadcastInput("rows", last.id),), kind="reduce",
            description=f"transform using {str(spec.command)!r}"))


def _shuffle_join_plan(plan: QueryPlan, cut: Cut) -> list[HiveStage]:
    """Common join: both sides hash-partitioned on their join keys; each reduce task joins
    its partition with the other tables (sent to it, or read in it when small) and
    aggregates partially; then the usual merge and result stages."""
    agg = plan.agg
    cut_ = _Stages(plan, cut.splits, cut.reducers, cut.inline_bytes, cut.final_bytes)
    stages = cut_.stages

    def add(operators, inputs, kind, description) -> str:
        stages.append(HiveStage(cut_.next_id(), tuple(operators), tuple(inputs), kind=kind,
                                description=description))
        return stages[-1].id

    inputs: list = []
    for sid, key in agg.shuffle_join:
        scan = cut_.by_id[sid]
        sides = add((TableScan(scan), ReduceOutput(ShuffleSpec(cut.reducers, (key,), "hash"))),
                    (_split_input(sid, cut.splits),), "map",
                    f"scan {scan.table}, shuffle on {key}")
        inputs.append(ShuffleInput(sid, sides))
    for sid in agg.broadcast:
        if sid not in cut_.small:
            scan = cut_.by_id[sid]
            cut_.of_scan[sid] = add((TableScan(scan),), (_split_input(sid, cut.splits),),
                                    "map", f"scan {scan.table}")
    inputs += cut_.sent(agg.broadcast)
    out = _aggregate_output(agg.keys, cut.reducers)
    join = add(cut_.read_here(agg.broadcast)
               + (PartialAggregate(agg.partial_sql, tuple(i.name for i in inputs)), out),
               inputs, "reduce", "shuffle join and partial aggregate")
    partials = (ShuffleInput("partials", join),)
    if out.shuffle.num_partitions == 1:
        sql = f"WITH reduced AS ({agg.final_sql}) {agg.top_sql}"
        add((Fragment(sql, ("partials",)), Fetch()), partials, "reduce",
            "final aggregate and result")
    else:
        reduced = add((Fragment(agg.final_sql, ("partials",)),), partials, "reduce",
                      "final aggregate")
        add((Fragment(agg.top_sql, ("reduced",)), Fetch()),
            (BroadcastInput("reduced", reduced),), "reduce", "result")
    return stages


#: the shapes a query can run in, most specific first (the last fits every plan)
SHAPES: tuple[Shape, ...] = (
    Shape("small job", _fits_small_job, _small_job),
    Shape("map-only", _fits_map_only, _map_only),
    Shape("range sort", lambda plan, cut: plan.sort is not None, _sort_plan),
    Shape("shuffle join", _fits_shuffle_join, _shuffle_join_plan),
    Shape("map join", lambda plan, cut: True, _map_join),
)


def explain(physical: PhysicalPlan) -> list[str]:
    """Hive-style EXPLAIN text: stage dependencies, then each stage's operators."""
    lines = ["STAGE DEPENDENCIES:"]
    for s in physical.stages:
        if not s.upstream:
            lines.append(f"  {s.id} is a root stage")
        else:
            lines.append(f"  {s.id} depends on stages: {', '.join(dict.fromkeys(s.upstream))}")
    lines.append("")
    lines.append("STAGE PLANS:")
    for s in physical.stages:
        lines.append(f"  Stage: {s.id}")
        lines.append(f"    {'Map' if s.kind == 'map' else 'Reduce'} Operator Tree: "
                     f"{s.description}")
        lines.extend(_stage_lines(s))
    return lines


def _stage_lines(s: HiveStage) -> list[str]:
    """A stage's operators: its split scan, the work over it, the small tables each task
    reads, the inputs from other stages, then where the rows go."""
    lines: list[str] = []
    ops = s.operators
    for op in ops:
        if isinstance(op, TableScan) and not op.inline:
            split_in = [i for i in s.inputs if isinstance(i, SplitInput)]
            lines.extend(_split_scan_lines(op, sum(1 for x in split_in[0].splits if x.url)))
    for op in ops:
        if isinstance(op, PartialAggregate):
            lines.append(f"      Partial: {op.sql}")
        elif isinstance(op, Fragment):
            lines.append(f"      DuckDB: {op.sql}")
        elif isinstance(op, Transform):
            lines.append(f"      Transform: {op.command}")
    for op in ops:
        if isinstance(op, TableScan) and op.inline:
            sc = op.scan
            lines.append(f"      TableScan ({sc.id}), read in each task (small table)")
            lines.append(f"        table: {sc.table}")
            lines.append(f"        columns: {', '.join(sc.columns) or '(none)'}")
            if sc.filter:
                lines.append(f"        filter: {sc.filter}")
            lines.append(f"        splits: {sum(1 for x in op.splits if x.url)}")
    for i in s.inputs:
        if isinstance(i, ShuffleInput):
            lines.append(f"      input {i.name}: shuffle from {i.stage}")
        elif isinstance(i, BroadcastInput):
            lines.append(f"      input {i.name}: broadcast from {i.stage}")
    for op in ops:
        if isinstance(op, ReduceOutput):
            out = op.shuffle
            keys = ", ".join(out.keys)
            lines.append(f"      Output: {out.kind} partition" + (f" by {keys}" if keys else "")
                         + f" into {out.num_partitions}")
        elif isinstance(op, FileOutput):
            w = op.write
            lines.append(f"      File Output Operator: {w.what}, format {w.storage.kind}, one "
                         "file per task" + (f", dynamic partitions: {', '.join(w.dynamic)}"
                                            if w.dynamic else "")
                         + "; committed by the output committer")
        elif isinstance(op, Fetch):
            lines.append("      Output: fetched by the client")
    return lines


def _split_scan_lines(op: TableScan, splits: int) -> list[str]:
    sc = op.scan
    lines = [f"      TableScan ({sc.id})", f"        table: {sc.table}",
             f"        format: {sc.storage.kind}",
             f"        columns: {', '.join(sc.columns) or '(none)'}"]
    if sc.partition_filter:
        lines.append(f"        partition filter: {sc.partition_filter}")
    if sc.filter:
        lines.append(f"        filter: {sc.filter}")
    if sc.limit is not None:
        lines.append(f"        limit: {sc.limit}")
    lines.append(f"        splits: {splits}")
    return lines
