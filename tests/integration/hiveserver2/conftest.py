"""A real HiveServer2 on a free loopback port over real Hive sessions, reached by pyhive.

Sessions run stages inline (in the server process) unless a test asks for the Ray runner;
the metastore, warehouse and data folders live under the test's temporary directory.
"""
from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyhive import hive

from rayemr.hive.server import HiveServer2, default_session_factory


@dataclass
class Hs2:
    server: HiveServer2
    port: int
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    def connect(self, **kwargs) -> hive.Connection:
        return hive.connect("127.0.0.1", port=self.port, **kwargs)


def start_server(root: Path, **settings) -> Hs2:
    (root / "data").mkdir(parents=True, exist_ok=True)
    options = {"metastore_path": str(root / "metastore.db"),
               "warehouse": str(root / "warehouse"), "runner": "inline"}
    options.update(settings.pop("session_options", {}))
    settings.setdefault("allow_paths", (str(root / "data"),))
    wrap = settings.pop("wrap_session", None)
    factory = default_session_factory(options)
    server = HiveServer2(host="127.0.0.1", port=0,
                         session_factory=(lambda req: wrap(factory(req))) if wrap else factory,
                         **settings)
    return Hs2(server, server.start(), root)


@pytest.fixture(scope="module")
def hs2(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("hs2"))
    yield srv
    srv.server.stop()


ALL_TYPES_DDL = (
    "c_bool boolean, c_tiny tinyint, c_small smallint, c_int int, c_big bigint, "
    "c_float float, c_double double, c_dec decimal(10,2), c_str string, c_vc varchar(10), "
    "c_ch char(5), c_date date, c_ts timestamp, c_bin binary, c_arr array<int>, "
    "c_map map<string,int>, c_struct struct<a:int,b:string>")


def all_types_table() -> pa.Table:
    """Two rows of every Hive type, the second all NULL."""
    return pa.table({
        "c_bool": pa.array([True, None], pa.bool_()),
        "c_tiny": pa.array([-5, None], pa.int8()),
        "c_small": pa.array([300, None], pa.int16()),
        "c_int": pa.array([70000, None], pa.int32()),
        "c_big": pa.array([2**40, None], pa.int64()),
        "c_float": pa.array([1.5, None], pa.float32()),
        "c_double": pa.array([0.1, None], pa.float64()),
        "c_dec": pa.array([decimal.Decimal("12.34"), None], pa.decimal128(10, 2)),
        "c_str": pa.array(["héllo 'q'", None]),
        "c_vc": pa.array(["abc", None]),
        "c_ch": pa.array(["ab   ", None]),
        "c_date": pa.array([datetime.date(2024, 2, 29), None]),
        "c_ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 123000), None],
                         pa.timestamp("us")),
        "c_bin": pa.array([b"\x00\xff", None], pa.binary()),
        "c_arr": pa.array([[1, 2, None], None], pa.list_(pa.int32())),
        "c_map": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int32())),
        "c_struct": pa.array([{"a": 1, "b": "x"}, None],
                             pa.struct([("a", pa.int32()), ("b", pa.string())])),
    })


def write_parquet(folder: Path, table: pa.Table, files: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-table.num_rows // files)
    for i in range(files):
        pq.write_table(table.slice(i * step, step), folder / f"part-{i:05d}.parquet")
    return folder


@pytest.fixture
def start_hs2(tmp_path):
    """``start_hs2(**settings)`` starts another server (own metastore); stopped after the test."""
    started: list[Hs2] = []

    def start(**settings) -> Hs2:
        srv = start_server(tmp_path / f"srv{len(started)}", **settings)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.server.stop()


@pytest.fixture
def parquet_table():
    """``parquet_table(hs2, name, table, ddl, files=1)``: Parquet files + an external table."""
    def make(srv: Hs2, name: str, table: pa.Table, ddl: str, files: int = 1) -> None:
        folder = write_parquet(srv.data / name, table, files)
        with srv.connect() as conn:
            cur = conn.cursor()
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE EXTERNAL TABLE {name} ({ddl}) STORED AS PARQUET "
                        f"LOCATION '{folder}'")
    return make


@pytest.fixture
def types_table():
    return all_types_table()


@pytest.fixture
def types_ddl():
    return ALL_TYPES_DDL
