"""PEP 249 (DB-API 2.0) over a HiveSession: ``rayemr.hive.connect()``.

``cursor.execute(sql, parameters)`` takes pyformat parameters (``%(name)s`` or ``%s``) like
pyhive; results come as tuples (``fetchone``/``fetchmany``/``fetchall``), or whole as Arrow
(``fetch_arrow()``) or pandas (``fetch_pandas()``).
"""
from __future__ import annotations

import datetime
import decimal
import os
from typing import Any, Iterable, Mapping, Optional

import pyarrow as pa

from rayemr.core.errors import RayEmrError, UserError
from rayemr.hive.api import StatementResult

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"


class Error(Exception):
    pass


class DatabaseError(Error):
    pass


class ProgrammingError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


_TYPE_CODES = {
    "tinyint": "TINYINT_TYPE", "smallint": "SMALLINT_TYPE", "int": "INT_TYPE",
    "bigint": "BIGINT_TYPE", "float": "FLOAT_TYPE", "double": "DOUBLE_TYPE",
    "boolean": "BOOLEAN_TYPE", "string": "STRING_TYPE", "date": "DATE_TYPE",
    "timestamp": "TIMESTAMP_TYPE", "binary": "BINARY_TYPE",
    "interval_year_month": "INTERVAL_YEAR_MONTH_TYPE",
    "interval_day_time": "INTERVAL_DAY_TIME_TYPE",
}


def type_code(hive_type: str) -> str:
    base = hive_type.split("(")[0].split("<")[0]
    if base == "decimal":
        return "DECIMAL_TYPE"
    if base in ("array", "map", "struct"):
        return f"{base.upper()}_TYPE"
    if base in ("varchar", "char"):
        return f"{base.upper()}_TYPE"
    return _TYPE_CODES.get(base, "STRING_TYPE")


def escape(value: Any) -> str:
    """A Hive SQL literal for a Python value (pyhive's ParamEscaper rules)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return "'" + str(value) + "'"
    if isinstance(value, (list, tuple, set)):
        return "(" + ", ".join(escape(v) for v in value) + ")"
    if isinstance(value, bytes):
        value = value.decode()
    s = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{s}'"


def format_operation(operation: str, parameters: Any) -> str:
    if parameters is None:
        return operation
    if isinstance(parameters, Mapping):
        return operation % {k: escape(v) for k, v in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return operation % tuple(escape(v) for v in parameters)
    raise ProgrammingError(f"parameters must be a mapping or a sequence, got "
                           f"{type(parameters).__name__}")


class Cursor:
    arraysize = 1

    def __init__(self, connection: "Connection"):
        self.connection = connection
        self._result: Optional[StatementResult] = None
        self._rows: list[tuple] = []
        self._pos = 0
        self.rowcount = -1
        self.closed = False

    @property
    def description(self):
        if self._result is None or not self._result.has_result_set:
            return None
        return [(c.name, type_code(c.hive_type), None, None, None, None, True)
                for c in self._result.columns]

    @property
    def log(self) -> list[str]:
        return list(self._result.log) if self._result else []

    def execute(self, operation: str, parameters: Any = None) -> "Cursor":
        if self.closed:
            raise ProgrammingError("cursor is closed")
        sql = format_operation(operation, parameters)
        try:
            self._result = self.connection.session.execute(sql)
        except RayEmrError:
            self._result = None
            raise
        self._pos = 0
        t = self._result.table
        if self._result.has_result_set and t is not None:
            self._rows = [tuple(r.values()) for r in t.to_pylist()]
            self.rowcount = len(self._rows)
        else:
            self._rows = []
            self.rowcount = self._result.rows_affected if self._result.rows_affected is not None \
                else -1
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> None:
        for p in seq_of_parameters:
            self.execute(operation, p)

    def _need_result(self) -> None:
        if self._result is None:
            raise ProgrammingError("no statement was executed")
        if not self._result.has_result_set:
            raise ProgrammingError("the statement returned no result set")

    def fetchone(self):
        self._need_result()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None):
        self._need_result()
        size = size or self.arraysize
        rows = self._rows[self._pos:self._pos + size]
        self._pos += len(rows)
        return rows

    def fetchall(self):
        self._need_result()
        rows = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rows

    def fetch_arrow(self) -> pa.Table:
        self._need_result()
        return self._result.table

    def fetch_pandas(self):
        return self.fetch_arrow().to_pandas()

    def __iter__(self):
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def setinputsizes(self, sizes) -> None:
        pass

    def setoutputsize(self, size, column=None) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Connection:
    def __init__(self, session):
        self.session = session

    def cursor(self) -> Cursor:
        return Cursor(self)

    def commit(self) -> None:
        pass  # every statement commits itself

    def rollback(self) -> None:
        raise NotSupportedError("Hive has no transactions")

    def close(self) -> None:
        self.session.close()

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        return self.cursor().execute(operation, parameters)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(database: str = "default", *, metastore: Any = None, metastore_path: str | None = None,
            warehouse: str | None = None, runner: str | None = None,
            configuration: Optional[Mapping[str, str]] = None,
            hivevars: Optional[Mapping[str, str]] = None) -> Connection:
    """Open a local-mode Hive connection (metastore and warehouse under ``~/.rayemr/`` by
    default; ``RAYEMR_HOME`` moves them)."""
    from rayemr.hive.session import HiveSession

    if (runner or os.environ.get("RAYEMR_HIVE_RUNNER") or "ray") == "ray":
        from rayemr.client import state

        cluster = state.running()  # 'rayemr start' runs one: its stages run there
        if cluster is not None and not os.environ.get("RAY_ADDRESS"):
            state.announce(cluster)
    session = HiveSession(metastore, database=database, hiveconf=dict(configuration or {}),
                          hivevars=dict(hivevars or {}), runner=runner,
                          metastore_path=metastore_path, warehouse=warehouse)
    return Connection(session)


__all__ = ["Connection", "Cursor", "DatabaseError", "Error", "NotSupportedError",
           "OperationalError", "ProgrammingError", "apilevel", "connect", "paramstyle",
           "threadsafety", "UserError"]
