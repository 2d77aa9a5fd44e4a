"""hive.resultset.use.unique.column.names: Hive's result-set names, on by default."""
from __future__ import annotations

import pytest


@pytest.fixture
def hive(session):
    session.execute("CREATE TABLE one_row (number_of_rows int, st struct<a:int,b:string>)")
    session.execute("INSERT INTO one_row SELECT 1, named_struct('a', 2, 'b', 'x')")
    session.execute("CREATE TABLE other (k int, v string)")
    session.execute("CREATE VIEW v AS SELECT number_of_rows AS n FROM one_row")
    return session


def _names(session, sql: str) -> list[str]:
    result = session.execute(sql)
    assert [c.name for c in result.columns] == result.table.column_names
    return result.table.column_names


@pytest.mark.parametrize("sql, names", [
    ("SELECT * FROM one_row", ["one_row.number_of_rows", "one_row.st"]),
    ("SELECT * FROM default.one_row", ["one_row.number_of_rows", "one_row.st"]),
    ("SELECT r.* FROM one_row r", ["r.number_of_rows", "r.st"]),
    ("SELECT r.number_of_rows FROM one_row r", ["r.number_of_rows"]),
    ("SELECT one_row.number_of_rows FROM one_row", ["one_row.number_of_rows"]),
    ("SELECT number_of_rows FROM one_row", ["number_of_rows"]),
    ("SELECT r.number_of_rows AS n, 1, number_of_rows + 1 FROM one_row r",
     ["n", "_c1", "_c2"]),
    ("SELECT st.a FROM one_row", ["a"]),
    ("SELECT count(*) FROM one_row", ["_c0"]),
    ("SELECT * FROM (SELECT 1 AS x, 'y' AS y) s", ["s.x", "s.y"]),
    ("SELECT * FROM v", ["v.n"]),
    ("SELECT r.number_of_rows, o.v FROM one_row r LEFT JOIN other o "
     "ON r.number_of_rows = o.k", ["r.number_of_rows", "o.v"]),
    ("SELECT r.*, o.k FROM one_row r JOIN other o ON r.number_of_rows = o.k",
     ["r.number_of_rows", "r.st", "o.k"]),
    ("SELECT number_of_rows FROM one_row UNION ALL SELECT k FROM other",
     ["number_of_rows"]),
])
def test_columns_of_stars_and_aliased_references_are_qualified(hive, sql, names):
    assert _names(hive, sql) == names


def test_the_setting_turns_it_off(hive):
    hive.execute("SET hive.resultset.use.unique.column.names=false")
    assert _names(hive, "SELECT * FROM one_row r") == ["number_of_rows", "st"]
    assert _names(hive, "SELECT r.number_of_rows FROM one_row r") == ["number_of_rows"]
    hive.execute("RESET")
    assert _names(hive, "SELECT * FROM one_row") == ["one_row.number_of_rows", "one_row.st"]


def test_values_stay_the_same(hive):
    assert hive.execute("SELECT * FROM one_row").table.to_pylist() == [
        {"one_row.number_of_rows": 1, "one_row.st": {"a": 2, "b": "x"}}]


def test_a_star_over_a_self_join_names_both_sides(hive):
    hive.execute("INSERT INTO other SELECT 1, 'a'")
    result = hive.execute("SELECT * FROM other x JOIN other y ON x.k = y.k")
    assert result.table.column_names == ["x.k", "x.v", "y.k", "y.v"]
    assert result.table.to_pylist() == [{"x.k": 1, "x.v": "a", "y.k": 1, "y.v": "a"}]
    hive.execute("SET hive.resultset.use.unique.column.names=false")
    result = hive.execute("SELECT x.k, y.k FROM other x JOIN other y ON x.k = y.k")
    assert result.table.column_names == ["k", "k"]  # Hive repeats the name too
    assert [c.to_pylist() for c in result.table.columns] == [[1], [1]]
