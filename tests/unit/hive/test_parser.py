"""rayemr's own HiveQL parser for DDL, DML heads and session commands."""
from __future__ import annotations

import pytest

from rayemr.core.errors import UnsupportedError, UserError
from rayemr.hive.sql import statements as st
from rayemr.hive.sql.lexer import HiveParseError, split_statements, unescape
from rayemr.hive.sql.parser import parse_statement


def test_unescape_follows_hive():
    assert unescape(r"\001") == "\x01"
    assert unescape(r"\t") == "\t"
    assert unescape(r"\\N") == "\\N"
    assert unescape(r"\u0002") == "\x02"
    assert unescape(r"it\'s") == "it's"


def test_split_statements_ignores_semicolons_in_strings_and_comments():
    script = "SELECT ';' FROM t; -- a comment; here\nSHOW TABLES;\n\n-- only a comment\n"
    assert split_statements(script) == ["SELECT ';' FROM t", "-- a comment; here\nSHOW TABLES"]


def test_create_external_table_every_clause():
    stmt = parse_statement(
        "CREATE EXTERNAL TABLE IF NOT EXISTS db.logs (\n"
        "  ts bigint COMMENT 'epoch', msg string, tags array<string>, m map<string,int>,\n"
        "  s struct<a:int, b:decimal(10,2)>)\n"
        "COMMENT 'web logs' PARTITIONED BY (dt string, hr int)\n"
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' COLLECTION ITEMS TERMINATED BY ','\n"
        "MAP KEYS TERMINATED BY ':' LINES TERMINATED BY '\\n' NULL DEFINED AS ''\n"
        "STORED AS TEXTFILE LOCATION 's3://bucket/logs/'\n"
        "TBLPROPERTIES ('skip.header.line.count'='1')")
    assert isinstance(stmt, st.CreateTable)
    assert stmt.external and stmt.if_not_exists and stmt.name == st.TableName("db", "logs")
    assert [c.name for c in stmt.columns] == ["ts", "msg", "tags", "m", "s"]
    assert stmt.columns[4].type == "struct<a:int, b:decimal(10,2)>"
    assert stmt.columns[0].comment == "epoch"
    assert [(c.name, c.type) for c in stmt.partition_keys] == [("dt", "string"), ("hr", "int")]
    assert dict(stmt.row_format.properties) == {
        "field.delim": "\t", "collection.delim": ",", "mapkey.delim": ":",
        "line.delim": "\n", "serialization.null.format": ""}
    assert stmt.stored_as == "textfile" and stmt.location == "s3://bucket/logs/"
    assert stmt.properties == (("skip.header.line.count", "1"),)


def test_create_table_serde_and_ctas():
    stmt = parse_statement(
        "CREATE TABLE c ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' "
        "WITH SERDEPROPERTIES ('separatorChar'=';') STORED AS TEXTFILE AS SELECT * FROM t")
    assert stmt.row_format.serde.endswith("OpenCSVSerde")
    assert stmt.row_format.properties == (("separatorChar", ";"),)
    assert stmt.as_select == "SELECT * FROM t"


def test_insert_forms():
    ins = parse_statement("INSERT OVERWRITE TABLE t PARTITION (dt='2020-01-01', hr) "
                          "SELECT a, b, hr FROM s")
    assert ins.overwrite and ins.partition == (("dt", "2020-01-01"), ("hr", None))
    assert ins.query == "SELECT a, b, hr FROM s"
    into = parse_statement("INSERT INTO t SELECT 1")
    assert not into.overwrite and into.table == st.TableName(None, "t")
    d = parse_statement("INSERT OVERWRITE LOCAL DIRECTORY '/tmp/out' ROW FORMAT DELIMITED "
                        "FIELDS TERMINATED BY ',' SELECT * FROM t")
    assert isinstance(d, st.InsertDirectory) and d.local and d.path == "/tmp/out"


def test_multi_insert_attaches_from_clause():
    m = parse_statement("FROM src s INSERT OVERWRITE TABLE a SELECT s.x WHERE s.x > 1 "
                        "INSERT INTO TABLE b SELECT s.y GROUP BY s.y")
    assert isinstance(m, st.MultiInsert)
    assert m.inserts[0].query == "SELECT s.x FROM src s WHERE s.x > 1"
    assert m.inserts[1].query == "SELECT s.y FROM src s GROUP BY s.y"


def test_alter_table_forms():
    a = parse_statement("ALTER TABLE t ADD IF NOT EXISTS PARTITION (dt='1') LOCATION '/x' "
                        "PARTITION (dt='2')")
    assert a.action == "add_partitions" and a.locations == ("/x", None)
    assert parse_statement("ALTER TABLE t DROP IF EXISTS PARTITION (dt='1')").if_exists
    assert parse_statement("ALTER TABLE t RENAME TO u").new_name == st.TableName(None, "u")
    assert parse_statement("ALTER TABLE t ADD COLUMNS (c int)").columns[0].name == "c"
    assert parse_statement("ALTER TABLE t SET TBLPROPERTIES ('a'='b')").properties == (
        ("a", "b"),)


@pytest.mark.parametrize("sql,kind", [
    ("SHOW DATABASES LIKE 'x*'", st.ShowDatabases),
    ("SHOW TABLES IN db", st.ShowTables),
    ("SHOW PARTITIONS t", st.ShowPartitions),
    ("SHOW CREATE TABLE t", st.ShowCreateTable),
    ("DESCRIBE FORMATTED db.t", st.Describe),
    ("MSCK REPAIR TABLE t", st.MsckRepair),
    ("LOAD DATA LOCAL INPATH '/x' OVERWRITE INTO TABLE t PARTITION (dt='1')", st.LoadData),
    ("SET a.b=c d", st.SetProperty),
    ("RESET", st.Reset),
    ("USE db", st.Use),
    ("DROP DATABASE IF EXISTS db CASCADE", st.DropDatabase),
    ("CREATE VIEW v AS SELECT 1", st.CreateView),
    ("EXPLAIN SELECT 1", st.Explain),
    ("WITH a AS (SELECT 1) SELECT * FROM a", st.Query),
])
def test_statement_kinds(sql, kind):
    assert isinstance(parse_statement(sql), kind)


def test_set_value_keeps_spaces():
    s = parse_statement("SET hivevar:msg = hello world")
    assert (s.key, s.value) == ("hivevar:msg", "hello world")


def test_syntax_error_names_line_and_column():
    with pytest.raises(HiveParseError) as exc:
        parse_statement("CREATE TABLE t (a int)\nSTORED BOGUS PARQUET")
    assert exc.value.line == 2 and exc.value.col == 7
    assert "line 2:7" in str(exc.value)
    assert isinstance(exc.value, UserError)


def test_unterminated_string_is_a_parse_error():
    with pytest.raises(HiveParseError, match="line 1:"):
        parse_statement("SELECT 'abc")


def test_unsupported_statement_says_so():
    with pytest.raises(UnsupportedError, match="UPDATE statements are not supported"):
        parse_statement("UPDATE t SET a = 1")
