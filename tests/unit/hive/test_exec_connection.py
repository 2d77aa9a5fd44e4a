"""Tasks reuse one DuckDB connection per thread, with a fresh state for every use."""
from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from rayemr.core.errors import UserError
from rayemr.hive import exec as hexec


def test_connection_is_reused_with_fresh_state():
    t = pa.table({"a": [1, 2, 3]})
    assert hexec.run_sql("SELECT sum(a) AS s FROM t", {"t": t}).to_pylist() == [{"s": 6}]
    con = hexec.acquire()
    try:
        assert con is hexec._LOCAL.con
        con.execute("CREATE TEMP VIEW leftover AS SELECT 1")
        con.execute("CREATE TEMP TABLE tmp_t AS SELECT 1 AS x")
    finally:
        hexec.release(con)
    # what the earlier uses registered or created is gone
    for name in ("t", "leftover", "tmp_t"):
        with pytest.raises(UserError, match=name):
            hexec.run_sql(f"SELECT * FROM {name}", {})
    con2 = hexec.acquire()
    try:
        assert con2 is con
    finally:
        hexec.release(con2)


def test_nested_use_gets_its_own_connection_and_errors_do_not_poison_it():
    outer = hexec.acquire()
    try:
        outer.register("x", pa.table({"v": [5]}))
        # a fragment run while the thread's connection is busy does not touch it
        assert hexec.run_sql("SELECT 1 AS one", {}).to_pylist() == [{"one": 1}]
        assert outer.sql("SELECT v FROM x").fetchall() == [(5,)]
    finally:
        hexec.release(outer)
    with pytest.raises(UserError):
        hexec.run_sql("SELECT no_such_column FROM t", {"t": pa.table({"a": [1]})})
    assert hexec.run_sql("SELECT 2 AS two", {}).to_pylist() == [{"two": 2}]


def test_threads_have_their_own_connections():
    seen = []

    def work():
        con = hexec.acquire()
        seen.append(con)  # kept alive, so identities stay distinct
        hexec.release(con)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    main = hexec.acquire()
    hexec.release(main)
    assert len({id(c) for c in seen + [main]}) == 3
