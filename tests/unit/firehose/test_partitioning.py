"""Dynamic partitioning in batches agrees with jq seeing one record at a time.

``Partitioner.reference`` is jq over one record's text; ``groups`` and ``keys_for`` evaluate
whole batches (grouped by field values through Arrow, or one jq call over a marked array).
Hypothesis feeds them JSON of every shape, broken records and the queries of both paths."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import example, given, settings, strategies as st

from rayemr.firehose import ndjson, routing
from rayemr.firehose.config import Conversion
from rayemr.firehose.convert import Converter
from rayemr.firehose.jqfields import root_fields
from rayemr.firehose.partitioning import KeyFailure, Partitioner

QUERIES = [  # (query, partition keys); the first ones read only top-level fields
    ("{k: .a}", ["k"]),
    ("{k: .a, j: .b}", ["k", "j"]),
    ("{a}", ["a"]),
    ("{k: .a | ascii_downcase}", ["k"]),
    ("{k: .a[0:2], j: .b | tostring}", ["k", "j"]),
    ('{k: .a.b, "j": ."b"}', ["k", "j"]),
    ("{k: .a | length}", ["k"]),
    ("{k: .a | error}", ["k"]),
    ("{k: .a | ltrimstr(\"x\")}", ["k"]),
    ("{j: .b | tostring}", ["j"]),
    ('{k: (.a // "none")}', ["k"]),          # the rest: jq sees the whole record
    ("{k: keys[0]}", ["k"]),
    ("{k: .a}, {k: .b}", ["k"]),
    (".a", ["k"]),
    ("{k: .a | input}", ["k"]),
    ("def f: .a; {k: f} # a comment", ["k"]),
]

scalars = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["x", "X", "click", "é", "\u0000", "a\"b", "ab\\n", ""]),
    st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)), max_leaves=6)
objects = st.dictionaries(st.sampled_from(["a", "b", "A", "c", "a.b"]), values, max_size=4)


@st.composite
def records(draw) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        return json.dumps(draw(objects), ensure_ascii=draw(st.booleans())).encode()
    if kind == 6:
        return (json.dumps(draw(objects)) + draw(st.sampled_from(["\n", " ", "\r\n"]))).encode()
    return draw(st.sampled_from([
        b"", b"  ", b"not json", b"[1]", b'"a"', b"7", b"null", b'{"a":"x"}{"a":"y"}',
        b'{"a":"x"} {"a":"y"}', b'{"a":"x",}', b'{"a":"x","a":"y"}', b'{"a":"\\ud800"}',
        b'{"a":"\xff"}', b'{"a":"x"}\n{"a":"y"}', b'{"a":"x","b":NaN}', b'{"a":1.50}',
        b'{"a":-0}', b'{"b":1.50}', b'{"a":"x","b":2.0}', b'{"\\u0061":"esc"}', b'{"a":"x","b":1e999}', b'{"a":',
        b'"x"}', b'1,"\\u0000",2', b'\xef\xbb\xbf{"a":"bom"}', b'{"a":"x", "b": [[[[]]]]}']))


def per_record(groups, n):
    out = [None] * n
    for keys, positions in groups:
        for i in positions:
            assert out[i] is None, f"record {i} is in two groups"
            out[i] = keys
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(QUERIES), st.lists(records(), min_size=1, max_size=25))
@example(QUERIES[0], [b'{"a":"x"} {"a":"y"}', b"  ", b'{"a":"z"}'])  # rows that would shift
@example(QUERIES[9], [b'{"b":1.50}', b'{"b":-0}', b'{"b":100000000000000000001}'])  # a number's text matters
@example(QUERIES[0], [b'{"a":"x"}', b'{"a":"\u0000"}', b'{"\u0000":0}'])  # forged markers
@example(QUERIES[11], [b'1,"\u0000",2', b'{"a":"x"}', b'[3'])
@example(QUERIES[0], [b'{}', b'{"b": [null, ""]}\n'])  # Arrow infers an invalid list
def test_batches_equal_jq_one_record_at_a_time(query, batch):
    p = Partitioner(*query)
    reference = [p.reference(_text(r)) for r in batch]
    assert p.keys_for(batch) == reference
    assert per_record(p.groups(batch), len(batch)) == reference


CONVERTER = Converter([("a", "string"), ("c", "bigint")], Conversion("default", "t", "parquet"))
#: records Arrow can mostly read with the converter's columns: strings, nulls, missing fields
#: and now and then a value of another type (a nested one, a number), or any record at all
convertible = st.one_of(
    st.fixed_dictionaries({}, optional={
        "a": st.one_of(st.sampled_from(["x", "X", "", "é"]), st.none()),
        "b": st.one_of(st.sampled_from(["y", "Y", "1.50"]), st.none()),
        "c": st.one_of(st.integers(-5, 5), st.none()),
        "A": st.sampled_from(["x", "z"])}).map(lambda d: json.dumps(d).encode()),
    st.sampled_from([b'{"a":"x","b":1.50}', b'{"a":{"b":"x"}}', b'{"b":["y"]}', b'{"c":"7"}']),
    records())  # one_of draws each branch a third of the time


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(QUERIES[:10]),
       st.lists(convertible, min_size=1, max_size=25))
@example(QUERIES[1], [b'{"a":"x","b":"y","c":1}', b'{"a":null,"c":2}', b'{"b":"z"}'])
def test_keys_from_the_conversions_read_equal_jq_one_record_at_a_time(query, batch):
    """One Arrow read serving partitioning and conversion (``routing.read_once``) gives the
    keys jq gives each record alone, and the rows the converter's own read gives."""
    p = Partitioner(*query)
    rows = routing.read_once(batch, p, CONVERTER)
    reference = [p.reference(_text(r)) for r in batch]
    assert per_record(p.groups(batch, rows), len(batch)) == reference
    if rows is not None:
        own = CONVERTER._fast_path(batch)
        table = CONVERTER.from_rows(rows)
        assert (table is None) == (own is None)
        if table is not None:
            assert table.equals(own)


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.strip() else None


