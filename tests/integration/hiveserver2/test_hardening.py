"""What remote clients may not do: several statements, unlisted settings, paths outside."""
from __future__ import annotations

import os

import pyarrow as pa
import pytest
from pyhive import exc as pyhive_exc


def _refused(cur, sql: str, state: str = "42501") -> str:
    with pytest.raises(pyhive_exc.OperationalError) as info:
        cur.execute(sql)
    status = info.value.args[0].status
    assert status.sqlState == state, status
    return status.errorMessage


def test_one_statement_per_request(hs2):
    with hs2.connect() as conn:
        cur = conn.cursor()
        msg = _refused(cur, "SELECT 1; DROP DATABASE default CASCADE", state="42000")
        assert "one statement" in msg
        cur.execute("SELECT ';' AS semi;")  # a ; inside a string or at the end is fine
        assert cur.fetchall() == [(";",)]


def test_settings_limited_to_the_allowlist(hs2):
    with hs2.connect() as conn:
        cur = conn.cursor()
        msg = _refused(cur, "SET hive.metastore.warehouse.dir=/etc")
        assert "hive.metastore.warehouse.dir" in msg
        _refused(cur, "SET fs.s3a.secret.key=abc")
        _refused(cur, "SET hiveconf:hive.server2.authentication=NONE")
        cur.execute("SET hive.exec.dynamic.partition.mode=nonstrict")  # allowed
        cur.execute("SET hivevar:anything=1")  # variables are free
    with pytest.raises(pyhive_exc.OperationalError):
        hs2.connect(configuration={"set:hiveconf:hive.metastore.warehouse.dir": "/etc"})
    with pytest.raises(pyhive_exc.OperationalError):
        hs2.connect(configuration={"javax.jdo.option.ConnectionURL": "jdbc:x"})


def test_environment_variables_are_not_exposed(hs2):
    with hs2.connect() as conn:
        msg = _refused(conn.cursor(), "SELECT '${env:AWS_SECRET_ACCESS_KEY}'")
        assert "env" in msg
        assert os.environ.get("AWS_SECRET_ACCESS_KEY", "unset-value") not in msg


def test_local_paths_confined_to_warehouse_and_allowed_prefixes(hs2, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("1\n")
    link = hs2.data / "escape"
    if not link.exists():
        link.symlink_to(outside)
    with hs2.connect() as conn:
        cur = conn.cursor()
        for sql in (
            "CREATE EXTERNAL TABLE e1 (a string) LOCATION 'file:///etc'",
            f"CREATE EXTERNAL TABLE e2 (a string) LOCATION '{hs2.data}/../outside'",
            f"CREATE EXTERNAL TABLE e3 (a string) LOCATION '{link}'",
            f"CREATE EXTERNAL TABLE e4 (a string) LOCATION '{outside}'",
            "CREATE TABLE IF NOT EXISTS tgt (a string)",
        ):
            if sql.startswith("CREATE TABLE IF"):
                cur.execute(sql)
                continue
            assert "LOCATION" in _refused(cur, sql)
        msg = _refused(cur, "LOAD DATA LOCAL INPATH '/etc/passwd' INTO TABLE tgt")
        assert "/etc/passwd" in msg
        _refused(cur, f"LOAD DATA LOCAL INPATH '{link}/secret.txt' INTO TABLE tgt")
        _refused(cur, f"INSERT OVERWRITE LOCAL DIRECTORY '{outside}' SELECT 1")
        _refused(cur, "SELECT TRANSFORM (a) USING 'sh -c id' AS (b) FROM tgt")
        _refused(cur, "SELECT TRANSFORM (a) USING 'python3 -c \"print(1)\"' AS (b) FROM tgt")
        _refused(cur, "SELECT TRANSFORM (a) USING '/bin/cat' AS (b) FROM tgt")
        _refused(cur, "CREATE EXTERNAL TABLE e5 (a string) LOCATION 'http://example.com/x'")
        # variables are substituted before the check
        cur.execute("SET hivevar:where=/etc")
        _refused(cur, "CREATE EXTERNAL TABLE e6 (a string) LOCATION '${hivevar:where}'")
        # inside the allowed prefix, and in the warehouse, works
        inside = hs2.data / "inside"
        inside.mkdir(exist_ok=True)
        (inside / "rows.txt").write_text("x\ny\n")
        cur.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS ok_ext (a string) "
                    f"LOCATION '{inside}'")
        cur.execute("SELECT count(*) FROM ok_ext")
        assert cur.fetchall() == [(2,)]
        cur.execute(f"LOAD DATA LOCAL INPATH '{inside}/rows.txt' INTO TABLE tgt")
        cur.execute("SELECT count(*) FROM tgt")
        assert cur.fetchall() == [(2,)]
        cur.execute("DROP TABLE ok_ext")
