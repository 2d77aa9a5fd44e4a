"""INSERT, CTAS, LOAD DATA, TRUNCATE and INSERT OVERWRITE DIRECTORY through the committer."""
from __future__ import annotations

import os

import pytest

from rayemr.core.errors import RayEmrError, UserError


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


def test_insert_into_appends_and_overwrite_replaces(session):
    session.execute("CREATE TABLE t (a int, b string) STORED AS PARQUET")
    session.execute("INSERT INTO TABLE t SELECT 1, 'x'")
    session.execute("INSERT INTO t SELECT 2, 'y'")
    assert rows(session.execute("SELECT * FROM t ORDER BY a")) == [(1, "x"), (2, "y")]
    loc = session.metastore.get_table("default", "t").location
    assert len([f for f in os.listdir(loc) if not f.startswith((".", "_"))]) == 2
    r = session.execute("INSERT OVERWRITE TABLE t SELECT 3, 'z'")
    assert r.rows_affected == 1
    assert rows(session.execute("SELECT * FROM t")) == [(3, "z")]
    assert not any(f.startswith((".hive-staging", "_temporary")) for f in os.listdir(loc))


def test_insert_casts_to_table_types_and_checks_arity(session):
    session.execute("CREATE TABLE t (a int, d decimal(5,2))")
    session.execute("INSERT INTO t SELECT '7', 1.234")
    assert rows(session.execute("SELECT a, CAST(d AS string) FROM t")) == [(7, "1.23")]
    with pytest.raises(UserError, match="returns 1 columns but the target has 2"):
        session.execute("INSERT INTO t SELECT 1")


def test_static_and_dynamic_partitions(session):
    session.execute("CREATE TABLE src (id int, country string, dt string)")
    session.execute("INSERT INTO src SELECT 1, 'us', '2020-01-01' UNION ALL "
                    "SELECT 2, 'fr', '2020-01-01' UNION ALL SELECT 3, 'us', '2020-01-02'")
    session.execute("CREATE TABLE p (id int) PARTITIONED BY (dt string, country string) "
                    "STORED AS PARQUET")
    session.execute("INSERT INTO p PARTITION (dt='2019-12-31', country='us') SELECT 0")
    with pytest.raises(UserError, match="strict mode"):
        session.execute("INSERT INTO p PARTITION (dt, country) SELECT id, dt, country FROM src")
    session.execute("INSERT INTO p PARTITION (dt='2020-01-01', country) "
                    "SELECT id, country FROM src WHERE dt = '2020-01-01'")
    session.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    session.execute("INSERT OVERWRITE TABLE p PARTITION (dt, country) "
                    "SELECT id, dt, country FROM src WHERE dt = '2020-01-02'")
    assert rows(session.execute("SHOW PARTITIONS p")) == [
        ("dt=2019-12-31/country=us",), ("dt=2020-01-01/country=fr",),
        ("dt=2020-01-01/country=us",), ("dt=2020-01-02/country=us",)]
    assert rows(session.execute("SELECT id, dt, country FROM p ORDER BY id")) == [
        (0, "2019-12-31", "us"), (1, "2020-01-01", "us"), (2, "2020-01-01", "fr"),
        (3, "2020-01-02", "us")]
    loc = session.metastore.get_table("default", "p").location
    assert os.path.isdir(os.path.join(loc, "dt=2020-01-01", "country=fr"))


def test_failing_insert_overwrite_keeps_previous_contents(session):
    session.execute("CREATE TABLE t (a int) STORED AS PARQUET")
    session.execute("INSERT INTO t SELECT 1 UNION ALL SELECT 2")
    loc = session.metastore.get_table("default", "t").location
    before = sorted(os.listdir(loc))
    with pytest.raises(RayEmrError, match="boom"):
        session.execute("INSERT OVERWRITE TABLE t SELECT CASE WHEN a > 1 THEN "
                        "raise_error('boom') ELSE a END FROM t")
    assert sorted(os.listdir(loc)) == before
    assert rows(session.execute("SELECT a FROM t ORDER BY a")) == [(1,), (2,)]


def test_failing_write_aborts_the_commit(session, monkeypatch):
    from rayemr.hive import write

    session.execute("CREATE TABLE t (a int)")
    session.execute("INSERT INTO t SELECT 1")

    def broken(data, fmt):
        raise OSError("disk full")

    monkeypatch.setattr(write, "serialize", broken)  # the tasks write the part files
    with pytest.raises(RayEmrError, match="disk full"):
        session.execute("INSERT OVERWRITE TABLE t SELECT 2")
    monkeypatch.undo()
    assert rows(session.execute("SELECT a FROM t")) == [(1,)]


