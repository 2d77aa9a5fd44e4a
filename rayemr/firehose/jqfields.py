"""Which top-level fields of a record a MetadataExtractionQuery can see -- when that is certain.

jq evaluates every query; this module only decides, conservatively, whether a query is of the
form AWS documents, an object whose every value starts from one field of the record::

    {customer_id: .customer_id, day: .ts[:10] | ascii_downcase, device}

Then the query's result depends on nothing but those fields' values, so records can be grouped
by them and jq run once per distinct group (``rayemr.firehose.partitioning``). Anything this
module does not fully understand -- another shape, a keyword, a comment, string interpolation,
a builtin that reads other inputs or the clock -- answers ``None`` and jq sees every record.

After a ``|`` a value's filter sees only the field's value: no variable can hold the record
(``as`` is refused) and the functions that reach past the input are refused by name.
"""
from __future__ import annotations

import json
import re

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\[^(])*")
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<qfield>\.(?="))
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<dotdot>\.\.)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<format>@[A-Za-z0-9_]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>\?//|//=|\|=|\+=|-=|\*=|/=|%=|==|!=|<=|>=|//|[|,+\-*/%=<>()\[\]{}:;?])
""", re.VERBOSE)

#: Keywords: binding (``as``), definitions, control flow -- refused anywhere in a value.
KEYWORDS = frozenset("""as def if then elif else end reduce foreach try catch label import
    include and or __loc__""".split())
#: Builtins whose result is not a function of their input alone.
REFUSED = frozenset("""input inputs input_line_number input_filename now halt halt_error debug
    stderr get_search_list $__loc__ $__prog_args""".split())
_OPEN, _CLOSE = "([{", ")]}"


def _tokens(query: str) -> list[tuple[str, str]] | None:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:  # a comment, an interpolated string, anything unexpected
            return None
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        if kind == "qfield":
            s = _TOKEN.match(query, pos)
            if s is None or s.lastgroup != "string":
                return None
            pos = s.end()
            out.append(("field", "." + s.group()))
            continue
        out.append((kind, m.group()))
    return out


def _field_name(token: str) -> str | None:
    text = token[1:]
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return text


def root_fields(query: str) -> tuple[str, ...] | None:
    """The top-level fields ``query`` reads, or None when it may read more (see module)."""
    toks = _tokens(query)
    if not toks or toks[0] != ("op", "{") or toks[-1] != ("op", "}"):
        return None
    fields: list[str] = []
    i = 1
    while True:
        i = _entry(toks, i, fields)
        if i is None or i >= len(toks):
            return None
        if toks[i] == ("op", "}"):
            return tuple(dict.fromkeys(fields)) if i == len(toks) - 1 else None
        if toks[i] != ("op", ","):
            return None
        i += 1


def _entry(toks: list[tuple[str, str]], i: int, fields: list[str]) -> int | None:
    """Parse ``key: .field postfix* (| filter)?`` or the shorthand ``key``; index after it."""
    if i + 1 >= len(toks):
        return None
    kind, text = toks[i]
    if kind == "ident" and toks[i + 1] in (("op", ","), ("op", "}")):
        if text in KEYWORDS:
            return None
        fields.append(text)  # {device} is {device: .device}
        return i + 1
    if kind not in ("ident", "string") or toks[i + 1] != ("op", ":"):
        return None
    i += 2
    if i >= len(toks) or toks[i][0] != "field":
        return None
    name = _field_name(toks[i][1])
    if name is None:
        return None
    fields.append(name)
    i = _postfix(toks, i + 1)
    if i is None or i >= len(toks):
        return None
    if toks[i] == ("op", "|"):
        return _filter(toks, i + 1)
    return i


def _postfix(toks: list[tuple[str, str]], i: int) -> int | None:
    """Skip ``.f``, ``?``, ``[literal]`` and ``[n:m]`` after a field: they see its value only
    (an index expression like ``[.x]`` would see the record, so only literals pass)."""
    literal = {"number", "string"}
    while i < len(toks):
        kind, text = toks[i]
        if kind == "field" or toks[i] == ("op", "?"):
            i += 1
            continue
        if toks[i] != ("op", "["):
            return i
        j = i + 1
        parts: list[str] = []
        while j < len(toks) and toks[j] != ("op", "]"):
            k, t = toks[j]
            if k in literal or t in ("-", ":"):
                parts.append(t)
            else:
                return None
            j += 1
        if j >= len(toks) or not parts:
            return None
        i = j + 1
    return i


def _filter(toks: list[tuple[str, str]], i: int) -> int | None:
    """Skip a value's filter after ``|`` up to the entry's end; None if it could see more."""
    depth = 0
    start = i
    while i < len(toks):
        kind, text = toks[i]
        if kind in ("ident", "var") and (text in KEYWORDS or text in REFUSED):
            return None
        if kind == "op" and text in _OPEN:
            depth += 1
        elif kind == "op" and text in _CLOSE:
            if depth == 0:
                return i if i > start and text == "}" else None
            depth -= 1
        elif depth == 0 and toks[i] == ("op", ","):
            return i if i > start else None
        i += 1
    return None
