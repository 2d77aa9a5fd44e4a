"""Complex values as Hive prints them (``SerDeUtils.getJSONString``), for HiveServer2 results
and the CLI.

Arrays ``[1,2]``; maps ``{1:2,3:4}`` -- keys written as their type writes them, so numbers
are bare and strings quoted; structs ``{"a":1,"b":"x"}``; unions ``{tag:value}``. Inside them
strings, dates, timestamps and chars are quoted JSON strings, numbers, decimals and booleans
bare, binary its raw bytes as text, NULL ``null``.
"""
from __future__ import annotations

import datetime
import decimal
import json
import math
from typing import Any

import numpy as np
import pyarrow as pa

from rayemr.hive.types import UNION_TAG, is_union_struct


def render(value: Any, t: pa.DataType) -> str | None:
    """``value`` (a Python value of Arrow type ``t``) as Hive's JSON-like text."""
    if value is None:
        return None
    out: list[str] = []
    _write(out, value, t)
    return "".join(out)


def render_array(arr: pa.Array) -> list[str | None]:
    """Every value of ``arr`` rendered (None for NULL)."""
    t = arr.type
    return [render(v, t) for v in arr.to_pylist()]


def _write(out: list[str], v: Any, t: pa.DataType) -> None:
    if v is None:
        out.append("null")
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _write(out, item, t.value_type)
        out.append("]")
    elif pa.types.is_map(t):
        out.append("{")
        for i, (k, item) in enumerate(v):
            if i:
                out.append(",")
            _write(out, k, t.key_type)
            out.append(":")
            _write(out, item, t.item_type)
        out.append("}")
    elif is_union_struct(t):
        tag = v.get(UNION_TAG)
        out.append("{" + str(tag) + ":")
        member = f"__union_{tag}"
        index = t.get_field_index(member) if tag is not None else -1
        _write(out, v.get(member) if index >= 0 else None,
               t.field(index).type if index >= 0 else pa.null())
        out.append("}")
    elif pa.types.is_struct(t):
        out.append("{")
        for i in range(t.num_fields):
            f = t.field(i)
            if i:
                out.append(",")
            out.append(json.dumps(f.name, ensure_ascii=False) + ":")
            _write(out, v.get(f.name), f.type)
        out.append("}")
    elif pa.types.is_float32(t):  # the float's own shortest text, not its double's
        out.append(_java_double(float(str(np.float32(v)))))
    else:
        out.append(_primitive(v))


def _primitive(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", errors="replace")
    if isinstance(v, float):
        return _java_double(v)
    if isinstance(v, (int, decimal.Decimal)):
        return str(v)
    if isinstance(v, datetime.datetime):
        text = v.isoformat(sep=" ")
        return json.dumps(text.rstrip("0").rstrip(".") if "." in text else text)
    return json.dumps(str(v), ensure_ascii=False)


def _java_double(v: float) -> str:
    """Java's ``String.valueOf(double)`` for the common cases (``1.0``, ``0.5``, ``NaN``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0 or 1e-3 <= abs(v) < 1e7:
        return f"{int(v)}.0" if v == int(v) else repr(v)
    sign, digits, exponent = decimal.Decimal(repr(v)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"
