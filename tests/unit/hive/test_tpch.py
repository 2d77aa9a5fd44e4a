"""The 22 TPC-H queries over CREATE EXTERNAL TABLE ... STORED AS PARQUET return DuckDB's
results over the same files (sums to cents, averages to 4 decimals)."""
from __future__ import annotations

import pytest

from rayemr.hive.testing import rows_equal, tpch_queries

QUERIES = tpch_queries()


@pytest.mark.parametrize("number", sorted(QUERIES))
def test_tpch_query_matches_duckdb(tpch_session, tpch_duckdb, number):
    sql = QUERIES[number]
    want = tpch_duckdb.execute(sql).fetchall()
    result = tpch_session.execute(sql)
    got = [tuple(r.values()) for r in result.table.to_pylist()]
    assert result.has_result_set
    assert len(want) > 0
    assert rows_equal(got, want), f"Q{number}: {got[:3]} != {want[:3]}"


@pytest.mark.parametrize("number", [1, 3, 12, 14, 19])
def test_tpch_with_shuffle_joins_and_three_reducers(tpch_session, tpch_duckdb, number):
    """The two-table aggregates become shuffle (common) joins when no side is 'small'."""
    tpch_session.execute("SET hive.mapjoin.smalltable.filesize=1000")
    tpch_session.execute("SET mapreduce.job.reduces=3")
    sql = QUERIES[number]
    plan = "\n".join(r["Explain"] for r in tpch_session.execute("EXPLAIN " + sql)
                     .table.to_pylist())
    if number in (12, 14):
        assert "shuffle join" in plan
    want = tpch_duckdb.execute(sql).fetchall()
    got = [tuple(r.values()) for r in tpch_session.execute(sql).table.to_pylist()]
    assert rows_equal(got, want), f"Q{number}: {got[:3]} != {want[:3]}"


@pytest.mark.parametrize("inline_bytes", ["16777216", "20000"])
def test_tpch_with_small_tables_read_in_place(tpch_session, tpch_duckdb, inline_bytes):
    """Hive's reducer estimate (one reducer for these inputs) and small tables read by the
    tasks that join them: all of them (16 MiB), or only the smallest (20 kB: nation, region,
    supplier), the rest in scan stages of their own."""
    tpch_session.execute("RESET mapreduce.job.reduces")
    tpch_session.execute(f"SET rayemr.hive.scan.inline.maxbytes={inline_bytes}")
    for number, sql in sorted(QUERIES.items()):
        want = tpch_duckdb.execute(sql).fetchall()
        got = [tuple(r.values()) for r in tpch_session.execute(sql).table.to_pylist()]
        assert rows_equal(got, want), f"Q{number}: {got[:3]} != {want[:3]}"
    plan = "\n".join(r["Explain"] for r in tpch_session.execute("EXPLAIN " + QUERIES[5])
                     .table.to_pylist())
    assert "read in each task (small table)" in plan and "hash partition" not in plan
    assert ("scan default.orders" in plan) == (inline_bytes == "20000")



@pytest.mark.parametrize("sample", ["true", "false"])
def test_tpch_q12_sends_the_side_its_filter_leaves_small(tpch_session, tpch_duckdb, sample):
    """Both tables are over the map-join size on disk; the share of lineitem's rows its filter
    keeps is sampled (about 0.5%), which makes it the small side: lineitem is scanned first
    and sent to the tasks that scan orders, with no shuffle join."""
    tpch_session.execute("SET hive.mapjoin.smalltable.filesize=100000")
    tpch_session.execute(f"SET rayemr.hive.sample.selectivity={sample}")
    sql = QUERIES[12]
    plan = "\n".join(r["Explain"] for r in tpch_session.execute("EXPLAIN " + sql)
                     .table.to_pylist())
    assert ("shuffle join" in plan) == (sample == "false")
    if sample == "true":
        assert "partial aggregate over default.orders" in plan
    want = tpch_duckdb.execute(sql).fetchall()
    got = [tuple(r.values()) for r in tpch_session.execute(sql).table.to_pylist()]
    assert rows_equal(got, want), f"Q12: {got[:3]} != {want[:3]}"
