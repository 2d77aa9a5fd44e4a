"""A join of three tables: the two biggest are shuffle-joined on their key when the others
add up to more than hive.auto.convert.join.noconditionaltask.size; the third is then sent to
the join's tasks; the rows are the same as with every table sent."""
from __future__ import annotations

from collections import defaultdict

import pytest

from tests.unit.hive.conftest import rows

SQL = ("SELECT d2.region, sum(f.v) AS total, count(*) AS n FROM f "
       "JOIN d1 ON f.k = d1.k JOIN d2 ON f.g = d2.g "
       "WHERE d1.name LIKE 'x%' GROUP BY d2.region ORDER BY d2.region")


@pytest.fixture
def star(session):
    session.execute("CREATE TABLE f (k INT, g STRING, v DOUBLE)")
    session.execute("CREATE TABLE d1 (k INT, name STRING)")
    session.execute("CREATE TABLE d2 (g STRING, region STRING)")
    facts = [(i % 40, "g%d" % (i % 3), float(i)) for i in range(400)]
    for part in range(5):  # five files: five map tasks over f
        values = ", ".join(f"({k}, '{g}', {v})" for k, g, v in facts[part::5])
        session.execute(f"INSERT INTO f VALUES {values}")
    names = {k: ("x" if k % 2 else "y") + "-" * 40 for k in range(40)}
    session.execute("INSERT INTO d1 VALUES " + ", ".join(f"({k}, '{n}')"
                                                         for k, n in names.items()))
    session.execute("INSERT INTO d2 VALUES ('g0', 'east'), ('g1', 'west'), ('g2', 'east')")
    want: dict[str, list] = defaultdict(lambda: [0.0, 0])
    region = {"g0": "east", "g1": "west", "g2": "east"}
    for k, g, v in facts:
        if names[k].startswith("x"):
            want[region[g]][0] += v
            want[region[g]][1] += 1
    return session, sorted((r, t, n) for r, (t, n) in want.items())


def _explain(session) -> str:
    return "\n".join(r["Explain"] for r in session.execute("EXPLAIN " + SQL).table.to_pylist())


def test_the_two_biggest_are_shuffled_and_the_third_sent(star):
    session, want = star
    session.execute("SET hive.mapjoin.smalltable.filesize=1")
    session.execute("SET hive.auto.convert.join.noconditionaltask.size=100")
    session.execute("SET mapreduce.job.reduces=3")
    plan = _explain(session)
    assert "scan default.d1, shuffle on k" in plan and "scan default.f, shuffle on k" in plan
    assert "Map Operator Tree: scan default.d2\n" in plan
    assert "shuffle join and partial aggregate" in plan
    assert rows(session.execute(SQL)) == want


def test_sending_is_kept_when_it_moves_fewer_bytes(star):
    session, want = star
    session.execute("SET hive.mapjoin.smalltable.filesize=1")  # d1 over it, but both
    session.execute("SET mapreduce.job.reduces=3")  # fit the default limit of sent tables
    plan = _explain(session)
    assert "shuffle join" not in plan and "partial aggregate over default.f" in plan
    assert rows(session.execute(SQL)) == want
