"""INSERT writes from the tasks through the output committer: one part file per writing
task, atomically; INSERT with a column list (Hive semantics); differential against DuckDB."""
from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rayemr.core.errors import RayEmrError, UserError


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


def visible(folder) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        out += [os.path.relpath(os.path.join(root, f), folder) for f in files
                if not f.startswith((".", "_"))]
    return sorted(out)


@pytest.fixture
def src(session, tmp_path):
    """An external Parquet table of 3 files (3 splits, so 3 map tasks)."""
    d = tmp_path / "src"
    d.mkdir()
    for i in range(3):
        pq.write_table(pa.table({"id": pa.array(range(i * 10, i * 10 + 10), pa.int32()),
                                 "k": [f"k{j % 3}" for j in range(10)],
                                 "v": [float(j) for j in range(10)]}),
                       d / f"part-{i}.parquet")
    session.execute(f"CREATE EXTERNAL TABLE src (id int, k string, v double) STORED AS "
                    f"PARQUET LOCATION '{d}'")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet('{d}/*.parquet')")
    return session, con


def test_map_only_insert_writes_one_part_file_per_task(src):
    session, con = src
    session.execute("CREATE TABLE t (id int, k string, v double) STORED AS PARQUET")
    r = session.execute("INSERT OVERWRITE TABLE t SELECT id, upper(k), v * 2 FROM src "
                        "WHERE id % 2 = 0")
    written = session.last_counters["HIVE"]["RECORDS_WRITTEN"]
    loc = session.metastore.get_table("default", "t").location
    assert visible(loc) == ["000000_0.parquet", "000001_0.parquet", "000002_0.parquet"]
    assert not any(f.startswith(("_", ".")) for f in os.listdir(loc))
    want = con.execute("SELECT id, upper(k), v * 2 FROM src WHERE id % 2 = 0 "
                       "ORDER BY id").fetchall()
    assert rows(session.execute("SELECT * FROM t ORDER BY id")) == want
    assert r.rows_affected == len(want)
    assert written == len(want)


def test_aggregate_insert_writes_from_the_last_stage(src):
    session, con = src
    session.execute("SET mapreduce.job.reduces=3")
    session.execute("CREATE TABLE agg (k string, n bigint, s double)")
    session.execute("INSERT INTO agg SELECT k, count(*), sum(v) FROM src GROUP BY k")
    want = con.execute("SELECT k, count(*), sum(v) FROM src GROUP BY k ORDER BY k").fetchall()
    assert rows(session.execute("SELECT * FROM agg ORDER BY k")) == want
    # INTO next to existing files: a second part file, not a replaced one
    session.execute("INSERT INTO agg SELECT k, count(*), sum(v) FROM src GROUP BY k")
    assert rows(session.execute("SELECT k, sum(n) FROM agg GROUP BY k ORDER BY k")) == [
        (k, 2 * n) for k, n, _ in want]
    loc = session.metastore.get_table("default", "agg").location
    assert len(visible(loc)) == 2


def test_failing_task_of_a_multi_task_overwrite_keeps_previous_contents(src):
    session, _ = src
    session.execute("CREATE TABLE t (id int) PARTITIONED BY (k string) STORED AS PARQUET")
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("INSERT INTO t PARTITION (k) SELECT id, k FROM src")
    loc = session.metastore.get_table("default", "t").location
    before = visible(loc)
    assert len(before) == 9  # 3 tasks x 3 partitions
    # the task reading the last file fails after the others have written their parts
    for stmt in ("INSERT OVERWRITE TABLE t PARTITION (k) SELECT CASE WHEN id = 25 THEN "
                 "raise_error('boom') ELSE id END, k FROM src",
                 "INSERT OVERWRITE TABLE t PARTITION (k='k0') SELECT CASE WHEN id = 25 "
                 "THEN raise_error('boom') ELSE id END FROM src"):
        with pytest.raises(RayEmrError, match="boom"):
            session.execute(stmt)
        assert visible(loc) == before
        assert not [f for f in os.listdir(loc) if f.startswith((".hive-staging", "_"))]
    assert rows(session.execute("SELECT count(*) FROM t")) == [(30,)]


def test_dynamic_overwrite_replaces_only_partitions_that_get_rows(src):
    session, con = src
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("CREATE TABLE p (id int) PARTITIONED BY (k string) STORED AS PARQUET")
    session.execute("INSERT INTO p PARTITION (k) SELECT id, k FROM src")
    r = session.execute("INSERT OVERWRITE TABLE p PARTITION (k) SELECT -id, k FROM src "
                        "WHERE k = 'k1' AND id < 5")
    assert r.rows_affected == 2
    got = rows(session.execute("SELECT k, count(*), min(id) FROM p GROUP BY k ORDER BY k"))
    k0, k2 = con.execute("SELECT k, count(*), min(id) FROM src WHERE k <> 'k1' GROUP BY k "
                         "ORDER BY k").fetchall()
    assert got == [k0, ("k1", 2, -4), k2]


