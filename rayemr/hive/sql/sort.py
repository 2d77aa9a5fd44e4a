"""Total-order ORDER BY by sampled range partitioning (Hive's TotalOrderPartitioner).

For ``SELECT <expressions> FROM t [WHERE ...] ORDER BY <keys> [LIMIT n]`` over one table,
map tasks compute the select list and the first sort key, and assign each row to a range
partition from boundaries sampled before the job runs; reduce task ``r`` sorts partition
``r``; the engine returns partitions in task order, so their concatenation is sorted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from sqlglot import exp

from rayemr.hive.plan import QueryPlan
from rayemr.hive.sql import dialect


@dataclass(frozen=True)
class SortPlan:
    """``map_sql`` has a ``{partition}`` placeholder for the partition-number expression."""

    scan_id: str
    key_sql: str  # the first sort key over the scan (for sampling)
    key_column: str  # its name in the map output
    descending: bool
    nulls_first: bool
    map_sql: str
    reduce_sql: str  # over "part": sort one partition (and LIMIT)
    columns: tuple[str, ...]
    limit: Optional[int] = None  # the client keeps the first n rows of the concatenation


def plan_range_sort(plan: QueryPlan) -> Optional[SortPlan]:
    tree = plan.tree
    if not isinstance(tree, exp.Select) or len(plan.scans) != 1 or plan.agg is not None:
        return None
    order = tree.args.get("order")
    if order is None or not order.expressions:
        return None
    if any(tree.args.get(k) for k in ("group", "having", "distinct", "joins", "laterals",
                                      "with", "qualify", "offset")):
        return None
    if tree.find(exp.AggFunc, exp.Window, exp.Subquery, exp.Exists, exp.Unnest):
        return None
    tree = tree.copy()
    scan = plan.scans[0]
    outputs = [e.alias_or_name for e in tree.expressions]
    if len(set(outputs)) != len(outputs) or any(o.startswith("__") for o in outputs):
        return None
    keys = []
    by_alias = {e.alias_or_name: e for e in tree.expressions}
    for i, o in enumerate(order.expressions):
        expr = o.this
        if isinstance(expr, exp.Column) and not expr.table and expr.name in by_alias:
            expr = by_alias[expr.name].unalias() if isinstance(by_alias[expr.name], exp.Alias) \
                else by_alias[expr.name]
        keys.append((expr.copy(), bool(o.args.get("desc")), o.args.get("nulls_first")))
    first, desc, nulls_first = keys[0]
    if nulls_first is None:
        nulls_first = not desc
    select = exp.Select(expressions=[e.copy() for e in tree.expressions] + [
        exp.alias_(k.copy(), f"__k{i}") for i, (k, _, _) in enumerate(keys)] + [
        exp.alias_(exp.column("__partition_placeholder"), "__part")])
    select.set("from_" if "from_" in exp.Select.arg_types else "from",
               (tree.args.get("from") or tree.args.get("from_")).copy())
    if tree.args.get("where") is not None:
        select.set("where", tree.args["where"].copy())
    limit = tree.args.get("limit")
    limit_n = None
    if limit is not None:
        if not isinstance(limit.expression, exp.Literal) or limit.expression.is_string:
            return None
        limit_n = int(limit.expression.name)
    dialect.to_duckdb(select)
    map_sql = select.sql("duckdb").replace("__partition_placeholder", "{partition}")
    key = first.copy()
    for c in key.find_all(exp.Column):
        c.set("table", None)
    dialect.to_duckdb(key)
    order_sql = ", ".join(
        f"__k{i} {'DESC' if d else 'ASC'} NULLS {'FIRST' if (nf if nf is not None else not d) else 'LAST'}"
        for i, (_, d, nf) in enumerate(keys))
    cols = ", ".join(exp.to_identifier(c).sql("duckdb") for c in outputs)
    reduce_sql = f"SELECT {cols} FROM part ORDER BY {order_sql}"
    if limit is not None:
        reduce_sql += f" {limit.sql('duckdb')}"
    return SortPlan(scan.id, key.sql("duckdb"), "__k0", desc, bool(nulls_first), map_sql,
                    reduce_sql, tuple(outputs), limit_n)


def partition_expr(key: str, boundaries: Sequence[str], key_type: str, desc: bool,
                   nulls_first: bool) -> str:
    """SQL numbering the range partition of ``key`` given sorted ascending boundaries."""
    n = len(boundaries) + 1
    if not boundaries:
        return "0"
    parts = [f"WHEN {key} IS NULL THEN {0 if nulls_first else n - 1}"]
    for i, b in enumerate(boundaries):
        p = i if not desc else n - 1 - i
        parts.append(f"WHEN {key} < CAST({b} AS {key_type}) THEN {p}")
    last = n - 1 if not desc else 0
    return f"(CASE {' '.join(parts)} ELSE {last} END)"
