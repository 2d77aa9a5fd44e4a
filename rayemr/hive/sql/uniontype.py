"""``create_union(tag, v0, v1, ...)``: Hive's UNIONTYPE constructor, in DuckDB.

A union value is held as the struct :mod:`rayemr.hive.types` describes: the tag (TINYINT)
and one field per member, only the tagged member set. Hive's tag is any integer expression;
a tag that names no member gives NULL members (Hive fails the task; rayemr keeps the row).
"""
from __future__ import annotations

from sqlglot import exp

from rayemr.core.errors import UserError
from rayemr.hive.types import union_fields
from rayemr.hive.sql.walk import copy as copy_tree, finds, nodes


@finds(exp.Anonymous)
def create_union(tree: exp.Expression) -> None:
    """Rewrite every ``create_union(...)`` call into its struct."""
    for node in nodes(tree, exp.Anonymous):
        if node.name.lower() != "create_union":
            continue
        args = list(node.expressions)
        if len(args) < 2:
            raise UserError("create_union needs a tag and at least one value: "
                            "create_union(tag, value0, value1, ...)")
        tag = exp.Cast(this=copy_tree(args[0]), to=exp.DataType.build("TINYINT"))
        values = [tag] + [
            exp.Case(ifs=[exp.If(this=exp.EQ(this=copy_tree(tag), expression=exp.Literal.number(i)),
                                 true=copy_tree(v))])
            for i, v in enumerate(args[1:])]
        node.replace(exp.Struct(expressions=[
            exp.PropertyEQ(this=exp.to_identifier(name), expression=value)
            for name, value in zip(union_fields(len(args) - 1), values)]))
