"""A big Parquet file is split by row groups into several map tasks; DuckDB's row-group
statistics pruning still applies inside each split. Differential against DuckDB."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

N = 40_000


@pytest.fixture
def big(session, tmp_path):
    d = tmp_path / "big"
    d.mkdir()
    t = pa.table({"id": pa.array(range(N), pa.int64()),
                  "g": pa.array([i % 7 for i in range(N)], pa.int32()),
                  "s": [f"row-{i:06d}" for i in range(N)]})
    pq.write_table(t, d / "one.parquet", row_group_size=5_000)  # 8 row groups
    pq.write_table(t.slice(0, 100), d / "small.parquet")
    session.execute(f"CREATE EXTERNAL TABLE big (id bigint, g int, s string) STORED AS "
                    f"PARQUET LOCATION '{d}'")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW big AS SELECT * FROM read_parquet('{d}/*.parquet')")
    return session, con, d


def _splits(session):
    plan = session.compile("SELECT * FROM big")
    return session.splits_for(plan.scans[0])


def test_big_file_gives_row_group_splits(big):
    session, _, d = big
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=40000")
    splits = _splits(session)
    one = [sp for sp in splits if sp.url.endswith("one.parquet")]
    assert len(one) > 1
    # consecutive row groups, row ranges tile the file exactly
    groups = [g for sp in one for g in sp.row_groups]
    assert groups == list(range(8))
    assert one[0].rows[0] == 0 and one[-1].rows[1] == N
    assert all(a.rows[1] == b.rows[0] for a, b in zip(one, one[1:]))
    small = [sp for sp in splits if sp.url.endswith("small.parquet")]
    assert len(small) == 1 and not small[0].rows
    session.execute("RESET mapreduce.input.fileinputformat.split.maxsize")
    assert len(_splits(session)) == 2


def test_splits_are_grouped_to_the_waves_of_the_cluster(big, monkeypatch):
    """With no split size set, a file of many row groups is cut into about 1.7 waves of
    tasks (Tez's split grouping), not one task per split-size chunk."""
    from rayemr.hive import storage

    session, _, _ = big
    monkeypatch.setattr(storage, "DEFAULT_SPLIT_SIZE", 1)  # one split per row group
    monkeypatch.setattr(session, "cluster_cpus", lambda start=True: 2)
    one = [sp for sp in _splits(session) if sp.url.endswith("one.parquet")]
    assert 2 <= len(one) <= 4  # ceil(2 CPUs x 1.7 waves) tasks over both files
    assert [g for sp in one for g in sp.row_groups] == list(range(8))
    session.execute("SET tez.grouping.split-waves=0")
    assert len([sp for sp in _splits(session) if sp.url.endswith("one.parquet")]) == 8
    session.execute("RESET tez.grouping.split-waves")


@pytest.mark.parametrize("sql", [
    "SELECT count(*), sum(id), count(DISTINCT s) FROM big",
    "SELECT g, count(*), min(s), max(id) FROM big GROUP BY g ORDER BY g",
    "SELECT id, s FROM big WHERE id BETWEEN 12345 AND 12350 ORDER BY id",
    "SELECT s FROM big ORDER BY id DESC LIMIT 3",
])
def test_row_group_splits_match_duckdb(big, sql):
    session, con, _ = big
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=40000")
    got = [tuple(r.values()) for r in session.execute(sql).table.to_pylist()]
    assert got == [tuple(r) for r in con.execute(sql).fetchall()]
    assert session.last_counters["Job Counters"]["Launched map tasks"] > 2


def test_statistics_pruning_inside_a_split(big):
    from rayemr.hive import exec as hexec

    session, _, _ = big
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=40000")
    plan = session.compile("SELECT s FROM big WHERE id = 7")
    scan = plan.scans[0]
    assert scan.filter  # pushed into the scan
    sp = [s for s in session.splits_for(scan) if s.url.endswith("one.parquet")][0]
    con = hexec.acquire(1)
    try:
        profile = con.sql("EXPLAIN ANALYZE " + hexec._parquet_sql(scan, sp, con)).fetchall()
    finally:
        hexec.release(con)
    text = profile[0][1]
    # the split holds several row groups; the id filter leaves one to scan
    assert f"Row Groups Scanned: 1 / 8" in text or "Row Groups Scanned: 1/8" in text


def test_filter_selectivity_is_sampled_from_the_splits(big):
    from rayemr.hive import exec as hexec

    session, _, _ = big
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=40000")
    scan = session.compile("SELECT s FROM big WHERE g = 3").scans[0]
    splits = session.splits_for(scan)
    share = hexec.sample_selectivity(scan, splits)
    assert share == pytest.approx(1 / 7, abs=0.02)
    none = hexec.sample_selectivity(session.compile("SELECT s FROM big WHERE id < 0").scans[0],
                                    splits)
    assert none is not None and none < 0.001
    assert hexec.sample_selectivity(session.compile("SELECT s FROM big").scans[0],
                                    splits) is None  # no filter, nothing to tell
