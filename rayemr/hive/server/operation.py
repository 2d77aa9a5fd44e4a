"""One HiveServer2 operation: a statement or a metadata call, its state, result and log.

States follow ``TOperationState``; the allowed moves are one table, :data:`OPERATION`, on
the shared kernel (:mod:`rayemr.core.statemachine`): anything else raises
``InvalidStateTransition`` naming the operation, both states and the event. A cancel that
races with completion is settled under the lock: whichever comes first wins and the other is
ignored, so a cancelled operation never turns FINISHED. Each operation keeps a bounded story
of its transitions (``story()``) for debugging.
"""
from __future__ import annotations

import concurrent.futures
import enum
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from TCLIService import ttypes

from rayemr.core.errors import RayEmrError
from rayemr.core.statemachine import Machine, Tracked
from rayemr.hive.api import Column, StatementResult
from rayemr.hive.errors import hive_status
from rayemr.hive.server import rowset

log = logging.getLogger(__name__)
S = ttypes.TOperationState
_PREFETCH = concurrent.futures.ThreadPoolExecutor(max_workers=2,
                                                  thread_name_prefix="hs2-prefetch")


class OpState(enum.IntEnum):
    INITIALIZED = S.INITIALIZED_STATE
    PENDING = S.PENDING_STATE
    RUNNING = S.RUNNING_STATE
    FINISHED = S.FINISHED_STATE
    CANCELED = S.CANCELED_STATE
    CLOSED = S.CLOSED_STATE
    ERROR = S.ERROR_STATE


_TERMINAL = {OpState.FINISHED, OpState.CANCELED, OpState.ERROR, OpState.CLOSED}
_LIVE = (OpState.INITIALIZED, OpState.PENDING, OpState.RUNNING)

#: Every move an operation may make, by event (the one table).
OPERATION = Machine("operation", [
    (OpState.INITIALIZED, "submit", OpState.PENDING),        # runAsync: queued for a worker
    ((OpState.INITIALIZED, OpState.PENDING), "start", OpState.RUNNING),
    (OpState.RUNNING, "done", OpState.FINISHED),
    ((OpState.PENDING, OpState.RUNNING), "failed", OpState.ERROR),
    (_LIVE, "cancel", OpState.CANCELED),
    (_LIVE + (OpState.FINISHED, OpState.ERROR, OpState.CANCELED), "close", OpState.CLOSED),
], final={OpState.CLOSED})


@dataclass(frozen=True)
class OpError:
    sql_state: str
    message: str
    error_code: int = 0


def describe_error(exc: BaseException) -> OpError:
    """The one-line message, SQL state and error code a client sees for ``exc``, in Hive's
    words (:func:`rayemr.hive.errors.hive_status`)."""
    status = hive_status(exc)
    return OpError(status.sql_state, status.message, status.error_code)


def _now_ms() -> int:
    return int(time.time() * 1000)


Runner = Callable[[threading.Event, Callable[[float, str], None]], StatementResult]


