"""Hive's semantics where DuckDB's differ and the difference depends on types or settings.

:func:`rayemr.hive.sql.compile.compile_query` runs these once per query, after names are
resolved and before scans are planned, on the Hive tree annotated with sqlglot's types
(:func:`annotate`: tables' Hive column types; :func:`kind` adds Hive's literal types):
:data:`CONVERSIONS` and :data:`OPERATIONS` are small passes ``rule(tree, ctx) -> None`` that
replace Hive nodes by nodes whose DuckDB translation has Hive's meaning (DECIMAL literals and
division are typed in :mod:`rayemr.hive.sql.decimals`, which runs between the two). Single
built-ins are fixed in :mod:`rayemr.hive.sql.calls`, reflect() in
:mod:`rayemr.hive.sql.reflect`, translations that need no Hive semantics in
:mod:`rayemr.hive.sql.dialect`; calls that need an argument twice or a lambda go through the
macros of :mod:`rayemr.hive.macros`.
docs/hive.md ("Hive versus DuckDB") lists every difference with the test that pins it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Mapping

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.schema import MappingSchema

from rayemr.hive.sql.walk import copy as copy_tree, finds, nodes

T = exp.DataType.Type
#: Hive's integer types and their width in bits (arithmetic on them wraps at that width)
INTEGRAL = {T.TINYINT: 8, T.SMALLINT: 16, T.INT: 32, T.BIGINT: 64}
FRACTIONAL = {T.FLOAT, T.DOUBLE, T.DECIMAL}
NUMERIC = set(INTEGRAL) | FRACTIONAL
TEXT = {T.TEXT, T.VARCHAR, T.CHAR, T.NVARCHAR, T.NCHAR}

#: Strings CAST(... AS BOOLEAN) turns into false (GenericUDFToBoolean); others are true.
FALSE_TEXT = ("", "false", "no", "zero", "off")


@dataclass(frozen=True)
class Context:
    """The session settings the rules read."""

    #: hive.int.timestamp.conversion.in.seconds (Hive's default: false, milliseconds)
    int_timestamp_seconds: bool = False
    #: hive.local.time.zone; None for LOCAL (the executor's own zone)
    time_zone: str | None = None

    @classmethod
    def from_conf(cls, conf: Mapping[str, str] | None) -> "Context":
        conf = conf or {}
        seconds = conf.get("hive.int.timestamp.conversion.in.seconds", "false")
        zone = (conf.get("hive.local.time.zone") or "LOCAL").strip()
        return cls(int_timestamp_seconds=seconds.strip().lower() == "true",
                   time_zone=None if zone.upper() == "LOCAL" or not zone else zone)


Rule = Callable[[exp.Expression, Context], None]


def annotate(tree: exp.Expression, schema: dict | MappingSchema) -> None:
    """sqlglot's types on ``tree`` (qualified; ``schema`` as given to qualify). A type sqlglot
    cannot read leaves its nodes UNKNOWN, which no rule rewrites."""
    if not isinstance(schema, MappingSchema):
        schema = MappingSchema(schema, dialect="hive")
    try:
        annotate_types(tree, schema=schema, dialect="hive")
    except Exception:  # noqa: BLE001 - see above
        pass


# -- types ------------------------------------------------------------------------------------

def kind(node: exp.Expression) -> T:
    """The Hive type of ``node`` as far as it is known (UNKNOWN otherwise)."""
    if isinstance(node, exp.Paren):
        return kind(node.this)
    if isinstance(node, exp.Anonymous) and node.name.lower() in (
            "from_utc_timestamp", "to_utc_timestamp"):
        return T.TIMESTAMP
    if isinstance(node, exp.Neg) and isinstance(node.this, (exp.Literal, exp.Paren, exp.Cast)):
        return kind(node.this)  # -1.5 is the DECIMAL 1.5 negated
    if isinstance(node, exp.Literal):
        if node.is_string:
            return T.TEXT
        if node.name.lstrip("-").isdigit():  # Hive: an integer literal is INT if it fits
            return T.INT if -2**31 <= int(node.name) < 2**31 else T.BIGINT
        if "e" not in node.name.lower():  # 2.5 is DECIMAL(2,1) (Hive >= 3.0), 2.5D a DOUBLE
            return T.DECIMAL
    dtype = node.type
    return dtype.this if isinstance(dtype, exp.DataType) else T.UNKNOWN


def typed(node: exp.Expression, to: T | str) -> exp.Expression:
    node.type = datatype(to) if isinstance(to, str) else exp.DataType(this=to)
    return node


def cast(node: exp.Expression, to: str, safe: bool = False) -> exp.Expression:
    cls = exp.TryCast if safe else exp.Cast
    return typed(cls(this=node, to=datatype(to)), to)


def datatype(text: str) -> exp.DataType:
    """``exp.DataType.build(text)``, parsed once per text (the rules ask for the same few
    types over and over)."""
    return copy_tree(_parsed_type(text))


@functools.lru_cache(maxsize=256)
def _parsed_type(text: str) -> exp.DataType:
    return exp.DataType.build(text)


def call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def post_order(tree: exp.Expression, *types: type) -> list[exp.Expression]:
    """Nodes of ``types``, children before their parents (so a rewrite sees rewritten
    operands)."""
    found = nodes(tree, *types, bfs=False)
    found.reverse()
    return found


def replace_node(node: exp.Expression, new: exp.Expression) -> exp.Expression:
    if node.parent is None:
        return new
    node.replace(new)
    return new


# -- implicit conversions -------------------------------------------------------------------------

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)


def _as_double(node: exp.Expression) -> exp.Expression:
    """Hive's implicit string/number -> double conversion (NULL when the text is no
    number)."""
    if kind(node) == T.DOUBLE:
        return node
    return cast(copy_tree(node), "DOUBLE", safe=True)


@finds(*_COMPARISONS, exp.Between)
def string_number_comparisons(tree: exp.Expression, ctx: Context) -> None:
    """A string compared with a number: both sides as DOUBLE (FunctionRegistry.
    getCommonClassForComparison), so ``'10' > 9`` is true and ``'abc' = 0`` is NULL."""
    for node in post_order(tree, *_COMPARISONS, exp.Between):
        if isinstance(node, exp.Between):
            sides = [node.this, node.args["low"], node.args["high"]]
        else:
            sides = [node.this, node.expression]
        kinds = {kind(s) for s in sides}
        if kinds & TEXT and kinds & NUMERIC:
            for side in sides:
                side.replace(_as_double(side))


def _as_text(node: exp.Expression) -> exp.Expression:
    if kind(node) in TEXT:
        return node
    return cast(copy_tree(node), "VARCHAR")


def java_text(node: exp.Expression) -> exp.Expression:
    """A DOUBLE or FLOAT as Java's Double.toString / Float.toString write it, which is how
    Hive turns one into a STRING (``1.0E20``, ``1.0E-5``, ``100.0``, ``NaN``, ``Infinity``:
    decimal notation for 1e-3 <= |x| < 1e7, else ``d.dddE<n>``); DuckDB writes ``1e+20``."""
    return typed(call("hive_java_double", node), T.TEXT)


def as_text(node: exp.Expression) -> exp.Expression:
    """``node`` converted to STRING as Hive converts a value (PrimitiveObjectInspectorConverter.
    StringConverter): doubles and floats as Java writes them, booleans ``TRUE``/``FALSE``."""
    k = kind(node)
    if k in TEXT or k == T.UNKNOWN and isinstance(node, exp.Null):
        return node
    if k in (T.DOUBLE, T.FLOAT):
        return java_text(node)
    if k == T.BOOLEAN:
        return typed(call("UPPER", cast(node, "VARCHAR")), T.TEXT)
    return cast(node, "VARCHAR")


@finds(exp.In, exp.If, exp.Case, exp.Coalesce)
def common_string_type(tree: exp.Expression, ctx: Context) -> None:
    """Where Hive takes the common type of several values -- the list of IN, the branches of
    IF/CASE/COALESCE/NVL -- a string and a number meet as STRING (FunctionRegistry.
    getCommonClass): ``'bee' IN ('aee', 1)`` is false, ``IF(false, 1, 'ABC')`` is 'ABC'."""
    for node in post_order(tree, exp.In, exp.If, exp.Case, exp.Coalesce):
        if isinstance(node, exp.In):
            if node.args.get("query") is not None:
                continue
            values = [node.this] + list(node.expressions)
        elif isinstance(node, exp.If):
            if not isinstance(node.parent, exp.Case):  # IF(c, a, b); CASE's WHENs are Ifs
                values = [v for v in (node.args.get("true"), node.args.get("false")) if v]
            else:
                continue
        elif isinstance(node, exp.Case):
            values = [i.args["true"] for i in node.args.get("ifs") or []]
            values += [node.args["default"]] if node.args.get("default") else []
        else:
            values = [node.this] + list(node.expressions)
        kinds = {kind(v) for v in values}
        if kinds & TEXT and kinds & (NUMERIC | {T.BOOLEAN}):
            for value in values:
                value.replace(_as_text(value))
            if not isinstance(node, exp.In):
                typed(node, T.TEXT)


@finds(*_ARITHMETIC)
def string_arithmetic(tree: exp.Expression, ctx: Context) -> None:
    """Arithmetic on a string operand converts it to DOUBLE (``'1' + 1`` is 2.0, ``'a' + 1``
    NULL)."""
    for node in post_order(tree, *_ARITHMETIC):
        sides = [node.this, node.expression]
        if any(kind(s) in TEXT for s in sides):
            for side in sides:
                if kind(side) in TEXT:
                    side.replace(_as_double(side))
            typed(node, T.DOUBLE)


@finds(exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop)
def string_aggregates(tree: exp.Expression, ctx: Context) -> None:
    """sum/avg/variance of strings add them up as DOUBLE (GenericUDAFSum and friends)"""
    for node in post_order(tree, exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop,
                            exp.StddevSamp, exp.Variance, exp.VariancePop):
        args = node.this.expressions if isinstance(node.this, exp.Distinct) else [node.this]
        for arg in list(args):
            if kind(arg) in TEXT:
                arg.replace(_as_double(arg))


# -- casts ------------------------------------------------------------------------------------

def _text_to_integer(node: exp.Expression) -> exp.Expression:
    return typed(call("hive_text_to_long", node), T.BIGINT)


def _to_integer(node: exp.Expression, source: T) -> exp.Expression | None:
    """The BIGINT Hive makes of ``node`` for an integer cast, or None when DuckDB's own
    cast already agrees."""
    if source in TEXT:
        return _text_to_integer(node)
    if source in (T.DOUBLE, T.FLOAT):  # Java's (long): truncated, saturated, NaN 0
        return typed(call("hive_double_to_long", node), T.BIGINT)
    if source == T.DECIMAL:  # truncated (DuckDB rounds); out of range NULL (isLong())
        return typed(call("TRUNC", node), source)
    if source in (T.TIMESTAMP, T.DATETIME):  # seconds since the epoch
        return cast(call("FLOOR", call("EPOCH", node)), "BIGINT")
    return None


def _to_timestamp(node: exp.Expression, source: T, ctx: Context) -> exp.Expression | None:
    """Numbers as TIMESTAMP (TimestampConverter): fractional numbers are seconds; integers
    and booleans milliseconds, or seconds with hive.int.timestamp.conversion.in.seconds."""
    if source in INTEGRAL or source == T.BOOLEAN:
        whole = cast(node, "BIGINT")
        if ctx.int_timestamp_seconds:
            return call("MAKE_TIMESTAMP", exp.Mul(this=whole, expression=exp.Literal.number(
                1_000_000)))
        return call("EPOCH_MS", whole)
    if source in FRACTIONAL:
        micros = exp.Mul(this=cast(node, "DOUBLE"), expression=exp.Literal.number(1_000_000))
        return call("MAKE_TIMESTAMP", cast(call("ROUND", micros), "BIGINT"))
    return None


def _day_time_difference(node: exp.Expression) -> exp.Expression | None:
    """A TIMESTAMP minus a TIMESTAMP (Hive's INTERVAL DAY TO SECOND) as Hive writes it in
    text, or None for anything else."""
    while isinstance(node, exp.Paren):
        node = node.this
    moments = (T.TIMESTAMP, T.DATETIME)
    if not (isinstance(node, exp.Sub) and kind(node.this) in moments
            and kind(node.expression) in moments):
        return None
    micros = exp.Sub(this=call("EPOCH_US", copy_tree(node.this)),
                     expression=call("EPOCH_US", copy_tree(node.expression)))
    return call("hive_day_time_text", micros)


def _double_to_integer(node: exp.Expression, bits: int) -> exp.Expression:
    """Java's narrowing of a double (UDFToLong, UDFToInteger, UDFToShort, UDFToByte: ``(long)
    d``, ``(int) d``, ``(short) d``, ``(byte) d``): truncated toward zero, saturated at the
    long or int range (NaN is 0); a short or byte keeps the low bits of the int."""
    if bits == 64:
        return call("hive_double_to_long", node)
    whole = call("hive_double_to_int", node)
    if bits == 32:
        return whole
    return exp.Paren(this=_wrap(cast(whole, "BIGINT"), bits))


@finds(exp.Cast)
def casts(tree: exp.Expression, ctx: Context) -> None:
    """CAST as Hive converts: strings to integers by Hive's parser, fractions truncated
    (doubles saturated as Java's casts), wider integers wrapped to narrower ones
    (CAST(-1025 AS TINYINT) = -1), timestamps to and from numbers by the epoch, booleans to
    'TRUE'/'FALSE', doubles to text as Java writes them, strings to booleans by
    GenericUDFToBoolean's rule; DECIMAL without precision is DECIMAL(10,0)."""
    for node in post_order(tree, exp.Cast):  # TryCast is a Cast
        to = node.to.this
        if to == T.DECIMAL and not node.to.expressions:  # Hive's default; DuckDB's (18,3)
            node.set("to", exp.DataType.build("DECIMAL(10, 0)"))
            typed(node, "DECIMAL(10, 0)")
        source = kind(node.this)
        if to in TEXT and _day_time_difference(node.this) is not None:
            replace_node(node, typed(_day_time_difference(node.this), T.TEXT))
            continue
        if source == T.UNKNOWN or source == to:
            continue
        arg = copy_tree(node.this)
        new: exp.Expression | None = None
        if to in INTEGRAL and source in INTEGRAL and INTEGRAL[to] < INTEGRAL[source]:
            # Java's (byte)/(short)/(int) of a wider integer keeps the low bits
            new = cast(exp.Paren(this=_wrap(cast(arg, "BIGINT"), INTEGRAL[to])),
                       node.to.sql("duckdb"))
        elif to in INTEGRAL and source in (T.DOUBLE, T.FLOAT):
            new = cast(_double_to_integer(arg, INTEGRAL[to]), node.to.sql("duckdb"))
        elif to in INTEGRAL:
            inner = _to_integer(arg, source)
            if inner is not None:
                new = cast(inner, node.to.sql("duckdb"), safe=True)
        elif to in (T.TIMESTAMP, T.DATETIME):
            new = _to_timestamp(arg, source, ctx)
        elif to in (T.DOUBLE, T.FLOAT) and source in (T.TIMESTAMP, T.DATETIME):
            new = cast(call("EPOCH", arg), node.to.sql("duckdb"))
        elif to in TEXT and source in (T.BOOLEAN, T.DOUBLE, T.FLOAT):
            new = as_text(arg)
        elif to in TEXT and _year_month(node.this):
            new = call("hive_year_month_text", arg)
        elif to == T.BOOLEAN and source in (T.TIMESTAMP, T.DATETIME):  # seconds or nanos set
            new = exp.NEQ(this=call("EPOCH", arg), expression=exp.Literal.number(0))
        elif to == T.BOOLEAN and source in TEXT:
            new = exp.Not(this=exp.Paren(this=exp.In(this=call("LOWER", arg), expressions=[
                exp.Literal.string(s) for s in FALSE_TEXT])))
        if new is not None:
            replace_node(node, typed(new, to))


# -- arithmetic -------------------------------------------------------------------------------

def _wrap(value: exp.Expression, bits: int) -> exp.Expression:
    """``value`` (computed in a wider type) wrapped to a signed ``bits``-bit integer, as
    Java's int/long arithmetic does: ((v + 2^(b-1)) & (2^b - 1)) - 2^(b-1)."""
    half = exp.Literal.number(2 ** (bits - 1))
    mask = exp.Literal.number(2 ** bits - 1)
    shifted = exp.Paren(this=exp.Add(this=value, expression=half))
    return exp.Sub(this=exp.Paren(this=exp.BitwiseAnd(this=shifted, expression=mask)),
                   expression=copy_tree(half))


_TYPE_OF_BITS = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}


