"""The operation state table, result and log cursors; metadata result sets; error mapping."""
from __future__ import annotations

import threading

import pyarrow as pa
import pytest
from pyhive.hive import _unwrap_column
from TCLIService import ttypes

from rayemr.core.errors import (ClusterError, InputNotFoundError, InvalidStateTransition,
                                UserError)
from rayemr.hive.api import Column, StatementResult
from rayemr.hive.metastore import FieldSchema, SqliteMetastore, Table
from rayemr.hive.server import metadata
from rayemr.hive.session import Prepared
from rayemr.hive.sql.parser import parse_statement
from rayemr.hive.server.operation import Operation, OpState, describe_error

FIRST, NEXT = ttypes.TFetchOrientation.FETCH_FIRST, ttypes.TFetchOrientation.FETCH_NEXT


def _result(n: int) -> StatementResult:
    return StatementResult((Column("i", "bigint"),), pa.table({"i": list(range(n))}), True,
                           log=["line 1", "line 2"])


def test_run_fetch_pages_and_rewind():
    op = Operation(0, has_result_set=True)
    op.run(lambda cancel, progress: _result(5))
    assert op.state == OpState.FINISHED
    pages = [_unwrap_column(op.fetch(2, NEXT).columns[0]) for _ in range(4)]
    assert pages == [[0, 1], [2, 3], [4], []]
    assert _unwrap_column(op.fetch(10, FIRST).columns[0]) == [0, 1, 2, 3, 4]
    # changing the page size between calls (the next page was prepared for the old size)
    assert _unwrap_column(op.fetch(1, FIRST).columns[0]) == [0]
    assert _unwrap_column(op.fetch(3, NEXT).columns[0]) == [1, 2, 3]
    assert _unwrap_column(op.fetch(3, NEXT).columns[0]) == [4]
    assert _unwrap_column(op.fetch_log(1, NEXT).columns[0]) == ["line 1"]
    assert _unwrap_column(op.fetch_log(5, NEXT).columns[0]) == ["line 2"]
    assert _unwrap_column(op.fetch_log(5, NEXT).columns[0]) == []
    op.close()
    assert op.state == OpState.CLOSED and op.result is None


def test_errors_become_one_line_with_sql_state():
    op = Operation(0, has_result_set=True)
    op.run(lambda c, p: (_ for _ in ()).throw(InputNotFoundError("table x.y not found\nmore")))
    assert op.state == OpState.ERROR
    assert (op.error.sql_state, op.error.message) == (
        "42S02", "Error while compiling statement: FAILED: SemanticException table x.y not found")
    assert describe_error(ValueError("boom")).message == \
        "Error while processing statement: FAILED: ValueError: boom"
    failed = describe_error(ClusterError("stage 2 failed", hint="retry"))
    assert failed.message.endswith("MapRedTask. stage 2 failed (retry)")
    assert (failed.sql_state, failed.error_code) == ("08S01", 2)


def test_cancel_wins_over_a_late_result():
    op = Operation(0, has_result_set=True)
    started, release = threading.Event(), threading.Event()

    def runner(cancel, progress):
        progress(0.5, "half way")
        started.set()
        release.wait(5)
        return _result(3)

    t = threading.Thread(target=op.run, args=(runner,))
    t.start()
    started.wait(5)
    assert op.state == OpState.RUNNING and op.progress == 0.5
    assert op.progress_update().progressedPercentage == 0.5
    op.cancel()
    assert op.cancel_event.is_set() and op.state == OpState.CANCELED
    release.set()
    t.join(5)
    assert op.state == OpState.CANCELED and op.result is None
    op.cancel()  # idempotent
    with pytest.raises(InvalidStateTransition, match="CANCELED"):
        op._fire("done")  # a late result cannot finish a cancelled operation


def test_pending_operation_cancelled_never_runs():
    op = Operation(0, has_result_set=False)
    op.mark_pending()
    op.cancel()
    op.run(lambda c, p: pytest.fail("must not run"))
    assert op.state == OpState.CANCELED


