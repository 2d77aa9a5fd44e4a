"""Result-set column names as Hive gives them with ``hive.resultset.use.unique.column.names``
(true by default): a column that comes from ``SELECT *`` / ``t.*`` or is written ``t.col``
is named ``t.col`` (the table's alias, or its name); anything else keeps its own name
(``col``, an alias, ``_c1``). Hive does this in ``convertRowSchemaToResultSetSchema`` from
the table alias its row resolver keeps for each output column.

:func:`mark` notes each written select expression's name before sqlglot qualifies the query;
:func:`names` reads them back after, naming every column a star expanded into by its table.
"""
from __future__ import annotations

from sqlglot import exp

_KEY = "hive_result_name"


def _top_select(tree: exp.Expression) -> exp.Select | None:
    return tree if isinstance(tree, exp.Select) else None


def _source_aliases(select: exp.Select) -> set[str]:
    sources = [select.args.get("from_") or select.args.get("from")]
    sources += list(select.args.get("joins") or [])
    out = set()
    for src in sources:
        node = getattr(src, "this", None)
        if isinstance(node, (exp.Table, exp.Subquery)):
            out.add(node.alias_or_name.lower())
    return out


def mark(tree: exp.Expression) -> None:
    """Before qualification: remember the result name of every written select expression."""
    select = _top_select(tree)
    if select is None:
        return
    aliases = _source_aliases(select)
    for e in select.expressions:
        if isinstance(e, exp.Alias):
            e.meta[_KEY] = e.alias
        elif isinstance(e, exp.Column) and not isinstance(e.this, exp.Star):
            table = e.table.lower() if e.table else ""
            e.meta[_KEY] = f"{table}.{e.name}" if table in aliases else e.name


def names(tree: exp.Expression) -> tuple[str, ...]:
    """After qualification: the result names, or () when the query is not a plain SELECT."""
    select = _top_select(tree)
    if select is None:
        return ()
    out = []
    for e in select.expressions:
        inner = e.this if isinstance(e, exp.Alias) else e
        name = e.meta.get(_KEY) or inner.meta.get(_KEY)
        if name is None:  # a column a star expanded into
            table = inner.table if isinstance(inner, exp.Column) else ""
            name = f"{table}.{e.alias_or_name}" if table else e.alias_or_name
        out.append(name)
    return tuple(out)
