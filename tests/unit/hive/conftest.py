"""Fixtures for Hive unit tests: an inline-runner session on a fresh metastore, TPC-H data,
and DuckDB as the reference engine."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from rayemr.hive.session import HiveSession
from rayemr.hive.testing import TPCH_TABLES, tpch_ddl, tpchgen


#: Settings that keep tiny tables on the fully staged plans
STAGED = {"rayemr.hive.smalljob.maxbytes": "0", "rayemr.hive.scan.inline.maxbytes": "0",
          "mapreduce.job.reduces": "2"}


@pytest.fixture(scope="session")
def tpch_dir(tmp_path_factory) -> Path:
    return tpchgen(tmp_path_factory.mktemp("tpch") / "sf001")


@pytest.fixture
def session(tmp_path) -> HiveSession:
    # small-job local mode and small tables read in place off, two reducers: the tiny test
    # tables must exercise the distributed plans (scan stages, broadcasts, hash shuffles)
    s = HiveSession(metastore_path=str(tmp_path / "metastore.db"),
                    warehouse=str(tmp_path / "warehouse"), runner="inline",
                    hiveconf=STAGED)
    yield s
    s.close()


@pytest.fixture
def tpch_session(session, tpch_dir) -> HiveSession:
    for stmt in tpch_ddl(tpch_dir):
        session.execute(stmt)
    return session


@pytest.fixture(scope="session")
def tpch_duckdb(tpch_dir):
    con = duckdb.connect()
    for t in TPCH_TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{tpch_dir}/{t}/*.parquet')")
    return con


def rows(result) -> list[tuple]:
    return [tuple(r.values()) for r in result.table.to_pylist()]