@pytest.mark.parametrize("sql,expected", [
    ("SELECT 1", True), ("with a as (select 1) select * from a", True), ("SHOW TABLES", True),
    ("describe t", True), ("EXPLAIN SELECT 1", True), ("SET", True), ("SET a.b", True),
    ("SET a=b", False), ("CREATE TABLE t (a int)", False), ("INSERT INTO t SELECT 1", False),
    ("FROM t INSERT OVERWRITE TABLE u SELECT *", False), ("FROM t SELECT a", True),
    ("USE db", False), ("SHOW PARTITIONS t", True), ("DESCRIBE DATABASE d", True),
])
def test_result_set_known_from_the_parsed_statement(sql, expected):
    """Async handles say whether rows come before the statement runs: from its parse."""
    assert Prepared(sql, parse_statement(sql)).has_result_set is expected


@pytest.fixture
def store():
    ms = SqliteMetastore(":memory:", "/tmp/wh-unit")
    from rayemr.hive.metastore import Database
    ms.create_database(Database("sales_db", "/tmp/wh-unit/sales_db.db"))
    ms.create_table(Table("sales_db", "orders", (FieldSchema("id", "bigint"),
                                                 FieldSchema("amt", "decimal(10,2)", "money")),
                          (FieldSchema("dt", "string"),)))
    ms.create_table(Table("sales_db", "order_view", (FieldSchema("id", "bigint"),),
                          table_type="VIRTUAL_VIEW", view_text="select 1"))
    ms.create_table(Table("default", "orders_x", (FieldSchema("v", "array<int>"),),
                          table_type="EXTERNAL_TABLE"))
    return ms


def _rows(result: StatementResult) -> list[dict]:
    return result.table.to_pylist()


def test_like_patterns():
    rx = metadata.like_to_regex
    assert rx("ord%").fullmatch("ORDERS") and not rx("ord%").fullmatch("xorders")
    assert rx("o_der").fullmatch("order") and not rx("o\\_der").fullmatch("order")
    assert rx("*").fullmatch("anything") and rx(None).fullmatch("") and rx("").fullmatch("a")
    assert rx("a.b").fullmatch("a.b") and not rx("a.b").fullmatch("axb")


def test_metadata_results(store):
    assert [r["TABLE_SCHEM"] for r in _rows(metadata.get_schemas(store, None))] == [
        "default", "sales_db"]
    tables = _rows(metadata.get_tables(store, "%", "ord%", None))
    assert [(t["TABLE_SCHEM"], t["TABLE_NAME"], t["TABLE_TYPE"]) for t in tables] == [
        ("default", "orders_x", "TABLE"), ("sales_db", "order_view", "VIEW"),
        ("sales_db", "orders", "TABLE")]
    assert len(_rows(metadata.get_tables(store, None, None, ["VIEW"]))) == 1
    cols = _rows(metadata.get_columns(store, "sales_db", "orders", None))
    assert [(c["COLUMN_NAME"], c["DATA_TYPE"], c["COLUMN_SIZE"], c["DECIMAL_DIGITS"],
             c["ORDINAL_POSITION"], c["REMARKS"]) for c in cols] == [
        ("id", -5, 19, 0, 1, ""), ("amt", 3, 10, 2, 2, "money"), ("dt", 12, 2147483647, None,
                                                                  3, "")]
    arr = _rows(metadata.get_columns(store, "default", "orders_x", "v"))
    assert arr[0]["DATA_TYPE"] == 2003 and arr[0]["TYPE_NAME"] == "ARRAY<INT>"
    assert metadata.get_catalogs().table.num_rows == 0
    info = _rows(metadata.get_type_info())
    assert {"DECIMAL", "VARCHAR", "MAP"} <= {t["TYPE_NAME"] for t in info}
    funcs = _rows(metadata.get_functions(["upper", "lower", "upper"], None, "up%"))
    assert [f["FUNCTION_NAME"] for f in funcs] == ["upper"]
