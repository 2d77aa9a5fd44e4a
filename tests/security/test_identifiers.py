"""Names are names: no database, table, column or partition name reaches outside its root."""
from __future__ import annotations

import pytest

ESCAPES = [
    "CREATE TABLE `../x1` (a string)",
    "CREATE TABLE `../../x2` (a string)",
    "CREATE TABLE `..` (a string)",
    "CREATE TABLE `a/b` (a string)",
    "CREATE TABLE `a\\\\b` (a string)",
    "CREATE TABLE `/tmp/x3` (a string)",
    "CREATE DATABASE `../x4`",
    "CREATE DATABASE `../outside/x5`",
    "CREATE SCHEMA `a/b`",
    "CREATE TABLE `../x6` AS SELECT 1 AS a",
    "ALTER TABLE t RENAME TO `../x7`",
    "ALTER TABLE t RENAME TO `../outside/victim`",
    "CREATE TABLE p1 (a string) PARTITIONED BY (`../../x8` string)",
    "CREATE TABLE p2 (`../x9` string)",
    "CREATE TABLE p3 (a string) PARTITIONED BY (`a/b` string)",
    "DROP TABLE `../outside/victim`",
    "DROP DATABASE `../outside` CASCADE",
    "CREATE TABLE `x\u0000y` (a string)",
    "CREATE TABLE `" + "a" * 200 + "` (a string)",
]


@pytest.mark.parametrize("sql", ESCAPES)
def test_names_that_are_paths_are_refused(target, attempt, sql):
    before = target.outside_state()
    with target.connect() as conn:
        out = attempt(conn.cursor(), sql)
    assert out.refused, out
    assert target.outside_state() == before
    assert (target.outside / "victim" / "keep.txt").read_text() == "keep\n"


def test_create_then_drop_a_dotdot_table_deletes_nothing_outside(start, attempt):
    target = start()
    before = target.outside_state()
    with target.connect() as conn:
        cur = conn.cursor()
        attempt(cur, "CREATE TABLE `../outside/victim` (a string)")
        attempt(cur, "CREATE TABLE `../victim` (a string)")
        attempt(cur, "DROP TABLE `../outside/victim`")
        attempt(cur, "DROP TABLE `../victim`")
        attempt(cur, "CREATE DATABASE `../outside`")
        attempt(cur, "DROP DATABASE `../outside` CASCADE")
    assert (target.outside / "victim" / "keep.txt").read_text() == "keep\n"
    assert target.outside_state() == before


def test_partition_values_stay_one_folder(target):
    with target.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS pv (a string) PARTITIONED BY (k string)")
        cur.execute("INSERT OVERWRITE TABLE pv PARTITION (k='../../../outside/pv') "
                    "SELECT 'x'")
        cur.execute("SELECT a, k FROM pv")
        assert cur.fetchall() == [("x", "../../../outside/pv")]
    assert not (target.outside / "pv").exists()
    folders = [p.name for p in (target.warehouse / "pv").iterdir()]
    assert folders == ["k=..%2F..%2F..%2Foutside%2Fpv"]


def test_ordinary_names_work(target):
    with target.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS sales_2024")
        cur.execute("CREATE TABLE IF NOT EXISTS sales_2024.Orders_1 (`order id` int, "
                    "amount double) PARTITIONED BY (dt string)")
        cur.execute("SHOW TABLES IN sales_2024")
        assert cur.fetchall() == [("orders_1",)]
        cur.execute("DROP DATABASE sales_2024 CASCADE")
