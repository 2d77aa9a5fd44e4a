"""Text tables with Hive's LazySimpleSerDe semantics, OpenCSVSerde and JsonSerDe."""
from __future__ import annotations

import datetime

import pytest


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


@pytest.fixture
def folder(tmp_path):
    def make(name: str, text: str):
        d = tmp_path / name
        d.mkdir()
        (d / "data.txt").write_bytes(text.encode())
        return d
    return make


def test_default_delimiters_and_null(session, folder):
    d = folder("t", "1\x01ann\x0110.5\n2\x01\\N\x01\\N\n")
    session.execute(f"CREATE EXTERNAL TABLE t (id int, name string, v double) LOCATION '{d}'")
    assert rows(session.execute("SELECT * FROM t")) == [(1, "ann", 10.5), (2, None, None)]


def test_custom_delimiter_null_format_and_header(session, folder):
    d = folder("t", "id|name|when\n1|ann|2020-01-02\n2|NULL|2020-02-30\n3||x\n")
    session.execute(
        f"CREATE EXTERNAL TABLE t (id int, name string, d date) ROW FORMAT DELIMITED "
        f"FIELDS TERMINATED BY '|' NULL DEFINED AS 'NULL' LOCATION '{d}' "
        "TBLPROPERTIES ('skip.header.line.count'='1')")
    assert rows(session.execute("SELECT * FROM t")) == [
        (1, "ann", datetime.date(2020, 1, 2)), (2, None, None), (3, "", None)]


def test_ragged_rows_and_unparsable_values_are_null(session, folder):
    d = folder("t", "1,a,3\n2,b\n3\nx,c,4,extra\n5,d,notanumber\n")
    session.execute(f"CREATE EXTERNAL TABLE t (id int, s string, n bigint) ROW FORMAT "
                    f"DELIMITED FIELDS TERMINATED BY ',' LOCATION '{d}'")
    assert rows(session.execute("SELECT * FROM t")) == [
        (1, "a", 3), (2, "b", None), (3, None, None), (None, "c", 4), (5, "d", None)]


def test_table_property_null_format(session, folder):
    d = folder("t", "1\t-\n-\tb\n")
    session.execute(f"CREATE EXTERNAL TABLE t (id int, s string) ROW FORMAT DELIMITED "
                    f"FIELDS TERMINATED BY '\\t' LOCATION '{d}' "
                    "TBLPROPERTIES ('serialization.null.format'='-')")
    assert rows(session.execute("SELECT * FROM t")) == [(1, None), (None, "b")]


def test_collections(session, folder):
    d = folder("t", "1,a:b:c,k1=1:k2=2\n2,,\n")
    session.execute(f"CREATE EXTERNAL TABLE t (id int, arr array<string>, m map<string,int>) "
                    "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' COLLECTION ITEMS TERMINATED "
                    f"BY ':' MAP KEYS TERMINATED BY '=' LOCATION '{d}'")
    got = rows(session.execute("SELECT id, arr, size(arr), m['k2'] FROM t"))
    assert got[0] == (1, ["a", "b", "c"], 3, 2)
    assert got[1][0] == 2


def test_filter_on_text_table_and_types(session, folder):
    d = folder("t", "1,true,1.25,2020-01-01 10:00:00\n2,FALSE,2.5,bad\n3,maybe,x,\n")
    session.execute(f"CREATE EXTERNAL TABLE t (id int, ok boolean, amount decimal(10,2), "
                    f"ts timestamp) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{d}'")
    got = rows(session.execute("SELECT id, ok, amount, ts FROM t ORDER BY id"))
    assert got[0][:2] == (1, True) and float(got[0][2]) == 1.25
    assert got[0][3] == datetime.datetime(2020, 1, 1, 10, 0)
    assert got[1][1] is False and got[1][3] is None
    assert got[2][1] is None and got[2][2] is None
    assert rows(session.execute("SELECT id FROM t WHERE amount > 2")) == [(2,)]


def test_open_csv_serde(session, folder):
    d = folder("t", 'name,comment\n"Smith, J","said ""hi"""\nplain,x\n')
    session.execute(
        "CREATE EXTERNAL TABLE t (name string, comment string) ROW FORMAT SERDE "
        "'org.apache.hadoop.hive.serde2.OpenCSVSerde' WITH SERDEPROPERTIES "
        "('separatorChar'=',', 'quoteChar'='\"', 'escapeChar'='\"') "
        f"LOCATION '{d}' TBLPROPERTIES ('skip.header.line.count'='1')")
    assert rows(session.execute("SELECT * FROM t")) == [("Smith, J", 'said "hi"'),
                                                         ("plain", "x")]


def test_json_serde(session, folder):
    d = folder("t", '{"id": 1, "name": "a", "tags": ["x", "y"]}\n{"id": "bad", "other": 1}\n'
                    '{"name": "c"}\n')
    session.execute("CREATE EXTERNAL TABLE t (id int, name string, tags array<string>) "
                    "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' "
                    f"LOCATION '{d}'")
    assert rows(session.execute("SELECT * FROM t")) == [
        (1, "a", ["x", "y"]), (None, None, None), (None, "c", None)]


def test_text_round_trip_through_insert(session):
    session.execute("CREATE TABLE t (id int, s string, arr array<int>, ok boolean) ROW FORMAT "
                    "DELIMITED FIELDS TERMINATED BY ',' COLLECTION ITEMS TERMINATED BY ';'")
    session.execute("INSERT INTO t SELECT 1, 'a', array(1, 2), true "
                    "UNION ALL SELECT 2, NULL, NULL, false")
    assert rows(session.execute("SELECT * FROM t ORDER BY id")) == [
        (1, "a", [1, 2], True), (2, None, None, False)]
    loc = session.metastore.get_table("default", "t").location
    import os
    body = open(os.path.join(loc, sorted(os.listdir(loc))[0])).read()
    assert "1,a,1;2,true" in body and "\\N" in body