def test_ctas_and_create_table_like(session):
    session.execute("CREATE TABLE s (a int, b string)")
    session.execute("INSERT INTO s SELECT 1, 'x' UNION ALL SELECT 2, 'y'")
    session.execute("CREATE TABLE c STORED AS PARQUET AS SELECT a * 2 AS a2, b FROM s "
                    "WHERE a > 1")
    t = session.metastore.get_table("default", "c")
    assert [(c.name, c.type) for c in t.columns] == [("a2", "int"), ("b", "string")]
    assert t.storage.kind == "parquet"
    assert rows(session.execute("SELECT * FROM c")) == [(4, "y")]
    session.execute("CREATE TABLE l LIKE s")
    assert session.metastore.get_table("default", "l").columns == \
        session.metastore.get_table("default", "s").columns
    assert rows(session.execute("SELECT count(*) FROM l")) == [(0,)]


def test_load_data(session, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("1,x\n2,y\n")
    session.execute("CREATE TABLE t (a int, b string) ROW FORMAT DELIMITED FIELDS "
                    "TERMINATED BY ','")
    session.execute(f"LOAD DATA LOCAL INPATH '{src}/a.txt' INTO TABLE t")
    session.execute(f"LOAD DATA LOCAL INPATH '{src}/a.txt' INTO TABLE t")
    assert (src / "a.txt").exists()
    assert rows(session.execute("SELECT count(*) FROM t")) == [(4,)]
    session.execute(f"LOAD DATA INPATH '{src}/a.txt' OVERWRITE INTO TABLE t")
    assert not (src / "a.txt").exists()
    assert rows(session.execute("SELECT count(*) FROM t")) == [(2,)]
    session.execute("CREATE TABLE p (a int, b string) PARTITIONED BY (dt string) ROW FORMAT "
                    "DELIMITED FIELDS TERMINATED BY ','")
    (src / "b.txt").write_text("3,z\n")
    session.execute(f"LOAD DATA LOCAL INPATH '{src}/b.txt' INTO TABLE p PARTITION (dt='d1')")
    assert rows(session.execute("SELECT a, dt FROM p")) == [(3, "d1")]


def test_truncate_and_insert_directory(session, tmp_path):
    session.execute("CREATE TABLE t (a int, b string)")
    session.execute("INSERT INTO t SELECT 1, 'x'")
    out = tmp_path / "out"
    session.execute(f"INSERT OVERWRITE LOCAL DIRECTORY '{out}' ROW FORMAT DELIMITED "
                    "FIELDS TERMINATED BY ',' SELECT a, b FROM t")
    files = [f for f in os.listdir(out) if not f.startswith("_")]
    assert open(out / files[0]).read() == "1,x\n"
    session.execute("TRUNCATE TABLE t")
    assert rows(session.execute("SELECT count(*) FROM t")) == [(0,)]


def test_multi_insert(session):
    session.execute("CREATE TABLE s (a int)")
    session.execute("INSERT INTO s SELECT 1 UNION ALL SELECT 5")
    session.execute("CREATE TABLE small (a int)")
    session.execute("CREATE TABLE big (a int)")
    session.execute("FROM s INSERT INTO TABLE small SELECT a WHERE a < 3 "
                    "INSERT INTO TABLE big SELECT a WHERE a >= 3")
    assert rows(session.execute("SELECT * FROM small")) == [(1,)]
    assert rows(session.execute("SELECT * FROM big")) == [(5,)]


def test_multi_insert_reads_its_sources_before_any_insert_is_published(session):
    """Every INSERT of a multi-insert sees the source as it was (an OVERWRITE of the source
    does not leak into the others), and a failing INSERT publishes none of them."""
    session.execute("CREATE TABLE s (a int) STORED AS PARQUET")
    session.execute("INSERT INTO s SELECT 1 UNION ALL SELECT 5")
    session.execute("CREATE TABLE copy (a int)")
    r = session.execute("FROM s INSERT OVERWRITE TABLE s SELECT a + 10 "
                        "INSERT INTO TABLE copy SELECT a")
    assert r.rows_affected == 4
    assert rows(session.execute("SELECT a FROM s ORDER BY a")) == [(11,), (15,)]
    assert rows(session.execute("SELECT a FROM copy ORDER BY a")) == [(1,), (5,)]
    with pytest.raises(RayEmrError, match="boom"):
        session.execute("FROM s INSERT OVERWRITE TABLE copy SELECT a "
                        "INSERT INTO TABLE s SELECT CASE WHEN a > 12 THEN raise_error('boom') "
                        "ELSE a END")
    assert rows(session.execute("SELECT a FROM copy ORDER BY a")) == [(1,), (5,)]
    assert rows(session.execute("SELECT a FROM s ORDER BY a")) == [(11,), (15,)]
    for t in ("s", "copy"):
        loc = session.metastore.get_table("default", t).location
        assert not any(f.startswith((".hive-staging", "_temporary")) for f in os.listdir(loc))


def test_insert_values_and_current_database(session):
    session.execute("CREATE TABLE t (a int, b string)")
    assert session.execute("INSERT INTO t VALUES (1, 'a'), (2, NULL)").rows_affected == 2
    assert rows(session.execute("SELECT * FROM t ORDER BY a")) == [(1, "a"), (2, None)]
    assert rows(session.execute("SELECT current_database()")) == [("default",)]