def test_insert_with_column_list(src):
    session, con = src
    session.execute("CREATE TABLE c (a int, b string, x double) STORED AS PARQUET")
    session.execute("INSERT INTO c (x, a) SELECT v, id FROM src WHERE id < 3")
    session.execute("INSERT INTO TABLE c (b) VALUES ('only-b')")
    session.execute("INSERT INTO c (b, a) VALUES ('vb', 7), ('vc', 8)")
    want = con.execute("SELECT id, NULL, v FROM src WHERE id < 3 UNION ALL "
                       "SELECT NULL, 'only-b', NULL UNION ALL SELECT 7, 'vb', NULL UNION ALL "
                       "SELECT 8, 'vc', NULL ORDER BY 1 NULLS LAST, 2").fetchall()
    assert rows(session.execute("SELECT * FROM c ORDER BY a NULLS LAST, b")) == \
        [tuple(r) for r in want]


def test_insert_column_list_with_partitions(src):
    session, _ = src
    session.execute("CREATE TABLE p (a int, b string) PARTITIONED BY (dt string, k string)")
    session.execute("INSERT INTO p PARTITION (dt='d1', k='x') (b) VALUES ('s')")
    # a dynamic partition column may be listed; unlisted ones follow the listed columns
    session.execute("INSERT INTO p PARTITION (dt='d2', k) (k, a) SELECT k, id FROM src "
                    "WHERE id < 2")
    session.execute("INSERT INTO p PARTITION (dt='d3', k) (b) SELECT 'z', 'y'")
    assert rows(session.execute("SELECT a, b, dt, k FROM p ORDER BY dt, a")) == [
        (None, "s", "d1", "x"), (0, None, "d2", "k0"), (1, None, "d2", "k1"),
        (None, "z", "d3", "y")]


@pytest.mark.parametrize("stmt,message", [
    ("INSERT INTO c (a, nope) SELECT 1, 2", "Invalid column reference 'nope'"),
    ("INSERT INTO c (a, a) SELECT 1, 2", "appears twice"),
    ("INSERT INTO c (a, b) SELECT 1", "returns 1 columns but the target has 2"),
    ("INSERT INTO p PARTITION (dt='d') (dt) SELECT 'x'", "static partition column"),
])
def test_insert_column_list_errors(session, stmt, message):
    session.execute("CREATE TABLE c (a int, b string)")
    session.execute("CREATE TABLE p (a int) PARTITIONED BY (dt string)")
    with pytest.raises(UserError, match=message):
        session.execute(stmt)


def test_ctas_and_directory_write_from_tasks(src, tmp_path):
    session, con = src
    session.execute("CREATE TABLE c STORED AS PARQUET AS SELECT id, k FROM src WHERE v > 5")
    loc = session.metastore.get_table("default", "c").location
    assert len(visible(loc)) == 3
    want = con.execute("SELECT id, k FROM src WHERE v > 5 ORDER BY id").fetchall()
    assert rows(session.execute("SELECT * FROM c ORDER BY id")) == want
    out = tmp_path / "dir"
    session.execute(f"INSERT OVERWRITE LOCAL DIRECTORY '{out}' ROW FORMAT DELIMITED FIELDS "
                    "TERMINATED BY ',' SELECT id, k FROM src WHERE id < 12")
    lines = sorted(line for f in visible(out) for line in open(out / f).read().splitlines())
    assert lines == sorted(f"{i},{k}" for i, k in con.execute(
        "SELECT id, k FROM src WHERE id < 12").fetchall())


def test_explain_insert_shows_the_writing_stage(src):
    session, _ = src
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("CREATE TABLE p (id int) PARTITIONED BY (k string) STORED AS PARQUET")
    lines = [r["Explain"] for r in session.execute(
        "EXPLAIN INSERT OVERWRITE TABLE p PARTITION (k) SELECT id, k FROM src WHERE v > 1"
    ).table.to_pylist()]
    text = "\n".join(lines)
    assert "Stage-1 is a root stage" in text and "Stage-2" not in text  # map-only
    assert "map-only over default.src" in text
    assert ("File Output Operator: target table default.p, format parquet, one file per "
            "task, dynamic partitions: k") in text
    lines = [r["Explain"] for r in session.execute(
        "EXPLAIN INSERT INTO p PARTITION (k='a') SELECT count(*) FROM src").table.to_pylist()]
    assert any("File Output Operator" in x for x in lines)
    assert any("Reduce Operator Tree" in x for x in lines)
