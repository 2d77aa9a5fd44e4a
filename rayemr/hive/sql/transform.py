"""SELECT TRANSFORM (cols) USING 'script' [AS (name [type], ...)] FROM ...: Hive streaming.

The query without TRANSFORM is compiled as usual; its rows are then piped through the
script (tab-separated, ``\\N`` for NULL, one line per row) in a final task, and the script's
output lines become rows (split on tabs; without AS: ``key`` and ``value`` split at the
first tab; columns without a type are strings).
"""
from __future__ import annotations

from typing import Mapping, Optional

from sqlglot import exp

from rayemr.core.errors import UnsupportedError
from rayemr.hive.plan import QueryPlan, TransformSpec
from rayemr.hive.sql.compile import compile_query, parse_hive
from rayemr.hive.types import normalize_type


def plan_transform_or_none(text: str, lookup, database: str,
                           conf: Optional[Mapping[str, str]] = None) -> Optional[QueryPlan]:
    if "TRANSFORM" not in text.upper():
        return None
    tree = parse_hive(text)
    nodes = list(tree.find_all(exp.QueryTransform))
    if not nodes:
        return None
    node = nodes[0]
    if len(nodes) > 1 or not isinstance(tree, exp.Select) or node.parent is not tree \
            or len(tree.expressions) != 1:
        raise UnsupportedError("TRANSFORM is supported as the only expression of the "
                               "outermost SELECT")
    script = node.args["command_script"].name
    out: list[tuple[str, str]] = []
    schema = node.args.get("schema")
    for col in (schema.expressions if schema is not None else []):
        if isinstance(col, exp.ColumnDef):
            kind = col.args.get("kind")
            out.append((col.name, normalize_type(kind.sql("hive")) if kind else "string"))
        else:
            out.append((col.name, "string"))
    split_all = bool(out)
    if not out:
        out = [("key", "string"), ("value", "string")]
    if node.args.get("row_format_before") or node.args.get("row_format_after"):
        raise UnsupportedError("ROW FORMAT inside TRANSFORM is not supported")
    tree.set("expressions", [e.copy() for e in node.expressions])
    inner = compile_query(tree.sql("hive"), lookup, database, tree=tree, conf=conf)
    from dataclasses import replace

    return replace(inner, columns=tuple(n for n, _ in out),
                   transform=TransformSpec(script, tuple(out), split_all))
