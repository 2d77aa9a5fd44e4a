"""A session's TEMPORARY tables, over the shared metastore.

Hive keeps temporary tables in the session that made them: other sessions neither see nor
reach them, a temporary table shadows a permanent table of the same name for its session
only, its data lives in the session's scratch folder, and both go when the session ends.
:class:`SessionTables` is the metastore a session uses: it answers from its own temporary
tables first and hands everything else to the shared store.
"""
from __future__ import annotations

import threading
import uuid
from typing import Any

from rayemr.core.errors import InputNotFoundError, UnsupportedError
from rayemr.hive.errors import TABLE_ALREADY_EXISTS, AlreadyExistsError
from rayemr.hive.metastore.models import Partition, Table
from rayemr.hive.metastore.store import MetastoreStore, validate_table

#: Folder under the warehouse holding sessions' scratch folders (hidden from listings).
SCRATCH = ".hive-scratch"


class SessionTables:
    """The shared metastore plus one session's temporary tables (thread-safe)."""

    def __init__(self, base: MetastoreStore, session_id: str | None = None) -> None:
        self.base = base
        self.session_id = session_id or uuid.uuid4().hex
        self._temp: dict[tuple[str, str], Table] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # databases and the rest: the shared store
        return getattr(self.base, name)

    def __repr__(self) -> str:
        return f"SessionTables({self.base!r}, temporary={sorted(self._temp)})"

    @property
    def warehouse(self) -> str:
        return self.base.warehouse

    @property
    def scratch(self) -> str:
        """This session's scratch folder (``<warehouse>/.hive-scratch/<session>``)."""
        return f"{self.base.warehouse.rstrip('/')}/{SCRATCH}/{self.session_id}"

    def temporary_location(self, db: str, name: str) -> str:
        return f"{self.scratch}/{db.lower()}.{name.lower()}"

    def is_temporary(self, db: str, name: str) -> bool:
        with self._lock:
            return (db.lower(), name.lower()) in self._temp

    def temporary_tables(self) -> list[Table]:
        with self._lock:
            return list(self._temp.values())

    # -- tables -----------------------------------------------------------------------------
    def list_tables(self, db: str) -> list[str]:
        names = set(self.base.list_tables(db))
        with self._lock:
            names |= {n for (d, n) in self._temp if d == db.lower()}
        return sorted(names)

    def table_exists(self, db: str, name: str) -> bool:
        return self.is_temporary(db, name) or self.base.table_exists(db, name)

    def get_table(self, db: str, name: str) -> Table:
        with self._lock:
            found = self._temp.get((db.lower(), name.lower()))
        return found if found is not None else self.base.get_table(db, name)

    def create_table(self, table: Table, if_not_exists: bool = False,
                     temporary: bool = False) -> bool:
        if not temporary:
            return self.base.create_table(table, if_not_exists)
        validate_table(table)
        if table.partition_keys:
            raise UnsupportedError("Partition columns are not supported on temporary tables")
        self.base.get_database(table.database)
        key = (table.database, table.name)
        with self._lock:
            if key in self._temp:
                if if_not_exists:
                    return False
                raise AlreadyExistsError(TABLE_ALREADY_EXISTS, table.qualified_name)
            self._temp[key] = table
        return True

    def alter_table(self, db: str, name: str, table: Table) -> None:
        key = (db.lower(), name.lower())
        with self._lock:
            temp = key in self._temp
        if not temp:
            self.base.alter_table(db, name, table)
            return
        validate_table(table)
        new = (table.database, table.name)
        with self._lock:
            if new != key and new in self._temp:
                raise AlreadyExistsError(TABLE_ALREADY_EXISTS, table.qualified_name)
            del self._temp[key]
            self._temp[new] = table

    def drop_table(self, db: str, name: str) -> None:
        with self._lock:
            if self._temp.pop((db.lower(), name.lower()), None) is not None:
                return
        self.base.drop_table(db, name)

    # -- partitions (temporary tables have none) --------------------------------------------
    def list_partitions(self, db: str, name: str) -> list[Partition]:
        if self.is_temporary(db, name):
            return []
        return self.base.list_partitions(db, name)

    def add_partitions(self, db: str, name: str, parts: list[Partition],
                       if_not_exists: bool = True) -> int:
        if self.is_temporary(db, name):
            raise UnsupportedError("Partition columns are not supported on temporary tables")
        return self.base.add_partitions(db, name, parts, if_not_exists)

    def drop_partitions(self, db: str, name: str, values: list[tuple[str, ...]]) -> int:
        if self.is_temporary(db, name):
            raise InputNotFoundError(f"{db}.{name} is a temporary table: it has no partitions")
        return self.base.drop_partitions(db, name, values)

    def forget_temporary(self) -> list[Table]:
        """Drop every temporary table from this session; returns them (their data is the
        caller's to delete)."""
        with self._lock:
            tables, self._temp = list(self._temp.values()), {}
        return tables
