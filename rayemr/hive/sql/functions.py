"""HiveQL's function set: the Hive built-ins rayemr runs, checked on every parsed query.

A query may call only the functions listed in :data:`HIVE_FUNCTIONS` (plus the syntax that
parses into function nodes: ``CAST``, ``CASE``, ``EXTRACT``...). The check runs on the
sqlglot tree the executor compiles, so nothing but these functions reaches DuckDB from a
query's text: DuckDB's table functions (``read_csv``, ``read_text``, ``glob``, ``query``),
its settings and environment readers and every other DuckDB-only function are refused with
Hive's message, ``Invalid function NAME``.

sqlglot parses a known function into a typed node (``substr`` -> ``Substring``) and anything
else into ``Anonymous``. Typed nodes are allowed by class: the classes that the Hive names
below parse into (computed once, by parsing each name), so a DuckDB spelling that maps to the
same class generates the same SQL as the Hive one. ``Anonymous`` nodes are allowed by name.

The registry is the one place to extend when rayemr learns a Hive function (the DuckDB
translation, if sqlglot's is not Hive's, goes in :mod:`rayemr.hive.sql.dialect`).
"""
from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from rayemr.core.errors import UserError
from rayemr.hive.sql.walk import nodes

#: name -> kind (``scalar``, ``aggregate``, ``window``, ``table`` for UDTFs)
HIVE_FUNCTIONS: dict[str, str] = {}


def _register(kind: str, names: str) -> None:
    for name in names.split():
        HIVE_FUNCTIONS[name] = kind


_register("scalar", """
    abs acos add_months array array_contains ascii asin assert_true atan atan2 base64 bin
    cbrt ceil ceiling char_length character_length chr coalesce concat concat_ws conv cos
    create_union current_database current_date current_timestamp current_user date_add date_format
    date_sub datediff day dayofmonth dayofweek decode degrees e elt encode exp extract
    factorial find_in_set floor format_number from_unixtime from_utc_timestamp get_json_object greatest
    hash hex hour if initcap instr interval_year_month isnan isnotnull isnull last_day lcase
    least length
    levenshtein ln locate log log10 log2 lower lpad ltrim map map_keys map_values md5 minute
    month months_between named_struct negative next_day nullif nvl nvl2 parse_url pi pmod
    positive pow power quarter radians raise_error rand reflect java_method regexp
    regexp_extract regexp_replace
    repeat reverse rlike round rpad rtrim second sha sha1 sha2 sign sin size sort_array
    soundex space split sqrt str_to_map struct substr substring substring_index tan to_date
    to_utc_timestamp translate trim trunc ucase unbase64 unhex unix_timestamp upper
    weekofyear width_bucket year
""")
_register("aggregate", """
    avg collect_list collect_set corr count covar_pop covar_samp max min percentile
    percentile_approx std stddev stddev_pop stddev_samp sum var_pop var_samp variance
""")
_register("window", """
    cume_dist dense_rank first_value lag last_value lead ntile percent_rank rank row_number
""")
_register("table", "explode posexplode inline")

#: Syntax (not a function name) that sqlglot parses into function nodes.
SYNTAX_NODES: tuple[type[exp.Expression], ...] = (
    exp.Cast, exp.TryCast, exp.Case, exp.If, exp.Extract, exp.Count, exp.Exists,
    exp.Grouping, exp.Array, exp.Struct, exp.VarMap, exp.Map, exp.CurrentDate,
    exp.CurrentTimestamp, exp.Interval, exp.Coalesce, exp.Explode, exp.Posexplode,
    exp.ExplodeOuter, exp.PosexplodeOuter, exp.Unnest, exp.Div, exp.And, exp.Or,
    exp.RegexpLike,
)

#: Names DuckDB parses as special forms rather than listing as functions.
_SPECIAL_FORMS = frozenset({"grouping", "grouping_id", "columns", "unpack", "try"})


@functools.lru_cache(maxsize=1)
def allowed_classes() -> frozenset[type[exp.Expression]]:
    """The sqlglot node classes the registry's names parse into, nested ones included (plus
    :data:`SYNTAX_NODES`)."""
    out: set[type[exp.Expression]] = set(SYNTAX_NODES)
    for name in HIVE_FUNCTIONS:
        for args in ("", "a", "a, b", "a, b, c", "a, b, c, d"):
            try:
                tree = sqlglot.parse_one(f"SELECT {name}({args}) FROM t", read="hive")
            except (ParseError, IndexError, ValueError, TypeError):
                continue  # not this many arguments
            node = tree.expressions[0] if isinstance(tree, exp.Select) else None
            node = node.this if isinstance(node, exp.Alias) else node
            if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous):
                # with the nodes sqlglot nests inside (date_format(s, f) parses into
                # TimeToStr(TimeStrToTime(s))): what this Hive call itself parses into
                out.update(type(n) for n in nodes(node, exp.Func)
                           if not isinstance(n, exp.Anonymous))
    return frozenset(out)


def function_name(node: exp.Func) -> str:
    """The name a user wrote (or sqlglot's name for the node)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name().lower()


def check_tree(tree: exp.Expression) -> None:
    """Raise ``UserError`` (``Invalid function ...``) for any function that is not a Hive
    function rayemr runs, and for any table reference that is not a table name (table
    functions, file paths as tables, three-part names)."""
    classes = allowed_classes()
    found = nodes(tree, exp.Func, exp.Table)
    for node in found:
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in HIVE_FUNCTIONS:
                raise _invalid(node.name)
        elif isinstance(node, exp.Func) and type(node) not in classes:
            raise _invalid(function_name(node))
    for table in (n for n in found if isinstance(n, exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            raise UserError(f"Invalid table reference {table.sql('hive')[:80]}: HiveQL reads "
                            "tables by name (use LATERAL VIEW for explode and posexplode)")
        if table.args.get("catalog") is not None:
            raise UserError(f"Invalid table name {table.sql('hive')[:80]}: use "
                            "[database.]table")


def check_executor_functions(tree: exp.Expression, known: frozenset[str]) -> None:
    """Every function name left in the DuckDB tree is one the executor has (an early, clear
    error instead of one per task)."""
    for node in nodes(tree, exp.Anonymous):
        name = node.name.lower()
        if name not in known and name not in _SPECIAL_FORMS:
            raise UserError(f"Invalid function {node.name}: rayemr cannot run it yet")


def _invalid(name: str) -> UserError:
    from rayemr.hive.errors import INVALID_FUNCTION, SemanticError

    return SemanticError(INVALID_FUNCTION, name,
                         hint="SHOW FUNCTIONS lists the Hive functions rayemr runs")
