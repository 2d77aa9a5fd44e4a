"""Physical rules: the ordered passes that turn a compiled query into the shape it runs in.

A compiled :class:`~rayemr.hive.plan.QueryPlan` says what to compute; each rule here looks at
it together with what the inputs are (their splits and sizes) and the session's settings,
and returns the plan with one physical choice made, as sqlglot's optimizer runs its passes
in order over a tree. :data:`RULES` is the order they run in; :func:`apply` runs them.
:func:`rayemr.hive.planner.build_physical` then cuts the chosen shape into stages of
operators.

Pure: rules import neither DuckDB nor Ray. The one rule that needs data (``range_sort``
samples the sort key to place its range boundaries) gets the sampler from its context.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Optional, Sequence

from rayemr.hive import sizing
from rayemr.hive.plan import FileSplit, QueryPlan, RangeSort, ScanSpec

#: ``(scan, splits, key_sql, partitions) -> (boundaries as SQL literals, key's SQL type)``
Sampler = Callable[[ScanSpec, Sequence[FileSplit], str, int], tuple[list[str], str]]
#: ``(scan, splits) -> fraction of its rows its pushed filter keeps`` (None: unknown)
Selectivity = Callable[[ScanSpec, Sequence[FileSplit]], Optional[float]]


@dataclass(frozen=True)
class RuleContext:
    """What the rules may look at besides the plan: each scan's splits, the session's
    settings, whether the query's rows are written (INSERT/CTAS), how to sample a sort
    key and how to sample the share of a scan's rows its filter keeps."""

    splits: Mapping[str, Sequence[FileSplit]]
    conf: Mapping[str, str] = field(default_factory=dict)
    writing: bool = False
    sample: Optional[Sampler] = None
    selectivity: Optional[Selectivity] = None

    def flag(self, key: str, default: str = "true") -> bool:
        return str(self.conf.get(key, default)).strip().lower() == "true"


Rule = Callable[[QueryPlan, RuleContext], QueryPlan]


def map_side_aggregation(plan: QueryPlan, ctx: RuleContext) -> QueryPlan:
    """``hive.map.aggr``: an aggregate over one table (plus small tables joined in the map
    tasks, ``hive.auto.convert.join`` up to ``hive.mapjoin.smalltable.filesize`` bytes, or a
    common join of the two big ones with the other tables sent to the join's tasks, when
    those would add up to more than ``hive.auto.convert.join.noconditionaltask.size``)
    aggregates partially in the tasks that scan or join it."""
    if not ctx.flag("hive.map.aggr"):
        return plan
    from rayemr.hive.sql.aggregate import plan_partial_aggregation

    limit = sizing.int_setting(ctx.conf, "hive.mapjoin.smalltable.filesize", 25_000_000)
    sent = sizing.int_setting(ctx.conf, "hive.auto.convert.join.noconditionaltask.size",
                              sizing.SENT_TABLES_BYTES)
    sizes = _estimated_sizes(plan, ctx, limit, sent)
    return plan_partial_aggregation(plan, sizes, broadcast_ok=ctx.flag("hive.auto.convert.join"),
                                    broadcast_limit=limit, sent_limit=sent)


def _estimated_sizes(plan: QueryPlan, ctx: RuleContext, limit: int, sent: int
                     ) -> dict[str, int]:
    """Each scan's bytes, times the share of rows its filter keeps where that is sampled:
    in a join that file sizes alone would shuffle (two tables both over ``limit``, or more
    tables whose smaller ones add up to over ``sent``), a filtered table may leave few
    enough rows to be sent instead (Hive decides on operator statistics after filters
    too; TPC-H Q12's lineitem keeps about 0.5% of its rows). Joins that are map joins on
    file sizes are not sampled. ``rayemr.hive.sample.selectivity=false`` decides on file
    sizes alone."""
    sizes = {sid: sizing.split_bytes(s) for sid, s in ctx.splits.items()}
    if (ctx.selectivity is None or len(plan.scans) < 2
            or not ctx.flag("rayemr.hive.sample.selectivity")):
        return sizes
    own = sorted((sizes.get(sc.id, 0) for sc in plan.scans), reverse=True)
    if (own[-1] <= limit) if len(own) == 2 else (sum(own[1:]) <= sent):
        return sizes  # a map join already
    for scan in plan.scans:
        if scan.filter and sizes.get(scan.id, 0) > limit:
            share = ctx.selectivity(scan, ctx.splits.get(scan.id) or ())
            if share is not None:
                sizes[scan.id] = max(1, int(sizes[scan.id] * min(1.0, share)))
    return sizes


def range_sort(plan: QueryPlan, ctx: RuleContext) -> QueryPlan:
    """ORDER BY over one table read in several splits, with more than one reducer: sampled
    range partitioning (Hive's TotalOrderPartitioner), so the sort runs in parallel."""
    if plan.agg is not None or plan.transform or len(plan.scans) != 1 or ctx.sample is None:
        return plan
    from rayemr.hive.sql.sort import partition_expr, plan_range_sort

    splits = ctx.splits.get(plan.scans[0].id) or ()
    reducers = sizing.reducers(ctx.conf, sizing.split_bytes(splits))
    if reducers < 2 or len(splits) < 2:
        return plan
    sp = plan_range_sort(plan)
    if sp is None or (ctx.writing and sp.limit is not None):
        return plan  # a write cannot cut each range to the LIMIT afterwards
    bounds, key_type = ctx.sample(plan.scans[0], splits, sp.key_sql, reducers)
    part = partition_expr(sp.key_sql, bounds, key_type, sp.descending, sp.nulls_first)
    return replace(plan, sort=RangeSort(sp.map_sql.replace("{partition}", part),
                                        sp.reduce_sql, sp.limit))


#: the physical rules, in the order they run
RULES: tuple[Rule, ...] = (map_side_aggregation, range_sort)


def apply(plan: QueryPlan, ctx: RuleContext, rules: Sequence[Rule] = RULES) -> QueryPlan:
    """``plan`` after every rule of ``rules`` in order."""
    for rule in rules:
        plan = rule(plan, ctx)
    return plan
