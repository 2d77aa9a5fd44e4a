"""Hive's error classes: the codes, texts and SQL states clients recognise.

Hive numbers its compile errors (``org.apache.hadoop.hive.ql.ErrorMsg``: 10000-19999 are
semantic-analysis errors, 40000 a generic one) and HiveServer2 reports them as
``Error while compiling statement: FAILED: SemanticException [Error 10001]: Table not found
t`` with the code in ``errorCode`` and the SQL state in ``sqlState``; runtime failures read
``Error while processing statement: FAILED: Execution Error, return code 2 from ...``.
Clients match that text: PyHive's SQLAlchemy dialect, for one, decides that a table does not
exist from ``SemanticException.*Table not found <name>``.

:class:`SemanticError` and its subclasses carry their :class:`ErrorMsg`; :func:`hive_status`
renders any exception as HiveServer2 does (message, SQL state, error code).
"""
from __future__ import annotations

from dataclasses import dataclass

from rayemr.core.errors import (AccessDeniedError, ClusterError, InputNotFoundError,
                                OutputExistsError, RayEmrError, UserError)


@dataclass(frozen=True)
class ErrorMsg:
    """One entry of Hive's ErrorMsg: ``text`` + " " + detail, with its code and SQL state."""

    code: int
    text: str
    sql_state: str = "42000"

    def format(self, detail: str = "") -> str:
        return f"{self.text} {detail}" if detail else self.text


# The entries rayemr raises (numbers, texts and states as Hive's ErrorMsg has them).
GENERIC_ERROR = ErrorMsg(40000, "Exception while processing")
TABLE_NOT_FOUND = ErrorMsg(10001, "Table not found", "42S02")
INVALID_COLUMN = ErrorMsg(10002, "Invalid column reference")
INVALID_TABLE_OR_COLUMN = ErrorMsg(10004, "Invalid table alias or column reference")
PARTITION_NOT_FOUND = ErrorMsg(10006, "Partition not found")
AMBIGUOUS_COLUMN = ErrorMsg(10007, "Ambiguous column reference")
INVALID_FUNCTION = ErrorMsg(10011, "Invalid function")
INVALID_ARGUMENT = ErrorMsg(10014, "Wrong arguments")
TARGET_TABLE_COLUMN_MISMATCH = ErrorMsg(
    10044, "Cannot insert into target table because column number/types are different")
DATABASE_NOT_EXISTS = ErrorMsg(10072, "Database does not exist:")
TABLE_ALREADY_EXISTS = ErrorMsg(10073, "Table already exists:", "42S02")
DATABASE_ALREADY_EXISTS = ErrorMsg(10242, "Database already exists:")

#: What HiveServer2 puts before a compile error, and before a runtime one.
COMPILING = "Error while compiling statement: FAILED: "
PROCESSING = "Error while processing statement: FAILED: "
#: Hive's return code and task for a failed MapReduce stage, and the runtime SQL state.
EXECUTION = "Execution Error, return code 2 from org.apache.hadoop.hive.ql.exec.mr.MapRedTask"
EXECUTION_STATE = "08S01"


class SemanticError(UserError):
    """A statement Hive's compiler rejects with one of its numbered errors."""

    def __init__(self, error: ErrorMsg, detail: str = "", *, hint: str | None = None,
                 line: int = 0, col: int = 0) -> None:
        where = f"Line {line}:{col} " if line else ""
        super().__init__(where + error.format(detail), hint=hint)
        self.error = error
        self.sql_state = error.sql_state


class TableNotFoundError(SemanticError, InputNotFoundError):
    """``Table not found <name>``, the name as the statement wrote it (Hive's 10001)."""

    def __init__(self, name: str, *, quoted: bool = False, line: int = 0, col: int = 0,
                 hint: str | None = "check the name with SHOW TABLES") -> None:
        super().__init__(TABLE_NOT_FOUND, f"'{name}'" if quoted else name, hint=hint,
                         line=line, col=col)
        self.name = name


class DatabaseNotFoundError(SemanticError, InputNotFoundError):
    """``Database does not exist: <name>`` (Hive's 10072)."""

    def __init__(self, name: str) -> None:
        super().__init__(DATABASE_NOT_EXISTS, name)
        self.name = name


class AlreadyExistsError(SemanticError, OutputExistsError):
    """``Table already exists: <name>`` / ``Database already exists: <name>``."""

    def __init__(self, error: ErrorMsg, name: str) -> None:
        super().__init__(error, name)
        self.name = name


@dataclass(frozen=True)
class HiveStatus:
    """What HiveServer2 reports for a failure."""

    sql_state: str
    message: str
    error_code: int = 0


def hive_status(exc: BaseException) -> HiveStatus:
    """``exc`` as HiveServer2 reports it: Hive's prefix, exception class and error number."""
    text = _one_line(exc)
    if isinstance(exc, SemanticError):
        return HiveStatus(exc.sql_state, f"{COMPILING}SemanticException [Error "
                                         f"{exc.error.code}]: {text}", exc.error.code)
    if isinstance(exc, AccessDeniedError):
        return HiveStatus(exc.sql_state, f"{PROCESSING}{text}", GENERIC_ERROR.code)
    if isinstance(exc, UserError):
        # ParseException line L:C ... keeps its own name, as Hive's parser errors do
        kind = "" if text.startswith("ParseException") else "SemanticException "
        return HiveStatus(exc.sql_state, f"{COMPILING}{kind}{text}", GENERIC_ERROR.code)
    if isinstance(exc, ClusterError):
        return HiveStatus(EXECUTION_STATE, f"{PROCESSING}{EXECUTION}. {text}", 2)
    if isinstance(exc, RayEmrError):
        return HiveStatus(exc.sql_state, f"{PROCESSING}{text}", GENERIC_ERROR.code)
    return HiveStatus("HY000", f"{PROCESSING}{type(exc).__name__}: {text}",
                      GENERIC_ERROR.code)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:4000]
