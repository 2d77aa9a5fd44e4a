"""Hive semantics sqlglot's hive→duckdb transpiler does not carry over, fixed on the tree.

Two ordered tuples of small passes, each ``fix(tree) -> None`` mutating the tree:
``PRE_QUALIFY`` runs on the Hive tree before names are resolved (Hive-only syntax such as
``WITH ROLLUP`` and ``GROUPING__ID``), ``FIXES`` just before DuckDB SQL is generated.
"""
from __future__ import annotations

from sqlglot import exp

from rayemr.core.errors import UnsupportedError
from rayemr.hive.sql.uniontype import create_union
from rayemr.hive.sql.walk import copy as copy_tree, finds, nodes, run_passes


def pre_qualify(tree: exp.Expression) -> None:
    run_passes(tree, PRE_QUALIFY)


def to_duckdb(tree: exp.Expression) -> None:
    """Rewrite ``tree`` in place so that its DuckDB SQL has Hive's meaning."""
    run_passes(tree, FIXES)


# -- before qualification ---------------------------------------------------------------------

def _group_columns(group: exp.Group) -> list[exp.Expression]:
    cols = list(group.expressions)
    for key in ("rollup", "cube"):
        for r in group.args.get(key) or []:
            cols.extend(r.expressions)
    return cols


def _grouping_id(tree: exp.Expression) -> None:
    """``GROUPING__ID`` is ``GROUPING(<group by columns>)`` (Hive >= 2.3 bit order)."""
    if not any(c.name.lower() == "grouping__id" for c in nodes(tree, exp.Column)):
        return
    for sel in nodes(tree, exp.Select):
        group = sel.args.get("group")
        for col in nodes(sel, exp.Column):
            if col.name.lower() != "grouping__id" or col.table:
                continue
            if col.find_ancestor(exp.Select) is not sel:
                continue
            if group is None:
                raise UnsupportedError("GROUPING__ID needs GROUP BY")
            args = [copy_tree(c) for c in _group_columns(group)]
            node = exp.Anonymous(this="GROUPING", expressions=args)
            if isinstance(col.parent, (exp.Select,)) or col.parent is sel:
                col.replace(exp.alias_(node, "grouping__id"))
            else:
                col.replace(node)


@finds(exp.Group)
def _rollup_cube_sets(tree: exp.Expression) -> None:
    """``GROUP BY a, b WITH ROLLUP|CUBE`` and ``GROUP BY a, b GROUPING SETS (...)``."""
    for group in nodes(tree, exp.Group):
        cols = list(group.expressions)
        if group.args.get("rollup") and cols and not group.args["rollup"][0].expressions:
            group.set("rollup", [exp.Rollup(expressions=[copy_tree(c) for c in cols])])
            group.set("expressions", [])
        elif group.args.get("cube") and cols and not group.args["cube"][0].expressions:
            group.set("cube", [exp.Cube(expressions=[copy_tree(c) for c in cols])])
            group.set("expressions", [])
        elif group.args.get("grouping_sets") and cols:
            group.set("expressions", [])


@finds(exp.Sort, exp.Cluster, exp.Distribute)
def _sort_by(tree: exp.Expression) -> None:
    """SORT BY / CLUSTER BY sort each reducer's rows; one final reducer makes it ORDER BY."""
    for sel in nodes(tree, exp.Select):
        sort = sel.args.get("sort")
        cluster = sel.args.get("cluster")
        if sel.args.get("order") is None:
            if sort is not None:
                sel.set("order", exp.Order(expressions=[copy_tree(e) for e in sort.expressions]))
            elif cluster is not None:
                sel.set("order", exp.Order(expressions=[
                    exp.Ordered(this=copy_tree(e), desc=False) for e in cluster.expressions]))
        for key in ("sort", "cluster", "distribute"):
            sel.set(key, None)


@finds(exp.Exists)
def _exists_select_one(tree: exp.Expression) -> None:
    """``EXISTS (SELECT * ...)`` only asks whether rows exist: select a constant instead,
    so the scans under it read just the columns its WHERE needs (TPC-H Q21, Q4, Q22)."""
    for node in nodes(tree, exp.Exists):
        sub = node.this
        if not isinstance(sub, exp.Select):
            continue
        if any(not isinstance(e, (exp.Star, exp.Column, exp.Literal)) for e in
               sub.expressions) or sub.args.get("distinct") or sub.args.get("group"):
            continue  # a global aggregate returns a row even over no rows: keep it
        sub.set("expressions", [exp.Literal.number(1)])


PRE_QUALIFY = (_grouping_id, _rollup_cube_sets, _sort_by, _exists_select_one)


# -- before generating DuckDB SQL --------------------------------------------------------------

