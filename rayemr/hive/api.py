"""The contract between Hive sessions and their front ends (CLI, DB-API, HiveServer2).

A front end opens a :class:`Session`, runs one statement at a time with ``execute`` and gets a
:class:`StatementResult`: Hive column names and types plus an Arrow table, or no result set.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """A result column with its Hive type name (``int``, ``decimal(15,2)``, ``array<string>``)."""

    name: str
    hive_type: str
    comment: str = ""


@dataclass
class StatementResult:
    """What one statement produced."""

    columns: tuple[Column, ...] = ()
    table: pa.Table | None = None
    has_result_set: bool = False
    #: Lines of the query log (stages, progress, counters), for HiveServer2's fetchType=1.
    log: list[str] = field(default_factory=list)
    #: Rows affected/written by DML, when known.
    rows_affected: int | None = None


#: progress(fraction_done in [0, 1], message)
ProgressCallback = Callable[[float, str], None]


class Session(Protocol):
    """One Hive session: current database, ``SET`` properties and ``hivevar`` variables.

    ``prepare`` substitutes and parses one statement (the object HiveServer2 inspects and
    then runs); ``execute`` runs a statement given as text or as what ``prepare`` returned.
    ``policy`` holds a remote client's limits (``rayemr.hive.policy.SessionPolicy``).
    """

    database: str
    hiveconf: dict[str, str]
    hivevars: dict[str, str]
    policy: object | None

    def prepare(self, sql: str) -> object:
        """Substitute variables, require one statement, parse it."""

    def execute(self, sql: object, *, cancel: threading.Event | None = None,
                progress: ProgressCallback | None = None) -> StatementResult:
        """Run one statement. Raises ``rayemr.core.errors.UserError`` for bad input."""

    def close(self) -> None:
        """Release the session's resources."""