@finds(exp.Add, exp.Sub, exp.Mul)
def integer_overflow(tree: exp.Expression, ctx: Context) -> None:
    """``+ - *`` on integers keep the operands' type and wrap on overflow
    (2147483647 + 1 = -2147483648), where DuckDB raises an error."""
    for node in post_order(tree, exp.Add, exp.Sub, exp.Mul):
        left, right = kind(node.this), kind(node.expression)
        if left not in INTEGRAL or right not in INTEGRAL:
            continue
        bits = max(INTEGRAL[left], INTEGRAL[right])
        wide = "HUGEINT" if bits == 64 else "BIGINT"
        op = type(node)(this=cast(copy_tree(node.this), wide),
                        expression=cast(copy_tree(node.expression), wide))
        wrapped = cast(exp.Paren(this=_wrap(op, bits)), _TYPE_OF_BITS[bits])
        replace_node(node, typed(wrapped, {8: T.TINYINT, 16: T.SMALLINT, 32: T.INT,
                                        64: T.BIGINT}[bits]))


@finds(exp.IntDiv)
def integer_division(tree: exp.Expression, ctx: Context) -> None:
    """``a DIV b``: both sides as BIGINT (fractions truncated, strings parsed), the quotient
    truncated toward zero, NULL when b is 0 (as Hive's ``/`` and ``%``)."""
    for node in post_order(tree, exp.IntDiv):
        sides = []
        for side in (node.this, node.expression):
            source = kind(side)
            inner = _to_integer(copy_tree(side), source)
            if inner is None:
                inner = copy_tree(side)
            sides.append(cast(inner, "BIGINT"))
        divisor = exp.Nullif(this=sides[1], expression=exp.Literal.number(0))
        replace_node(node, typed(exp.IntDiv(this=sides[0], expression=divisor), T.BIGINT))


