"""``rayemr.hive.task.memory.mb``: each task's DuckDB connections hold at most that much and
spill beyond it, so an aggregation bigger than a task's memory still completes."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rayemr.core.errors import UserError
from rayemr.hive import exec as hexec

MIB = 1024 * 1024


def _limit(con) -> int:
    return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def test_connections_acquired_in_a_task_get_its_memory_limit():
    con = hexec.acquire(1)
    default = _limit(con)
    hexec.release(con)
    with hexec.task_memory(64 * MIB):
        con = hexec.acquire(1)
        try:
            assert _limit(con) != default and "MiB" in _limit(con)
        finally:
            hexec.release(con)
    con = hexec.acquire(1)  # the same pooled connection, back to DuckDB's default
    try:
        assert _limit(con) == default
    finally:
        hexec.release(con)


@pytest.fixture
def wide(session, tmp_path):
    n = 2_000_000
    d = tmp_path / "wide"
    d.mkdir()
    keys = pa.array([f"key-{i:09d}-{'x' * 24}" for i in range(n)])
    pq.write_table(pa.table({"k": keys, "v": pa.array(range(n), pa.int64())}),
                   d / "part.parquet", row_group_size=250_000)
    session.execute(f"CREATE EXTERNAL TABLE wide (k string, v bigint) STORED AS PARQUET "
                    f"LOCATION '{d}'")
    return session, d


def test_an_aggregation_bigger_than_the_task_memory_spills_and_completes(wide):
    session, d = wide
    session.execute("SET rayemr.hive.task.memory.mb=48")
    sql = ("SELECT count(*), sum(c), max(k) FROM (SELECT k, count(*) AS c FROM wide "
           "GROUP BY k) g")
    got = [tuple(r.values()) for r in session.execute(
        "SELECT k, count(*) AS c, sum(v) AS s FROM wide GROUP BY k ORDER BY s DESC LIMIT 3"
    ).table.to_pylist()]
    want = duckdb.sql(f"SELECT k, count(*) AS c, sum(v) AS s FROM '{d}/part.parquet' "
                      "GROUP BY k ORDER BY s DESC LIMIT 3").fetchall()
    assert got == want
    assert [tuple(r.values()) for r in session.execute(sql).table.to_pylist()] == \
        duckdb.sql(sql.replace("wide", f"'{d}/part.parquet'")).fetchall()


def test_a_task_memory_that_is_not_a_number_is_refused_before_any_task(wide):
    session, _ = wide
    session.execute("SET rayemr.hive.task.memory.mb=lots")
    with pytest.raises(UserError, match="rayemr.hive.task.memory.mb must be an integer"):
        session.execute("SELECT count(*) FROM wide")
