"""reflect() / java_method(): the Java methods Hive users call, through a fixed table.

Hive's ``reflect(class, method, args...)`` (and its synonym ``java_method``) calls any static
Java method by reflection and returns its result as a STRING. rayemr runs no Java and is no
escape hatch: :data:`METHODS` maps the methods people reach for (``java.lang.Math``,
``String.valueOf``, ``URLDecoder.decode`` / ``URLEncoder.encode``, ``UUID.randomUUID``,
``Thread.sleep``...) to DuckDB expressions with the same result; any other class or method
is refused at compile time with an error naming it. Class and method must be string
literals (as in Hive). Results are rendered as Java's ``toString`` would (``Math.floor(1.9)``
is ``"1.0"``, ``Math.pow(10, 20)`` is ``"1.0E20"``, ``String.valueOf(true)`` is ``"true"``).
"""
from __future__ import annotations

from typing import Callable

from sqlglot import exp

from rayemr.core.errors import UserError
from rayemr.hive.sql.semantics import INTEGRAL, TEXT, Context, T, cast, call, java_text, \
    post_order, replace_node, typed, kind
from rayemr.hive.sql.walk import copy as copy_tree, finds

Build = Callable[[list[exp.Expression]], exp.Expression]


def _text(node: exp.Expression) -> exp.Expression:
    """A value as Java's toString: doubles as Double.toString, booleans lower case."""
    k = kind(node)
    if k in TEXT:
        return node
    if k == T.BOOLEAN:
        return call("LOWER", cast(node, "VARCHAR"))
    if k in INTEGRAL:
        return cast(node, "VARCHAR")
    return java_text(cast(node, "DOUBLE"))


def _double(name: str) -> Build:
    return lambda a: typed(call(name, *[cast(x, "DOUBLE") for x in a]), T.DOUBLE)


def _same_kind(node_type: type) -> Build:
    """Math.abs/max/min: integers stay integers (Java's overloads), anything else double;
    NULL in, NULL out."""
    def build(a: list[exp.Expression]) -> exp.Expression:
        integral = all(kind(x) in INTEGRAL for x in a)
        args = a if integral else [cast(x, "DOUBLE") for x in a]
        node = node_type(this=args[0], expressions=args[1:]) if len(args) > 1 else \
            node_type(this=args[0])
        return typed(node, T.BIGINT if integral else T.DOUBLE)
    return build


def _hex(fn: str) -> Build:
    return lambda a: typed(call("LOWER", call(fn, a[0])), T.TEXT)


def _floor_div(a: list[exp.Expression]) -> exp.Expression:
    return typed(cast(call("FLOOR", exp.Div(this=cast(a[0], "DOUBLE"), expression=exp.Nullif(
        this=a[1], expression=exp.Literal.number(0)))), "BIGINT"), T.BIGINT)


def _floor_mod(a: list[exp.Expression]) -> exp.Expression:
    mod = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Paren(this=exp.Mod(
        this=a[0], expression=a[1])), expression=copy_tree(a[1]))), expression=copy_tree(a[1]))
    return typed(mod, T.BIGINT)


def _charset(a: list[exp.Expression]) -> None:
    if len(a) > 1 and not (isinstance(a[1], exp.Literal) and a[1].name.upper().replace(
            "-", "") == "UTF8"):
        raise UserError("reflect(): only the UTF-8 charset is supported for URL encoding")


def _url_decode(a: list[exp.Expression]) -> exp.Expression:
    _charset(a)  # URLDecoder: '+' is a blank, %XX a UTF-8 byte
    plus = call("REPLACE", cast(a[0], "VARCHAR"), exp.Literal.string("+"),
               exp.Literal.string(" "))
    return typed(call("URL_DECODE", plus), T.TEXT)


def _url_encode(a: list[exp.Expression]) -> exp.Expression:
    _charset(a)  # URLEncoder keeps letters, digits and .-*_, writes ' ' as '+', the rest %XX
    out: exp.Expression = call("URL_ENCODE", cast(a[0], "VARCHAR"))
    for old, new in (("%20", "+"), ("%2A", "*"), ("~", "%7E")):
        out = call("REPLACE", out, exp.Literal.string(old), exp.Literal.string(new))
    return typed(out, T.TEXT)


def _parse_integer(a: list[exp.Expression]) -> exp.Expression:
    return typed(cast(call("TRIM", cast(a[0], "VARCHAR")), "BIGINT"), T.BIGINT)


_MATH_DOUBLE = {
    "sqrt": "SQRT", "cbrt": "CBRT", "exp": "EXP", "log": "LN", "log10": "LOG10", "sin": "SIN",
    "cos": "COS", "tan": "TAN", "asin": "ASIN", "acos": "ACOS", "atan": "ATAN",
    "sinh": "SINH", "cosh": "COSH", "tanh": "TANH", "floor": "FLOOR", "ceil": "CEIL",
    "rint": "ROUND_EVEN", "signum": "SIGN", "toDegrees": "DEGREES", "toRadians": "RADIANS",
}

