"""rayemr.hive.connect(): PEP 249 cursor, parameters, fetch*, description, Arrow/pandas."""
from __future__ import annotations

import pytest

import rayemr.hive
from rayemr.core.errors import UserError
from rayemr.hive import dbapi


@pytest.fixture
def conn(tmp_path):
    c = rayemr.hive.connect(metastore_path=str(tmp_path / "ms.db"),
                            warehouse=str(tmp_path / "wh"), runner="inline")
    yield c
    c.close()


def test_cursor_roundtrip(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (a int, s string, d decimal(5,2))")
    assert cur.description is None
    cur.execute("INSERT INTO t SELECT 1, 'x', 1.5 UNION ALL SELECT 2, 'it\\'s', NULL "
                "UNION ALL SELECT 3, 'z', 2.25")
    cur.execute("SELECT a, s, d FROM t WHERE s <> %(skip)s ORDER BY a", {"skip": "z"})
    assert [d[:2] for d in cur.description] == [("a", "INT_TYPE"), ("s", "STRING_TYPE"),
                                                ("d", "DECIMAL_TYPE")]
    assert cur.rowcount == 2
    assert cur.fetchone()[:2] == (1, "x")
    assert cur.fetchmany(5)[0][:2] == (2, "it's")
    assert cur.fetchone() is None
    cur.execute("SELECT a FROM t WHERE a IN %s ORDER BY a", ((1, 3),))
    assert cur.fetchall() == [(1,), (3,)]
    assert cur.fetch_arrow().num_rows == 2
    assert list(cur.fetch_pandas()["a"]) == [1, 3]


def test_parameters_are_escaped(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s AS v", ("a'; DROP TABLE x; --",))
    assert cur.fetchall() == [("a'; DROP TABLE x; --",)]


def test_errors_and_module_globals(conn):
    assert dbapi.apilevel == "2.0" and dbapi.paramstyle == "pyformat"
    cur = conn.cursor()
    with pytest.raises(UserError, match="nosuch"):
        cur.execute("SELECT * FROM nosuch")
    with pytest.raises(dbapi.ProgrammingError):
        cur.fetchall()
    cur.execute("SET hivevar:x=5")
    cur.execute("SELECT ${hivevar:x} + 1")
    assert cur.fetchall() == [(6,)]


def test_default_home_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYEMR_HOME", str(tmp_path / "home"))
    c = rayemr.hive.connect(runner="inline")
    c.cursor().execute("CREATE TABLE t (a int)")
    assert (tmp_path / "home" / "metastore.db").exists()
    assert (tmp_path / "home" / "warehouse" / "t").is_dir()
    c.close()
