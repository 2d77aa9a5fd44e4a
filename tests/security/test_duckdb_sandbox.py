"""The executor's DuckDB connections reach no file except the ones granted to the task."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem

from rayemr.hive import exec as hexec
from rayemr.hive import sandbox


@pytest.fixture
def files(tmp_path):
    pq.write_table(pa.table({"x": [1, 2, 3]}), tmp_path / "granted.parquet")
    pq.write_table(pa.table({"x": [9]}), tmp_path / "sibling.parquet")
    (tmp_path / "secret.txt").write_text("canary-secret\n")
    return tmp_path


ESCAPES = [
    "SELECT * FROM read_text('{d}/secret.txt')",
    "SELECT * FROM read_blob('{d}/secret.txt')",
    "SELECT * FROM read_csv('{d}/secret.txt')",
    "SELECT * FROM read_csv_auto('{d}/secret.txt')",
    "SELECT * FROM read_json('{d}/secret.txt')",
    "SELECT * FROM read_parquet('{d}/sibling.parquet')",
    "SELECT * FROM parquet_metadata('{d}/sibling.parquet')",
    "SELECT * FROM sniff_csv('{d}/secret.txt')",
    "SELECT * FROM glob('{d}/*')",
    "SELECT * FROM '{d}/sibling.parquet'",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_text('rayemrsplit:///1/secret.txt')",
    "SELECT * FROM read_text('rayemrsplit:///{up}{d}/secret.txt')",
    "SELECT * FROM read_parquet('rayemrsplit:///*/*.parquet')",
    "COPY (SELECT 1) TO '{d}/out.csv'",
    "ATTACH '{d}/db.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
]


@pytest.mark.parametrize("sql", ESCAPES)
def test_a_pooled_connection_reaches_no_file(files, sql):
    con = hexec.acquire()
    try:
        hexec.grant_file(con, str(files / "granted.parquet"))
        try:
            rows = con.sql(sql.format(d=files, up=".." + "/" + ".." + "/")).fetchall()
        except duckdb.Error:
            rows = None
        # refused, or (a name the gate does not serve) nothing found
        assert rows in (None, []), rows
    finally:
        hexec.release(con)
    assert not (files / "out.csv").exists() and not (files / "db.duckdb").exists()


def test_granted_file_is_readable_only_while_granted(files):
    con = hexec.acquire()
    try:
        name = hexec.grant_file(con, str(files / "granted.parquet"))
        assert con.sql(f"SELECT sum(x) FROM read_parquet('{name}')").fetchall() == [(6,)]
    finally:
        hexec.release(con)
    con2 = hexec.acquire()
    try:
        assert con2 is con  # the same connection, reused
        with pytest.raises(duckdb.Error):
            con2.sql(f"SELECT sum(x) FROM read_parquet('{name}')").fetchall()
    finally:
        hexec.release(con2)


def test_the_gate_serves_only_reads_of_granted_names(files):
    gate = sandbox.SplitFiles()
    name = gate.grant(LocalFileSystem(), str(files / "granted.parquet"))
    assert gate.glob(name) and gate.info(name)["size"] > 0
    for other in (name + "x", name.rsplit("/", 1)[0] + "/sibling.parquet",
                  "rayemrsplit:///../" + str(files / "secret.txt"), "rayemrsplit:///*"):
        assert gate.glob(other) == []
        with pytest.raises(FileNotFoundError):
            gate.open(other, "rb")
    with pytest.raises(PermissionError):
        gate.open(name, "wb")
    with pytest.raises(PermissionError):
        gate.rm(name)
    gate.revoke_all()
    assert gate.glob(name) == []
