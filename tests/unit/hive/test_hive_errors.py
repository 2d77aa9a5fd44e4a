"""Errors in Hive's words: the ErrorMsg class, number and SQL state clients match on, and the
text HiveServer2 puts around them."""
from __future__ import annotations

import pickle
import re

import pytest

from rayemr.core.errors import ClusterError, InputNotFoundError, UserError
from rayemr.hive import errors as he
from rayemr.hive.sql.lexer import HiveParseError

#: PyHive's SQLAlchemy dialect decides that a table is missing with this (has_table,
#: drop(checkfirst=True), reflection): pyhive/sqlalchemy_hive.py, _get_table_columns.
PYHIVE_MISSING = r"SemanticException.*Table not found {}"


@pytest.fixture
def hive(session):
    session.execute("CREATE TABLE t (a int, s string)")
    return session


def _status(hive, sql: str) -> he.HiveStatus:
    with pytest.raises(UserError) as info:
        hive.execute(sql)
    return he.hive_status(info.value)


@pytest.mark.parametrize("name", ["this_does_not_exist", "default.this_does_not_exist"])
def test_describe_of_a_missing_table_is_hives_10001_with_the_name_as_written(hive, name):
    status = _status(hive, f"DESCRIBE {name}")
    assert status.message.startswith("Error while compiling statement: FAILED: "
                                     f"SemanticException [Error 10001]: Table not found {name}")
    assert (status.error_code, status.sql_state) == (10001, "42S02")
    assert re.search(PYHIVE_MISSING.format(re.escape(name)), status.message)


def test_a_missing_database_is_10072_and_not_a_missing_table(hive):
    status = _status(hive, "DESCRIBE nodb.this_does_not_exist")
    assert "SemanticException [Error 10072]: Database does not exist: nodb" in status.message
    assert not re.search(PYHIVE_MISSING.format(re.escape("nodb.this_does_not_exist")),
                         status.message)


def test_query_errors_say_line_and_column_as_hive(hive):
    status = _status(hive, "SELECT * FROM this_really_does_not_exist")
    assert "[Error 10001]: Line 1:14 Table not found 'this_really_does_not_exist'" in \
        status.message
    status = _status(hive, "SELECT *\nFROM t JOIN default.nope n ON t.a = n.a")
    assert "Line 2:12 Table not found 'default.nope'" in status.message


@pytest.mark.parametrize("sql, code, text", [
    ("SELECT nope FROM t", 10004, "Invalid table alias or column reference 'nope'"),
    ("SELECT no_such_fn(a) FROM t", 10011, "Invalid function no_such_fn"),
    ("DROP TABLE gone", 10001, "Table not found gone"),
    ("INSERT INTO gone SELECT 1", 10001, "Table not found gone"),
    ("CREATE TABLE t (a int)", 10073, "Table already exists: default.t"),
    ("CREATE DATABASE default", 10242, "Database already exists: default"),
    ("USE nodb", 10072, "Database does not exist: nodb"),
])
def test_compile_errors_map_to_hives_numbers(hive, sql, code, text):
    status = _status(hive, sql)
    assert f"SemanticException [Error {code}]: {text}" in status.message, status
    assert status.error_code == code


def test_parse_errors_keep_their_class_and_generic_code(hive):
    with pytest.raises(HiveParseError) as info:
        hive.execute("blah_blah")
    status = he.hive_status(info.value)
    assert status.message.startswith("Error while compiling statement: FAILED: "
                                     "ParseException line 1:")
    assert (status.error_code, status.sql_state) == (40000, "42000")


def test_runtime_and_unexpected_failures_are_processing_errors():
    status = he.hive_status(ClusterError("stage 1 failed"))
    assert status.message == ("Error while processing statement: FAILED: Execution Error, "
                              "return code 2 from org.apache.hadoop.hive.ql.exec.mr.MapRedTask."
                              " stage 1 failed")
    assert (status.sql_state, status.error_code) == ("08S01", 2)
    assert he.hive_status(KeyError("x")).sql_state == "HY000"


def test_hive_errors_stay_in_rayemrs_tree_and_pickle():
    err = he.TableNotFoundError("db.t")
    assert isinstance(err, InputNotFoundError) and isinstance(err, FileNotFoundError)
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), str(back), back.error, back.sql_state) == (
        he.TableNotFoundError, str(err), he.TABLE_NOT_FOUND, "42S02")