class Operation:
    """State, result cursor and log of one operation; thread-safe."""

    def __init__(self, op_type: int, *, has_result_set: bool, statement: str = "") -> None:
        self.guid = uuid.uuid4().bytes
        self.secret = uuid.uuid4().bytes
        self.op_type = op_type
        self.statement = statement
        self.has_result_set = has_result_set
        self.cancel_event = threading.Event()
        self._tracked = Tracked(OPERATION, self.guid.hex(), OpState.INITIALIZED)
        self.result: StatementResult | None = None
        self.error: OpError | None = None
        self.progress = 0.0
        self.started = _now_ms()
        self.completed = 0
        self._log: list[str] = []
        self._log_pos = 0
        self._row_pos = 0
        self._ahead: tuple[int, int, concurrent.futures.Future] | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._launched = threading.Event()  # compiled and running (or over)

    @property
    def handle(self) -> ttypes.TOperationHandle:
        return ttypes.TOperationHandle(
            operationId=ttypes.THandleIdentifier(guid=self.guid, secret=self.secret),
            operationType=self.op_type, hasResultSet=self.has_result_set)

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> OpState:
        return self._tracked.state

    def story(self) -> list[tuple[float, str, str, str]]:
        """The last transitions: ``(time, from, to, event)``."""
        return self._tracked.story()

    def _fire(self, event: str) -> None:
        """Apply ``event`` (the caller holds the lock)."""
        self._tracked.fire(event)
        if self.state in _TERMINAL:
            self.completed = self.completed or _now_ms()
            self._done.set()
            self._launched.set()

    def mark_pending(self) -> None:
        with self._lock:
            self._fire("submit")

    def run(self, runner: Runner) -> None:
        """Run ``runner(cancel, progress)`` here; record its result or error."""
        with self._lock:
            if self.state in _TERMINAL:
                return  # cancelled or closed before it could start
            self._fire("start")
        try:
            result = runner(self.cancel_event, self._on_progress)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an error status
            if not isinstance(exc, RayEmrError):
                log.error("operation %s failed unexpectedly", self.guid.hex()[:8],
                          exc_info=True)
            with self._lock:
                if self.state == OpState.RUNNING:
                    self.error = describe_error(exc)
                    self._log.append(f"FAILED: {self.error.message}")
                    self._fire("failed")
            if not isinstance(exc, Exception):
                raise
            return
        with self._lock:
            if self.state != OpState.RUNNING:
                return  # cancelled while running: drop the result
            self.result = result
            streamed = set(self._log)  # progress lines already logged as they came
            self._log.extend(line for line in result.log or () if line not in streamed)
            self.has_result_set = bool(result.has_result_set)
            self.progress = 1.0
            self._fire("done")

    def finish_with(self, result: StatementResult) -> None:
        """Complete a metadata operation whose result is already known."""
        self.run(lambda cancel, progress: result)

    def _on_progress(self, fraction: float, message: str) -> None:
        with self._lock:
            try:
                self.progress = min(1.0, max(self.progress, float(fraction)))
            except (TypeError, ValueError):
                pass
            if message and (not self._log or self._log[-1] != message):
                self._log.append(str(message))
            self._launched.set()

    def cancel(self) -> None:
        self.cancel_event.set()
        with self._lock:
            if self.state in _LIVE:
                self._log.append("Operation cancelled")
                self._fire("cancel")

    def close(self) -> None:
        self.cancel_event.set()
        with self._lock:
            if self.state != OpState.CLOSED:
                self._fire("close")
            self.result, self._ahead = None, None  # free the rows now

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def wait_launched(self, timeout: float | None = None) -> bool:
        """Wait until the statement compiled and started its jobs (its first progress
        line), or ended: HiveServer2 answers a runAsync ExecuteStatement after compiling."""
        return self._launched.wait(timeout)

    # -- results ----------------------------------------------------------------------------
    @property
    def columns(self) -> tuple[Column, ...]:
        return self.result.columns if self.result is not None else ()

    def fetch(self, max_rows: int, orientation: int) -> ttypes.TRowSet:
        """The next page of rows (FETCH_FIRST rewinds); an empty page ends the result.

        While the client decodes one page the next one (same size) is converted in the
        background, so the server's share of a large fetch mostly overlaps the client's.
        """
        with self._lock:
            result = self.result
            if orientation == ttypes.TFetchOrientation.FETCH_FIRST:
                self._row_pos, self._ahead = 0, None
            start = self._row_pos
            table = result.table if result is not None else None
            columns = result.columns if result is not None else ()
            total = table.num_rows if table is not None else 0
            count = max(0, min(max_rows, total - start))
            self._row_pos = start + count
            ahead = self._ahead if self._ahead and self._ahead[:2] == (start, count) else None
            following = min(count, total - self._row_pos)
            self._ahead = None
            if following > 0:
                self._ahead = (self._row_pos, following, _PREFETCH.submit(
                    rowset.to_rowset, table, columns, self._row_pos, following))
        if ahead is not None:
            return ahead[2].result()
        return rowset.to_rowset(table, columns, start, count)

    def fetch_log(self, max_rows: int, orientation: int) -> ttypes.TRowSet:
        with self._lock:
            if orientation == ttypes.TFetchOrientation.FETCH_FIRST:
                self._log_pos = 0
            start = self._log_pos
            lines = self._log[start:start + max(0, max_rows)]
            self._log_pos = start + len(lines)
        return rowset.string_rowset(lines, start)

    def progress_update(self) -> ttypes.TProgressUpdateResp:
        done = self.state in (OpState.FINISHED,)
        status = (ttypes.TJobExecutionStatus.COMPLETE if done else
                  ttypes.TJobExecutionStatus.IN_PROGRESS if self.state == OpState.RUNNING else
                  ttypes.TJobExecutionStatus.NOT_AVAILABLE)
        pct = round(self.progress * 100.0, 1)
        return ttypes.TProgressUpdateResp(
            headerNames=["STAGE", "STATUS", "PROGRESS"],
            rows=[["query", OpState(self.state).name, f"{pct}%"]],
            progressedPercentage=self.progress, status=status,
            footerSummary=f"{pct}% done", startTime=self.started)
