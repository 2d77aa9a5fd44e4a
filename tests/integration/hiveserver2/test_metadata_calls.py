"""HiveServer2's metadata calls (what JDBC/ODBC tools use), over pyhive's Thrift client."""
from __future__ import annotations

import pyarrow as pa
import pytest
from TCLIService import ttypes


def _rows(conn, resp):
    assert resp.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS, resp.status
    cur = conn.cursor()
    cur._operationHandle = resp.operationHandle
    cur._state = cur._STATE_RUNNING
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


@pytest.fixture
def meta(hs2, parquet_table):
    parquet_table(hs2, "meta_t", pa.table({"id": pa.array([1], pa.int64()),
                                           "price": pa.array([1.0])}),
                  "id bigint, price double")
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS meta_db")
        cur.execute("CREATE TABLE IF NOT EXISTS meta_db.p (v decimal(12,3), s varchar(20)) "
                    "PARTITIONED BY (dt string)")
        cur.execute("CREATE VIEW IF NOT EXISTS meta_db.v AS SELECT 1 AS one")
    with hs2.connect() as conn:
        yield conn, conn.client, conn.sessionHandle


def test_schemas_tables_and_columns(meta):
    conn, client, session = meta
    schemas = _rows(conn, client.GetSchemas(ttypes.TGetSchemasReq(session, schemaName="meta%")))
    assert [s["TABLE_SCHEM"] for s in schemas] == ["meta_db"]
    tables = _rows(conn, client.GetTables(ttypes.TGetTablesReq(session, schemaName="meta_db")))
    assert {(t["TABLE_NAME"], t["TABLE_TYPE"]) for t in tables} == {("p", "TABLE"),
                                                                     ("v", "VIEW")}
    views = _rows(conn, client.GetTables(ttypes.TGetTablesReq(session, schemaName="meta_db",
                                                              tableTypes=["VIEW"])))
    assert [t["TABLE_NAME"] for t in views] == ["v"]
    cols = _rows(conn, client.GetColumns(ttypes.TGetColumnsReq(
        session, schemaName="meta_db", tableName="p")))
    assert [(c["COLUMN_NAME"], c["TYPE_NAME"], c["DATA_TYPE"], c["ORDINAL_POSITION"])
            for c in cols] == [("v", "DECIMAL(12,3)", 3, 1), ("s", "VARCHAR(20)", 12, 2),
                               ("dt", "STRING", 12, 3)]
    assert cols[0]["COLUMN_SIZE"] == 12 and cols[0]["DECIMAL_DIGITS"] == 3
    one = _rows(conn, client.GetColumns(ttypes.TGetColumnsReq(
        session, schemaName="default", tableName="meta\\_t", columnName="pri%")))
    assert [c["COLUMN_NAME"] for c in one] == ["price"]


def test_type_info_catalogs_table_types_functions_and_info(meta):
    conn, client, session = meta
    types = _rows(conn, client.GetTypeInfo(ttypes.TGetTypeInfoReq(session)))
    assert {"INT", "STRING", "DECIMAL", "TIMESTAMP", "ARRAY"} <= {t["TYPE_NAME"] for t in types}
    assert _rows(conn, client.GetCatalogs(ttypes.TGetCatalogsReq(session))) == []
    kinds = _rows(conn, client.GetTableTypes(ttypes.TGetTableTypesReq(session)))
    assert [k["TABLE_TYPE"] for k in kinds] == ["TABLE", "VIEW"]
    funcs = _rows(conn, client.GetFunctions(ttypes.TGetFunctionsReq(
        session, functionName="regexp%")))
    names = {f["FUNCTION_NAME"] for f in funcs}
    assert "regexp_extract" in names and all(n.startswith("regexp") for n in names)
    info = client.GetInfo(ttypes.TGetInfoReq(session, ttypes.TGetInfoType.CLI_DBMS_NAME))
    assert info.infoValue.stringValue == "Apache Hive"
    bad = client.GetInfo(ttypes.TGetInfoReq(session, 9999))
    assert bad.status.statusCode == ttypes.TStatusCode.ERROR_STATUS


def test_invalid_handles_get_error_statuses(meta):
    conn, client, session = meta
    bogus = ttypes.TOperationHandle(
        ttypes.THandleIdentifier(guid=b"x" * 16, secret=b"y" * 16),
        ttypes.TOperationType.EXECUTE_STATEMENT, True)
    resp = client.FetchResults(ttypes.TFetchResultsReq(bogus, 0, 10))
    assert resp.status.statusCode == ttypes.TStatusCode.ERROR_STATUS
    resp = client.GetOperationStatus(ttypes.TGetOperationStatusReq(bogus))
    assert resp.status.statusCode == ttypes.TStatusCode.ERROR_STATUS
    other = ttypes.TSessionHandle(ttypes.THandleIdentifier(guid=session.sessionId.guid,
                                                           secret=b"z" * 16))
    resp = client.ExecuteStatement(ttypes.TExecuteStatementReq(other, "SELECT 1"))
    assert resp.status.statusCode == ttypes.TStatusCode.ERROR_STATUS
    assert "SessionHandle" in resp.status.errorMessage
