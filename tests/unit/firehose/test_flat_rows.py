"""Flat JSON records read straight into Arrow's buffers (``rayemr/firehose/_rows.c``) against
Arrow's own JSON reader and the record-by-record conversion (Hive's JSON SerDe rules): wherever
the C reader answers, its table is the one Arrow reads; wherever it cannot, it says so."""
from __future__ import annotations

import io
import json
import math

import pyarrow as pa
import pyarrow.json as pa_json
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rayemr.core import native
from rayemr.firehose import ndjson
from rayemr.firehose.config import Conversion
from rayemr.firehose.convert import Converter

_rows = native.built("rayemr.firehose._rows")  # fails when not built
if _rows is None:
    pytest.skip(native.PURE_REASON, allow_module_level=True)

SCHEMA = pa.schema([("s", pa.string()), ("i", pa.int64()), ("i32", pa.int32()),
                    ("i16", pa.int16()), ("i8", pa.int8()), ("d", pa.float64()),
                    ("b", pa.bool_()), ("t", pa.timestamp("us"))])
HIVE = [("s", "string"), ("i", "bigint"), ("i32", "int"), ("i16", "smallint"), ("i8", "tinyint"),
        ("d", "double"), ("b", "boolean"), ("t", "timestamp")]


def arrow(text: bytes, schema: pa.Schema = SCHEMA) -> pa.Table | None:
    """What Arrow's reader makes of the text (unknown keys inferred, as the stream reads)."""
    try:
        table = pa_json.read_json(io.BytesIO(text), parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="infer"))
        table.validate(full=True)
        return table
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal, with -0.0 and 0.0 told apart."""
    if not a.equals(b):
        return False
    da, db = a.column("d").to_pylist(), b.column("d").to_pylist()
    return all(x is None or math.copysign(1, x) == math.copysign(1, y) for x, y in zip(da, db))


def joined(records: list[bytes]) -> ndjson.Joined:
    j = ndjson.joinable(records)
    assert j is not None and not j.wrapped
    return j


# -- spellings ------------------------------------------------------------------------------------
ws = st.sampled_from(["", " ", "  ", "\t", " \r "])
digits = st.text("0123456789", min_size=1, max_size=22)
integer = st.one_of(st.integers(-2**64, 2**64).map(str),
                    st.tuples(st.sampled_from(["", "-"]), digits).map("".join))
number = st.one_of(integer, st.floats(allow_nan=False, allow_infinity=False).map(repr),
                   st.tuples(integer, st.sampled_from(["", ".5", ".0", ".123456789012345678"]),
                             st.sampled_from(["", "e5", "E-3", "e+400", "e-400", "e308"])
                             ).map("".join),
                   st.sampled_from(["1.", ".5", "-", "01", "1e", "0x10", "Infinity", "NaN", "-0",
                                    "-0.0", "5e-324", "1.7976931348623157e308"]))
plain_text = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'),
                     max_size=12)
string = st.one_of(plain_text.map(json.dumps), st.text(max_size=6).map(json.dumps),
                   st.text(max_size=6).map(lambda s: json.dumps(s, ensure_ascii=False)))
stamp = st.one_of(
    st.datetimes(min_value=__import__("datetime").datetime(1, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S") + (f".{d.microsecond:06d}"[:1 + d.microsecond % 7]
                                                      if d.microsecond % 7 else "")),
    st.sampled_from(["2024-02-29 00:00:00", "2023-02-29 00:00:00", "2024-05-01T10:00:00.5",
                     "2024-05-01 24:00:00", "2024-05-01 23:59:60", "2024-13-01 00:00:00",
                     "0000-01-01 00:00:00", "2024-05-01 10:00", "2024-05-01",
                     "2024-05-01 10:00:00.1234567", "2024-05-01 10:00:00Z", "2024-5-01 10:00:00",
                     "2024-05-01 10:00:00.", "1900-02-29 00:00:00", "2000-02-29 23:59:59.999999"])
).map(json.dumps)
value = st.one_of(number, string, stamp, st.sampled_from(["true", "false", "null", "[]", "{}",
                                                          '{"a":1}', "[1, 2]", "nul", "tru"]))
key = st.one_of(st.sampled_from(SCHEMA.names), st.sampled_from(["S", "I", "x", "s\\u0073", ""]))


@st.composite
def record(draw) -> bytes:
    members = draw(st.lists(st.tuples(key, value), max_size=10))
    parts = [f'{draw(ws)}"{k}"{draw(ws)}:{draw(ws)}{v}{draw(ws)}' for k, v in members]
    return ("{" + ",".join(parts) + "}").encode()


@st.composite
def typed_record(draw) -> bytes:
    """Mostly values of the column's own kind, so most batches are read by C."""
    kinds = {"s": string, "i": integer, "i32": integer, "i16": integer, "i8": integer,
             "d": number, "b": st.sampled_from(["true", "false"]), "t": stamp}
    names = draw(st.lists(st.sampled_from(SCHEMA.names), unique=True, max_size=8))
    parts = [f'"{n}":{draw(ws)}{draw(st.one_of(kinds[n], st.just("null")))}' for n in names]
    return ("{" + f",{draw(ws)}".join(parts) + "}").encode()


