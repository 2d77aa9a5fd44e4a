"""Hive column types: parse and validate type strings, map them to Arrow and DuckDB.

A type is kept as its normalised Hive spelling (``decimal(15,2)``, ``array<string>``,
``struct<a:int,b:string>``); :func:`parse_type` validates it and returns a small tree.

``uniontype<T0,T1,...>`` values are held, in Arrow and DuckDB, as a struct of a tag and one
field per member (:data:`UNION_TAG`, ``__union_0``...), only the tagged one set; results
report such a struct as the union type, and render it as Hive does (``{0:1}``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from rayemr.core.errors import UserError

PRIMITIVES = {
    "tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "integer": "INTEGER",
    "bigint": "BIGINT", "float": "FLOAT", "double": "DOUBLE", "double precision": "DOUBLE",
    "boolean": "BOOLEAN", "string": "VARCHAR", "binary": "BLOB", "date": "DATE",
    "timestamp": "TIMESTAMP", "interval": "INTERVAL", "void": "VARCHAR",
}
_CANON = {"integer": "int", "double precision": "double"}


@dataclass(frozen=True)
class HiveType:
    """A parsed Hive type: ``name`` plus parameters or element types."""

    name: str  # primitive name, decimal, varchar, char, array, map, struct, uniontype
    params: tuple[int, ...] = ()
    children: tuple["HiveType", ...] = ()
    fields: tuple[str, ...] = ()  # struct field names

    def __str__(self) -> str:
        if self.name in ("decimal", "varchar", "char"):
            return f"{self.name}({','.join(map(str, self.params))})"
        if self.name == "array":
            return f"array<{self.children[0]}>"
        if self.name == "map":
            return f"map<{self.children[0]},{self.children[1]}>"
        if self.name == "struct":
            return "struct<" + ",".join(f"{f}:{t}" for f, t in zip(self.fields, self.children)) + ">"
        if self.name == "uniontype":
            return "uniontype<" + ",".join(map(str, self.children)) + ">"
        return self.name

    @property
    def is_complex(self) -> bool:
        return self.name in ("array", "map", "struct", "uniontype")


def parse_type(text: str) -> HiveType:
    """Parse a Hive type string; raise ``UserError`` naming it when it is not a Hive type."""
    tokens = _tokens(text)
    pos, t = _parse(tokens, 0, text)
    if pos != len(tokens):
        raise UserError(f"invalid Hive type {text!r}")
    return t


def normalize_type(text: str) -> str:
    return str(parse_type(text))


def _tokens(text: str) -> list[str]:
    out = []
    i = 0
    s = text.strip()
    while i < len(s):
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c in "<>(),:":
            out.append(c)
            i += 1
            continue
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|\d+", s[i:])
        if not m:
            raise UserError(f"invalid Hive type {text!r}")
        out.append(m.group(0))
        i += m.end()
    return out


def _parse(tokens: list[str], pos: int, text: str) -> tuple[int, HiveType]:
    if pos >= len(tokens):
        raise UserError(f"invalid Hive type {text!r}")
    name = tokens[pos].lower()
    pos += 1
    if name == "double" and pos < len(tokens) and tokens[pos].lower() == "precision":
        pos += 1
    if name in ("decimal", "numeric", "varchar", "char"):
        name = "decimal" if name == "numeric" else name
        params: tuple[int, ...] = (10, 0) if name == "decimal" else ()
        if pos < len(tokens) and tokens[pos] == "(":
            nums, pos = [], pos + 1
            while pos < len(tokens) and tokens[pos] != ")":
                if tokens[pos] != ",":
                    if not tokens[pos].isdigit():
                        raise UserError(f"invalid Hive type {text!r}")
                    nums.append(int(tokens[pos]))
                pos += 1
            pos += 1
            params = tuple(nums)
            if name == "decimal" and len(params) == 1:
                params = (params[0], 0)
        if name == "decimal" and not (1 <= params[0] <= 38 and 0 <= params[1] <= params[0]):
            raise UserError(f"invalid decimal precision/scale in {text!r}")
        if name in ("varchar", "char") and len(params) != 1:
            raise UserError(f"{name} needs a length: {text!r}")
        return pos, HiveType(name, params)
    if name in ("array", "map", "struct", "uniontype"):
        if pos >= len(tokens) or tokens[pos] != "<":
            raise UserError(f"invalid Hive type {text!r}: {name} needs <...>")
        pos += 1
        children, fields = [], []
        while True:
            if name == "struct":
                fields.append(tokens[pos])
                if tokens[pos + 1] != ":":
                    raise UserError(f"invalid Hive type {text!r}")
                pos += 2
            pos, child = _parse(tokens, pos, text)
            children.append(child)
            if pos >= len(tokens):
                raise UserError(f"invalid Hive type {text!r}")
            if tokens[pos] == ",":
                pos += 1
                continue
            if tokens[pos] == ">":
                pos += 1
                break
            raise UserError(f"invalid Hive type {text!r}")
        if name == "array" and len(children) != 1 or name == "map" and len(children) != 2:
            raise UserError(f"invalid Hive type {text!r}")
        return pos, HiveType(name, (), tuple(children), tuple(fields))
    if name not in PRIMITIVES:
        raise UserError(f"unknown Hive type {text!r}")
    return pos, HiveType(_CANON.get(name, name))


def duckdb_type(t: HiveType | str) -> str:
    """The DuckDB type for a Hive type."""
    if isinstance(t, str):
        t = parse_type(t)
    if t.name == "decimal":
        return f"DECIMAL({t.params[0]},{t.params[1]})"
    if t.name in ("varchar", "char"):
        return "VARCHAR"
    if t.name == "array":
        return f"{duckdb_type(t.children[0])}[]"
    if t.name == "map":
        return f"MAP({duckdb_type(t.children[0])}, {duckdb_type(t.children[1])})"
    if t.name == "struct":
        return "STRUCT(" + ", ".join(
            f'"{f}" {duckdb_type(c)}' for f, c in zip(t.fields, t.children)) + ")"
    if t.name == "uniontype":
        return "STRUCT(" + ", ".join(
            f'"{f}" {c}' for f, c in zip(union_fields(len(t.children)),
                                          ["TINYINT"] + [duckdb_type(c) for c in t.children])
        ) + ")"
    return PRIMITIVES[t.name]


def arrow_type(t: HiveType | str) -> pa.DataType:
    if isinstance(t, str):
        t = parse_type(t)
    simple = {
        "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(), "bigint": pa.int64(),
        "float": pa.float32(), "double": pa.float64(), "boolean": pa.bool_(),
        "string": pa.string(), "varchar": pa.string(), "char": pa.string(), "void": pa.string(),
        "binary": pa.binary(), "date": pa.date32(), "timestamp": pa.timestamp("us"),
    }
    if t.name in simple:
        return simple[t.name]
    if t.name == "decimal":
        return pa.decimal128(*t.params)
    if t.name == "array":
        return pa.list_(arrow_type(t.children[0]))
    if t.name == "map":
        return pa.map_(arrow_type(t.children[0]), arrow_type(t.children[1]))
    if t.name == "struct":
        return pa.struct([(f, arrow_type(c)) for f, c in zip(t.fields, t.children)])
    if t.name == "uniontype":
        return pa.struct(list(zip(union_fields(len(t.children)),
                                  [pa.int8()] + [arrow_type(c) for c in t.children])))
    return pa.string()


#: The tag field of a union value's struct; member ``i`` is the field ``__union_<i>``.
UNION_TAG = "__union_tag"


def union_fields(members: int) -> list[str]:
    """The struct fields holding a union of ``members`` types: the tag, then each member."""
    return [UNION_TAG] + [f"__union_{i}" for i in range(members)]


def is_union_struct(t: pa.DataType) -> bool:
    """True for the struct a ``uniontype`` value is held in."""
    return (pa.types.is_struct(t) and t.num_fields >= 2
            and [t.field(i).name for i in range(t.num_fields)] == union_fields(t.num_fields - 1))


def hive_type_of_arrow(t: pa.DataType) -> str:
    """The Hive type name a result column of Arrow type ``t`` is reported as."""
    if pa.types.is_int8(t):
        return "tinyint"
    if pa.types.is_int16(t):
        return "smallint"
    if pa.types.is_int32(t) or pa.types.is_uint8(t) or pa.types.is_uint16(t):
        return "int"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{hive_type_of_arrow(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{hive_type_of_arrow(t.key_type)},{hive_type_of_arrow(t.item_type)}>"
    if is_union_struct(t):
        return "uniontype<" + ",".join(hive_type_of_arrow(t.field(i).type)
                                       for i in range(1, t.num_fields)) + ">"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(
            f"{t.field(i).name}:{hive_type_of_arrow(t.field(i).type)}"
            for i in range(t.num_fields)) + ">"
    return "string"
