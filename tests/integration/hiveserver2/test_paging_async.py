"""Large results page through fetchmany; async statements poll, report progress and cancel."""
from __future__ import annotations


import numpy as np
import pyarrow as pa
import pytest
from TCLIService.ttypes import TOperationState

from rayemr.core.waiting import wait_for

ROWS = 100_000


def test_fetchmany_pages_over_100k_rows(hs2, parquet_table):
    ids = np.arange(ROWS, dtype=np.int64)
    table = pa.table({"id": ids, "label": pa.array([f"row-{i}" for i in range(ROWS)]),
                      "maybe": pa.array([None if i % 7 == 0 else i * 0.5 for i in range(ROWS)])})
    parquet_table(hs2, "big", table, "id bigint, label string, maybe double", files=3)
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.arraysize = 7_000
        cur.execute("SELECT id, label, maybe FROM big ORDER BY id")
        seen, pages = [], 0
        while True:
            page = cur.fetchmany(7_000)
            if not page:
                break
            pages += 1
            seen.extend(page)
    assert pages == -(-ROWS // 7_000)
    assert len(seen) == ROWS
    assert [r[0] for r in seen] == list(range(ROWS))
    assert all(r[1] == f"row-{r[0]}" for r in seen)
    assert all((r[2] is None) == (r[0] % 7 == 0) for r in seen)
    assert seen[9][2] == 4.5


def _poll_until(cur, states, timeout=60.0):
    def reached():
        status = cur.poll()
        return status if status.operationState in states else None

    return wait_for(reached, timeout, interval=0.02, what=f"operation state in {states}")


def test_async_polling_with_progress(hs2, parquet_table):
    parquet_table(hs2, "nums", pa.table({"n": np.arange(1000, dtype=np.int64)}), "n bigint",
                  files=4)
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT n % 10 AS k, count(*) AS c FROM nums GROUP BY n % 10 ORDER BY k",
                    async_=True)
        status = _poll_until(cur, {TOperationState.FINISHED_STATE, TOperationState.ERROR_STATE})
        assert status.operationState == TOperationState.FINISHED_STATE, status.errorMessage
        assert status.hasResultSet
        assert status.progressUpdateResponse.progressedPercentage == 1.0
        assert cur.fetchall() == [(k, 100) for k in range(10)]
        assert any("Fetched: 10 row" in line for line in cur.fetch_logs())


def test_async_error_reported_by_poll(hs2):
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT * FROM missing_async_table", async_=True)
        status = _poll_until(cur, {TOperationState.ERROR_STATE,
                                   TOperationState.FINISHED_STATE})
        assert status.operationState == TOperationState.ERROR_STATE
        assert status.sqlState == "42S02"
        assert "missing_async_table" in status.errorMessage


class RecordingSession:
    """The real Hive session, noting how each statement ended."""

    def __init__(self, session, outcomes):
        self._session, self._outcomes = session, outcomes

    def __getattr__(self, name):
        return getattr(self._session, name)

    def execute(self, sql, **kwargs):
        text = getattr(sql, "text", sql)  # the server hands over the prepared statement
        try:
            result = self._session.execute(sql, **kwargs)
        except Exception as exc:
            self._outcomes.append((text, type(exc).__name__))
            raise
        self._outcomes.append((text, "ok"))
        return result


def test_async_cancel_stops_a_running_query(start_hs2, parquet_table):
    outcomes: list[tuple[str, str]] = []
    srv = start_hs2(wrap_session=lambda s: RecordingSession(s, outcomes))
    for name, col in (("cx_a", "v"), ("cx_b", "w")):
        parquet_table(srv, name, pa.table({col: np.arange(20_000, dtype=np.int64)}),
                      f"{col} bigint", files=4)
    query = "SELECT count(*) FROM cx_a CROSS JOIN cx_b WHERE (v * w) % 7 = 3"
    with srv.connect() as conn:
        cur = conn.cursor()
        cur.execute(query, async_=True)
        _poll_until(cur, {TOperationState.RUNNING_STATE})
        cur.cancel()
        assert cur.poll().operationState == TOperationState.CANCELED_STATE
        with pytest.raises(Exception):
            cur.fetchall()  # a cancelled operation has no rows to give
        # the same session runs the next statement once the cancelled one has stopped
        other = conn.cursor()
        other.execute("SELECT 1")
        assert other.fetchall() == [(1,)]
    ended = dict(outcomes)
    assert ended[query] != "ok", "the cancelled query ran to completion"
    assert ended["SELECT 1"] == "ok"


def test_query_timeout_cancels(hs2, parquet_table):
    from TCLIService import ttypes

    for name, col in (("to_a", "v"), ("to_b", "w")):
        parquet_table(hs2, name, pa.table({col: np.arange(20_000, dtype=np.int64)}),
                      f"{col} bigint", files=4)
    with hs2.connect() as conn:
        req = ttypes.TExecuteStatementReq(
            conn.sessionHandle, "SELECT count(*) FROM to_a CROSS JOIN to_b WHERE (v * w) % 7 = 3",
            runAsync=True, queryTimeout=1)
        resp = conn.client.ExecuteStatement(req)
        assert resp.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS
        cur = conn.cursor()
        cur._operationHandle, cur._state = resp.operationHandle, cur._STATE_RUNNING
        status = _poll_until(cur, {TOperationState.CANCELED_STATE,
                                   TOperationState.FINISHED_STATE})
        assert status.operationState == TOperationState.CANCELED_STATE
