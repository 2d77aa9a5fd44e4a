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
