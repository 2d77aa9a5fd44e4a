"""The metastore interface and its embedded SQLite implementation.

``MetastoreStore`` is what sessions and front ends use; ``SqliteMetastore`` keeps everything
in one SQLite file (Hive's embedded Derby, in spirit). Another store (a shared database, AWS
Glue) implements the same methods.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from rayemr.core.errors import OutputExistsError, UserError
from rayemr.core.secrets import check_url
from rayemr.hive.errors import (DATABASE_ALREADY_EXISTS, TABLE_ALREADY_EXISTS, AlreadyExistsError,
                                DatabaseNotFoundError, TableNotFoundError)
from rayemr.hive.metastore.models import (
    Database, FieldSchema, Partition, StorageFormat, Table)
from rayemr.hive.names import check_column, check_name


def validate_database(db: Database) -> None:
    """What the metastore stores is a name, never a path (Hive's ``validateName``)."""
    check_name(db.name, "database")
    check_url(db.location or "", "database location")


def validate_table(table: Table) -> None:
    check_name(table.database, "database")
    check_name(table.name, "table")
    for c in table.columns:
        check_column(c.name)
    for k in table.partition_keys:
        check_name(k.name, "partition column")
    check_url(table.location or "", "table location")


def default_home() -> Path:
    return Path(os.environ.get("RAYEMR_HOME") or Path.home() / ".rayemr")


class MetastoreStore(Protocol):
    warehouse: str

    def list_databases(self) -> list[str]: ...
    def get_database(self, name: str) -> Database: ...
    def create_database(self, db: Database, if_not_exists: bool = False) -> None: ...
    def drop_database(self, name: str, if_exists: bool = False, cascade: bool = False) -> None: ...
    def list_tables(self, db: str) -> list[str]: ...
    def get_table(self, db: str, name: str) -> Table: ...
    def table_exists(self, db: str, name: str) -> bool: ...
    def create_table(self, table: Table, if_not_exists: bool = False) -> bool: ...
    def alter_table(self, db: str, name: str, table: Table) -> None: ...
    def drop_table(self, db: str, name: str) -> None: ...
    def list_partitions(self, db: str, name: str) -> list[Partition]: ...
    def add_partitions(self, db: str, name: str, parts: list[Partition],
                       if_not_exists: bool = True) -> int: ...
    def drop_partitions(self, db: str, name: str, values: list[tuple[str, ...]]) -> int: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS dbs (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tbls (db TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
                                 PRIMARY KEY (db, name));
CREATE TABLE IF NOT EXISTS parts (db TEXT NOT NULL, tbl TEXT NOT NULL, vals TEXT NOT NULL,
                                  location TEXT NOT NULL, PRIMARY KEY (db, tbl, vals));
"""


def table_to_json(t: Table) -> str:
    return json.dumps(asdict(t))


def table_from_json(text: str) -> Table:
    d = json.loads(text)
    d["columns"] = tuple(FieldSchema(**c) for c in d["columns"])
    d["partition_keys"] = tuple(FieldSchema(**c) for c in d["partition_keys"])
    s = d["storage"]
    s["serde_properties"] = tuple(tuple(p) for p in s["serde_properties"])
    d["storage"] = StorageFormat(**s)
    d["properties"] = tuple(tuple(p) for p in d["properties"])
    return Table(**d)


class SqliteMetastore:
    """Metastore in one SQLite file; safe to share between threads of one process."""

    def __init__(self, path: str | os.PathLike | None = None, warehouse: str | None = None):
        home = default_home()
        self.path = str(path or home / "metastore.db")
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.warehouse = (warehouse or str(home / "warehouse")).rstrip("/")
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                     isolation_level=None)
        with self._lock:
            self._conn.executescript(_SCHEMA)
        if "default" not in self.list_databases():
            self.create_database(Database("default", self.warehouse, "Default Hive database"),
                                 if_not_exists=True)

    def __repr__(self) -> str:
        return f"SqliteMetastore({self.path!r}, warehouse={self.warehouse!r})"

    def close(self) -> None:
        self._conn.close()

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- databases -------------------------------------------------------------------------
    def list_databases(self) -> list[str]:
        return [r[0] for r in self._q("SELECT name FROM dbs ORDER BY name")]

    def get_database(self, name: str) -> Database:
        rows = self._q("SELECT body FROM dbs WHERE name = ?", (name.lower(),))
        if not rows:
            raise DatabaseNotFoundError(name)
        d = json.loads(rows[0][0])
        d["properties"] = tuple(tuple(p) for p in d.get("properties", ()))
        return Database(**d)

    def database_location(self, name: str) -> str:
        return self.get_database(name).location

    def create_database(self, db: Database, if_not_exists: bool = False) -> None:
        validate_database(db)
        name = db.name.lower()
        with self._lock:
            if self._q("SELECT 1 FROM dbs WHERE name = ?", (name,)):
                if if_not_exists:
                    return
                raise AlreadyExistsError(DATABASE_ALREADY_EXISTS, name)
            body = asdict(db) | {"name": name}
            self._q("INSERT INTO dbs VALUES (?, ?)", (name, json.dumps(body)))

    def drop_database(self, name: str, if_exists: bool = False, cascade: bool = False) -> None:
        name = name.lower()
        if name == "default":
            raise UserError("Can not drop default database")
        with self._lock:
            if not self._q("SELECT 1 FROM dbs WHERE name = ?", (name,)):
                if if_exists:
                    return
                raise DatabaseNotFoundError(name)
            if self.list_tables(name) and not cascade:
                raise UserError(f"Database {name} is not empty. One or more tables exist; "
                                "use DROP DATABASE ... CASCADE")
            self._q("DELETE FROM parts WHERE db = ?", (name,))
            self._q("DELETE FROM tbls WHERE db = ?", (name,))
            self._q("DELETE FROM dbs WHERE name = ?", (name,))

    # -- tables ----------------------------------------------------------------------------
    def list_tables(self, db: str) -> list[str]:
        self.get_database(db)
        return [r[0] for r in self._q("SELECT name FROM tbls WHERE db = ? ORDER BY name",
                                      (db.lower(),))]

    def table_exists(self, db: str, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM tbls WHERE db = ? AND name = ?",
                            (db.lower(), name.lower())))

    def get_table(self, db: str, name: str) -> Table:
        rows = self._q("SELECT body FROM tbls WHERE db = ? AND name = ?",
                       (db.lower(), name.lower()))
        if not rows:
            self.get_database(db)
            raise TableNotFoundError(f"{db.lower()}.{name.lower()}")
        return table_from_json(rows[0][0])

    def create_table(self, table: Table, if_not_exists: bool = False) -> bool:
        validate_table(table)
        with self._lock:
            self.get_database(table.database)
            if self.table_exists(table.database, table.name):
                if if_not_exists:
                    return False
                raise AlreadyExistsError(TABLE_ALREADY_EXISTS, table.qualified_name)
            self._q("INSERT INTO tbls VALUES (?, ?, ?)",
                    (table.database, table.name, table_to_json(table)))
            return True

    def alter_table(self, db: str, name: str, table: Table) -> None:
        validate_table(table)
        with self._lock:
            self.get_table(db, name)
            db, name = db.lower(), name.lower()
            if (table.database, table.name) != (db, name):
                if self.table_exists(table.database, table.name):
                    raise AlreadyExistsError(TABLE_ALREADY_EXISTS, table.qualified_name)
                self._q("UPDATE parts SET db = ?, tbl = ? WHERE db = ? AND tbl = ?",
                        (table.database, table.name, db, name))
            self._q("DELETE FROM tbls WHERE db = ? AND name = ?", (db, name))
            self._q("INSERT INTO tbls VALUES (?, ?, ?)",
                    (table.database, table.name, table_to_json(table)))

    def drop_table(self, db: str, name: str) -> None:
        with self._lock:
            self.get_table(db, name)
            self._q("DELETE FROM parts WHERE db = ? AND tbl = ?", (db.lower(), name.lower()))
            self._q("DELETE FROM tbls WHERE db = ? AND name = ?", (db.lower(), name.lower()))

    # -- partitions ------------------------------------------------------------------------
    def list_partitions(self, db: str, name: str) -> list[Partition]:
        rows = self._q("SELECT vals, location FROM parts WHERE db = ? AND tbl = ? ORDER BY vals",
                       (db.lower(), name.lower()))
        return [Partition(tuple(json.loads(v)), loc) for v, loc in rows]

    def add_partitions(self, db: str, name: str, parts: list[Partition],
                       if_not_exists: bool = True) -> int:
        added = 0
        with self._lock:
            table = self.get_table(db, name)
            if not table.partition_keys:
                raise UserError(f"table {table.qualified_name} is not partitioned")
            for p in parts:
                check_url(p.location or "", "partition location")
                if len(p.values) != len(table.partition_keys):
                    raise UserError(f"partition spec {p.values} does not match the partition "
                                    f"keys of {table.qualified_name}")
                key = json.dumps(list(p.values))
                if self._q("SELECT 1 FROM parts WHERE db = ? AND tbl = ? AND vals = ?",
                           (table.database, table.name, key)):
                    if not if_not_exists:
                        raise OutputExistsError(
                            f"Partition already exists: {p.name(table.partition_keys)}")
                    continue
                self._q("INSERT INTO parts VALUES (?, ?, ?, ?)",
                        (table.database, table.name, key, p.location))
                added += 1
        return added

    def drop_partitions(self, db: str, name: str, values: list[tuple[str, ...]]) -> int:
        n = 0
        with self._lock:
            for v in values:
                cur = self._conn.execute(
                    "DELETE FROM parts WHERE db = ? AND tbl = ? AND vals = ?",
                    (db.lower(), name.lower(), json.dumps(list(v))))
                n += cur.rowcount
        return n