@finds(exp.Round)
def rounding(tree: exp.Expression, ctx: Context) -> None:
    """round(double, d) rounds half up on the double's decimal form (Hive's RoundUtils:
    round(2.675, 2) = 2.68), where DuckDB rounds the binary value (2.67)."""
    for node in post_order(tree, exp.Round):
        digits = node.args.get("decimals") or exp.Literal.number(0)
        if kind(node.this) == T.DECIMAL:
            _decimal_rounding(node, digits)
            continue
        if kind(node.this) not in (T.DOUBLE, T.FLOAT):
            continue
        replace_node(node, typed(call("hive_round_double", copy_tree(node.this), copy_tree(digits)),
                              T.DOUBLE))


def _decimal_rounding(node: exp.Round, digits: exp.Expression) -> None:
    """round(decimal, d) with a constant d is a DECIMAL of scale max(d, 0) (GenericUDFRound:
    round(125.315, 4) = 125.3150, round(125.315, -1) = 130), where DuckDB keeps fewer."""
    value = digits.this if isinstance(digits, exp.Neg) else digits
    if not (isinstance(value, exp.Literal) and value.name.isdigit()):
        return
    scale = 0 if isinstance(digits, exp.Neg) else min(int(value.name), 38)
    replace_node(node, typed(cast(copy_tree(node), f"DECIMAL(38, {scale})"), T.DECIMAL))


