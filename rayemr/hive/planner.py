"""Cut a compiled query into engine stages and print them (EXPLAIN).

Pure: turns a :class:`~rayemr.hive.plan.QueryPlan` plus the splits of each scan into a
``StageGraph`` (map stages scan splits with pruned columns and pushed filters; when the
query is one aggregate over one table, map tasks aggregate partially and reduce tasks
merge hash-partitioned partial states; a final stage runs the rest in DuckDB).
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

from rayemr.engine.graph import (BroadcastInput, ShuffleInput, ShuffleSpec, SplitInput, Stage,
                                 StageGraph)
from rayemr.hive import tasks
from rayemr.hive.plan import FileSplit, QueryPlan


def stage_name(n: int) -> str:
    return f"Stage-{n}"


def build_graph(plan: QueryPlan, splits: dict[str, Sequence[FileSplit]], name: str = "hive",
                reducers: int = 1, conf: dict[str, str] | None = None, cpus: int = 0,
                small_job_bytes: int = 0, map_only: bool = False,
                inline_bytes: int = 0, final_bytes: int = 0) -> StageGraph:
    """``small_job_bytes``: when every input together is at most this many bytes (in at most
    four splits), the query runs as one task (Hive's automatic local mode for small jobs).
    ``map_only``: the query is row by row over one table (no aggregate, join, order or
    limit), so each map task runs the whole fragment over its split (a map-only job).
    ``inline_bytes``: a table of at most this many bytes that is not the aggregated one is
    read by each task that uses it, not scanned by a stage of its own (0: never);
    ``final_bytes``: the query's final task reads the tables only it uses itself, smallest
    first, up to this many bytes in all (at least those of ``inline_bytes``)."""
    sizes = [sp.length or sp.size for ss in splits.values() for sp in ss]
    if small_job_bytes > 0 and not plan.transform and sum(sizes) <= small_job_bytes \
            and len(sizes) <= 4:
        scans = tuple(plan.scans)
        fn = partial(tasks.local_task, scans, tuple(tuple(splits.get(s.id) or ())
                                                    for s in scans), plan.final_sql)
        stage = Stage(stage_name(1), fn, (), collect=True, kind="map",
                      description="small job: scan and finish in one task")
        return _with_threads(StageGraph((stage,), name=name), name, conf, cpus)
    if map_only and len(plan.scans) == 1 and plan.agg is None and not plan.sort \
            and not plan.transform:
        scan = plan.scans[0]
        sp = tuple(splits.get(scan.id) or ()) or (FileSplit(""),)
        stage = Stage(stage_name(1), partial(tasks.partial_task, scan, plan.final_sql, ()),
                      (SplitInput("split", sp),), collect=True, kind="map",
                      description=f"map-only over {scan.table}")
        return _with_threads(StageGraph((stage,), name=name), name, conf, cpus)
    return _build_graph(plan, splits, name, reducers, conf, cpus, inline_bytes, final_bytes)


def with_write(graph: StageGraph, write) -> StageGraph:
    """The graph with its last (collected) stage writing its rows through the committer
    (``rayemr.hive.write.WriteSpec``) and returning only partitions and row counts."""
    from dataclasses import replace

    last = graph.stages[-1]
    if not last.collect:
        raise ValueError(f"{graph.name}: the last stage {last.id} is not collected")
    stage = replace(last, fn=partial(tasks.write_task, write, last.fn),
                    description=f"{last.description}; write {write.what}")
    return StageGraph(graph.stages[:-1] + (stage,), name=graph.name, conf=graph.conf)


def _sort_graph(plan: QueryPlan, splits: dict[str, Sequence[FileSplit]], name: str,
                reducers: int, conf: dict[str, str] | None, cpus: int) -> StageGraph:
    map_sql, reduce_sql, _limit = plan.sort
    scan = plan.scans[0]
    sp = tuple(splits.get(scan.id) or ()) or (FileSplit(""),)
    stages = (
        Stage(stage_name(1), partial(tasks.partial_task, scan, map_sql, ()),
              (SplitInput("split", sp),),
              output=ShuffleSpec(reducers, ("__part",), "column"), kind="map",
              description=f"scan {scan.table}, range partition on the sort key"),
        Stage(stage_name(2), partial(tasks.sql_task, reduce_sql, ("part",)),
              (ShuffleInput("part", stage_name(1)),), collect=True, kind="reduce",
              description="sort each range"),
    )
    return _with_threads(StageGraph(stages, name=name), name, conf, cpus)


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
        total = 0
        for i in sorted((i for i in size if i not in mapped and (agg is None or
                                                                   i != agg.scan_id)),
                        key=lambda i: (size[i], i)):
            if inline_bytes <= 0 or size[i] > max(inline_bytes, final_bytes - total):
                break
            self.small.add(i)
            total += size[i]
        self.by_id = {sc.id: sc for sc in plan.scans}
        self.stages: list[Stage] = []
        self.of_scan: dict[str, str] = {}

    def next_id(self) -> str:
        return stage_name(len(self.stages) + 1)

    def read_here(self, ids) -> tuple:
        return tuple((self.by_id[i], tuple(self.splits.get(i) or ())) for i in ids
                     if i in self.small)

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
            sp = tuple(self.splits.get(scan.id) or ()) or (FileSplit(""),)
            sid = self.next_id()
            if agg is not None and scan.id == agg.scan_id:
                sent = self.sent(agg.broadcast)
                fn = partial(tasks.partial_task, scan, agg.partial_sql,
                             tuple(b.name for b in sent), inline=self.read_here(agg.broadcast))
                out = ShuffleSpec(self.reducers, agg.keys, "hash") \
                    if agg.keys and self.reducers > 1 else ShuffleSpec(1, (), "single")
                self.stages.append(Stage(sid, fn, (SplitInput("split", sp),) + sent,
                                         output=out, kind="map",
                                         description=f"partial aggregate over {scan.table}"))
            else:
                self.stages.append(Stage(sid, partial(tasks.scan_task, scan),
                                         (SplitInput("split", sp),), kind="map",
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
            self.stages.append(Stage(self.next_id(), partial(
                tasks.sql_task, sql, tuple(i.name for i in inputs),
                inline=self.read_here(rest)), inputs, collect=True, kind="reduce",
                description="final aggregate and result"))
            return
        red = self.next_id()
        self.stages.append(Stage(red, partial(tasks.sql_task, agg.final_sql, ("partials",)),
                                 (partials,), kind="reduce", description="final aggregate"))
        inputs = (BroadcastInput("reduced", red),) + self.sent(rest)
        self.stages.append(Stage(self.next_id(), partial(
            tasks.sql_task, agg.top_sql, tuple(i.name for i in inputs),
            inline=self.read_here(rest)), inputs, collect=True, kind="reduce",
            description="result"))

    def result(self) -> None:
        ids = [s.id for s in self.plan.scans]
        inputs = self.sent(ids)
        self.stages.append(Stage(self.next_id(), partial(
            tasks.sql_task, self.plan.final_sql, tuple(i.name for i in inputs),
            inline=self.read_here(ids)), inputs, collect=True,
            kind="reduce" if inputs else "map",
            description="result" if inputs else "scan and result in one task"))

    def transform(self) -> None:
        script, columns, split_all = self.plan.transform
        last = self.stages[-1]
        self.stages[-1] = Stage(last.id, last.fn, last.inputs, kind=last.kind,
                                description=last.description)
        self.stages.append(Stage(self.next_id(), partial(
            tasks.transform_task, script, columns, split_all),
            (BroadcastInput("rows", last.id),), collect=True, kind="reduce",
            description=f"transform using {str(script)!r}"))


def _build_graph(plan: QueryPlan, splits: dict[str, Sequence[FileSplit]], name: str,
                 reducers: int, conf: dict[str, str] | None, cpus: int,
                 inline_bytes: int = 0, final_bytes: int = 0) -> StageGraph:
    if plan.sort:
        return _sort_graph(plan, splits, name, reducers, conf, cpus)
    if plan.agg is not None and plan.agg.shuffle_join:
        return _shuffle_join_graph(plan, splits, name, reducers, conf, cpus)
    cut = _Stages(plan, splits, reducers, inline_bytes, final_bytes)
    cut.scans()
    if plan.agg is not None:
        cut.reduce_side()
    else:
        cut.result()
    if plan.transform:
        cut.transform()
    return _with_threads(StageGraph(tuple(cut.stages), name=name), name, conf, cpus)


def _shuffle_join_graph(plan: QueryPlan, splits, name: str, reducers: int, conf, cpus: int
                        ) -> StageGraph:
    """Common join: both sides hash-partitioned on their join keys; each reduce task joins
    its partition and aggregates partially; then the usual merge and result stages."""
    agg = plan.agg
    scans = {s.id: s for s in plan.scans}
    stages: list[Stage] = []
    inputs = []
    for i, (sid, key) in enumerate(agg.shuffle_join):
        scan = scans[sid]
        sp = tuple(splits.get(sid) or ()) or (FileSplit(""),)
        stages.append(Stage(stage_name(i + 1), partial(tasks.scan_task, scan),
                            (SplitInput("split", sp),),
                            output=ShuffleSpec(reducers, (key,), "hash"), kind="map",
                            description=f"scan {scan.table}, shuffle on {key}"))
        inputs.append(ShuffleInput(sid, stage_name(i + 1)))
    join = stage_name(3)
    out = ShuffleSpec(reducers, agg.keys, "hash") if agg.keys and reducers > 1 \
        else ShuffleSpec(1, (), "single")
    stages.append(Stage(join, partial(tasks.sql_task, agg.partial_sql,
                                      tuple(i.name for i in inputs)),
                        tuple(inputs), output=out, kind="reduce",
                        description="shuffle join and partial aggregate"))
    stages.append(Stage(stage_name(4), partial(
        tasks.sql_task, f"WITH reduced AS ({agg.final_sql}) {agg.top_sql}", ("partials",)),
        (ShuffleInput("partials", join),), kind="reduce", collect=out.num_partitions == 1,
        description="final aggregate" + (" and result" if out.num_partitions == 1 else "")))
    if out.num_partitions > 1:
        last = stages.pop()
        stages.append(Stage(last.id, partial(tasks.sql_task, agg.final_sql, ("partials",)),
                            last.inputs, kind="reduce", description="final aggregate"))
        stages.append(Stage(stage_name(5), partial(tasks.sql_task, agg.top_sql, ("reduced",)),
                            (BroadcastInput("reduced", last.id),), collect=True,
                            kind="reduce", description="result"))
    return _with_threads(StageGraph(tuple(stages), name=name), name, conf, cpus)


def _with_threads(graph: StageGraph, name: str, conf: dict[str, str] | None, cpus: int
                  ) -> StageGraph:
    conf = dict(conf or {})
    if cpus > 0:  # stages with fewer tasks than CPUs give each task more DuckDB threads
        for st in graph.stages:
            conf[f"rayemr.hive.threads.{st.id}"] = str(max(1, min(4, cpus // st.num_tasks)))
    return StageGraph(graph.stages, name=name, conf=tuple(sorted(conf.items())))


def explain(plan: QueryPlan, graph: StageGraph) -> list[str]:
    """Hive-style EXPLAIN text: stage dependencies, then each stage's work."""
    lines = ["STAGE DEPENDENCIES:"]
    for s in graph.stages:
        if not s.upstream:
            lines.append(f"  {s.id} is a root stage")
        else:
            lines.append(f"  {s.id} depends on stages: {', '.join(dict.fromkeys(s.upstream))}")
    lines.append("")
    lines.append("STAGE PLANS:")
    scans = {sc.id: sc for sc in plan.scans}
    for s in graph.stages:
        lines.append(f"  Stage: {s.id}")
        lines.append(f"    {'Map' if s.kind == 'map' else 'Reduce'} Operator Tree: "
                     f"{s.description}")
        fn = s.fn
        write = None
        if getattr(fn, "func", None) is tasks.write_task:
            write, fn = fn.args[0], fn.args[1]
        args = getattr(fn, "args", ())
        spec = args[0] if args and hasattr(args[0], "table") else None
        if args and isinstance(args[0], tuple) and args[0] and hasattr(args[0][0], "table"):
            for sc, sps in zip(args[0], args[1]):
                lines.append(f"      TableScan ({sc.id})")
                lines.append(f"        table: {sc.table}")
                lines.append(f"        columns: {', '.join(sc.columns) or '(none)'}")
                if sc.filter:
                    lines.append(f"        filter: {sc.filter}")
                lines.append(f"        splits: {len(sps)}")
            lines.append(f"      DuckDB: {args[2]}")
        elif spec is not None:
            sc = scans[spec.id]
            lines.append(f"      TableScan ({sc.id})")
            lines.append(f"        table: {sc.table}")
            lines.append(f"        format: {sc.storage.kind}")
            lines.append(f"        columns: {', '.join(sc.columns) or '(none)'}")
            if sc.partition_filter:
                lines.append(f"        partition filter: {sc.partition_filter}")
            if sc.filter:
                lines.append(f"        filter: {sc.filter}")
            if sc.limit is not None:
                lines.append(f"        limit: {sc.limit}")
            split_in = [i for i in s.inputs if isinstance(i, SplitInput)]
            real = [x for x in split_in[0].splits if x.url] if split_in else []
            lines.append(f"        splits: {len(real)}")
            if len(args) > 1:
                lines.append(f"      Partial: {args[1]}")
        elif args:
            lines.append(f"      DuckDB: {args[0]}")
        for sc, sps in (getattr(fn, "keywords", None) or {}).get("inline", ()):
            lines.append(f"      TableScan ({sc.id}), read in each task (small table)")
            lines.append(f"        table: {sc.table}")
            lines.append(f"        columns: {', '.join(sc.columns) or '(none)'}")
            if sc.filter:
                lines.append(f"        filter: {sc.filter}")
            lines.append(f"        splits: {sum(1 for x in sps if x.url)}")
        for i in s.inputs:
            if isinstance(i, ShuffleInput):
                lines.append(f"      input {i.name}: shuffle from {i.stage}")
            elif isinstance(i, BroadcastInput):
                lines.append(f"      input {i.name}: broadcast from {i.stage}")
        if s.output is not None:
            keys = ", ".join(s.output.keys)
            lines.append(f"      Output: {s.output.kind} partition"
                         + (f" by {keys}" if keys else "")
                         + f" into {s.output.num_partitions}")
        if write is not None:
            lines.append(f"      File Output Operator: {write.what}, format "
                         f"{write.storage.kind}, one file per task"
                         + (f", dynamic partitions: {', '.join(write.dynamic)}"
                            if write.dynamic else "")
                         + "; committed by the output committer")
        elif s.collect:
            lines.append("      Output: fetched by the client")
    return lines
