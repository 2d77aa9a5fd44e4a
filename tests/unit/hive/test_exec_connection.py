"""Tasks reuse pooled DuckDB connections, each with a fresh state for every use."""
from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from rayemr.core.errors import UserError
from rayemr.hive import exec as hexec
from rayemr.hive import sandbox


def test_connection_is_reused_with_fresh_state():
    t = pa.table({"a": [1, 2, 3]})
    assert hexec.run_sql("SELECT sum(a) AS s FROM t", {"t": t}).to_pylist() == [{"s": 6}]
    con = hexec.acquire()
    try:
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
        # a fragment run while a connection is busy does not touch it
        assert hexec.run_sql("SELECT 1 AS one", {}).to_pylist() == [{"one": 1}]
        assert outer.sql("SELECT v FROM x").fetchall() == [(5,)]
    finally:
        hexec.release(outer)
    with pytest.raises(UserError):
        hexec.run_sql("SELECT no_such_column FROM t", {"t": pa.table({"a": [1]})})
    assert hexec.run_sql("SELECT 2 AS two", {}).to_pylist() == [{"two": 2}]


def test_concurrent_users_get_distinct_connections_and_the_pool_stays_bounded():
    pool = sandbox.Pool(max_idle=2)
    held, barrier = [], threading.Barrier(4)

    def work():
        con = pool.acquire()
        held.append(con)
        barrier.wait(timeout=30)  # all four hold one at the same time
        pool.release(con)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len({id(c) for c in held}) == 4
    assert pool.stats()["idle"] == 2  # two closed on release, two kept
    assert pool.close_idle() == 2
