"""Hive's DECIMAL typing where DuckDB's differs: literals and division.

A decimal literal is typed by its value without trailing zeros (``1.0`` is DECIMAL(1,0)), and
DECIMAL ``/`` DECIMAL is a DECIMAL of GenericUDFOPDivide's derived precision and scale,
computed exactly in 128-bit integers (DuckDB divides decimals as DOUBLE). :func:`decimal_type`
derives Hive's (precision, scale) of an operand: literals, casts, columns, integers as the
DECIMAL they widen to, ``sum``/``avg`` and ``+ - *`` by Hive's rules. The rules run in
:data:`rayemr.hive.sql.compile.SEMANTICS` around :mod:`rayemr.hive.sql.semantics`' rules.
"""
from __future__ import annotations

from sqlglot import exp

from rayemr.hive.sql.semantics import INTEGRAL, Context, T, call, cast, kind, post_order, \
    replace_node, typed
from rayemr.hive.sql.walk import copy as copy_tree, finds

#: HiveDecimal.MAX_PRECISION (and MAX_SCALE)
MAX_PRECISION = 38
#: the precision of an integer type taken as a DECIMAL (HiveDecimalUtils.getPrecisionForType)
_INTEGER_DIGITS = {T.TINYINT: 3, T.SMALLINT: 5, T.INT: 10, T.BIGINT: 19}


def _params(dtype: exp.DataType) -> tuple[int, int]:
    """(precision, scale) of a DECIMAL type; a bare DECIMAL is Hive's DECIMAL(10,0)."""
    nums = [int(p.this.name) for p in dtype.expressions
            if isinstance(p, exp.DataTypeParam) and p.this.name.isdigit()]
    if not nums:
        return 10, 0
    return (nums[0], nums[1]) if len(nums) > 1 else (nums[0], 0)


def literal_decimal(text: str) -> tuple[int, int]:
    """(precision, scale) of a decimal literal as Hive types it: HiveDecimal.create drops
    trailing zeros (``1.50`` is DECIMAL(2,1), ``3.0`` DECIMAL(1,0)); precision >= scale."""
    whole, _, fraction = text.lstrip("+-").lower().rstrip("bd").partition(".")
    fraction = fraction.rstrip("0")
    digits = (whole + fraction).lstrip("0") or "0"
    return max(len(digits), len(fraction), 1), len(fraction)


def adjust_precision(precision: int, scale: int) -> tuple[int, int]:
    """GenericUDFBaseNumeric.adjustPrecScale: a precision over 38 is capped at 38 and the
    scale reduced to keep the integer digits, but never below min(scale, 6)."""
    if precision <= MAX_PRECISION:
        return precision, scale
    integer_digits = precision - scale
    return MAX_PRECISION, max(MAX_PRECISION - integer_digits, min(scale, 6))


def divide_type(p1: int, s1: int, p2: int, s2: int) -> tuple[int, int]:
    """GenericUDFOPDivide.deriveResultDecimalTypeInfo (hive.sql.decimal.operations.
    allow.precision.loss=true, the default): scale max(6, s1 + p2 + 1), precision
    p1 - s1 + s2 + scale, then :func:`adjust_precision`."""
    scale = max(6, s1 + p2 + 1)
    return adjust_precision(p1 - s1 + s2 + scale, scale)


def decimal_type(node: exp.Expression) -> tuple[int, int] | None:
    """Hive's (precision, scale) of an exact numeric operand -- a DECIMAL, or an integer as
    the DECIMAL it widens to (INT is DECIMAL(10,0)) -- or None when it is neither or not
    known."""
    while isinstance(node, (exp.Paren, exp.Neg, exp.Window)):
        node = node.this
    k = kind(node)
    if k in INTEGRAL:
        return _INTEGER_DIGITS[k], 0
    if k != T.DECIMAL:
        return None
    if isinstance(node, exp.Literal):
        return literal_decimal(node.name)
    if isinstance(node, (exp.Sum, exp.Avg, exp.Min, exp.Max)):
        inner = decimal_type(node.this)
        if inner is None or isinstance(node, (exp.Min, exp.Max)):
            return inner
        p, s = inner
        if isinstance(node, exp.Sum):  # GenericUDAFSum: 10 more digits
            return min(MAX_PRECISION, p + 10), s
        return min(MAX_PRECISION, p + 4), min(MAX_PRECISION, s + 4)  # GenericUDAFAverage
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        left, right = decimal_type(node.this), decimal_type(node.expression)
        if left is None or right is None:
            return None
        (p1, s1), (p2, s2) = left, right
        if isinstance(node, exp.Mul):  # GenericUDFOPMultiply
            return adjust_precision(p1 + p2 + 1, s1 + s2)
        scale = max(s1, s2)  # GenericUDFOPPlus / GenericUDFOPMinus
        return adjust_precision(max(p1 - s1, p2 - s2) + scale + 1, scale)
    if isinstance(node, exp.Cast):
        return _params(node.to)
    dtype = node.type
    if isinstance(dtype, exp.DataType) and dtype.expressions:
        return _params(dtype)
    return None