# -- intervals --------------------------------------------------------------------------------

def _year_month(node: exp.Expression) -> bool:
    """True for an INTERVAL YEAR TO MONTH value (interval_year_month(), after
    :func:`year_month_intervals`)."""
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Anonymous) and node.name.lower() == "hive_year_month"


@finds(exp.Anonymous, exp.Interval)
def year_month_intervals(tree: exp.Expression, ctx: Context) -> None:
    """interval_year_month('y-m') and INTERVAL 'y-m' YEAR TO MONTH as DuckDB intervals of
    months (HiveIntervalYearMonth.valueOf: ``[+-]years-months``, months 0..11, else NULL);
    :func:`casts` writes them as Hive does (``1-2``)."""
    for node in post_order(tree, exp.Anonymous, exp.Interval):
        if isinstance(node, exp.Interval):
            unit = node.args.get("unit")
            if not (isinstance(unit, exp.IntervalSpan) and unit.this.name.upper() == "YEAR"
                    and unit.expression.name.upper() == "MONTH"):
                continue
            text = node.this
        elif node.name.lower() == "interval_year_month" and len(node.expressions) == 1:
            text = node.expressions[0]
        else:
            continue
        value = copy_tree(text) if kind(text) in TEXT else cast(copy_tree(text), "VARCHAR")
        replace_node(node, typed(call("hive_year_month", value), T.INTERVAL))