def check(records: list[bytes]) -> pa.Table | None:
    j = ndjson.joinable(records)
    if j is None or j.wrapped:
        return None
    flat = ndjson.read_flat(j.text, len(records), SCHEMA)
    if flat is not None:
        flat.validate(full=True)
        expected = arrow(j.text)
        assert expected is not None, (records, "C read what Arrow refuses")
        assert expected.num_rows == len(records)
        assert same(flat, expected), (records, flat.to_pylist(), expected.to_pylist())
    return flat


@settings(max_examples=400, deadline=None)
@given(st.lists(record(), min_size=1, max_size=6))
def test_any_record_is_read_as_arrow_reads_it_or_not_at_all(records):
    check(records)


@settings(max_examples=400, deadline=None)
@given(st.lists(typed_record(), min_size=1, max_size=8))
def test_typed_records_are_read_as_arrow_reads_them(records):
    check(records)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"s": st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
     "i": st.integers(-2**63, 2**63 - 1),
     "d": st.one_of(st.just(0.0), st.floats(1e-290, 1e290), st.floats(-1e290, -1e-290)),
     "b": st.booleans()},
    optional={"i8": st.integers(-128, 127), "t": st.sampled_from(
        ["2024-05-01 10:00:00", "1999-12-31T23:59:59.25", None])}), min_size=1, max_size=20))
def test_the_conversion_of_read_records_is_hive_s_record_by_record(rows):
    """The table the stream converts to is the SerDe's, record by record."""
    records = [json.dumps(r).encode() for r in rows]
    c = Converter(HIVE, Conversion("d", "t", "parquet"))
    j = joined(records)
    flat = ndjson.read_flat(j.text, len(records), c.schema)
    if all('\\' not in r.decode() for r in records):
        assert flat is not None  # nothing here is beyond the C reader (exponents < 300)
    if flat is not None:
        assert c.from_rows(flat).to_pylist() == [c.row(r) for r in records]
    assert c.convert(records).table.to_pylist() == [c.row(r) for r in records]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(number, st.floats(allow_nan=False, allow_infinity=False).map(repr)),
                min_size=1, max_size=20))
def test_numbers_are_read_as_arrow_reads_them(values):
    """Doubles correctly rounded (the fast path and strtod alike), integers in range."""
    check([f'{{"d": {v}}}'.encode() for v in values])
    check([f'{{"i": {v}, "i8": {v}}}'.encode() for v in values])


