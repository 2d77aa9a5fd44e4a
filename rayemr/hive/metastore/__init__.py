"""The Hive metastore: databases, tables, partitions, storage formats.

``open_metastore(path=None, warehouse=None)`` returns the embedded SQLite store
(default ``~/.rayemr/metastore.db``, warehouse ``~/.rayemr/warehouse``; ``RAYEMR_HOME`` moves
both). Front ends call ``list_databases()``, ``list_tables(db)`` and ``get_table(db, name)``
on it (or on ``session.metastore``).
"""
from __future__ import annotations

from rayemr.hive.metastore.models import (
    Database, FieldSchema, Partition, StorageFormat, Table, escape_path_value,
    unescape_path_value)
from rayemr.hive.metastore.store import MetastoreStore, SqliteMetastore, default_home

__all__ = ["Database", "FieldSchema", "MetastoreStore", "Partition", "SqliteMetastore",
           "StorageFormat", "Table", "default_home", "escape_path_value", "open_metastore",
           "unescape_path_value", "list_databases", "list_tables", "get_table"]


def open_metastore(path: str | None = None, warehouse: str | None = None) -> SqliteMetastore:
    return SqliteMetastore(path, warehouse)


def list_databases(store: MetastoreStore | None = None) -> list[str]:
    return (store or open_metastore()).list_databases()


def list_tables(db: str, store: MetastoreStore | None = None) -> list[str]:
    return (store or open_metastore()).list_tables(db)


def get_table(db: str, name: str, store: MetastoreStore | None = None) -> Table:
    return (store or open_metastore()).get_table(db, name)
