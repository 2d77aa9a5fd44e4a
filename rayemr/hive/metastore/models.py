"""Metastore records: databases, tables, partitions and storage formats, as frozen values."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Literal

from rayemr.core.errors import UserError
from rayemr.hive.types import normalize_type

TableType = Literal["MANAGED_TABLE", "EXTERNAL_TABLE", "VIRTUAL_VIEW"]
FormatKind = Literal["text", "csv", "json", "parquet", "orc"]

LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
JSON_SERDES = ("org.apache.hive.hcatalog.data.JsonSerDe", "org.apache.hadoop.hive.serde2.JsonSerDe",
               "org.openx.data.jsonserde.JsonSerDe")
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
ORC_SERDE = "org.apache.hadoop.hive.ql.io.orc.OrcSerde"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

_FORMAT_CLASSES: dict[str, tuple[str, str, str]] = {
    "text": (TEXT_INPUT, TEXT_OUTPUT, LAZY_SIMPLE_SERDE),
    "csv": (TEXT_INPUT, TEXT_OUTPUT, OPEN_CSV_SERDE),
    "json": (TEXT_INPUT, TEXT_OUTPUT, JSON_SERDES[0]),
    "parquet": ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", PARQUET_SERDE),
    "orc": ("org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat", ORC_SERDE),
}


@dataclass(frozen=True)
class FieldSchema:
    name: str
    type: str
    comment: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())
        object.__setattr__(self, "type", normalize_type(self.type))


@dataclass(frozen=True)
class StorageFormat:
    """How a table's files are laid out: the format and SerDe properties.

    ``serde_properties`` holds Hive's keys (``field.delim``, ``collection.delim``,
    ``mapkey.delim``, ``line.delim``, ``serialization.null.format``, OpenCSVSerde's
    ``separatorChar``/``quoteChar``/``escapeChar``).
    """

    kind: FormatKind = "text"
    serde: str = LAZY_SIMPLE_SERDE
    input_format: str = TEXT_INPUT
    output_format: str = TEXT_OUTPUT
    serde_properties: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: str, serde_properties: dict[str, str] | None = None,
           serde: str | None = None) -> "StorageFormat":
        kind = kind.lower()
        if kind in ("textfile", "sequencefile"):
            if kind == "sequencefile":
                raise UserError("STORED AS SEQUENCEFILE is not supported; use TEXTFILE, "
                                "PARQUET or ORC")
            kind = "text"
        if kind == "jsonfile":
            kind = "json"
        if kind not in _FORMAT_CLASSES:
            raise UserError(f"unsupported storage format {kind.upper()!r}")
        inp, out, default_serde = _FORMAT_CLASSES[kind]
        return cls(kind, serde or default_serde, inp, out,
                   tuple(sorted((serde_properties or {}).items())))

    @property
    def props(self) -> dict[str, str]:
        return dict(self.serde_properties)

    def prop(self, key: str, default: str | None = None) -> str | None:
        return self.props.get(key, default)


@dataclass(frozen=True)
class Database:
    name: str
    location: str
    comment: str = ""
    owner: str = ""
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Table:
    database: str
    name: str
    columns: tuple[FieldSchema, ...]
    partition_keys: tuple[FieldSchema, ...] = ()
    table_type: TableType = "MANAGED_TABLE"
    location: str = ""
    storage: StorageFormat = field(default_factory=StorageFormat)
    properties: tuple[tuple[str, str], ...] = ()
    comment: str = ""
    owner: str = ""
    create_time: int = field(default_factory=lambda: int(time.time()))
    view_text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())
        object.__setattr__(self, "database", self.database.lower())
        names = [c.name for c in self.columns + self.partition_keys]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise UserError(f"table {self.qualified_name}: duplicate column {sorted(dup)[0]!r}")

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.table_type == "VIRTUAL_VIEW"

    @property
    def is_external(self) -> bool:
        return self.table_type == "EXTERNAL_TABLE"

    @property
    def all_columns(self) -> tuple[FieldSchema, ...]:
        return self.columns + self.partition_keys

    @property
    def props(self) -> dict[str, str]:
        return dict(self.properties)

    def column(self, name: str) -> FieldSchema | None:
        for c in self.all_columns:
            if c.name == name.lower():
                return c
        return None

    def evolve(self, **changes) -> "Table":
        return replace(self, **changes)


@dataclass(frozen=True)
class Partition:
    """One partition: its key values (strings, in partition key order) and folder."""

    values: tuple[str, ...]
    location: str

    def spec(self, keys: tuple[FieldSchema, ...]) -> dict[str, str]:
        return {k.name: v for k, v in zip(keys, self.values)}

    def name(self, keys: tuple[FieldSchema, ...]) -> str:
        return "/".join(f"{k.name}={escape_path_value(v)}" for k, v in zip(keys, self.values))


_ESCAPE = set('"#%\'*/:=?\\\x7f{[]^')


def escape_path_value(v: str) -> str:
    """Hive's FileUtils.escapePathName: %XX for characters unsafe in a folder name."""
    if v is None or v == "":
        return "__HIVE_DEFAULT_PARTITION__"
    return "".join(f"%{ord(c):02X}" if c in _ESCAPE or ord(c) < 32 else c for c in v)


def unescape_path_value(v: str) -> str:
    out, i = [], 0
    while i < len(v):
        if v[i] == "%" and i + 2 < len(v) + 0 and _ishex(v[i + 1:i + 3]):
            out.append(chr(int(v[i + 1:i + 3], 16)))
            i += 3
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def _ishex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)