@finds(exp.Anonymous, exp.Sub)
def interval_results(tree: exp.Expression, ctx: Context) -> None:
    """An interval the query returns is written as Hive's client sees it (``1-2``,
    ``17624 00:30:30.000000000``) instead of DuckDB's interval (which reaches Python as a
    timedelta of 30-day months)."""
    if not isinstance(tree, exp.Select) or tree.args.get("order") is not None:
        return
    for projection in tree.expressions:
        value = projection.this if isinstance(projection, exp.Alias) else projection
        if _year_month(value) or _day_time_difference(value) is not None:
            told = "interval_year_month" if _year_month(value) else "interval_day_time"
            text = typed(exp.Cast(this=copy_tree(value), to=exp.DataType.build("VARCHAR")), T.TEXT)
            value.replace(text)
            # the type clients are told (HiveServer2's INTERVAL_*_TYPE), read by compile
            # from the result column (its alias outlives rewrites of the value)
            (projection if projection is not value else text).meta[RESULT_TYPE] = told


#: the node meta key naming a result column's Hive type where its value is rendered as text
RESULT_TYPE = "hive_result_type"


def result_types(tree: exp.Expression) -> tuple[str | None, ...]:
    """Per result column of a SELECT, the Hive type set by :func:`interval_results` (None
    for a column typed by its values)."""
    if not isinstance(tree, exp.Select):
        return ()
    return tuple(e.meta.get(RESULT_TYPE) for e in tree.expressions)


