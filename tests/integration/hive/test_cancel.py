"""Cancelling a statement stops the task that is running it, on every runner: in this
process (inline, DuckDB's statement interrupted) and on Ray (the worker killed). The
statement ends as killed, nothing is committed, the session runs its next statement.

The query sleeps 1 ms per row (``reflect('java.lang.Thread', 'sleep', 1)``) over 200,000
rows in one task, so run to its end it would take more than 200 s whatever the machine;
cancelled, it must end long before that.
"""
from __future__ import annotations

import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rayemr.engine import JobKilledError
from rayemr.hive.session import HiveSession

ROWS = 200_000
SLOW = "SELECT count(reflect('java.lang.Thread', 'sleep', 1)) AS n FROM slow"
#: Well under the 200 s the query would take if the cancel did not stop it.
BOUND_S = 90.0


@pytest.fixture
def session_for(tmp_path):
    (tmp_path / "slow").mkdir()
    pq.write_table(pa.table({"id": pa.array(range(ROWS), pa.int64())}),
                   tmp_path / "slow" / "part-0.parquet")
    sessions = []

    def make(runner: str, **hiveconf: str) -> HiveSession:
        s = HiveSession(metastore_path=str(tmp_path / f"ms-{len(sessions)}.db"),
                        warehouse=str(tmp_path / "wh"), runner=runner, hiveconf=hiveconf)
        sessions.append(s)
        s.execute(f"CREATE EXTERNAL TABLE slow (id bigint) STORED AS PARQUET "
                  f"LOCATION '{tmp_path}/slow'")
        return s

    yield make
    for s in sessions:
        s.close()


def _cancelled_after(session: HiveSession, sql: str, delay: float) -> tuple[JobKilledError,
                                                                              float]:
    cancel = threading.Event()
    timer = threading.Timer(delay, cancel.set)
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(JobKilledError) as info:
            session.execute(sql, cancel=cancel)
    finally:
        timer.cancel()
    return info.value, time.monotonic() - t0


def test_inline_cancel_interrupts_the_running_statement(session_for):
    s = session_for("inline")
    err, took = _cancelled_after(s, SLOW, 2.0)
    assert took < BOUND_S, f"the cancelled query ran on for {took:.0f} s"
    assert err.counters["Job Counters"].get("Killed map tasks") == 1, err.counters
    assert s.execute("SELECT count(*) FROM slow").table.column(0).to_pylist() == [ROWS]


def test_inline_cancelled_insert_commits_nothing(session_for, tmp_path):
    s = session_for("inline")
    s.execute("CREATE TABLE dst (id bigint, z string) STORED AS PARQUET")
    err, took = _cancelled_after(
        s, "INSERT OVERWRITE TABLE dst SELECT id, reflect('java.lang.Thread', 'sleep', 1) "
           "FROM slow", 2.0)
    assert took < BOUND_S
    assert s.execute("SELECT count(*) FROM dst").table.column(0).to_pylist() == [0]
    written = [p for p in (tmp_path / "wh").rglob("*") if p.is_file()]
    assert written == [], written


@pytest.mark.parametrize("yarn", ["false", "true"])
def test_ray_cancel_kills_the_running_task(ray_local, session_for, yarn):
    s = session_for("ray", **{"rayemr.hive.yarn": yarn})
    err, took = _cancelled_after(s, SLOW, 5.0)
    assert took < BOUND_S, f"the cancelled query ran on for {took:.0f} s"
    assert err.counters["Job Counters"].get("Killed map tasks") == 1, err.counters
    assert s.execute("SELECT count(*) FROM slow").table.column(0).to_pylist() == [ROWS]
