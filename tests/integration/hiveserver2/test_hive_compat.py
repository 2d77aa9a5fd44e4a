"""What clients written for Hive read from the wire: result names in cursor.description,
and errors with Hive's text, number and SQL state (SQLAlchemy's hive dialect relies on both)."""
from __future__ import annotations

import pytest
import sqlalchemy
from pyhive import exc as pyhive_exc
from sqlalchemy.exc import NoSuchTableError, OperationalError


@pytest.fixture(scope="module")
def one_row(hs2):
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS compat_one_row (number_of_rows int)")
        cur.execute("INSERT OVERWRITE TABLE compat_one_row SELECT 1")
    return hs2


def test_description_names_columns_as_hive(one_row):
    with one_row.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT * FROM compat_one_row")
        assert cur.description == [("compat_one_row.number_of_rows", "INT_TYPE", None, None,
                                    None, None, True)]
        cur.execute("SELECT a.number_of_rows, number_of_rows AS n FROM compat_one_row a")
        assert [d[0] for d in cur.description] == ["a.number_of_rows", "n"]
    with one_row.connect(configuration={"hive.resultset.use.unique.column.names":
                                        "false"}) as conn:
        cur = conn.cursor()
        cur.execute("SELECT * FROM compat_one_row")
        assert [d[0] for d in cur.description] == ["number_of_rows"]


def test_a_missing_table_is_hives_error_10001(one_row):
    with one_row.connect() as conn:
        with pytest.raises(pyhive_exc.OperationalError) as info:
            conn.cursor().execute("DESCRIBE compat_nope")
    status = info.value.args[0].status
    assert status.errorMessage.startswith("Error while compiling statement: FAILED: "
                                          "SemanticException [Error 10001]: Table not found "
                                          "compat_nope")
    assert (status.errorCode, status.sqlState) == (10001, "42S02")


def test_sqlalchemy_sees_missing_tables_and_dotted_names(one_row):
    engine = sqlalchemy.create_engine(f"hive://127.0.0.1:{one_row.port}/default")
    try:
        insp = sqlalchemy.inspect(engine)
        assert insp.has_table("compat_one_row") and not insp.has_table("compat_nope")
        with pytest.raises(NoSuchTableError):
            sqlalchemy.Table("compat_nope", sqlalchemy.MetaData(), autoload_with=engine)
        with pytest.raises(OperationalError, match="Error 10072"):  # a missing database
            sqlalchemy.Table("t", sqlalchemy.MetaData(schema="compat_no_db"),
                             autoload_with=engine)
        table = sqlalchemy.Table("compat_drop", sqlalchemy.MetaData(),
                                 sqlalchemy.Column("a", sqlalchemy.Integer))
        with engine.connect() as conn:
            table.drop(conn, checkfirst=True)  # nothing to drop: no error
            table.create(conn)
            table.drop(conn, checkfirst=True)
            assert not insp.has_table("compat_drop")
            row = conn.execute(sqlalchemy.text("SELECT * FROM compat_one_row")).fetchone()
            assert row._mapping["compat_one_row.number_of_rows"] == 1
            assert row.number_of_rows == 1  # the dialect strips the table part
    finally:
        engine.dispose()


@pytest.mark.parametrize("sql, types, row", [
    ("SELECT array(1, 2), map(1, 2, 3, 4), named_struct('a', 1, 'b', 2), "
     "create_union(0, 1, 'test_string'), map('k', array('v'))",
     ["ARRAY_TYPE", "MAP_TYPE", "STRUCT_TYPE", "UNION_TYPE", "MAP_TYPE"],
     ("[1,2]", "{1:2,3:4}", '{"a":1,"b":2}', "{0:1}", '{"k":["v"]}')),
    ("SELECT interval_year_month('1-2') AS ym, timestamp '2018-05-02 15:30:30' "
     "- timestamp '1970-01-30 16:00:00' AS dt, 1 AS n",
     ["INTERVAL_YEAR_MONTH_TYPE", "INTERVAL_DAY_TIME_TYPE", "INT_TYPE"],
     ("1-2", "17623 23:30:30.000000000", 1)),
], ids=["complex", "intervals"])
def test_values_arrive_typed_and_rendered_as_hive_does(one_row, sql, types, row):
    with one_row.connect() as conn:
        cur = conn.cursor()
        cur.execute(sql)
        assert [d[1] for d in cur.description] == types
        assert cur.fetchall() == [row]


def test_the_query_log_shows_progress_as_hive_does(one_row):
    import re

    with one_row.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT number_of_rows, count(*) FROM compat_one_row GROUP BY "
                    "number_of_rows", async_=True)
        # answered once compiled and launched, as Hive does: the log already names Stage-1
        logs = cur.fetch_logs()
        assert any(re.search(r"Stage-1 map = \d+%,  reduce = \d+%", line) for line in logs)
        assert cur.fetchall() == [(1, 1)]
        logs += cur.fetch_logs()
        assert "Total jobs = 1" in logs and len(logs) == len(set(logs))
