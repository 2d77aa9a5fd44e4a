"""Where a table's data lives and how it is stored: the helpers DDL and DML share.

A table's location in the warehouse, its storage format from ``ROW FORMAT``/``STORED AS``,
partition specs checked against the table and a partition's location, and the owner and
time recorded for a new table or database.
"""
from __future__ import annotations

import getpass
import time
from typing import Optional

from rayemr.core.errors import UnsupportedError, UserError
from rayemr.hive import storage
from rayemr.hive.metastore.models import (
    JSON_SERDES, LAZY_SIMPLE_SERDE, OPEN_CSV_SERDE, ORC_SERDE, PARQUET_SERDE, StorageFormat,
    Table, escape_path_value)
from rayemr.hive.sql import statements as st


def user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "hive"


def now() -> int:
    return int(time.time())


def storage_format(row_format: Optional[st.RowFormat], stored_as: Optional[str],
                   default: str = "textfile") -> StorageFormat:
    props = dict(row_format.properties) if row_format else {}
    serde = row_format.serde if row_format else None
    if serde:
        low = serde.lower()
        if serde == OPEN_CSV_SERDE or low.endswith("opencsvserde"):
            kind = "csv"
        elif serde in JSON_SERDES or low.endswith("jsonserde"):
            kind = "json"
        elif serde == PARQUET_SERDE or "parquet" in low:
            kind = "parquet"
        elif serde == ORC_SERDE or low.endswith("orcserde"):
            kind = "orc"
        elif serde == LAZY_SIMPLE_SERDE or low.endswith("lazysimpleserde"):
            kind = "text"
        else:
            raise UnsupportedError(f"SerDe {serde} is not supported; use LazySimpleSerDe, "
                                   "OpenCSVSerde, JsonSerDe, PARQUET or ORC")
        if stored_as and stored_as.lower() in ("parquet", "orc") and kind == "text":
            kind = stored_as.lower()
        return StorageFormat.of(kind, props, serde)
    kind = (stored_as or default).lower()
    if kind in ("parquet", "orc") and props:
        props = {}
    return StorageFormat.of(kind, props)


def table_location(s, db: str, name: str) -> str:
    dbo = s.metastore.get_database(db)
    if db == "default":
        return storage.child(s.metastore.warehouse, name)
    return storage.child(dbo.location, name)


def spec_values(table: Table, spec: st.PartSpec, *, partial: bool = False
                 ) -> tuple[Optional[str], ...]:
    keys = [k.name for k in table.partition_keys]
    if not keys:
        raise UserError(f"table {table.qualified_name} is not partitioned")
    given = {k.lower(): v for k, v in spec}
    unknown = [k for k in given if k not in keys]
    if unknown:
        raise UserError(f"{unknown[0]} is not a partition column of {table.qualified_name}")
    if not partial and (set(given) != set(keys) or any(v is None for v in given.values())):
        raise UserError(f"partition spec {dict(given)} must give a value for each of "
                        f"{keys} of {table.qualified_name}")
    return tuple(given.get(k) for k in keys)


def partition_location(table: Table, values: tuple[str, ...]) -> str:
    return storage.child(table.location, *(
        f"{k.name}={escape_path_value(v)}" for k, v in zip(table.partition_keys, values)))
