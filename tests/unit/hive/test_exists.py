"""EXISTS (SELECT * ...) reads only the columns its WHERE needs; semantics unchanged
(differential against DuckDB, including an aggregate subquery that always has a row)."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


@pytest.fixture
def hive(session, tmp_path):
    data = {"a": pa.table({"k": pa.array([1, 2, 3, 4], pa.int32()), "x": ["p", "q", "r", "s"]}),
            "b": pa.table({"k": pa.array([2, 3, 3, 9], pa.int32()), "y": [1.0, 2.0, 3.0, 4.0],
                           "z": ["u", "v", "w", "x"]})}
    con = duckdb.connect()
    for name, t in data.items():
        (tmp_path / name).mkdir()
        pq.write_table(t, tmp_path / name / "part-0.parquet")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM "
                    f"read_parquet('{tmp_path}/{name}/*.parquet')")
    session.execute(f"CREATE EXTERNAL TABLE a (k int, x string) STORED AS PARQUET "
                    f"LOCATION '{tmp_path}/a'")
    session.execute(f"CREATE EXTERNAL TABLE b (k int, y double, z string) STORED AS PARQUET "
                    f"LOCATION '{tmp_path}/b'")
    return session, con


QUERIES = [
    "SELECT x FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k) ORDER BY x",
    "SELECT x FROM a WHERE NOT EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.y > 2) "
    "ORDER BY x",
    # a global aggregate has a row even over no rows: every row of a qualifies
    "SELECT x FROM a WHERE EXISTS (SELECT count(*) FROM b WHERE b.k = a.k) ORDER BY x",
    "SELECT x FROM a WHERE EXISTS (SELECT DISTINCT z FROM b WHERE b.k = a.k) ORDER BY x",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_exists_matches_duckdb(hive, sql):
    session, con = hive
    got = [tuple(r.values()) for r in session.execute(sql).table.to_pylist()]
    assert got == [tuple(r) for r in con.execute(sql).fetchall()]


def test_exists_star_scans_only_the_columns_it_needs(hive):
    session, _ = hive
    plan = session.compile(QUERIES[1])
    scan_b = [s for s in plan.scans if s.table == "default.b"]
    assert [s.columns for s in scan_b] == [("k", "y")]
