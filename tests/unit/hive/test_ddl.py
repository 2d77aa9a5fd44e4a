"""DDL statements, SHOW and DESCRIBE output shapes."""
from __future__ import annotations

import os

import pytest

from rayemr.core.errors import InputNotFoundError, OutputExistsError, UserError


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


def test_databases_use_and_drop(session, tmp_path):
    session.execute("CREATE DATABASE sales COMMENT 'money'")
    session.execute("CREATE DATABASE IF NOT EXISTS sales")
    with pytest.raises(OutputExistsError, match="sales"):
        session.execute("CREATE DATABASE sales")
    assert rows(session.execute("SHOW DATABASES")) == [("default",), ("sales",)]
    assert rows(session.execute("SHOW DATABASES LIKE 'sa*'")) == [("sales",)]
    session.execute("USE sales")
    session.execute("CREATE TABLE t (a int)")
    assert session.metastore.get_table("sales", "t").location.endswith("sales.db/t")
    with pytest.raises(UserError, match="not empty"):
        session.execute("DROP DATABASE sales")
    session.execute("DROP DATABASE sales CASCADE")
    assert session.database == "default"
    with pytest.raises(InputNotFoundError, match="nosuch"):
        session.execute("USE nosuch")


def test_describe_matches_hive_shape(session):
    session.execute("CREATE TABLE p (a int COMMENT 'the a', b string) PARTITIONED BY "
                    "(dt string, hr int) STORED AS PARQUET")
    got = rows(session.execute("DESCRIBE p"))
    assert got == [
        ("a", "int", "the a"), ("b", "string", ""), ("dt", "string", ""), ("hr", "int", ""),
        ("", None, None), ("# Partition Information", None, None),
        ("# col_name", "data_type", "comment"), ("dt", "string", ""), ("hr", "int", "")]
    assert [c.name for c in session.execute("DESCRIBE p").columns] == [
        "col_name", "data_type", "comment"]


def test_describe_rows_parse_like_sqlalchemy_hive_dialect(session):
    """pyhive's SQLAlchemy dialect reads DESCRIBE until '# Partition Information'."""
    session.execute("CREATE TABLE p (a int, b string) PARTITIONED BY (dt string)")
    raw = rows(session.execute("DESCRIBE p"))
    raw = [[c.strip() if c else None for c in r] for r in raw]
    raw = [r for r in raw if r[0] and r[0] != "# col_name"]
    cols = []
    for name, typ, _ in raw:
        if name == "# Partition Information":
            break
        cols.append((name, typ))
    assert cols == [("a", "int"), ("b", "string"), ("dt", "string")]


def test_describe_formatted_sections(session):
    session.execute("CREATE EXTERNAL TABLE t (a int) PARTITIONED BY (dt string) ROW FORMAT "
                    "DELIMITED FIELDS TERMINATED BY ',' LOCATION '/tmp/x_rayemr_t' "
                    "TBLPROPERTIES ('skip.header.line.count'='1')")
    got = rows(session.execute("DESCRIBE FORMATTED t"))
    firsts = [r[0].strip() if r[0] else r[0] for r in got]
    assert firsts[0] == "# col_name" and firsts[1] == "a"
    for section in ("# Partition Information", "# Detailed Table Information",
                    "# Storage Information", "Table Parameters:", "Location:",
                    "Table Type:", "SerDe Library:", "InputFormat:"):
        assert section in firsts, section
    table_type = got[firsts.index("Table Type:")][1].strip()
    assert table_type == "EXTERNAL_TABLE"
    params = {r[1].strip(): r[2].strip() for r in got if r[0] == "" and r[1]}
    assert params["skip.header.line.count"] == "1" and params["field.delim"] == ","


