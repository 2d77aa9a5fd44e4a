"""Record format conversion: JSON records -> Parquet or ORC with a Hive table's schema.

Column matching follows the Hive JSON SerDes Firehose offers: keys match column names
case-insensitively (OpenX's ``CaseInsensitive``, on by default; Hive's JsonSerDe always),
OpenX can turn dots in keys into underscores and map columns to other keys
(``ColumnToJsonKeyMappings``); missing keys are NULL, other keys are ignored. Values convert
as Hive reads JSON text: numeric strings into numbers, ``"true"``/``"false"`` into booleans,
any scalar or nested value into a string column as its text; timestamps from the configured
``TimestampFormats`` (Java patterns or ``millis``), ISO-8601 text, or (OpenX) epoch seconds.

A batch is first parsed whole by Arrow's JSON reader with the table's schema (C++, no Python per
row, one row per record: ``rayemr.firehose.ndjson``); if that cannot be trusted (a record it
rejects, a key that differs only in case, a type it cannot read) the batch is converted record
by record, and each record that does not convert is returned with the reason -- it goes to the
error output, never silently dropped.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa

from rayemr.firehose import ndjson
from rayemr.firehose.config import Conversion
from rayemr.firehose.timefmt import PatternError, compile_pattern
from rayemr.hive.types import HiveType, arrow_type, parse_type

_INT_RANGES = {"tinyint": 2**7, "smallint": 2**15, "int": 2**31, "bigint": 2**63}
_EPOCH = dt.datetime(1970, 1, 1)


class ConversionError(ValueError):
    """One record does not fit the schema; the message says which column and why."""


@dataclass(frozen=True)
class Converted:
    table: pa.Table
    rows: tuple[int, ...]  # input positions of the table's rows
    failed: tuple[tuple[int, str, str], ...]  # (input position, error code, message)


class Converter:
    """Converts batches of JSON records to Arrow with one table's columns."""

    def __init__(self, columns: Sequence[tuple[str, str]], conversion: Conversion) -> None:
        self.columns = [(n.lower(), parse_type(t)) for n, t in columns]
        self.conversion = conversion
        self.schema = pa.schema([(n, arrow_type(t)) for n, t in self.columns])
        self._keys = dict(conversion.column_to_key)
        self._formats = []
        for f in conversion.timestamp_formats:
            if f != "millis":
                try:
                    self._formats.append(compile_pattern(f))
                except PatternError as exc:
                    raise ConversionError(f"TimestampFormats: {exc}") from None
        self._fast = (not self._keys and not conversion.dots_to_underscores
                      and not conversion.timestamp_formats
                      and all(t.name not in ("struct", "map", "binary", "date")
                              and not (t.name == "array" and t.children[0].is_complex)
                              for _, t in self.columns))

    # -- batches -------------------------------------------------------------------------------
    def convert(self, records: Sequence[bytes]) -> Converted:
        if self._fast and records:
            table = self._fast_path(records)
            if table is not None:
                return Converted(table, tuple(range(len(records))), ())
        rows, good, failed = [], [], []
        for i, data in enumerate(records):
            try:
                rows.append(self.row(data))
                good.append(i)
            except ConversionError as exc:
                code = ("DataFormatConversion.MalformedData" if "not JSON" in str(exc)
                        or "not a JSON object" in str(exc)
                        else "DataFormatConversion.SchemaMismatch")
                failed.append((i, code, str(exc)))
        table = pa.Table.from_pylist(rows, schema=self.schema)
        return Converted(table, tuple(good), tuple(failed))

    @property
    def fast(self) -> bool:
        """Whether Arrow's reading of a batch may stand for the SerDe's (see ``from_rows``)."""
        return self._fast

    def _fast_path(self, records: Sequence[bytes]) -> pa.Table | None:
        # unknown keys are inferred, not ignored: a key differing from a column only in case
        # must be seen to be matched the SerDe's way
        table = ndjson.read_records(records, self.schema, unexpected="infer")
        return None if table is None else self.from_rows(table)

    def from_rows(self, table: pa.Table) -> pa.Table | None:
        """The converted rows of records Arrow read with ``schema``'s columns and every other
        key inferred (``ndjson``), or None if they need converting record by record."""
        if not self._fast:
            return None
        names = {n for n, _ in self.columns}
        if self.conversion.case_insensitive and any(
                c not in names and c.lower() in names for c in table.column_names):
            return None  # a key differing only in case: match it the SerDe's way
        return table.select([n for n, _ in self.columns])

    # -- one record ------------------------------------------------------------------------------
    def row(self, data: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConversionError(f"record is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ConversionError(f"record is not a JSON object (it is {type(doc).__name__})")
        keyed = self._normalise(doc)
        out = {}
        for name, t in self.columns:
            key = self._keys.get(name, name)
            value = keyed.get(key if not self.conversion.case_insensitive else key.lower())
            try:
                out[name] = self.value(value, t)
            except ConversionError as exc:
                raise ConversionError(f"column {name} ({t}): {exc}") from None
        return out

    def _normalise(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in doc.items():
            if self.conversion.dots_to_underscores:
                k = k.replace(".", "_")
            out[k.lower() if self.conversion.case_insensitive else k] = v
        return out

    def value(self, v: Any, t: HiveType) -> Any:
        if v is None:
            return None
        name = t.name
        if name in _INT_RANGES:
            return _integer(v, _INT_RANGES[name])
        if name in ("float", "double"):
            if isinstance(v, bool):
                raise ConversionError(f"{v!r} is not a number")
            try:
                return float(v)
            except (TypeError, ValueError):
                raise ConversionError(f"{v!r} is not a number") from None
        if name == "boolean":
            if isinstance(v, bool):
                return v
            if isinstance(v, str) and v.lower() in ("true", "false"):
                return v.lower() == "true"
            raise ConversionError(f"{v!r} is not a boolean")
        if name in ("string", "varchar", "char", "void"):
            text = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
            return text[:t.params[0]] if name in ("varchar", "char") else text
        if name == "decimal":
            return _decimal(v, *t.params)
        if name == "date":
            return _date(v)
        if name == "timestamp":
            return self._timestamp(v)
        if name == "binary":
            if not isinstance(v, str):
                raise ConversionError(f"{v!r} is not a string")
            try:
                return base64.b64decode(v, validate=True)
            except ValueError:
                return v.encode()
        return self._complex(v, t)

    def _complex(self, v: Any, t: HiveType) -> Any:
        if t.name == "array":
            if not isinstance(v, list):
                raise ConversionError(f"{_short(v)} is not an array")
            return [self.value(x, t.children[0]) for x in v]
        if not isinstance(v, dict):
            raise ConversionError(f"{_short(v)} is not an object")
        if t.name == "map":
            return [(self.value(k, t.children[0]), self.value(x, t.children[1]))
                    for k, x in v.items()]
        low = {k.lower(): x for k, x in v.items()}
        return {f: self.value(low.get(f.lower()), c) for f, c in zip(t.fields, t.children)}

    def _timestamp(self, v: Any) -> dt.datetime:
        if isinstance(v, bool):
            raise ConversionError(f"{v!r} is not a timestamp")
        if isinstance(v, (int, float)):
            if "millis" in self.conversion.timestamp_formats:
                return _EPOCH + dt.timedelta(milliseconds=v)
            if self.conversion.deserializer == "OpenXJsonSerDe":
                return _EPOCH + dt.timedelta(seconds=v)
            raise ConversionError(f"{v!r} is a number; add 'millis' to TimestampFormats")
        if not isinstance(v, str):
            raise ConversionError(f"{_short(v)} is not a timestamp")
        for p in self._formats:
            try:
                return p.parse(v)
            except ValueError:
                continue
        if "millis" in self.conversion.timestamp_formats and v.strip().lstrip("-").isdigit():
            return _EPOCH + dt.timedelta(milliseconds=int(v))
        try:
            parsed = dt.datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConversionError(f"{v!r} is not a timestamp in a known format") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return parsed

    # -- writing ----------------------------------------------------------------------------------
    def row_groups(self) -> RowGroups | None:
        """An object to write a row group at a time (Parquet; None for ORC)."""
        if self.conversion.output != "parquet":
            return None
        codec = self.conversion.codec
        return RowGroups("NONE" if codec == "UNCOMPRESSED" else codec.lower())

    def write(self, table: pa.Table) -> bytes:
        buf = io.BytesIO()
        codec = self.conversion.codec
        if self.conversion.output == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, buf, compression="NONE" if codec == "UNCOMPRESSED"
                           else codec.lower())
        else:
            from pyarrow import orc

            orc.write_table(table, buf, compression={"NONE": "uncompressed"}.get(
                codec, codec.lower()))
        return buf.getvalue()


class RowGroups:
    """A Parquet object written a row group at a time, as a buffer's rows arrive; ``finish``
    gives its bytes. ``chunks`` counts the buffer's chunks written so far; ``failed`` says a
    table did not match the first one's schema (the object must then be written whole)."""

    def __init__(self, compression: str) -> None:
        self.compression = compression
        self.chunks = 0
        self.failed = False
        self._sink: pa.BufferOutputStream | None = None
        self._writer: Any = None

    def write(self, table: pa.Table, chunks: int) -> bool:
        """Write ``table`` as the next row group(s); ``chunks``: the buffer's chunks written
        with it. False (and ``failed``) if it cannot be."""
        import pyarrow.parquet as pq

        if self.failed:
            return False
        if self._writer is None:
            self._sink = pa.BufferOutputStream()
            self._writer = pq.ParquetWriter(self._sink, table.schema,
                                            compression=self.compression)
        elif not table.schema.equals(self._writer.schema):
            self.failed = True
            return False
        try:
            self._writer.write_table(table)
        except (pa.ArrowException, OSError):  # half written: the object is written whole
            self.failed = True
            return False
        self.chunks = chunks
        return True

    def finish(self) -> bytes:
        assert self._writer is not None and self._sink is not None and not self.failed
        self._writer.close()
        return self._sink.getvalue().to_pybytes()


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(v: Any, bound: int) -> int:
    if isinstance(v, bool):
        raise ConversionError(f"{v!r} is not an integer")
    if isinstance(v, int):
        n = v
    elif isinstance(v, str) and v.strip().lstrip("+-").isdigit():
        n = int(v.strip())
    else:
        raise ConversionError(f"{_short(v)} is not an integer")
    if not -bound <= n < bound:
        raise ConversionError(f"{n} is out of range")
    return n


def _decimal(v: Any, precision: int, scale: int) -> decimal.Decimal:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ConversionError(f"{_short(v)} is not a decimal")
    try:
        d = decimal.Decimal(str(v).strip()).quantize(decimal.Decimal(1).scaleb(-scale))
    except (decimal.InvalidOperation, ValueError):
        raise ConversionError(f"{_short(v)} is not a decimal") from None
    if len(d.as_tuple().digits) > precision:
        raise ConversionError(f"{v} does not fit decimal({precision},{scale})")
    return d


def _date(v: Any) -> dt.date:
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            pass
    raise ConversionError(f"{_short(v)} is not a date (yyyy-MM-dd)")
