"""Hive built-ins whose DuckDB namesakes (as sqlglot translates them) mean something else.

Rules run after :data:`rayemr.hive.sql.semantics.OPERATIONS`, each ``rule(tree, ctx) ->
None`` over the qualified, type-annotated Hive tree: numbers given to string functions and
concat as Hive's text, substr positions, LIKE's backslash escapes, NULLs in
greatest/least, logarithms and square roots outside their domain, regexp_replace's ``$n``
group references, date parts of strings (and their INT type), dayofweek's Sunday = 1, and
from_utc_timestamp / to_utc_timestamp. The Hive behaviour of each is in docs/hive.md.
"""
from __future__ import annotations

from sqlglot import exp

from rayemr.core.errors import UnsupportedError

from rayemr.hive.sql.semantics import TEXT, Context, T, as_text, cast, call, post_order, \
    replace_node, typed, kind
from rayemr.hive.sql.walk import copy as copy_tree, finds


def _positive_int(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.name.isdigit() \
        and int(node.name) > 0


@finds(exp.Substring)
def substr(tree: exp.Expression, ctx: Context) -> None:
    """substr(s, pos[, len]) (UDFSubstr): pos 0 is 1, a negative pos counts from the end, a
    start outside the string or len <= 0 gives ''. DuckDB's SUBSTRING agrees only for a
    positive pos and a non-negative len."""
    for node in post_order(tree, exp.Substring):
        start, length = node.args.get("start"), node.args.get("length")
        if kind(node.this) in (T.BINARY, T.VARBINARY):  # DuckDB has no SUBSTRING of a BLOB
            whole = exp.Literal.number(2**31 - 1)
            replace_node(node, typed(call(
                "hive_substr_binary", copy_tree(node.this),
                copy_tree(start) if start is not None else exp.Literal.number(1),
                copy_tree(length) if length is not None else whole), T.VARBINARY))
            continue
        if _positive_int(start) and (length is None or _positive_int(length) or (
                isinstance(length, exp.Literal) and length.name == "0")):
            continue
        start = copy_tree(start) if start is not None else exp.Literal.number(1)
        if length is None:
            new = call("hive_substr_to_end", copy_tree(node.this), start)
        else:
            new = call("hive_substr", copy_tree(node.this), start, copy_tree(length))
        replace_node(node, typed(new, T.TEXT))


def like_pattern(pattern: str) -> str:
    """A Hive LIKE pattern as a DuckDB one with ESCAPE '\\': Hive escapes only ``\\_`` and
    ``\\%`` (UDFLike.likePatternToRegExp); any other backslash is itself."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "_%":
            out.append("\\" + pattern[i + 1])
            i += 2
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


@finds(exp.Like)
def like(tree: exp.Expression, ctx: Context) -> None:
    """LIKE with Hive's escapes (``'50%' LIKE '50\\%'``); DuckDB has no escape character
    unless told."""
    for node in post_order(tree, exp.Like):
        if isinstance(node.parent, exp.Escape):
            continue
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            if "\\" not in pattern.name:
                continue
            node.set("expression", exp.Literal.string(like_pattern(pattern.name)))
        replace_node(node, typed(exp.Escape(this=copy_tree(node), expression=exp.Literal.string(
            "\\")), T.BOOLEAN))


@finds(exp.Greatest, exp.Least)
def greatest_least(tree: exp.Expression, ctx: Context) -> None:
    """greatest/least are NULL when any argument is (Hive >= 2.0.0); DuckDB skips NULLs."""
    for node in post_order(tree, exp.Greatest, exp.Least):
        args = [node.this] + list(node.expressions)
        any_null = exp.or_(*[exp.Is(this=copy_tree(a), expression=exp.Null()) for a in args])
        case = exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=copy_tree(node))
        replace_node(node, typed(exp.Paren(this=case), kind(node)))


def _above(node: exp.Expression, bound: int) -> exp.Expression:
    """``node`` where it is > bound, else NULL, with ``node`` evaluated once."""
    floor = exp.Literal.number(bound)
    return exp.Nullif(this=exp.Greatest(this=node, expressions=[floor]),
                      expression=copy_tree(floor))


@finds(exp.Ln, exp.Log, exp.Sqrt)
def math_domain(tree: exp.Expression, ctx: Context) -> None:
    """ln/log of a number <= 0, a log base <= 1 and sqrt of a negative number are NULL
    (UDFLn, UDFLog, UDFSqrt); DuckDB gives -inf, NaN or an error."""
    for node in post_order(tree, exp.Ln, exp.Log, exp.Sqrt):
        if isinstance(node, exp.Ln):
            node.set("this", _above(copy_tree(node.this), 0))
        elif isinstance(node, exp.Log):
            value = node.expression if node.expression is not None else node.this
            node.set("expression" if node.expression is not None else "this",
                     _above(copy_tree(value), 0))
            base = node.this
            if node.expression is not None and not (
                    isinstance(base, exp.Literal) and not base.is_string
                    and float(base.name) > 1):
                node.set("this", _above(copy_tree(base), 1))
        else:
            arg = node.this
            negative = exp.LT(this=copy_tree(arg), expression=exp.Literal.number(0))
            case = exp.Case(ifs=[exp.If(this=negative, true=exp.Null())],
                            default=copy_tree(node))
            replace_node(node, typed(exp.Paren(this=case), T.DOUBLE))


def java_replacement(text: str) -> str:
    """A java.util.regex replacement (``$1``, ``\\$``) in RE2's form (``\\1``, ``$``)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\\\" if nxt == "\\" else nxt)
            i += 2
        elif ch == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append("\\" + text[i + 1])
            i += 2
        elif ch == "\\":
            out.append("\\\\")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@finds(exp.RegexpReplace)
def regexp_replacement(tree: exp.Expression, ctx: Context) -> None:
    """regexp_replace's replacement refers to groups as Java does (``$1``)."""
    for node in post_order(tree, exp.RegexpReplace):
        rep = node.args.get("replacement")
        if isinstance(rep, exp.Literal) and rep.is_string and ("$" in rep.name or
                                                               "\\" in rep.name):
            node.set("replacement", exp.Literal.string(java_replacement(rep.name)))


_DATE_PARTS = (exp.Year, exp.Month, exp.Day, exp.DayOfMonth, exp.Quarter, exp.WeekOfYear,
               exp.DayOfWeek, exp.Hour, exp.Minute, exp.Second)


def _moment(node: exp.Expression) -> exp.Expression:
    """A date/time argument: strings are read as Hive reads them (NULL when malformed)."""
    if isinstance(node, exp.TsOrDsToDate):  # year(s), datediff(a, b): sqlglot's own cast
        new = copy_tree(node)
        new.set("safe", True)
        return new
    if kind(node) in TEXT:
        return cast(copy_tree(node), "TIMESTAMP", safe=True)
    return copy_tree(node)


@finds(*_DATE_PARTS, exp.DateDiff)
def date_parts(tree: exp.Expression, ctx: Context) -> None:
    """year(), month(), ..., hour(), datediff() take strings ('2024-01-07 13:04:05'; NULL
    when malformed) and return INT; dayofweek counts Sunday as 1 (DuckDB: 0)."""
    for node in post_order(tree, *_DATE_PARTS, exp.DateDiff):
        new = copy_tree(node)
        new.set("this", _moment(node.this))
        if isinstance(node, exp.DateDiff):
            new.set("expression", _moment(node.expression))
        if isinstance(node, exp.DayOfWeek):
            new = exp.Add(this=new, expression=exp.Literal.number(1))
        replace_node(node, cast(new, "INT"))


@finds(exp.Anonymous)
def utc_conversions(tree: exp.Expression, ctx: Context) -> None:
    """from_utc_timestamp(ts, zone) shows a UTC time in ``zone``; to_utc_timestamp(ts, zone)
    reads ``ts`` as a time in ``zone`` and gives it in UTC."""
    for node in post_order(tree, exp.Anonymous):
        name = node.name.lower()
        if name not in ("from_utc_timestamp", "to_utc_timestamp") or len(node.expressions) != 2:
            continue
        ts, zone = node.expressions
        ts = cast(copy_tree(ts), "TIMESTAMP", safe=True)
        utc = exp.Literal.string("UTC")
        if name == "from_utc_timestamp":
            new = call("TIMEZONE", copy_tree(zone), call("TIMEZONE", utc, ts))
        else:
            new = call("TIMEZONE", utc, call("TIMEZONE", copy_tree(zone), ts))
        replace_node(node, typed(new, T.TIMESTAMP))


def _hash_of(arg: exp.Expression) -> exp.Expression:
    k = kind(arg)
    if k in TEXT:
        return call("hive_string_hash", arg)
    if k == T.BIGINT:
        return call("hive_long_hash", arg)
    if k == T.DOUBLE:
        return call("hive_double_hash", arg)
    if k == T.FLOAT:
        return call("hive_float_hash", arg)
    if k in (T.INT, T.SMALLINT, T.TINYINT):
        return exp.Coalesce(this=cast(arg, "INT"), expressions=[exp.Literal.number(0)])
    if k == T.BOOLEAN:
        return cast(exp.Coalesce(this=cast(arg, "INT"), expressions=[exp.Literal.number(0)]),
                    "INT")
    if k == T.DATE:  # DateWritable: days since the epoch
        return exp.Coalesce(this=cast(exp.Sub(this=arg, expression=exp.Cast(
            this=exp.Literal.string("1970-01-01"), to=exp.DataType.build("DATE"))), "INT"),
            expressions=[exp.Literal.number(0)])
    if isinstance(arg, exp.Null):
        return exp.Literal.number(0)
    raise UnsupportedError(f"hash() of {exp.DataType(this=k).sql('hive')} values "
                           f"({arg.sql('hive')[:40]}) is not supported; strings, numbers other "
                           "than DECIMAL, booleans and dates are")


@finds(exp.Anonymous)
def hashes(tree: exp.Expression, ctx: Context) -> None:
    """hash(a, ...) is Java's: ObjectInspectorUtils.hashCode of each argument (a string's
    is Text.hashCode over its UTF-8 bytes), combined as r = 31 * r + h, an INT. DuckDB's
    hash() is another function (and a UBIGINT)."""
    for node in post_order(tree, exp.Anonymous):
        if node.name.lower() != "hash" or not node.expressions:
            continue
        args = [copy_tree(a) for a in node.expressions]
        result = _hash_of(args[0])
        for arg in args[1:]:
            result = call("hive_hash_step", result, _hash_of(arg))
        replace_node(node, typed(cast(result, "INT"), T.INT))


def _format_number(a: list[exp.Expression]) -> exp.Expression:
    """format_number(x, d): '#,###,###.##' with d decimals, rounded half-even
    (java.text.DecimalFormat)."""
    if len(a) != 2 or not (isinstance(a[1], exp.Literal) and a[1].name.isdigit()):
        raise UnsupportedError("format_number(x, d) is supported with d an integer literal")
    pattern = "{:,.%sf}" % a[1].name
    return typed(call("FORMAT", exp.Literal.string(pattern), cast(a[0], "DOUBLE")), T.TEXT)


#: Hive built-ins sqlglot leaves as plain names that DuckDB has not (or has otherwise)
_BUILTINS = {
    "e": lambda a: typed(call("EXP", exp.Literal.number(1)), T.DOUBLE),
    "isnull": lambda a: typed(exp.Is(this=a[0], expression=exp.Null()), T.BOOLEAN),
    "isnotnull": lambda a: typed(exp.Not(this=exp.Is(this=a[0], expression=exp.Null())),
                                 T.BOOLEAN),
    "positive": lambda a: a[0],
    "regexp": lambda a: typed(exp.RegexpLike(this=a[0], expression=a[1]), T.BOOLEAN),
    "rlike": lambda a: typed(exp.RegexpLike(this=a[0], expression=a[1]), T.BOOLEAN),
    "std": lambda a: typed(exp.StddevPop(this=cast(a[0], "DOUBLE", safe=True)
                                         if kind(a[0]) in TEXT else a[0]), T.DOUBLE),
    "format_number": _format_number,
}
_ARITY = {"e": (0,), "isnull": (1,), "isnotnull": (1,), "positive": (1,), "regexp": (2,),
          "rlike": (2,), "std": (1,), "format_number": (2,)}


@finds(exp.Anonymous, exp.ParseUrl)
def builtins(tree: exp.Expression, ctx: Context) -> None:
    """Hive built-ins DuckDB has not under their Hive names: e(), isnull(), isnotnull(),
    positive(), regexp()/rlike() as functions, std(), format_number(), parse_url()."""
    for node in post_order(tree, exp.Anonymous, exp.ParseUrl):
        if isinstance(node, exp.ParseUrl):
            args = [node.this] + [node.args[k] for k in ("part_to_extract", "key")
                                  if node.args.get(k) is not None]
            args = [copy_tree(a) for a in args if a is not None]
            name = "hive_parse_url_key" if len(args) == 3 else "hive_parse_url"
            replace_node(node, typed(call(name, *args), T.TEXT))
            continue
        name = node.name.lower()
        if name not in _BUILTINS:
            continue
        if len(node.expressions) not in _ARITY[name]:
            raise UnsupportedError(f"{name}() takes {_ARITY[name][0]} argument(s)")
        replace_node(node, _BUILTINS[name]([copy_tree(a) for a in node.expressions]))


#: string functions and the arguments Hive converts to STRING when given another type
_STRING_ARGS = {exp.StrPosition: ("this", "substr"), exp.RegexpSplit: ("this", "expression"),
                exp.Pad: ("this", "fill_pattern"), exp.Length: ("this",),
                exp.Upper: ("this",), exp.Lower: ("this",), exp.Reverse: ("this",),
                exp.Repeat: ("this",), exp.Trim: ("this",), exp.Ascii: ("this",),
                exp.Substring: ("this",), exp.Initcap: ("this",)}


@finds(*_STRING_ARGS)
def string_arguments(tree: exp.Expression, ctx: Context) -> None:
    """instr(123, '23'), split(50401020, 0), length(12345)...: Hive converts a number or a
    boolean given to a string function into its text; DuckDB has no such overload."""
    for node in post_order(tree, *_STRING_ARGS):
        for key in _STRING_ARGS[type(node)]:
            arg = node.args.get(key)
            if arg is None or kind(arg) in TEXT or kind(arg) in (T.UNKNOWN, T.BINARY,
                                                                 T.VARBINARY):
                continue
            arg.replace(typed(as_text(copy_tree(arg)), T.TEXT))


@finds(exp.Concat, exp.DPipe)
def concat_arguments(tree: exp.Expression, ctx: Context) -> None:
    """concat() (and ``||``) of numbers and booleans joins their Hive text (GenericUDFConcat's
    StringConverter): ``concat(1e20D, '')`` is ``1.0E20``, a boolean ``TRUE``; DuckDB
    writes ``1e+20`` and ``true``."""
    for node in post_order(tree, exp.Concat, exp.DPipe):
        args = [node.this, node.expression] if isinstance(node, exp.DPipe) else \
            list(node.expressions)
        for arg in args:
            if arg is not None and kind(arg) in (T.DOUBLE, T.FLOAT, T.BOOLEAN):
                arg.replace(as_text(copy_tree(arg)))


@finds(exp.Elt, exp.Unhex, exp.Anonymous)
def elt_find_in_set_unhex(tree: exp.Expression, ctx: Context) -> None:
    """elt(n, s1, s2, ...) is the n-th string (NULL out of range); find_in_set(s, 'a,b,c')
    the 1-based position of s in the list, 0 when absent or when s holds a comma;
    unhex() of something that is not hexadecimal is NULL (DuckDB raises)."""
    for node in post_order(tree, exp.Elt, exp.Unhex, exp.Anonymous):
        if isinstance(node, exp.Elt):
            items = exp.Array(expressions=[_as_string(a) for a in node.expressions])
            new = call("LIST_EXTRACT", items, cast(copy_tree(node.this), "BIGINT"))
        elif isinstance(node, exp.Unhex):
            new = call("hive_unhex", cast(copy_tree(node.this), "VARCHAR"))
        elif node.name.lower() == "find_in_set" and len(node.expressions) == 2:
            new = call("hive_find_in_set", *[_as_string(a) for a in node.expressions])
        else:
            continue
        replace_node(node, new)


def _as_string(node: exp.Expression) -> exp.Expression:
    return as_text(copy_tree(node))


RULES = (builtins, string_arguments, concat_arguments, elt_find_in_set_unhex, hashes, substr,
         like, greatest_least, math_domain, regexp_replacement, date_parts, utc_conversions)