def test_show_create_table_round_trips(session):
    session.execute("CREATE EXTERNAL TABLE t (a int COMMENT 'x', m map<string,int>) "
                    "PARTITIONED BY (dt string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' "
                    "NULL DEFINED AS '' STORED AS TEXTFILE LOCATION '/tmp/rt_src' "
                    "TBLPROPERTIES ('k'='v')")
    text = "\n".join(r[0] for r in rows(session.execute("SHOW CREATE TABLE t")))
    assert text.startswith("CREATE EXTERNAL TABLE `default`.`t`(")
    session.execute("CREATE DATABASE copy")
    session.execute(text.replace("`default`.`t`", "copy.t"))
    a, b = session.metastore.get_table("default", "t"), session.metastore.get_table("copy", "t")
    assert a.columns == b.columns and a.partition_keys == b.partition_keys
    assert a.storage == b.storage and a.location == b.location
    assert dict(b.properties)["k"] == "v"


def test_show_tables_and_like(session):
    for t in ("web_logs", "web_users", "orders"):
        session.execute(f"CREATE TABLE {t} (a int)")
    assert rows(session.execute("SHOW TABLES")) == [("orders",), ("web_logs",), ("web_users",)]
    assert rows(session.execute("SHOW TABLES LIKE 'web*'")) == [("web_logs",), ("web_users",)]


def test_drop_managed_deletes_data_external_keeps_it(session, tmp_path):
    session.execute("CREATE TABLE m (a int)")
    session.execute("INSERT INTO m SELECT 1")
    loc = session.metastore.get_table("default", "m").location
    assert os.listdir(loc)
    session.execute("DROP TABLE m")
    assert not os.path.exists(loc)
    ext = tmp_path / "ext"
    session.execute(f"CREATE EXTERNAL TABLE e (a int) LOCATION '{ext}'")
    session.execute("INSERT INTO e SELECT 1")
    session.execute("DROP TABLE e")
    assert os.listdir(ext)
    session.execute("DROP TABLE IF EXISTS e")
    with pytest.raises(InputNotFoundError, match="Table not found e "):
        session.execute("DROP TABLE e")


def test_alter_table_forms(session):
    session.execute("CREATE TABLE t (a int) PARTITIONED BY (dt string)")
    session.execute("ALTER TABLE t ADD PARTITION (dt='1') PARTITION (dt='2')")
    assert rows(session.execute("SHOW PARTITIONS t")) == [("dt=1",), ("dt=2",)]
    with pytest.raises(OutputExistsError, match="dt=1"):
        session.execute("ALTER TABLE t ADD PARTITION (dt='1')")
    session.execute("ALTER TABLE t DROP PARTITION (dt='1')")
    assert rows(session.execute("SHOW PARTITIONS t")) == [("dt=2",)]
    session.execute("ALTER TABLE t ADD COLUMNS (b string COMMENT 'new')")
    assert [c.name for c in session.metastore.get_table("default", "t").columns] == ["a", "b"]
    session.execute("ALTER TABLE t CHANGE COLUMN b bb bigint")
    assert session.metastore.get_table("default", "t").columns[1].type == "bigint"
    session.execute("ALTER TABLE t SET TBLPROPERTIES ('owner'='me')")
    assert rows(session.execute("SHOW TBLPROPERTIES t"))[0] == ("owner", "me")
    session.execute("INSERT INTO t PARTITION (dt='2') SELECT 5, 6")
    session.execute("ALTER TABLE t RENAME TO u")
    assert rows(session.execute("SELECT a, bb, dt FROM u")) == [(5, 6, "2")]


def test_views(session):
    session.execute("CREATE TABLE t (a int, b string)")
    session.execute("INSERT INTO t SELECT 1, 'x' UNION ALL SELECT 2, 'y'")
    session.execute("CREATE VIEW v AS SELECT a * 10 AS a10, upper(b) FROM t WHERE a > 1")
    assert rows(session.execute("SELECT * FROM v")) == [(20, "Y")]
    assert rows(session.execute("DESCRIBE v")) == [("a10", "int", ""), ("_c1", "string", "")]
    session.execute("CREATE VIEW v2 (x, y) AS SELECT a, b FROM t")
    assert rows(session.execute("SELECT y FROM v2 WHERE x = 1")) == [("x",)]
    with pytest.raises(UserError, match="DROP VIEW"):
        session.execute("DROP TABLE v")
    session.execute("DROP VIEW v")
    with pytest.raises(InputNotFoundError, match="Table not found 'v'"):
        session.execute("SELECT * FROM v")