@finds(exp.Anonymous)
def _errors(tree: exp.Expression) -> None:
    for node in nodes(tree, exp.Anonymous):
        name = node.name.upper()
        if name == "RAISE_ERROR":
            node.replace(exp.Anonymous(this="ERROR", expressions=node.expressions))
        elif name == "ASSERT_TRUE" and node.expressions:
            node.replace(exp.Case(ifs=[exp.If(this=copy_tree(node.expressions[0]),
                                              true=exp.Null())],
                                  default=exp.Anonymous(this="ERROR", expressions=[
                                      exp.Literal.string("ASSERT_TRUE(): assertion failed.")])))


@finds(exp.Quantile)
def _percentile(tree: exp.Expression) -> None:
    """Hive's percentile interpolates (DuckDB's quantile_cont)."""
    for node in nodes(tree, exp.Quantile):
        node.replace(exp.Anonymous(this="QUANTILE_CONT", expressions=[
            copy_tree(node.this), copy_tree(node.args["quantile"])]))


@finds(exp.Anonymous)
def _pmod(tree: exp.Expression) -> None:
    for node in nodes(tree, exp.Anonymous):
        if node.name.upper() == "PMOD" and len(node.expressions) == 2:
            a, b = (copy_tree(e) for e in node.expressions)
            node.replace(exp.Mod(this=exp.Paren(this=exp.Add(
                this=exp.Paren(this=exp.Mod(this=a, expression=b)), expression=copy_tree(b))),
                expression=copy_tree(b)))


@finds(exp.TsOrDsAdd)
def _date_add(tree: exp.Expression) -> None:
    """Hive's date_add/date_sub return DATE, not TIMESTAMP."""
    for node in nodes(tree, exp.TsOrDsAdd):
        if isinstance(node.parent, exp.Cast):
            continue
        node.replace(exp.Cast(this=copy_tree(node), to=exp.DataType.build("DATE")))


@finds(exp.Lateral)
def _lateral_views(tree: exp.Expression) -> None:
    """LATERAL VIEW [OUTER] explode/posexplode as DuckDB lateral joins with a named alias."""
    import sqlglot

    for sel in nodes(tree, exp.Select):
        laterals = sel.args.get("laterals") or []
        if not laterals:
            continue
        joins = list(sel.args.get("joins") or [])
        for lat in laterals:
            fn = lat.this
            alias = lat.args.get("alias")
            name = alias.name if alias else "__lv"
            cols = [c.name for c in (alias.columns if alias else [])]
            outer = bool(lat.args.get("outer")) or type(fn).__name__ == "ExplodeOuter"
            arg = fn.this if fn.this is not None else (fn.expressions or [None])[0]
            if arg is None:
                raise UnsupportedError(f"LATERAL VIEW {fn.sql('hive')} is not supported")
            a = arg.sql("duckdb")
            q = lambda c: exp.to_identifier(c).sql("duckdb")  # noqa: E731
            if isinstance(fn, exp.Posexplode):
                pos, val = (cols + ["pos", "val"])[:2] if len(cols) < 2 else cols[:2]
                body = (f"SELECT unnest(range(len({a}))) AS {q(pos)}, unnest({a}) AS {q(val)}")
            elif isinstance(fn, exp.Explode):
                if len(cols) == 2:
                    body = (f"SELECT unnest(map_keys({a})) AS {q(cols[0])}, "
                            f"unnest(map_values({a})) AS {q(cols[1])}")
                else:
                    body = f"SELECT unnest({a}) AS {q((cols or ['col'])[0])}"
            else:
                raise UnsupportedError(f"LATERAL VIEW {type(fn).__name__.lower()} is not "
                                       "supported; use explode or posexplode")
            kind = "LEFT JOIN" if outer else "CROSS JOIN"
            on = " ON TRUE" if outer else ""
            stub = sqlglot.parse_one(f"SELECT 1 FROM __x {kind} LATERAL ({body}) AS {q(name)}{on}",
                                     read="duckdb")
            joins.extend(stub.args["joins"])
        sel.set("laterals", None)
        sel.set("joins", joins)


@finds(exp.ArrayAgg, exp.ArrayUniqueAgg)
def _collect_empty(tree: exp.Expression) -> None:
    """collect_list/collect_set always return an array in Hive (GenericUDAFMkCollection-
    Evaluator.terminate): ``[]`` over no rows or only NULLs, where DuckDB's list is NULL."""
    for node in nodes(tree, exp.ArrayAgg, exp.ArrayUniqueAgg):
        target = node.parent if isinstance(node.parent, exp.Window) else node
        if isinstance(target.parent, exp.Coalesce):
            continue
        target.replace(exp.Coalesce(this=copy_tree(target), expressions=[exp.Array()]))


FIXES = (_errors, _percentile, _pmod, _date_add, _lateral_views, _collect_empty,
         create_union)