def test_groups_keep_arrival_order_and_merge_equal_keys():
    p = Partitioner("{k: .a | ascii_downcase}", ["k"])
    batch = [b'{"a":"X"}', b'{"a":"y"}', b'{"a":"x"}', b"bad", b'{"a":"Y"}']
    groups = p.groups(batch)
    assert p.fields == ("a",)
    assert [(k, list(idx)) for k, idx in groups if isinstance(k, dict)] == [
        ({"k": "x"}, [0, 2]), ({"k": "y"}, [1, 4])]
    (failure, idx), = [(k, list(idx)) for k, idx in groups if isinstance(k, KeyFailure)]
    assert idx == [3] and "not JSON" in failure.message


@pytest.mark.parametrize("query,fields", [
    ("{event_type: .event_type}", ("event_type",)),
    ("{a: .x, b: .y.z, c: .x}", ("x", "y")),
    ("{device}", ("device",)),
    ("{day: .ts[:10] | ascii_downcase}", ("ts",)),
    ('{"k": ."x y"[-1:]?}', ("x y",)),
    ("{k: .a | [.[] | tostring] | join(\",\")}", ("a",)),
    ("{k: .a | input}", None), ("{k: .a | now}", None), ("{k: .a | $__loc__}", None),
    ("{k: keys[0]}", None), ("{k: .a, j: .}", None), ("{k: .a[.b]}", None),
    ("{k: .a | (. as $r | $r)}", None), ("{k: .a} | .k", None), ("{k: .a # c\n}", None),
    ('{k: "\\(.a)"}', None), ("{k: .a | if . then 1 else 2 end}", None), ("{(.a): .b}", None),
    ("{$__loc__}", None), ("{k: .a[]}", None), ("{k: -.a}", None), ("{k: ..}", None),
])
def test_root_fields_only_when_certain(query, fields):
    assert root_fields(query) == fields


def test_ndjson_refuses_batches_whose_rows_could_shift():
    """Rows are trusted only if each is exactly one record's object (see rayemr.firehose.ndjson)."""
    schema = pa.schema([("a", pa.string())])
    ok = ndjson.read_records([b'{"a":"x"}', b'{"a":"y"} '], schema)
    assert ok.column("a").to_pylist() == ["x", "y"]
    # two objects in one record and none in the next: the row counts match, the rows do not
    assert ndjson.read_records([b'{"a":"x"} {"a":"y"}', b"  "], schema) is None
    # a record holding the wrapper's key is refused where records are wrapped (a leading
    # blank does that), read where they are one a line
    assert ndjson.read_records([b' {"a":"x"}', b'{"\\u0000":0}'], schema) is None
    assert ndjson.read_records([b'{"a":"x"}', b'{"\\u0000":0}'], schema) is not None
    # one a line: a record that ends inside an object, or holds two split by a CR
    assert ndjson.read_records([b'{"a":{}', b'{"a":"y"}}'], schema) is None
    assert ndjson.read_records([b'{"a":"x"}\r{"a":"y"}', b'{"a":"z"}'], schema) is None
    # Arrow 26 infers a list starting with null as an invalid array: never trusted
    assert ndjson.read_records([b'{}', b'{"b": [null, ""]}'], schema, unexpected="infer") is None
    assert ndjson.joinable([b'{"a":1}\n', b'{"a":2}\n']).wrapped is False
    assert ndjson.joinable([b'{"a":1}\n', b'{"a":2}']).wrapped is True
    assert ndjson.read_records([b'{"a":"x"}\n{"a":"y"}'], schema) is None
    # a record that adds members to its wrapper, or closes it and opens another object
    assert ndjson.read_records([b'{"a":"x"},"b":2', b'{"a":"y"}'], schema) is None
    assert ndjson.read_records([b'1}{"a":"q"', b'{"a":"y"}'], schema) is None
    # not objects; a first record of null crashed Arrow 26 when it was a document of its own
    for other in (b"null", b"7", b'"s"', b"[1]"):
        assert ndjson.read_records([other, b'{"a":"x"}'], schema) is None
        assert ndjson.read_records([b'{"a":"x"}', other], schema) is None
    # records spanning lines, with every key found
    both = ndjson.read_records([b'{\n"a": "x",\n"B": 1}', b'{"a":"y"}\n'], schema,
                               unexpected="infer")
    assert both.to_pylist() == [{"a": "x", "B": 1}, {"a": "y", "B": None}]


@settings(max_examples=150, deadline=None)
@given(st.lists(records(), min_size=1, max_size=25))
def test_arrows_rows_are_the_records_own(batch):
    """Whenever Arrow's read of a batch is trusted (either layout), each row is what Python's
    json reads from that record alone."""
    schema = pa.schema([("a", pa.string())])
    table = ndjson.read_records(batch, schema, unexpected="infer")
    if table is None:
        return
    for record, row in zip(batch, table.to_pylist()):
        doc = json.loads(record)
        assert isinstance(doc, dict)
        assert set(k for k, v in row.items() if v is not None) <= set(doc)
        if isinstance(doc.get("a"), str):
            assert row["a"] == doc["a"]
