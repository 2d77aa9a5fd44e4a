"""Conditions inside every branch of an OR: a join key written in each branch is a join key,
and each table's own conditions become an (implied) filter of its scan, as in TPC-H Q19;
the rows are the same as without the rewrite, NULLs and outer joins included."""
from __future__ import annotations

import pytest

from rayemr.hive.sql.compile import factor_common_conjuncts, parse_hive
from tests.unit.hive.conftest import rows

Q19_LIKE = """
SELECT sum(l.price) AS revenue, count(*) AS n FROM li l, pa p
WHERE (p.k = l.k AND p.brand = 'b1' AND l.qty BETWEEN 1 AND 10 AND l.mode = 'AIR')
   OR (p.k = l.k AND p.brand = 'b2' AND l.qty BETWEEN 5 AND 20 AND l.mode = 'AIR')
"""


@pytest.fixture
def tables(session):
    session.execute("CREATE TABLE li (k INT, qty INT, price DOUBLE, mode STRING)")
    session.execute("CREATE TABLE pa (k INT, brand STRING)")
    session.execute("INSERT INTO li VALUES (1, 3, 10.0, 'AIR'), (1, 15, 20.0, 'AIR'), "
                    "(2, 7, 40.0, 'AIR'), (2, 7, 80.0, 'SHIP'), (3, NULL, 160.0, 'AIR'), "
                    "(NULL, 7, 320.0, 'AIR'), (4, 30, 640.0, 'AIR')")
    session.execute("INSERT INTO pa VALUES (1, 'b1'), (2, 'b2'), (3, 'b1'), (NULL, 'b1'), "
                    "(4, 'b2')")
    return session


def test_the_common_join_key_is_a_conjunct_and_each_scan_gets_its_implied_filter(tables):
    plan = tables.compile(Q19_LIKE)
    li, pa = plan.scans
    assert li.filter is not None and "mode = 'AIR'" in li.filter and "qty" in li.filter
    assert pa.filter is not None and "brand = 'b1'" in pa.filter and "'b2'" in pa.filter
    where = plan.tree.args["where"].this
    assert [c.sql() for c in where.flatten()][1:] == ["p.k = l.k", "l.mode = 'AIR'"]
    physical = tables.physical(plan, {s.id: tables.splits_for(s) for s in plan.scans})
    assert physical.agg is not None and physical.agg.keys == ()  # partial aggregation


def test_same_rows_as_without_the_rewrite(tables):
    got = rows(tables.execute(Q19_LIKE))
    # (1,3,b1) qualifies in branch 1; (1,15) in neither (b1 needs qty <= 10); (2,7,AIR,b2)
    # in branch 2; SHIP, NULL qty, NULL key and qty 30 in none
    assert got == [(50.0, 2)]


def test_outer_joins_and_volatile_or_subquery_conditions_are_left_alone(tables):
    sql = ("SELECT l.price FROM li l LEFT JOIN pa p ON p.k = l.k "
           "WHERE (p.brand = 'b1' AND l.mode = 'AIR') OR (p.brand IS NULL AND l.mode = 'AIR') "
           "ORDER BY l.price")
    plan = tables.compile(sql)
    li, pa = plan.scans
    assert pa.filter is None  # the null-supplying side is never filtered in its scan
    assert li.filter is not None and "mode = 'AIR'" in li.filter
    assert rows(tables.execute(sql)) == [(10.0,), (20.0,), (160.0,), (320.0,)]

    tree = parse_hive("SELECT a FROM t WHERE (rand() > 0.5 AND a = 1) OR (rand() > 0.5 AND a = 2)")
    before = tree.sql()
    factor_common_conjuncts(tree)
    assert tree.sql() == before