#: (class, method) -> (accepted argument counts, builder of the DuckDB expression)
METHODS: dict[tuple[str, str], tuple[tuple[int, ...], Build]] = {
    **{("java.lang.Math", m): ((1,), _double(f)) for m, f in _MATH_DOUBLE.items()},
    ("java.lang.Math", "pow"): ((2,), _double("POW")),
    ("java.lang.Math", "atan2"): ((2,), _double("ATAN2")),
    ("java.lang.Math", "hypot"): ((2,), lambda a: _double("SQRT")([exp.Add(
        this=exp.Mul(this=a[0], expression=copy_tree(a[0])),
        expression=exp.Mul(this=a[1], expression=copy_tree(a[1])))])),
    ("java.lang.Math", "abs"): ((1,), _same_kind(exp.Abs)),
    ("java.lang.Math", "max"): ((2,), _same_kind(exp.Greatest)),
    ("java.lang.Math", "min"): ((2,), _same_kind(exp.Least)),
    ("java.lang.Math", "round"): ((1,), lambda a: typed(cast(call("FLOOR", exp.Add(
        this=cast(a[0], "DOUBLE"), expression=exp.Literal.number(0.5))), "BIGINT"),
        T.BIGINT)),
    ("java.lang.Math", "floorDiv"): ((2,), _floor_div),
    ("java.lang.Math", "floorMod"): ((2,), _floor_mod),
    ("java.lang.Math", "random"): ((0,), lambda a: typed(call("RANDOM"), T.DOUBLE)),
    ("java.lang.String", "valueOf"): ((1,), lambda a: _text(a[0])),
    ("java.lang.String", "isEmpty"): ((0,), lambda a: exp.Literal.string("true")),
    ("java.lang.Integer", "parseInt"): ((1,), _parse_integer),
    ("java.lang.Integer", "valueOf"): ((1,), _parse_integer),
    ("java.lang.Long", "parseLong"): ((1,), _parse_integer),
    ("java.lang.Long", "valueOf"): ((1,), _parse_integer),
    ("java.lang.Integer", "toHexString"): ((1,), _hex("HEX")),
    ("java.lang.Long", "toHexString"): ((1,), _hex("HEX")),
    ("java.lang.Integer", "toBinaryString"): ((1,), _hex("BIN")),
    ("java.lang.Long", "toBinaryString"): ((1,), _hex("BIN")),
    ("java.lang.Double", "parseDouble"): ((1,), lambda a: typed(cast(call(
        "TRIM", cast(a[0], "VARCHAR")), "DOUBLE"), T.DOUBLE)),
    ("java.lang.Double", "isNaN"): ((1,), lambda a: typed(call("ISNAN", cast(a[0], "DOUBLE")),
                                                           T.BOOLEAN)),
    ("java.lang.Boolean", "parseBoolean"): ((1,), lambda a: typed(exp.EQ(
        this=call("LOWER", cast(a[0], "VARCHAR")), expression=exp.Literal.string("true")),
        T.BOOLEAN)),
    ("java.net.URLDecoder", "decode"): ((1, 2), _url_decode),
    ("java.net.URLEncoder", "encode"): ((1, 2), _url_encode),
    ("java.util.UUID", "randomUUID"): ((0,), lambda a: cast(call("UUID"), "VARCHAR")),
    ("java.lang.System", "currentTimeMillis"): ((0,), lambda a: typed(call(
        "EPOCH_MS", call("NOW")), T.BIGINT)),
    # void: NULL after sleeping that many milliseconds (per row, as Hive calls it per row)
    ("java.lang.Thread", "sleep"): ((1,), lambda a: typed(call(
        "hive_sleep", cast(a[0], "BIGINT")), T.TEXT)),
}

#: reflect's result is a string; these are already rendered as Java's toString
_RENDERED = {("java.lang.String", "valueOf"), ("java.lang.Thread", "sleep")}


def supported() -> list[str]:
    """``class.method`` names the table maps, sorted."""
    return sorted({f"{c}.{m}" for c, m in METHODS})


def _literal(node: exp.Expression, what: str, fn: str) -> str:
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise UserError(f"{fn}(): the {what} name must be a string literal, "
                        f"not {node.sql('hive')[:60]}")
    return node.name


@finds(exp.Anonymous)
def reflect_calls(tree: exp.Expression, ctx: Context) -> None:
    """Replace every reflect()/java_method() call by its mapped expression, or refuse it."""
    for node in post_order(tree, exp.Anonymous):
        fn = node.name.lower()
        if fn not in ("reflect", "java_method"):
            continue
        if len(node.expressions) < 2:
            raise UserError(f"{fn}() takes a class name, a method name and the method's "
                            "arguments")
        cls = _literal(node.expressions[0], "class", fn)
        method = _literal(node.expressions[1], "method", fn)
        args = [copy_tree(a) for a in node.expressions[2:]]
        entry = METHODS.get((cls, method))
        if entry is None or len(args) not in entry[0]:
            arity = "" if entry is None else f" with {len(args)} argument(s)"
            raise UserError(
                f"{fn}(): {cls}.{method}{arity} is not available: rayemr runs no Java and "
                "maps only a fixed set of methods (java.lang.Math, String.valueOf, "
                "URLDecoder.decode, URLEncoder.encode, UUID.randomUUID, Thread.sleep...; "
                "docs/hive.md lists them)")
        value = entry[1](args)
        result = value if (cls, method) in _RENDERED else _text(value)
        replace_node(node, typed(result, T.TEXT))
