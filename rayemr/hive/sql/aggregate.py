"""Map-side partial aggregation with map joins (Hive's hive.map.aggr + hive.auto.convert.join).

For a query that is one aggregate (GROUP BY or a global aggregate) over inner joins of base
tables with decomposable aggregates (SUM, COUNT, MIN, MAX, AVG), the largest table is
streamed: each map task joins its split with the other (broadcast) scans and aggregates
partially; partial states are hash-partitioned on the group keys; reduce tasks merge them;
a last step applies HAVING, the select expressions, ORDER BY and LIMIT. Anything else keeps
the plain plan.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from sqlglot import exp

from rayemr.hive.plan import AggPlan, QueryPlan
from rayemr.hive.sql import dialect
from rayemr.hive.sql.walk import contains, copy as copy_tree, nodes

#: the Select argument holding FROM ("from_" in recent sqlglot, "from" before)
_FROM = "from_" if "from_" in exp.Select.arg_types else "from"

_MERGE = {exp.Sum: "SUM", exp.Count: "SUM", exp.Min: "MIN", exp.Max: "MAX"}


def plan_partial_aggregation(plan: QueryPlan, sizes: dict[str, int] | None = None,
                             broadcast_ok: bool = True, broadcast_limit: int | None = None,
                             sent_limit: int | None = None) -> QueryPlan:
    """``broadcast_limit``: a two-table join whose smaller side is bigger than this many
    bytes becomes a shuffle join on its equi-join keys (Hive's common join). In a join of
    more tables, every table but the biggest is sent to the biggest one's tasks while they
    add up to at most ``sent_limit`` bytes (Hive's
    ``hive.auto.convert.join.noconditionaltask.size``); beyond that the two biggest are
    shuffle-joined and the others sent to the join's tasks, so no task has to hold more."""
    tree = plan.tree
    if not isinstance(tree, exp.Select) or not plan.scans:
        return plan
    try:
        agg = _plan(tree, plan, sizes or {}, broadcast_ok, broadcast_limit, sent_limit)
    except _Bail:
        return plan
    return replace(plan, agg=agg)


class _Bail(Exception):
    pass


def _check_shape(sel: exp.Select, scan_ids: set[str]) -> list[str]:
    if sel.args.get("with") or sel.args.get("laterals") or sel.args.get("distinct"):
        raise _Bail()
    if contains(sel, exp.Window, exp.Subquery, exp.Exists, exp.Union, exp.Lateral, exp.Unnest):
        raise _Bail()
    for node in nodes(sel, exp.Select):
        if node is not sel:
            raise _Bail()
    group = sel.args.get("group")
    if group is not None and any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets",
                                                              "totals")):
        raise _Bail()
    frm = sel.args.get(_FROM)
    if frm is None or not isinstance(frm.this, exp.Table):
        raise _Bail()
    names = [frm.this.name]
    for j in sel.args.get("joins") or []:
        if (j.side or "") or (j.kind or "").upper() not in ("", "INNER", "CROSS"):
            raise _Bail()
        if not isinstance(j.this, exp.Table):
            raise _Bail()
        names.append(j.this.name)
    if any(n not in scan_ids for n in names) or len(set(names)) != len(names):
        raise _Bail()
    return names


def _equi_keys(sel: exp.Select, plan: QueryPlan, between: tuple[str, str] | None = None
               ) -> tuple[tuple[str, str], ...]:
    """The first ``a.x = b.y`` between two joined scans (``between``, else any two), as
    ((scan, col), (scan, col))."""
    alias_to_scan = {}
    frm = sel.args.get(_FROM)
    for t in [frm.this] + [j.this for j in sel.args.get("joins") or []]:
        alias_to_scan[t.alias_or_name] = t.name
    conds = []
    where = sel.args.get("where")
    if where is not None:
        conds += list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    for j in sel.args.get("joins") or []:
        on = j.args.get("on")
        if on is not None:
            conds += list(on.flatten()) if isinstance(on, exp.And) else [on]
    types = {(s.id, c): t for s in plan.scans for c, t in s.schema + s.partition_keys}
    for c in conds:
        if isinstance(c, exp.EQ) and isinstance(c.this, exp.Column) and \
                isinstance(c.expression, exp.Column):
            a, b = c.this, c.expression
            sa, sb = alias_to_scan.get(a.table), alias_to_scan.get(b.table)
            if sa and sb and sa != sb and (between is None or {sa, sb} == set(between)):
                ka, kb = (sa, a.name.lower()), (sb, b.name.lower())
                if types.get(ka) is not None and types.get(ka) == types.get(kb):
                    return (ka, kb)
    raise _Bail()


