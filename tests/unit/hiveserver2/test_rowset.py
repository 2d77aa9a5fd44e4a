"""Arrow columns -> TColumn, checked through pyhive's own decoder."""
from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pytest
from pyhive.hive import _unwrap_column
from TCLIService import ttypes
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.transport.TTransport import TMemoryBuffer

from rayemr.hive.api import Column
from rayemr.hive.server import rowset
from rayemr.hive.server.fastproto import TCompatBinaryProtocol


def _roundtrip(arr, hive_type):
    return _unwrap_column(rowset.to_tcolumn(arr, hive_type))


@pytest.mark.parametrize("arr,hive_type,expected", [
    (pa.array([True, None, False]), "boolean", [True, None, False]),
    (pa.array([1, None, -128], pa.int8()), "tinyint", [1, None, -128]),
    (pa.array([1, None, 32767], pa.int16()), "smallint", [1, None, 32767]),
    (pa.array([1, None, 2**31 - 1], pa.int32()), "int", [1, None, 2**31 - 1]),
    (pa.array([1, None, 2**62], pa.int64()), "bigint", [1, None, 2**62]),
    (pa.array([0.1, None], pa.float32()), "float", [0.1, None]),
    (pa.array([0.1, None]), "double", [0.1, None]),
    (pa.array(["a", None, "é"]), "string", ["a", None, "é"]),
    (pa.array(["a", None]), "varchar(5)", ["a", None]),
    (pa.array([b"\x00", None]), "binary", [b"\x00", None]),
    (pa.array([decimal.Decimal("1.50"), None], pa.decimal128(5, 2)), "decimal(5,2)",
     ["1.50", None]),
    (pa.array([datetime.date(2020, 1, 2), None]), "date", ["2020-01-02", None]),
    (pa.array([datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.datetime(2020, 1, 2, 3, 4, 5,
                                                                          500000), None],
              pa.timestamp("us")), "timestamp",
     ["2020-01-02 03:04:05", "2020-01-02 03:04:05.5", None]),
    (pa.array([[1, None], [], None], pa.list_(pa.int64())), "array<bigint>",
     ["[1,null]", "[]", None]),
    (pa.array([[("a", 1)], None], pa.map_(pa.string(), pa.int32())), "map<string,int>",
     ['{"a":1}', None]),
    (pa.array([{"x": 1, "y": "s"}, None], pa.struct([("x", pa.int32()), ("y", pa.string())])),
     "struct<x:int,y:string>", ['{"x":1,"y":"s"}', None]),
    (pa.array([None, None], pa.null()), "void", [None, None]),
    (pa.array(["a", "b", "a"]).dictionary_encode(), "string", ["a", "b", "a"]),
])
def test_values_and_nulls(arr, hive_type, expected):
    assert _roundtrip(arr, hive_type) == expected


def test_null_bitmap_is_lsb_first_and_empty_without_nulls():
    arr = pa.array([None] + [1] * 8 + [None])
    assert rowset.null_bitmap(arr) == bytes([0b00000001, 0b00000010])
    assert rowset.null_bitmap(pa.array([1, 2])) == b""


def test_chunked_columns_and_pages():
    table = pa.Table.from_batches([pa.record_batch({"a": [1, 2, 3]}),
                                   pa.record_batch({"a": [4, None, 6]})])
    cols = (Column("a", "bigint"),)
    page = rowset.to_rowset(table, cols, 2, 3)
    assert page.startRowOffset == 2 and page.rows == []
    assert _unwrap_column(page.columns[0]) == [3, 4, None]
    assert _unwrap_column(rowset.to_rowset(table, cols, 6, 10).columns[0]) == []


def test_type_descriptors_carry_qualifiers():
    desc = rowset.type_desc("decimal(15,2)").types[0].primitiveEntry
    assert desc.type == ttypes.TTypeId.DECIMAL_TYPE
    q = desc.typeQualifiers.qualifiers
    assert (q["precision"].i32Value, q["scale"].i32Value) == (15, 2)
    vc = rowset.type_desc("varchar(20)").types[0].primitiveEntry
    assert vc.typeQualifiers.qualifiers["characterMaximumLength"].i32Value == 20
    assert rowset.type_desc("array<map<string,int>>").types[0].primitiveEntry.type == \
        ttypes.TTypeId.ARRAY_TYPE
    assert rowset.type_desc("no_such_type").types[0].primitiveEntry.type == \
        ttypes.TTypeId.STRING_TYPE


def test_fast_protocol_bytes_match_pure_python():
    table = pa.table({"a": pa.array([1, None, 3], pa.int32()), "s": ["x", None, "z"]})
    cols = (Column("a", "int"), Column("s", "string"))
    resp = ttypes.TFetchResultsResp(
        status=ttypes.TStatus(statusCode=0), hasMoreRows=False,
        results=rowset.to_rowset(table, cols, 0, 3))
    slow, fast = TMemoryBuffer(), TMemoryBuffer()
    resp.write(TBinaryProtocol(slow))
    resp.write(TCompatBinaryProtocol(fast))
    assert fast.getvalue() == slow.getvalue()
    decoded = ttypes.TFetchResultsResp()
    decoded.read(TCompatBinaryProtocol(TMemoryBuffer(fast.getvalue())))
    assert decoded == resp
