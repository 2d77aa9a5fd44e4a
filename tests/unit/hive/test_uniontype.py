"""UNIONTYPE columns and create_union, and complex values in text tables as Hive writes them
(a NULL struct is \\N, not a struct of NULLs)."""
from __future__ import annotations

import os

import pytest

from rayemr.core.errors import UserError
from rayemr.hive.types import arrow_type, duckdb_type, hive_type_of_arrow, normalize_type


def test_the_type_parses_and_maps_both_ways():
    assert normalize_type("UNIONTYPE<int, string>") == "uniontype<int,string>"
    assert duckdb_type("uniontype<int,string>") == (
        'STRUCT("__union_tag" TINYINT, "__union_0" INTEGER, "__union_1" VARCHAR)')
    assert hive_type_of_arrow(arrow_type("uniontype<int,array<string>>")) == \
        "uniontype<int,array<string>>"
    with pytest.raises(UserError):
        normalize_type("uniontype<>")


@pytest.fixture
def hive(session):
    session.execute("CREATE TABLE u (id int, v uniontype<int,string>, "
                    "s struct<a:int,b:string>, m map<int,int>, a array<int>)")
    return session


def _data(session, table: str) -> bytes:
    location = session.metastore.get_table("default", table).location
    return b"".join(open(os.path.join(location, f), "rb").read()
                    for f in sorted(os.listdir(location)) if not f.startswith((".", "_")))


def test_create_union_values_are_written_and_read_back(hive):
    hive.execute("INSERT INTO u SELECT 1, create_union(0, 7, 'x'), named_struct('a', 1, 'b', "
                 "'y'), map(1, 2), array(3)")
    hive.execute("INSERT INTO u SELECT 2, create_union(1, 7, 'x'), NULL, NULL, NULL")
    hive.execute("INSERT INTO u SELECT 3, IF(false, create_union(0, 1, 'z'), null), "
                 "IF(false, named_struct('a', 1, 'b', 'y'), null), NULL, NULL")
    lines = sorted(_data(hive, "u").splitlines())
    assert lines == [b"1\x010\x027\x011\x02y\x011\x032\x013",
                     b"2\x011\x02x\x01\\N\x01\\N\x01\\N",
                     b"3\x01\\N\x01\\N\x01\\N\x01\\N"]
    result = hive.execute("SELECT id, v, s FROM u ORDER BY id")
    assert [c.hive_type for c in result.columns][1] == "uniontype<int,string>"
    assert result.table.to_pylist() == [
        {"id": 1, "v": {"__union_tag": 0, "__union_0": 7, "__union_1": None},
         "s": {"a": 1, "b": "y"}},
        {"id": 2, "v": {"__union_tag": 1, "__union_0": None, "__union_1": "x"}, "s": None},
        {"id": 3, "v": None, "s": None}]


def test_create_union_needs_a_value(hive):
    with pytest.raises(UserError, match="create_union"):
        hive.execute("SELECT create_union(0)")