def _shuffle_pair(names: list[str], sizes: dict[str, int], limit: int | None
                  ) -> tuple[str, str] | None:
    """The two tables of a join of three or more to shuffle-join, or None to send every
    table but the biggest to the biggest one's tasks (they fit in ``limit`` bytes)."""
    if limit is None or len(names) < 3:
        return None
    big, second = sorted(names, key=lambda n: (-sizes.get(n, 0), names.index(n)))[:2]
    if sum(sizes.get(n, 0) for n in names if n != big) <= limit:
        return None
    return big, second


def _plan(sel: exp.Select, plan: QueryPlan, sizes: dict[str, int], broadcast_ok: bool,
          broadcast_limit: int | None = None, sent_limit: int | None = None) -> AggPlan:
    scan_ids = {s.id for s in plan.scans}
    names = _check_shape(sel, scan_ids)
    if len(names) != len(plan.scans):
        raise _Bail()
    shuffle: tuple[tuple[str, str], ...] = ()
    pair = _shuffle_pair(names, sizes, sent_limit) if broadcast_ok else None
    if len(names) == 2 and (not broadcast_ok or (
            broadcast_limit is not None and min(sizes.get(n, 0) for n in names)
            > broadcast_limit)):
        shuffle = _equi_keys(sel, plan)
    elif len(names) > 1 and not broadcast_ok:
        raise _Bail()
    elif pair is not None:
        try:
            shuffle = _equi_keys(sel, plan, pair)
        except _Bail:
            shuffle = ()  # no equality between the two: every other table is sent
    streamed = max(names, key=lambda n: (sizes.get(n, 0), -names.index(n)))
    group = sel.args.get("group")
    keys = list(group.expressions) if group is not None else []
    aggs: list[exp.AggFunc] = []
    holders = list(sel.expressions) + [sel.args.get("having"), sel.args.get("order")]
    for h in holders:
        if h is None:
            continue
        for node in nodes(h, exp.AggFunc):
            if any(node is a for a in aggs):
                continue
            if node.find_ancestor(exp.AggFunc) is not None:
                raise _Bail()
            aggs.append(node)
    if not aggs and not keys:
        raise _Bail()
    partial_cols: list[exp.Expression] = []
    merged: list[exp.Expression] = []
    replacement: dict[int, exp.Expression] = {}
    for k, node in enumerate(aggs):
        if isinstance(node, exp.Count) and (contains(node, exp.Distinct)
                                            or node.args.get("distinct")):
            raise _Bail()
        if type(node) in _MERGE:
            partial_cols.append(exp.alias_(copy_tree(node), f"__p{k}", copy=False))
            merge: exp.Expression = exp.Anonymous(this=_MERGE[type(node)],
                                                  expressions=[exp.column(f"__p{k}")])
            if isinstance(node, exp.Count):  # a sum of counts is still Hive's bigint
                merge = exp.Cast(this=merge, to=exp.DataType.build("BIGINT"))
            merged.append(exp.alias_(merge, f"__a{k}"))
            replacement[id(node)] = exp.column(f"__a{k}")
        elif isinstance(node, exp.Avg):
            arg = copy_tree(node.this)
            partial_cols.append(exp.alias_(exp.Sum(this=arg), f"__p{k}s"))
            partial_cols.append(exp.alias_(exp.Count(this=copy_tree(arg)), f"__p{k}c", copy=False))
            merged.append(exp.alias_(exp.Sum(this=exp.column(f"__p{k}s")), f"__a{k}s"))
            merged.append(exp.alias_(exp.Cast(this=exp.Sum(this=exp.column(f"__p{k}c")),
                                              to=exp.DataType.build("BIGINT")), f"__a{k}c"))
            replacement[id(node)] = exp.Div(
                this=exp.Cast(this=exp.column(f"__a{k}s"), to=exp.DataType.build("DOUBLE")),
                expression=exp.Anonymous(this="NULLIF", expressions=[
                    exp.column(f"__a{k}c"), exp.Literal.number(0)]))
        else:
            raise _Bail()
    key_cols = [f"__g{i}" for i in range(len(keys))]

    reps = [replacement[id(a)] for a in aggs]

    def swap(n: exp.Expression) -> exp.Expression:
        for node, rep in zip(aggs, reps):
            if n == node:
                return copy_tree(rep)
        for i, key in enumerate(keys):
            if n == key:
                return exp.column(key_cols[i])
        return n

    def rewrite(e: exp.Expression) -> exp.Expression:
        e = copy_tree(e).transform(swap, copy=False)
        if any(c.table for c in nodes(e, exp.Column)):
            raise _Bail()  # a base column outside aggregates and group keys
        return e

    top = exp.Select(expressions=[rewrite(e) for e in sel.expressions])
    top.set(_FROM, exp.From(this=exp.to_table("reduced")))
    having = sel.args.get("having")
    if having is not None:
        top.set("where", exp.Where(this=rewrite(having.this)))
    order = sel.args.get("order")
    if order is not None:
        top.set("order", exp.Order(expressions=[_rewrite_ordered(o, rewrite, sel)
                                                for o in order.expressions]))
    if sel.args.get("limit") is not None:
        top.set("limit", copy_tree(sel.args["limit"]))

    partial = exp.Select(expressions=[exp.alias_(copy_tree(k), key_cols[i], copy=False)
                                      for i, k in enumerate(keys)] + partial_cols)
    partial.set(_FROM, copy_tree(sel.args[_FROM]))
    if sel.args.get("joins"):
        partial.set("joins", [copy_tree(j) for j in sel.args["joins"]])
    if sel.args.get("where") is not None:
        partial.set("where", copy_tree(sel.args["where"]))
    if keys:
        partial.set("group", exp.Group(expressions=[copy_tree(k) for k in keys]))

    final = exp.Select(expressions=[exp.column(c) for c in key_cols] + merged)
    final.set(_FROM, exp.From(this=exp.to_table("partials")))
    if keys:
        final.set("group", exp.Group(expressions=[exp.column(c) for c in key_cols]))
    return AggPlan(scan_id=streamed, partial_sql=_duck(partial), keys=tuple(key_cols),
                   final_sql=_duck(final), top_sql=_duck(top),
                   broadcast=tuple(n for n in names if n not in {k[0] for k in shuffle}
                                   and (shuffle or n != streamed)),
                   shuffle_join=shuffle)


