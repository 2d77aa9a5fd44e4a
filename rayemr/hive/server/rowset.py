"""Arrow results as HiveServer2 column-based row sets.

HiveServer2 (protocol V6 and later) sends a result page as one ``TColumn`` per result column:
a list of values plus a null bitmap (bit ``i`` of the bitmap, least significant bit first,
set when row ``i`` is NULL). Hive's own wire conventions are kept: FLOAT travels as a double,
DECIMAL, DATE, TIMESTAMP, INTERVAL and the complex types (ARRAY/MAP/STRUCT/UNIONTYPE, rendered
as Hive prints them, :mod:`rayemr.hive.render`) travel as strings, BINARY as bytes.

Conversion is vectorized with Arrow compute and numpy: values are null-filled, cast and turned
into Python lists in C; only complex types are rendered per value.
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from TCLIService import ttypes

from rayemr.hive.api import Column
from rayemr.hive.render import render_array

T = ttypes.TTypeId

#: Hive base type name -> Thrift type id.
TYPE_IDS: dict[str, int] = {
    "boolean": T.BOOLEAN_TYPE, "tinyint": T.TINYINT_TYPE, "smallint": T.SMALLINT_TYPE,
    "int": T.INT_TYPE, "integer": T.INT_TYPE, "bigint": T.BIGINT_TYPE,
    "float": T.FLOAT_TYPE, "double": T.DOUBLE_TYPE, "real": T.DOUBLE_TYPE,
    "string": T.STRING_TYPE, "varchar": T.VARCHAR_TYPE, "char": T.CHAR_TYPE,
    "timestamp": T.TIMESTAMP_TYPE, "binary": T.BINARY_TYPE, "decimal": T.DECIMAL_TYPE,
    "numeric": T.DECIMAL_TYPE, "date": T.DATE_TYPE, "array": T.ARRAY_TYPE, "map": T.MAP_TYPE,
    "struct": T.STRUCT_TYPE, "uniontype": T.UNION_TYPE, "void": T.NULL_TYPE,
    "interval_year_month": T.INTERVAL_YEAR_MONTH_TYPE,
    "interval_day_time": T.INTERVAL_DAY_TIME_TYPE,
}

_BASE = re.compile(r"\s*([A-Za-z_]+)")
_ARGS = re.compile(r"^\s*[A-Za-z_]+\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$")


def base_type(hive_type: str) -> str:
    """``decimal(15,2)`` -> ``decimal``; ``array<int>`` -> ``array``; unknown -> ``string``."""
    m = _BASE.match(hive_type or "")
    name = m.group(1).lower() if m else "string"
    return name if name in TYPE_IDS else "string"


def type_desc(hive_type: str) -> ttypes.TTypeDesc:
    """The ``TTypeDesc`` HiveServer2 sends for a column of ``hive_type``.

    Like Hive, every type (complex ones included) is one primitive entry; decimals carry
    precision and scale, varchar/char their maximum length.
    """
    name = base_type(hive_type)
    qualifiers = None
    m = _ARGS.match(hive_type or "")
    if name == "decimal":
        precision, scale = (int(m.group(1)), int(m.group(2) or 0)) if m else (10, 0)
        qualifiers = ttypes.TTypeQualifiers(qualifiers={
            "precision": ttypes.TTypeQualifierValue(i32Value=precision),
            "scale": ttypes.TTypeQualifierValue(i32Value=scale)})
    elif name in ("varchar", "char") and m:
        qualifiers = ttypes.TTypeQualifiers(qualifiers={
            "characterMaximumLength": ttypes.TTypeQualifierValue(i32Value=int(m.group(1)))})
    entry = ttypes.TPrimitiveTypeEntry(type=TYPE_IDS[name], typeQualifiers=qualifiers)
    return ttypes.TTypeDesc(types=[ttypes.TTypeEntry(primitiveEntry=entry)])


def table_schema(columns: Sequence[Column]) -> ttypes.TTableSchema:
    return ttypes.TTableSchema(columns=[
        ttypes.TColumnDesc(columnName=c.name, typeDesc=type_desc(c.hive_type), position=i + 1,
                           comment=c.comment or None)
        for i, c in enumerate(columns)])


# --- values ---------------------------------------------------------------------------------

def null_bitmap(arr: pa.Array) -> bytes:
    """Hive's null bitmap: bit i (LSB first) set when row i is NULL; empty when none are."""
    if arr.null_count == 0:
        return b""
    mask = arr.is_null().to_numpy(zero_copy_only=False)
    return np.packbits(mask, bitorder="little").tobytes()


def _pylist(arr: pa.Array) -> list:
    # to_numpy().tolist() builds the Python objects in C, far faster than to_pylist().
    return arr.to_numpy(zero_copy_only=False).tolist()


def _as_strings(arr: pa.Array) -> list:
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return _pylist(arr.fill_null(""))


_FRACTION_ZEROS = re.compile(r"(\.\d*?[1-9])0+$")


