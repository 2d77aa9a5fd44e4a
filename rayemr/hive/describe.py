"""DESCRIBE, DESCRIBE FORMATTED and SHOW CREATE TABLE in Hive's exact output shapes.

Rows are (col_name, data_type, comment) triples as HiveServer2 returns them; SQLAlchemy's
hive dialect reads ``DESCRIBE`` up to ``# Partition Information``.
"""
from __future__ import annotations

import time
from typing import Optional

from rayemr.hive.metastore.models import FieldSchema, Table

Row = tuple[Optional[str], Optional[str], Optional[str]]


def describe(table: Table, column: Optional[str] = None) -> list[Row]:
    if column is not None:
        c = table.column(column)
        if c is None:
            from rayemr.core.errors import UserError
            raise UserError(f"Invalid column reference '{column}' in table "
                            f"{table.qualified_name}")
        return [(c.name, c.type, c.comment or "from deserializer")]
    rows: list[Row] = [(c.name, c.type, c.comment) for c in table.all_columns]
    if table.partition_keys:
        rows.append(("", None, None))
        rows.append(("# Partition Information", None, None))
        rows.append(("# col_name", "data_type", "comment"))
        rows.extend((c.name, c.type, c.comment) for c in table.partition_keys)
    return rows


def _pad(s: str) -> str:
    return s.ljust(20)


def _cols_block(cols: tuple[FieldSchema, ...]) -> list[Row]:
    rows: list[Row] = [(_pad("# col_name"), _pad("data_type"), _pad("comment"))]
    rows.extend((_pad(c.name), _pad(c.type), _pad(c.comment)) for c in cols)
    return rows


def describe_formatted(table: Table, num_files: int | None = None,
                       total_size: int | None = None) -> list[Row]:
    rows: list[Row] = _cols_block(table.columns)
    if table.partition_keys:
        rows.append(("", None, None))
        rows.append(("# Partition Information", None, None))
        rows.extend(_cols_block(table.partition_keys))
    rows.append(("", None, None))
    rows.append(("# Detailed Table Information", None, None))
    rows.append((_pad("Database:"), _pad(table.database), None))
    rows.append((_pad("OwnerType:"), _pad("USER"), None))
    rows.append((_pad("Owner:"), _pad(table.owner or "hive"), None))
    rows.append((_pad("CreateTime:"), time.strftime("%a %b %d %H:%M:%S UTC %Y",
                                                    time.gmtime(table.create_time)), None))
    rows.append((_pad("LastAccessTime:"), _pad("UNKNOWN"), None))
    rows.append((_pad("Retention:"), _pad("0"), None))
    if not table.is_view:
        rows.append((_pad("Location:"), table.location, None))
    rows.append((_pad("Table Type:"), _pad(table.table_type), None))
    rows.append(("Table Parameters:", None, None))
    params = dict(table.properties)
    if table.is_external:
        params.setdefault("EXTERNAL", "TRUE")
    if table.comment:
        params.setdefault("comment", table.comment)
    if num_files is not None:
        params.setdefault("numFiles", str(num_files))
    if total_size is not None:
        params.setdefault("totalSize", str(total_size))
    params.setdefault("transient_lastDdlTime", str(table.create_time))
    for k in sorted(params):
        rows.append(("", _pad(k), _pad(params[k])))
    rows.append(("", None, None))
    if table.is_view:
        rows.append(("# View Information", None, None))
        rows.append((_pad("Original Query:"), table.view_text, None))
        rows.append((_pad("Expanded Query:"), table.view_text, None))
        return rows
    s = table.storage
    rows.append(("# Storage Information", None, None))
    rows.append((_pad("SerDe Library:"), s.serde, None))
    rows.append((_pad("InputFormat:"), s.input_format, None))
    rows.append((_pad("OutputFormat:"), s.output_format, None))
    rows.append((_pad("Compressed:"), _pad("No"), None))
    rows.append((_pad("Num Buckets:"), _pad("-1"), None))
    rows.append((_pad("Bucket Columns:"), _pad("[]"), None))
    rows.append((_pad("Sort Columns:"), _pad("[]"), None))
    props = s.props
    if s.kind == "text" and "field.delim" in props:
        props.setdefault("serialization.format", props["field.delim"])
    if s.kind == "text":
        props.setdefault("serialization.format", "1")
    if props:
        rows.append(("Storage Desc Params:", None, None))
        for k in sorted(props):
            rows.append(("", _pad(k), _pad(_visible(props[k]))))
    return rows


def _visible(v: str) -> str:
    return "".join(c if ord(c) >= 32 else f"\\u{ord(c):04x}" for c in v)


def _hive_str(v: str) -> str:
    out = []
    for c in v:
        if c == "'":
            out.append("\\'")
        elif c == "\\":
            out.append("\\\\")
        elif ord(c) < 32:
            out.append(f"\\{ord(c):03o}")
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


def show_create_table(table: Table) -> list[str]:
    if table.is_view:
        return [f"CREATE VIEW `{table.database}`.`{table.name}` AS {table.view_text}"]
    ext = "EXTERNAL " if table.is_external else ""
    lines = [f"CREATE {ext}TABLE `{table.database}`.`{table.name}`("]
    cols = [f"  `{c.name}` {c.type}" + (f" COMMENT {_hive_str(c.comment)}" if c.comment else "")
            for c in table.columns]
    lines.extend(c + ("," if i < len(cols) - 1 else ")") for i, c in enumerate(cols))
    if not cols:
        lines[-1] += ")"
    if table.comment:
        lines.append(f"COMMENT {_hive_str(table.comment)}")
    if table.partition_keys:
        lines.append("PARTITIONED BY (")
        pk = [f"  `{c.name}` {c.type}" for c in table.partition_keys]
        lines.extend(c + ("," if i < len(pk) - 1 else ")") for i, c in enumerate(pk))
    s = table.storage
    lines.append("ROW FORMAT SERDE ")
    lines.append(f"  {_hive_str(s.serde)} ")
    if s.serde_properties:
        lines.append("WITH SERDEPROPERTIES ( ")
        props = [f"  {_hive_str(k)}={_hive_str(v)}" for k, v in s.serde_properties]
        lines.extend(p + ("," if i < len(props) - 1 else ") ") for i, p in enumerate(props))
    lines.append("STORED AS INPUTFORMAT ")
    lines.append(f"  {_hive_str(s.input_format)} ")
    lines.append("OUTPUTFORMAT ")
    lines.append(f"  {_hive_str(s.output_format)}")
    lines.append("LOCATION")
    lines.append(f"  {_hive_str(table.location)}")
    props = dict(table.properties)
    props.setdefault("transient_lastDdlTime", str(table.create_time))
    lines.append("TBLPROPERTIES (")
    pl = [f"  {_hive_str(k)}={_hive_str(v)}" for k, v in sorted(props.items())]
    lines.extend(p + ("," if i < len(pl) - 1 else ")") for i, p in enumerate(pl))
    return lines
