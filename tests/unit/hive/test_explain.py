"""EXPLAIN output is stable: golden files under golden/ (regenerate with UPDATE_GOLDEN=1)."""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

GOLDEN = Path(__file__).parent / "golden"

QUERIES = {
    "scan_filter": "SELECT id, name FROM people WHERE age > 30",
    "partition_pruning": "SELECT count(*) FROM events WHERE dt = '2020-01-02'",
    "partial_aggregate": "SELECT city, count(*), avg(age) FROM people GROUP BY city "
                         "HAVING count(*) > 1 ORDER BY city LIMIT 5",
    "map_join_aggregate": "SELECT p.city, sum(e.n) FROM events e JOIN people p "
                          "ON e.person = p.id GROUP BY p.city",
    "subquery": "SELECT name FROM people WHERE id IN (SELECT person FROM events)",
}


@pytest.fixture
def hive(session, tmp_path):
    people = tmp_path / "people"
    people.mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"], "age": [20, 40, 50],
                             "city": ["x", "y", "x"]}), people / "p.parquet")
    session.execute("CREATE EXTERNAL TABLE people (id bigint, name string, age bigint, "
                    f"city string) STORED AS PARQUET LOCATION '{people}'")
    session.execute("CREATE TABLE events (person bigint, n int) PARTITIONED BY (dt string) "
                    "STORED AS PARQUET")
    for dt in ("2020-01-01", "2020-01-02", "2020-01-03"):
        session.execute(f"INSERT INTO events PARTITION (dt='{dt}') SELECT 1, 2")
    return session


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_explain_golden(hive, name):
    text = "\n".join(r["Explain"] for r in
                     hive.execute("EXPLAIN " + QUERIES[name]).table.to_pylist()) + "\n"
    path = GOLDEN / f"explain_{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_explain_is_deterministic(hive):
    a = hive.execute("EXPLAIN " + QUERIES["map_join_aggregate"]).table
    b = hive.execute("EXPLAIN " + QUERIES["map_join_aggregate"]).table
    assert a.equals(b)


def test_pruning_reads_only_matching_partitions(hive):
    r = hive.execute("SELECT count(*) FROM events WHERE dt >= '2020-01-02'")
    assert r.table.column(0).to_pylist() == [2]
    assert any("2 of 3 partitions" in line for line in r.log)
    assert hive.last_counters["HIVE"]["FILES_READ"] == 2


def test_limit_pushed_into_scans(hive):
    text = "\n".join(r["Explain"] for r in hive.execute(
        "EXPLAIN SELECT name FROM people WHERE age > 30 LIMIT 1").table.to_pylist())
    assert "limit: 1" in text
    r = hive.execute("SELECT name FROM people WHERE age > 30 LIMIT 1")
    assert r.table.num_rows == 1 and r.table.column(0)[0].as_py() in ("b", "c")
    assert hive.last_counters["HIVE"]["RECORDS_IN"] == 1
    ordered = "\n".join(r["Explain"] for r in hive.execute(
        "EXPLAIN SELECT name FROM people ORDER BY age LIMIT 1").table.to_pylist())
    assert "limit:" not in ordered


def test_order_by_uses_sampled_range_partitions(session, tmp_path):
    import random

    d = tmp_path / "big"
    d.mkdir()
    rnd = random.Random(7)
    values = [rnd.randint(0, 10_000) for _ in range(4000)] + [None] * 5
    for i in range(4):
        part = values[i::4]
        pq.write_table(pa.table({"k": pa.array(part, pa.int64()),
                                 "s": [f"v{j}" for j in range(len(part))]}),
                       d / f"p{i}.parquet")
    session.execute(f"CREATE EXTERNAL TABLE big (k bigint, s string) STORED AS PARQUET "
                    f"LOCATION '{d}'")
    session.execute("SET mapreduce.job.reduces=3")
    text = "\n".join(r["Explain"] for r in session.execute(
        "EXPLAIN SELECT k, s FROM big ORDER BY k DESC").table.to_pylist())
    assert "range partition on the sort key" in text and "column partition by __part into 3" \
        in text
    got = session.execute("SELECT k, s FROM big ORDER BY k DESC").table.column("k").to_pylist()
    want = sorted((v for v in values if v is not None), reverse=True) + [None] * 5
    assert got == want
    asc = session.execute("SELECT k * 2 AS k2 FROM big WHERE k > 100 ORDER BY k2 LIMIT 7")
    assert asc.table.column("k2").to_pylist() == sorted(
        2 * v for v in values if v is not None and v > 100)[:7]


def test_shuffle_join_when_both_sides_are_large(hive):
    sql = ("SELECT p.city, sum(e.n), count(*) FROM events e JOIN people p ON e.person = p.id "
           "GROUP BY p.city ORDER BY p.city")
    want = hive.execute(sql).table
    hive.execute("SET hive.mapjoin.smalltable.filesize=10")
    text = "\n".join(r["Explain"] for r in hive.execute("EXPLAIN " + sql).table.to_pylist())
    assert "shuffle join and partial aggregate" in text
    assert "hash partition by person into 2" in text and "hash partition by id into 2" in text
    assert hive.execute(sql).table.equals(want)
    hive.execute("SET hive.auto.convert.join=false")
    assert "shuffle join" in "\n".join(
        r["Explain"] for r in hive.execute("EXPLAIN " + sql).table.to_pylist())
    assert hive.execute(sql).table.equals(want)


def test_small_jobs_run_as_one_task(hive):
    sql = "SELECT city, count(*) FROM people GROUP BY city ORDER BY city"
    want = hive.execute(sql).table
    hive.execute("SET rayemr.hive.smalljob.maxbytes=1000000")
    text = "\n".join(r["Explain"] for r in hive.execute("EXPLAIN " + sql).table.to_pylist())
    assert "Stage-1 is a root stage" in text and "Stage-2" not in text
    assert "small job" in text
    assert hive.execute(sql).table.equals(want)


def test_small_tables_are_read_by_the_tasks_that_join_them(hive):
    sql = QUERIES["map_join_aggregate"] + " ORDER BY p.city"
    want = hive.execute(sql).table
    staged_files = hive.last_counters["HIVE"]["FILES_READ"]
    hive.execute("RESET rayemr.hive.scan.inline.maxbytes")
    hive.execute("RESET mapreduce.job.reduces")
    text = "\n".join(r["Explain"] for r in hive.execute("EXPLAIN " + sql).table.to_pylist())
    assert "scan default.people" not in text and "Stage-3" not in text
    assert "TableScan (scan1), read in each task (small table)" in text
    assert "single partition into 1" in text and "final aggregate and result" in text
    assert hive.execute(sql).table.equals(want)
    # events' three files are read by three map tasks, each of which also reads people
    assert hive.last_counters["HIVE"]["FILES_READ"] == staged_files + 2
    scan_only = "SELECT p.name FROM people p WHERE p.id IN (SELECT person FROM events)"
    text = "\n".join(r["Explain"] for r in hive.execute("EXPLAIN " + scan_only).table.to_pylist())
    assert "Stage-2" not in text and "scan and result in one task" in text
    assert hive.execute(scan_only).table.to_pydict() == {"p.name": ["a"]}
