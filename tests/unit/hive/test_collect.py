"""collect_list / collect_set always return an array (Hive's GenericUDAFMkCollectionEvaluator
terminates with a new list): ``[]`` over no rows and over only NULLs, differential against
DuckDB's list aggregates with that rule written out."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

T = pa.table({"k": ["a", "a", "b", "c", "c"],
              "v": pa.array([1, 1, None, 3, None], pa.int32())})


@pytest.fixture
def hive(session, tmp_path):
    (tmp_path / "t").mkdir()
    pq.write_table(T, tmp_path / "t" / "part-0.parquet")
    session.execute("CREATE EXTERNAL TABLE t (k string, v int) STORED AS PARQUET "
                    f"LOCATION '{tmp_path}/t'")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{tmp_path}/t/*.parquet')")
    return session, con


CASES = [
    # global aggregate over no rows: one row holding empty arrays (DuckDB alone gives NULL)
    ("SELECT collect_list(v), collect_set(v) FROM t WHERE k = 'zzz'",
     "SELECT coalesce(list(v) FILTER (WHERE v IS NOT NULL), []), "
     "coalesce(list(DISTINCT v) FILTER (WHERE v IS NOT NULL), []) FROM t WHERE k = 'zzz'"),
    # a group whose values are all NULL: empty array, size 0
    ("SELECT k, collect_list(v), size(collect_set(v)) FROM t GROUP BY k ORDER BY k",
     "SELECT k, coalesce(list(v) FILTER (WHERE v IS NOT NULL), []), "
     "len(coalesce(list(DISTINCT v) FILTER (WHERE v IS NOT NULL), [])) FROM t "
     "GROUP BY k ORDER BY k"),
    # window form
    ("SELECT k, v, collect_list(v) OVER (PARTITION BY k) FROM t ORDER BY k, v",
     "SELECT k, v, coalesce(list(v) FILTER (WHERE v IS NOT NULL) OVER (PARTITION BY k), []) "
     "FROM t ORDER BY k, v NULLS FIRST"),
]


@pytest.mark.parametrize("hive_sql,duck_sql", CASES)
def test_collect_matches_hive_semantics(hive, hive_sql, duck_sql):
    session, con = hive
    got = [tuple(r.values()) for r in session.execute(hive_sql).table.to_pylist()]
    want = [tuple(r) for r in con.execute(duck_sql).fetchall()]
    assert got == want


def test_collect_over_no_rows_is_an_empty_array_not_null(hive):
    session, _ = hive
    r = session.execute("SELECT collect_set(k), collect_list(v) FROM t WHERE v > 100")
    assert [tuple(x.values()) for x in r.table.to_pylist()] == [([], [])]
