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


@dataclass(frozen=True)
class RuleContext:
    """What the rules may look at besides the plan: each scan's splits, the session's
    settings, whether the query's rows are written (INSERT/CTAS) and how to sample a sort
    key."""

    splits: Mapping[str, Sequence[FileSplit]]
    conf: Mapping[str, str] = field(default_factory=dict)
    writing: bool = False
    sample: Optional[Sampler] = None

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

    sizes = {sid: sizing.split_bytes(s) for sid, s in ctx.splits.items()}
    limit = sizing.int_setting(ctx.conf, "hive.mapjoin.smalltable.filesize", 25_000_000)
    sent = sizing.int_setting(ctx.conf, "hive.auto.convert.join.noconditionaltask.size",
                              sizing.SENT_TABLES_BYTES)
    return plan_partial_aggregation(plan, sizes, broadcast_ok=ctx.flag("hive.auto.convert.join"),
                                    broadcast_limit=limit, sent_limit=sent)


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