def _timestamp_strings(arr: pa.Array) -> list:
    if pa.types.is_timestamp(arr.type) and arr.type.tz is not None:
        arr = arr.cast(pa.timestamp(arr.type.unit))
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        arr = pc.cast(arr, pa.string())
        # Hive prints ``2024-01-02 03:04:05`` and ``...05.5``: no trailing fractional zeros.
        arr = pc.replace_substring_regex(arr, r"\.0+$", "")
        arr = pc.replace_substring_regex(arr, r"(\.\d*?[1-9])0+$", r"\1")
    return _as_strings(arr)


def _complex_strings(arr: pa.Array) -> list:
    return [v if v is not None else "" for v in render_array(arr)]


def _float_values(arr: pa.Array) -> list:
    if pa.types.is_float32(arr.type):
        # float -> shortest decimal text -> double, so 0.1f arrives as 0.1, as Hive sends it.
        arr = pc.cast(pc.cast(arr, pa.string()), pa.float64())
    elif not pa.types.is_float64(arr.type):
        arr = pc.cast(arr, pa.float64())
    return _pylist(arr.fill_null(0.0))


def _int_values(arr: pa.Array) -> list:
    if not pa.types.is_integer(arr.type):
        arr = pc.cast(arr, pa.int64())
    return _pylist(arr.fill_null(0))


def _bool_values(arr: pa.Array) -> list:
    if not pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.bool_())
    return _pylist(arr.fill_null(False))


def _binary_values(arr: pa.Array) -> list:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.binary())
    return _pylist(arr.fill_null(b""))


_Builder = Callable[[list, bytes], ttypes.TColumn]
_CONVERTERS: dict[str, tuple[Callable[[pa.Array], list], _Builder]] = {}


def _register(names: Sequence[str], values: Callable[[pa.Array], list], build: _Builder) -> None:
    for name in names:
        _CONVERTERS[name] = (values, build)


_register(["boolean"], _bool_values,
          lambda v, n: ttypes.TColumn(boolVal=ttypes.TBoolColumn(values=v, nulls=n)))
_register(["tinyint"], _int_values,
          lambda v, n: ttypes.TColumn(byteVal=ttypes.TByteColumn(values=v, nulls=n)))
_register(["smallint"], _int_values,
          lambda v, n: ttypes.TColumn(i16Val=ttypes.TI16Column(values=v, nulls=n)))
_register(["int", "integer"], _int_values,
          lambda v, n: ttypes.TColumn(i32Val=ttypes.TI32Column(values=v, nulls=n)))
_register(["bigint"], _int_values,
          lambda v, n: ttypes.TColumn(i64Val=ttypes.TI64Column(values=v, nulls=n)))
_register(["float", "double", "real"], _float_values,
          lambda v, n: ttypes.TColumn(doubleVal=ttypes.TDoubleColumn(values=v, nulls=n)))
_register(["binary"], _binary_values,
          lambda v, n: ttypes.TColumn(binaryVal=ttypes.TBinaryColumn(values=v, nulls=n)))
_STRING = lambda v, n: ttypes.TColumn(stringVal=ttypes.TStringColumn(values=v, nulls=n))  # noqa: E731
_register(["string", "varchar", "char", "decimal", "numeric", "date", "void",
           "interval_year_month", "interval_day_time"], _as_strings, _STRING)
_register(["timestamp"], _timestamp_strings, _STRING)
_register(["array", "map", "struct", "uniontype"], _complex_strings, _STRING)


def to_tcolumn(arr: pa.Array | pa.ChunkedArray, hive_type: str) -> ttypes.TColumn:
    """One Arrow column (any chunking) as a ``TColumn`` of ``hive_type``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        return _STRING([""] * len(arr), null_bitmap(arr))
    name = base_type(hive_type)
    if name in ("array", "map", "struct", "uniontype") and not (
            pa.types.is_nested(arr.type)):
        values, build = _as_strings, _STRING  # already rendered as text by the session
    else:
        values, build = _CONVERTERS[name]
    return build(values(arr), null_bitmap(arr))


def to_rowset(table: pa.Table | None, columns: Sequence[Column], start: int,
              length: int) -> ttypes.TRowSet:
    """Rows ``[start, start+length)`` of ``table`` as a column-based ``TRowSet``."""
    if table is None:
        return ttypes.TRowSet(startRowOffset=start, rows=[], columns=[
            _STRING([], b"") for _ in columns])
    page = table.slice(start, max(0, length))
    cols = [to_tcolumn(page.column(i), c.hive_type) for i, c in enumerate(columns)]
    return ttypes.TRowSet(startRowOffset=start, rows=[], columns=cols)


def string_rowset(values: list[str], start: int = 0) -> ttypes.TRowSet:
    """A one-column string row set (the query log)."""
    return ttypes.TRowSet(startRowOffset=start, rows=[], columns=[_STRING(list(values), b"")])
