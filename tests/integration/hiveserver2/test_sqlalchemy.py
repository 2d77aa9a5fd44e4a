"""SQLAlchemy's ``hive://`` dialect and pandas over the real server."""
from __future__ import annotations

import warnings

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import create_engine, inspect, text


@pytest.fixture
def engine(hs2, parquet_table):
    parquet_table(hs2, "sales", pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                                          "amount": [9.5, None, 3.25],
                                          "region": ["eu", "us", "eu"]}),
                  "id bigint, amount double, region string")
    with hs2.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS reporting")
        cur.execute("CREATE TABLE IF NOT EXISTS reporting.daily (total double, note string) "
                    "PARTITIONED BY (dt string)")
    eng = create_engine(f"hive://127.0.0.1:{hs2.port}/default")
    yield eng
    eng.dispose()


def test_inspector_lists_databases_tables_and_columns(engine):
    insp = inspect(engine)
    schemas = insp.get_schema_names()
    assert {"default", "reporting"} <= set(schemas)
    assert "sales" in insp.get_table_names()
    assert insp.get_table_names(schema="reporting") == ["daily"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every type is recognised by the dialect
        cols = insp.get_columns("sales")
    assert [(c["name"], type(c["type"]).__name__) for c in cols] == [
        ("id", "BigInteger"), ("amount", "Float"), ("region", "String")]
    daily = insp.get_columns("daily", schema="reporting")
    assert [c["name"] for c in daily] == ["total", "note", "dt"]
    assert insp.get_indexes("daily", schema="reporting") == [
        {"name": "partition", "column_names": ["dt"], "unique": False}]


def test_text_query_and_pandas_read_sql(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT region, count(*) AS n FROM sales GROUP BY region "
                                 "ORDER BY region")).fetchall()
        assert [tuple(r) for r in rows] == [("eu", 2), ("us", 1)]
        df = pd.read_sql("SELECT id, amount, region FROM sales ORDER BY id", conn)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["id", "amount", "region"]
    assert df["id"].tolist() == [1, 2, 3]
    assert df["amount"].isna().tolist() == [False, True, False]
    assert df["amount"].sum() == 12.75