def _rewrite_ordered(o: exp.Expression, rewrite, sel: exp.Select) -> exp.Expression:
    o = copy_tree(o)
    inner = o.this
    # ORDER BY an output alias stays as is (the top select defines it)
    if isinstance(inner, exp.Column) and not inner.table and \
            inner.name in {s.alias_or_name for s in sel.expressions}:
        return o
    o.set("this", rewrite(inner))
    return o


def _duck(tree: exp.Expression) -> str:
    dialect.to_duckdb(tree)
    return tree.sql("duckdb", copy=False)


def describe(agg: Optional[AggPlan]) -> str:
    return "" if agg is None else f"partial aggregate over {agg.scan_id}"


def row_wise(plan: QueryPlan) -> bool:
    """True when the query maps each row of its one table on its own (projection and
    filters only: no aggregate, join, window, subquery, DISTINCT, ORDER BY or LIMIT), so
    every map task can run it over its split and write its own output (a map-only job)."""
    tree = plan.tree
    if not isinstance(tree, exp.Select) or len(plan.scans) != 1 or plan.agg or plan.sort \
            or plan.transform:
        return False
    for key in ("with", "joins", "laterals", "group", "having", "order", "limit", "offset",
                "distinct", "qualify", "sort", "cluster", "distribute"):
        if tree.args.get(key):
            return False
    if contains(tree, exp.AggFunc, exp.Window, exp.Subquery, exp.Exists, exp.Union, exp.Lateral,
                 exp.Unnest, exp.Explode):
        return False
    if any(node is not tree for node in nodes(tree, exp.Select)):
        return False
    frm = tree.args.get(_FROM)
    return frm is not None and isinstance(frm.this, exp.Table) and \
        frm.this.name == plan.scans[0].id