def test_values_and_nulls_land_in_arrow_s_layout():
    records = [b'{"s": "a b", "i": -9223372036854775808, "i8": -128, "d": 2.5e-3, "b": true,'
               b' "t": "2024-02-29T23:59:59.000001"}',
               b"{}",
               b'{"i": 9223372036854775807, "i8": 127, "d": -0, "b": false, "s": null, '
               b'"t": "1970-01-01 00:00:00"}']
    flat = check(records)
    assert flat is not None
    rows = flat.to_pylist()
    assert rows[0]["s"] == "a b" and rows[0]["i"] == -2**63 and rows[0]["i8"] == -128
    assert rows[0]["t"].isoformat() == "2024-02-29T23:59:59.000001" and rows[0]["b"] is True
    assert all(v is None for v in rows[1].values())
    assert rows[2]["s"] is None and rows[2]["d"] == 0 and rows[2]["b"] is False
    assert flat.column("t").to_pylist()[2].timestamp() == 0
    assert flat.column("s").null_count == 2 and flat.column("i16").null_count == 3


@pytest.mark.parametrize("record", [
    b'{"s": "a\\"b"}',              # an escape: Arrow decodes it
    b'{"s": "caf\xc3\xa9"}',        # past ASCII
    b'{"x": 1}',                    # a key that is not a column (Arrow infers it)
    b'{"S": "a"}',                  # a column's name in another case (the SerDe matches it)
    b'{"i": 1, "i": 2}',            # a key twice
    b'{"i": 1.0}', b'{"i": 1e2}', b'{"i": "5"}', b'{"i8": 128}', b'{"i": 9223372036854775808}',
    b'{"d": 1e400}', b'{"d": 0e+400}', b'{"d": "1.5"}', b'{"b": 1}', b'{"s": 5}', b'{"s": {"a": 1}}',
    b'{"t": "2024-02-30 00:00:00"}', b'{"t": "2024-05-01"}', b'{"t": "2024-05-01 10:00:00Z"}',
    b'{"i": 1} {"i": 2}',           # two objects on one line: two rows for one record
    b'{"i": 1,}', b'{"i" 1}', b'{"i": 1', b'{"i": nul}',
])
def test_what_the_c_reader_leaves_to_arrow(record):
    j = ndjson.joinable([record, b'{"i": 3}'])
    if j is None or j.wrapped:
        return
    assert ndjson.read_flat(j.text, 2, SCHEMA) is None


def test_record_count_and_blank_lines():
    text = b'{"i": 1}\n{"i": 2}'
    assert ndjson.read_flat(text, 3, SCHEMA) is None and ndjson.read_flat(text, 1, SCHEMA) is None
    lines = joined([b'{"i": 1}\n', b'{"i": 2}\n'])  # each record ends with a newline
    assert ndjson.read_flat(lines.text, 2, SCHEMA).column("i").to_pylist() == [1, 2]


def test_other_column_types_are_left_to_arrow():
    schema = pa.schema([("f", pa.float32())])
    assert ndjson.read_flat(b'{"f": 1.5}', 1, schema) is None
    schema = pa.schema([("\u00e9", pa.string())])
    assert ndjson.read_flat('{"\u00e9": "a"}'.encode(), 1, schema) is None


def test_bad_arguments_are_errors():
    with pytest.raises(TypeError):
        _rows.flat_columns("text", 1, (b"a",), (0,))
    with pytest.raises(ValueError):
        _rows.flat_columns(b"{}", 1, (b"a",), (0, 1))
    with pytest.raises(ValueError):
        _rows.flat_columns(b"{}", 1, ("a",), (0,))
    with pytest.raises(ValueError):
        _rows.flat_columns(b"{}", 1, (b"a",), (99,))


def test_a_round_of_the_benchmark_s_events_is_read_by_c():
    import random
    rng = random.Random(3)
    records = [json.dumps({"user_id": rng.randrange(10**6), "url": f"/p/{i}", "price": i / 7,
                           "ts": "2024-05-01 10:00:00", "event_type": "click"}).encode()
               for i in range(5000)]
    schema = pa.schema([("user_id", pa.int64()), ("url", pa.string()), ("price", pa.float64()),
                        ("ts", pa.timestamp("us")), ("event_type", pa.string())])
    j = joined(records)
    flat = ndjson.read_flat(j.text, len(records), schema)
    assert flat is not None and flat.equals(arrow(j.text, schema))
