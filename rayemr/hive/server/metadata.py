"""HiveServer2's metadata calls (GetSchemas, GetTables, GetColumns...) as result sets.

Each call answers with the JDBC ``DatabaseMetaData`` columns Hive sends, built from the
metastore (anything with ``list_databases()``, ``list_tables(db)`` and ``get_table(db,
name)``). Name patterns are JDBC ``LIKE`` patterns (``%``, ``_``, ``\\`` escapes; Hive also
takes ``*``), matched case-insensitively; an empty pattern matches everything.
"""
from __future__ import annotations

import re
from typing import Iterable, Protocol, Sequence

import pyarrow as pa

from rayemr.core.errors import InputNotFoundError
from rayemr.hive.api import Column, StatementResult
from rayemr.hive.server.rowset import base_type


class Catalog(Protocol):
    def list_databases(self) -> list[str]: ...
    def list_tables(self, db: str) -> list[str]: ...
    def get_table(self, db: str, name: str): ...


def like_to_regex(pattern: str | None) -> re.Pattern:
    if not pattern or pattern in ("%", "*"):
        return re.compile(r".*", re.DOTALL)
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch in "%*" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def result_set(spec: Sequence[tuple[str, str]], rows: Iterable[Sequence]) -> StatementResult:
    rows = list(rows)
    arrow_types = {"string": pa.string(), "int": pa.int32(), "smallint": pa.int16(),
                   "bigint": pa.int64(), "boolean": pa.bool_()}
    arrays = [pa.array([r[i] for r in rows], type=arrow_types[t]) for i, (_, t) in enumerate(spec)]
    table = pa.Table.from_arrays(arrays, names=[n for n, _ in spec])
    return StatementResult(columns=tuple(Column(n, t) for n, t in spec), table=table,
                           has_result_set=True)


# java.sql.Types codes, as Hive's JDBC metadata reports them.
JDBC_TYPES = {
    "boolean": 16, "tinyint": -6, "smallint": 5, "int": 4, "integer": 4, "bigint": -5,
    "float": 6, "double": 8, "real": 8, "string": 12, "varchar": 12, "char": 1, "date": 91,
    "timestamp": 93, "binary": -2, "decimal": 3, "numeric": 3, "array": 2003, "map": 2000,
    "struct": 2002, "uniontype": 1111, "void": 0,
    "interval_year_month": 1111, "interval_day_time": 1111,
}
_PRECISION = {"boolean": None, "tinyint": 3, "smallint": 5, "int": 10, "integer": 10,
              "bigint": 19, "float": 7, "double": 15, "real": 15, "date": 10, "timestamp": 29,
              "string": 2147483647, "binary": 2147483647}
_DECIMAL = re.compile(r"^\s*(?:decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", re.I)
_LENGTH = re.compile(r"^\s*(?:var)?char\s*\(\s*(\d+)\s*\)", re.I)


def _size_and_digits(hive_type: str) -> tuple[int | None, int | None]:
    name = base_type(hive_type)
    if name in ("decimal", "numeric"):
        m = _DECIMAL.match(hive_type)
        return (int(m.group(1)), int(m.group(2) or 0)) if m else (10, 0)
    if name in ("varchar", "char"):
        m = _LENGTH.match(hive_type)
        return (int(m.group(1)) if m else None), None
    digits = {"float": 7, "double": 15, "real": 15, "timestamp": 9}.get(name)
    if name in ("tinyint", "smallint", "int", "integer", "bigint"):
        digits = 0
    return _PRECISION.get(name), digits


def table_type(hive_table_type: str) -> str:
    """Hive's CLASSIC mapping: managed and external tables are TABLE, views are VIEW."""
    return "VIEW" if "VIEW" in (hive_table_type or "").upper() else "TABLE"


def get_catalogs() -> StatementResult:
    return result_set([("TABLE_CAT", "string")], [])


def get_table_types() -> StatementResult:
    return result_set([("TABLE_TYPE", "string")], [("TABLE",), ("VIEW",)])


def get_schemas(catalog: Catalog, schema_pattern: str | None) -> StatementResult:
    rx = like_to_regex(schema_pattern)
    rows = [(db, "") for db in sorted(catalog.list_databases()) if rx.fullmatch(db)]
    return result_set([("TABLE_SCHEM", "string"), ("TABLE_CATALOG", "string")], rows)


def _tables(catalog: Catalog, schema_pattern: str | None, table_pattern: str | None):
    srx, trx = like_to_regex(schema_pattern), like_to_regex(table_pattern)
    for db in sorted(catalog.list_databases()):
        if not srx.fullmatch(db):
            continue
        for name in sorted(catalog.list_tables(db)):
            if not trx.fullmatch(name):
                continue
            try:
                yield db, catalog.get_table(db, name)
            except InputNotFoundError:
                continue  # dropped between listing and reading


_TABLES_SPEC = [("TABLE_CAT", "string"), ("TABLE_SCHEM", "string"), ("TABLE_NAME", "string"),
                ("TABLE_TYPE", "string"), ("REMARKS", "string"), ("TYPE_CAT", "string"),
                ("TYPE_SCHEM", "string"), ("TYPE_NAME", "string"),
                ("SELF_REFERENCING_COL_NAME", "string"), ("REF_GENERATION", "string")]