@finds(exp.Cast, exp.Literal)
def decimal_literals(tree: exp.Expression, ctx: Context) -> None:
    """A decimal literal with trailing zeros has the type of its value without them, as
    HiveDecimal.create normalises it: ``1.0`` is DECIMAL(1,0) and prints ``1``, ``2.50`` is
    2.5; DuckDB keeps the digits as written (DECIMAL(2,1) ``1.0``). A ``BD`` literal wider
    than 38 digits (``1E99BD``) is NULL, as HiveDecimal.create gives it."""
    for node in post_order(tree, exp.Cast):  # sqlglot reads 1E99BD as CAST('1E99' AS ...)
        if node.to.this == T.DECIMAL and isinstance(node.this, exp.Literal) \
                and _params(node.to)[0] > MAX_PRECISION:
            replace_node(node, cast(exp.Null(), "DECIMAL(1, 0)"))
    for node in post_order(tree, exp.Literal):
        text = node.name
        if node.is_string or "." not in text or "e" in text.lower() \
                or not text.rstrip("bdBD").endswith("0") or node.find_ancestor(exp.TableSample):
            continue
        precision, scale = literal_decimal(text)
        whole, _, fraction = text.rstrip("bdBD").partition(".")
        fraction = fraction.rstrip("0")
        value = f"{whole or '0'}.{fraction}" if fraction else (whole or "0")
        replace_node(node, cast(exp.Literal.string(value), f"DECIMAL({precision}, {scale})"))


def _unscaled(node: exp.Expression, precision: int, scale: int) -> exp.Expression:
    """The unscaled integer of ``node`` as a DECIMAL(precision, scale) (1.50 -> 150)."""
    return call("hive_unscaled", cast(copy_tree(node), f"DECIMAL({precision}, {scale})"))


def _decimal_quotient(node: exp.Div, left: tuple[int, int], right: tuple[int, int],
                      result: tuple[int, int]) -> exp.Expression:
    """``node``'s quotient at the result's scale, exact (HiveDecimal.divide, rounded half
    up): the unscaled dividend times 10^k over the unscaled divisor, k = s + s2 - s1 (never
    negative); where that product would not fit 128 bits, the DOUBLE quotient rounded (no
    TRY(): it refuses window functions inside).
    NULL when the divisor is 0 or the quotient does not fit the result's precision."""
    (p1, s1), (p2, s2), (p, s) = left, right, result
    to = f"DECIMAL({p}, {s})"
    divisor = exp.Nullif(this=cast(copy_tree(node.expression), "DOUBLE"),
                         expression=exp.Literal.number(0))
    approx = cast(exp.Div(this=cast(copy_tree(node.this), "DOUBLE"), expression=divisor),
                  to, safe=True)
    k = s + s2 - s1
    if k > MAX_PRECISION:
        return approx
    unscaled = _unscaled(node.this, p1, s1)
    fits = exp.LTE(this=exp.Abs(this=copy_tree(unscaled)),
                   expression=cast(exp.Literal.number((2**127 - 1) // 10**k), "HUGEINT"))
    dividend = exp.Case(ifs=[exp.If(this=fits, true=exp.Mul(
        this=unscaled, expression=cast(exp.Literal.number(10 ** k), "HUGEINT")))])
    whole = cast(call("hive_decimal_quotient", dividend, _unscaled(node.expression, p2, s2)),
                 "DECIMAL(38, 0)", safe=True)
    if s:
        whole = exp.Mul(this=whole, expression=exp.Literal.number("0." + "0" * (s - 1) + "1"))
    exact = cast(whole, to, safe=True)
    zero = exp.EQ(this=copy_tree(node.expression), expression=exp.Literal.number(0))
    return typed(exp.Case(ifs=[exp.If(this=zero, true=exp.Null())],
                          default=exp.Coalesce(this=exact, expressions=[approx])), to)


def _operand_kind(node: exp.Expression) -> T:
    while isinstance(node, exp.Window):  # sum(x) OVER (...) has the aggregate's type
        node = node.this
    return kind(node)


@finds(exp.Div)
def decimal_division(tree: exp.Expression, ctx: Context) -> None:
    """DECIMAL ``/`` DECIMAL (an integer operand taken as its DECIMAL) is a DECIMAL of
    GenericUDFOPDivide's precision and scale, computed exactly and rounded half up
    (``1.0 / 3`` is 0.33333333333, DECIMAL(12,11)); DuckDB divides decimals as DOUBLE.
    Integer ``/`` integer stays DOUBLE, and a DOUBLE or a string operand makes it DOUBLE."""
    for node in post_order(tree, exp.Div):
        kinds = {_operand_kind(node.this), _operand_kind(node.expression)}
        if T.DECIMAL not in kinds or not kinds <= set(INTEGRAL) | {T.DECIMAL}:
            continue
        left, right = decimal_type(node.this), decimal_type(node.expression)
        if left is None or right is None:
            continue
        replace_node(node, _decimal_quotient(node, left, right, divide_type(*left, *right)))
