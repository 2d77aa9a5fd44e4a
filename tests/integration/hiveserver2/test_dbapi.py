"""pyhive's DB-API against the real server and real Hive sessions."""
from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pytest
from pyhive import exc as pyhive_exc


def test_parameters_description_and_fetch(hs2, parquet_table):
    t = pa.table({"id": pa.array(range(10), pa.int64()),
                  "name": [f"n{i}" if i != 3 else "o'brien" for i in range(10)]})
    parquet_table(hs2, "people", t, "id bigint, name string")
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT id, name FROM people WHERE name = %(n)s OR id = %(i)s ORDER BY id",
                    {"n": "o'brien", "i": 7})
        assert [d[:2] for d in cur.description] == [("id", "BIGINT_TYPE"),
                                                     ("name", "STRING_TYPE")]
        assert cur.fetchall() == [(3, "o'brien"), (7, "n7")]
        cur.execute("SELECT count(*) FROM people WHERE id > %s", (4,))
        assert cur.fetchone() == (5,)
        assert cur.fetchone() is None


def test_statement_without_result_set(hs2):
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS no_rows (a int)")
        assert cur.description is None
        cur.execute("DROP TABLE no_rows")
        assert cur.description is None


def test_error_is_operational_error_with_sql_state(hs2):
    with hs2.connect() as conn:
        cur = conn.cursor()
        with pytest.raises(pyhive_exc.OperationalError) as info:
            cur.execute("SELECT * FROM no_such_table_here")
        status = info.value.args[0].status
        assert status.sqlState == "42S02"
        assert "no_such_table_here" in status.errorMessage
        assert "\n" not in status.errorMessage
        with pytest.raises(pyhive_exc.OperationalError) as info:
            cur.execute("SELEC 1")
        assert info.value.args[0].status.sqlState.startswith("42")
        cur.execute("SELECT 2")  # the session survives errors
        assert cur.fetchall() == [(2,)]


def test_use_and_set_stay_per_session(hs2):
    with hs2.connect() as a, hs2.connect() as b:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("CREATE DATABASE IF NOT EXISTS other_db")
        ca.execute("USE other_db")
        ca.execute("CREATE TABLE IF NOT EXISTS only_here (x int)")
        ca.execute("SHOW TABLES")
        assert ("only_here",) in ca.fetchall()
        cb.execute("SHOW TABLES")
        assert ("only_here",) not in cb.fetchall()
        ca.execute("SET mapreduce.job.reduces=3")
        ca.execute("SET mapreduce.job.reduces")
        assert ca.fetchall() == [("mapreduce.job.reduces=3",)]
        cb.execute("SET mapreduce.job.reduces")
        assert cb.fetchall() != [("mapreduce.job.reduces=3",)]


def test_open_session_configuration(hs2):
    with hs2.connect() as conn:
        conn.cursor().execute("CREATE DATABASE IF NOT EXISTS conf_db")
    config = {"use:database": "conf_db", "set:hivevar:answer": "42",
              "set:hiveconf:mapreduce.job.queuename": "analytics"}
    with hs2.connect(database="conf_db", configuration=config) as conn:
        cur = conn.cursor()
        cur.execute("SELECT ${hivevar:answer} + 1")
        assert cur.fetchall() == [(43,)]
        cur.execute("SET mapreduce.job.queuename")
        assert cur.fetchall() == [("mapreduce.job.queuename=analytics",)]
        cur.execute("SET hivevar:answer=7")
        cur.execute("SELECT ${answer}")
        assert cur.fetchall() == [(7,)]


def test_query_log(hs2, parquet_table):
    parquet_table(hs2, "logged", pa.table({"a": [1, 2, 3]}), "a bigint")
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT sum(a) FROM logged")
        assert cur.fetchall() == [(6,)]
        logs = cur.fetch_logs()
        assert any("Fetched: 1 row" in line for line in logs), logs
        assert cur.fetch_logs() == []  # the log cursor moved on


def test_every_type_and_nulls_round_trip(hs2, parquet_table, types_table, types_ddl):
    parquet_table(hs2, "all_types", types_table, types_ddl)
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT * FROM all_types")
        assert [d[1] for d in cur.description] == [
            "BOOLEAN_TYPE", "TINYINT_TYPE", "SMALLINT_TYPE", "INT_TYPE", "BIGINT_TYPE",
            "FLOAT_TYPE", "DOUBLE_TYPE", "DECIMAL_TYPE", "STRING_TYPE", "STRING_TYPE",
            "STRING_TYPE", "DATE_TYPE", "TIMESTAMP_TYPE", "BINARY_TYPE", "ARRAY_TYPE",
            "MAP_TYPE", "STRUCT_TYPE"]
        rows = cur.fetchall()
    assert rows[0] == _expected_first_row()
    assert rows[1] == (None,) * 17


def _expected_first_row():
    return (True, -5, 300, 70000, 2**40, 1.5, 0.1, decimal.Decimal("12.34"), "héllo 'q'",
            "abc", "ab   ", "2024-02-29", datetime.datetime(2024, 1, 2, 3, 4, 5, 123000),
            b"\x00\xff", "[1,2,null]", '{"k":1}', '{"a":1,"b":"x"}')
