"""Complex values as Hive prints them (SerDeUtils.getJSONString): what HiveServer2 sends and
the CLI prints."""
from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pytest

from rayemr.hive.render import render, render_array
from rayemr.hive.types import arrow_type


@pytest.mark.parametrize("hive_type, value, text", [
    ("array<int>", [1, 2], "[1,2]"),
    ("array<string>", ["x", None, 'q"t'], '["x",null,"q\\"t"]'),
    ("map<int,int>", [(1, 2), (3, 4)], "{1:2,3:4}"),
    ("map<string,int>", [("a", 1)], '{"a":1}'),
    ("map<boolean,double>", [(True, 0.5)], "{true:0.5}"),
    ("struct<a:int,b:int>", {"a": 1, "b": 2}, '{"a":1,"b":2}'),
    ("struct<a:string,b:array<int>>", {"a": None, "b": [1]}, '{"a":null,"b":[1]}'),
    ("array<struct<a:int>>", [{"a": 1}, None], '[{"a":1},null]'),
    ("map<string,map<int,string>>", [("k", [(1, "v")])], '{"k":{1:"v"}}'),
    ("array<double>", [1.0, 1e10, 2.5e-5], "[1.0,1.0E10,2.5E-5]"),
    ("array<float>", [0.1], "[0.1]"),
    ("array<decimal(10,2)>", [decimal.Decimal("1.50")], "[1.50]"),
    ("array<date>", [datetime.date(2024, 2, 29)], '["2024-02-29"]'),
    ("array<timestamp>", [datetime.datetime(2024, 1, 2, 3, 4, 5, 100000),
                          datetime.datetime(2024, 1, 2)],
     '["2024-01-02 03:04:05.1","2024-01-02 00:00:00"]'),
    ("array<binary>", [b"123"], "[123]"),
    ("uniontype<int,string>", {"__union_tag": 0, "__union_0": 1, "__union_1": None}, "{0:1}"),
    ("uniontype<int,string>", {"__union_tag": 1, "__union_0": None, "__union_1": "s"},
     '{1:"s"}'),
])
def test_values_render_as_hive(hive_type, value, text):
    t = arrow_type(hive_type)
    assert render(value, t) == text
    assert render_array(pa.array([value, None], t)) == [text, None]