def get_tables(catalog: Catalog, schema_pattern: str | None, table_pattern: str | None,
               table_types: Sequence[str] | None) -> StatementResult:
    wanted = {t.upper() for t in table_types} if table_types else None
    rows = []
    for db, t in _tables(catalog, schema_pattern, table_pattern):
        kind = table_type(getattr(t, "table_type", ""))
        if wanted is not None and kind not in wanted and (
                getattr(t, "table_type", "").upper() not in wanted):
            continue
        rows.append(("", db, t.name, kind, getattr(t, "comment", "") or "",
                     None, None, None, None, None))
    return result_set(_TABLES_SPEC, rows)


_COLUMNS_SPEC = [
    ("TABLE_CAT", "string"), ("TABLE_SCHEM", "string"), ("TABLE_NAME", "string"),
    ("COLUMN_NAME", "string"), ("DATA_TYPE", "int"), ("TYPE_NAME", "string"),
    ("COLUMN_SIZE", "int"), ("BUFFER_LENGTH", "smallint"), ("DECIMAL_DIGITS", "int"),
    ("NUM_PREC_RADIX", "int"), ("NULLABLE", "int"), ("REMARKS", "string"),
    ("COLUMN_DEF", "string"), ("SQL_DATA_TYPE", "int"), ("SQL_DATETIME_SUB", "int"),
    ("CHAR_OCTET_LENGTH", "int"), ("ORDINAL_POSITION", "int"), ("IS_NULLABLE", "string"),
    ("SCOPE_CATALOG", "string"), ("SCOPE_SCHEMA", "string"), ("SCOPE_TABLE", "string"),
    ("SOURCE_DATA_TYPE", "smallint"), ("IS_AUTO_INCREMENT", "string")]


def get_columns(catalog: Catalog, schema_pattern: str | None, table_pattern: str | None,
                column_pattern: str | None) -> StatementResult:
    crx = like_to_regex(column_pattern)
    rows = []
    for db, t in _tables(catalog, schema_pattern, table_pattern):
        columns = tuple(t.columns) + tuple(getattr(t, "partition_keys", ()))
        for pos, c in enumerate(columns, 1):
            if not crx.fullmatch(c.name):
                continue
            name = base_type(c.type)
            size, digits = _size_and_digits(c.type)
            rows.append(("", db, t.name, c.name, JDBC_TYPES.get(name, 1111), c.type.upper(),
                         size, None, digits, 10 if digits is not None else None, 1,
                         c.comment or "", None, None, None, None, pos, "YES",
                         None, None, None, None, "NO"))
    return result_set(_COLUMNS_SPEC, rows)


_TYPE_INFO_SPEC = [
    ("TYPE_NAME", "string"), ("DATA_TYPE", "int"), ("PRECISION", "int"),
    ("LITERAL_PREFIX", "string"), ("LITERAL_SUFFIX", "string"), ("CREATE_PARAMS", "string"),
    ("NULLABLE", "smallint"), ("CASE_SENSITIVE", "boolean"), ("SEARCHABLE", "smallint"),
    ("UNSIGNED_ATTRIBUTE", "boolean"), ("FIXED_PREC_SCALE", "boolean"),
    ("AUTO_INCREMENT", "boolean"), ("LOCAL_TYPE_NAME", "string"), ("MINIMUM_SCALE", "smallint"),
    ("MAXIMUM_SCALE", "smallint"), ("SQL_DATA_TYPE", "int"), ("SQL_DATETIME_SUB", "int"),
    ("NUM_PREC_RADIX", "int")]

_TYPE_NAMES = ("VOID", "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE",
               "STRING", "CHAR", "VARCHAR", "DATE", "TIMESTAMP", "BINARY", "DECIMAL", "ARRAY",
               "MAP", "STRUCT", "UNIONTYPE", "INTERVAL_YEAR_MONTH", "INTERVAL_DAY_TIME")


def get_type_info() -> StatementResult:
    rows = []
    for type_name in _TYPE_NAMES:
        name = "void" if type_name == "VOID" else type_name.lower()
        numeric = name in ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")
        precision = {"decimal": 38, "char": 255, "varchar": 65535}.get(name, _PRECISION.get(name))
        rows.append((type_name, JDBC_TYPES.get(name, 1111), precision, None, None,
                     {"decimal": "PRECISION,SCALE", "char": "LENGTH",
                      "varchar": "LENGTH"}.get(name), 1,
                     name in ("string", "char", "varchar"), 3 if name not in (
                         "array", "map", "struct", "uniontype") else 0,
                     not numeric, False, False, None, 0, 38 if name == "decimal" else 0,
                     None, None, 10 if numeric else None))
    return result_set(_TYPE_INFO_SPEC, rows)


_FUNCTIONS_SPEC = [("FUNCTION_CAT", "string"), ("FUNCTION_SCHEM", "string"),
                   ("FUNCTION_NAME", "string"), ("REMARKS", "string"), ("FUNCTION_TYPE", "int"),
                   ("SPECIFIC_NAME", "string")]


def get_functions(function_names: Iterable[str], schema_pattern: str | None,
                  function_pattern: str | None) -> StatementResult:
    frx = like_to_regex(function_pattern)
    # DatabaseMetaData.functionResultUnknown (0): Hive does not say whether a table returns.
    rows = [(None, None, f, "", 0, f) for f in sorted(set(function_names)) if frx.fullmatch(f)]
    return result_set(_FUNCTIONS_SPEC, rows)