# -- collections ------------------------------------------------------------------------------

@finds(exp.ArraySize)
def sizes(tree: exp.Expression, ctx: Context) -> None:
    """size(): INT, -1 for NULL (GenericUDFSize), maps counted by their entries."""
    for node in post_order(tree, exp.ArraySize):
        arg = copy_tree(node.this)
        count = call("CARDINALITY", arg) if kind(node.this) == T.MAP else \
            exp.ArraySize(this=arg)
        new = cast(exp.Coalesce(this=count, expressions=[exp.Literal.number(-1)]), "INT")
        replace_node(node, typed(new, T.INT))


@finds(exp.ArrayUniqueAgg)
def collect_set_order(tree: exp.Expression, ctx: Context) -> None:
    """collect_set keeps values in the order they first arrive (a LinkedHashSet in
    GenericUDAFMkCollectionEvaluator); DuckDB's DISTINCT list is in hash order."""
    for node in post_order(tree, exp.ArrayUniqueAgg):
        listed = exp.ArrayAgg(this=copy_tree(node.this), nulls_excluded=True)
        window = node.parent if isinstance(node.parent, exp.Window) else None
        if window is not None:
            over = copy_tree(window)
            over.set("this", listed)
            replace_node(window, call("hive_collect_set", over))
        else:
            replace_node(node, call("hive_collect_set", listed))


# -- time zones ------------------------------------------------------------------------------

def _zone(ctx: Context) -> exp.Expression:
    if ctx.time_zone is not None:
        return exp.Literal.string(ctx.time_zone)
    return call("CURRENT_SETTING", exp.Literal.string("TimeZone"))


@finds(exp.UnixToStr, exp.StrToUnix, exp.CurrentTimestamp)
def local_time(tree: exp.Expression, ctx: Context) -> None:
    """from_unixtime, unix_timestamp and current_timestamp in the session's time zone
    (hive.local.time.zone; LOCAL: the executor's): an epoch second is shown as local time, a
    local time string read as a moment in that zone, the current time given as local time
    without a zone."""
    for node in post_order(tree, exp.UnixToStr, exp.StrToUnix, exp.CurrentTimestamp):
        if isinstance(node, exp.UnixToStr):
            local = call("TIMEZONE", _zone(ctx), call("TO_TIMESTAMP", copy_tree(node.this)))
            fmt = node.args.get("format") or exp.Literal.string("%Y-%m-%d %H:%M:%S")
            replace_node(node, typed(exp.TimeToStr(this=local, format=copy_tree(fmt)), T.TEXT))
        elif isinstance(node, exp.StrToUnix):
            this = node.this
            if this is None or isinstance(this, exp.CurrentTimestamp):
                moment: exp.Expression = call("NOW")
            else:
                parsed = exp.StrToTime(this=copy_tree(this), format=node.args.get("format"),
                                       safe=True)
                moment = call("TIMEZONE", _zone(ctx), parsed)
            replace_node(node, typed(cast(call("FLOOR", call("EPOCH", moment)), "BIGINT"),
                                  T.BIGINT))
        elif not isinstance(node.parent, exp.StrToUnix):
            replace_node(node, typed(call("TIMEZONE", _zone(ctx), call("NOW")), T.TIMESTAMP))


#: implicit conversions and casts, in order
CONVERSIONS: tuple[Rule, ...] = (
    string_number_comparisons, common_string_type, string_arithmetic, string_aggregates,
    year_month_intervals, interval_results, casts, integer_division,
)
#: operators and functions over converted operands, in order
OPERATIONS: tuple[Rule, ...] = (
    integer_overflow, rounding, sizes, collect_set_order, local_time,
)
