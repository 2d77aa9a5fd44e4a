"""The DuckDB executor: the one module of rayemr.hive that imports duckdb.

Task functions of Hive stages call into here: scan a split of a table (DuckDB reads Parquet
itself, with projection and filter pushdown; text, CSV and JSON lines come from EMRFS's
record reader and are parsed with Hive's rules in SQL; ORC through pyarrow), run a SQL
fragment over Arrow inputs, evaluate partition filters, serialise rows as Hive text.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

import duckdb
import pyarrow as pa

from rayemr.core.errors import ClusterError, UnsupportedError, UserError
from rayemr.engine import interrupt
from rayemr.hive import sandbox
from rayemr.hive.plan import FileSplit, ScanSpec
from rayemr.hive.types import (UNION_TAG, duckdb_type, is_union_struct, parse_type,
                               union_fields)

HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def acquire(threads: int = 1) -> duckdb.DuckDBPyConnection:
    """A confined connection from the pool (:mod:`rayemr.hive.sandbox`); hand it back with
    :func:`release`. Nested uses get connections of their own. Until then, cancelling the
    job of the attempt running in this thread interrupts the connection's statement
    (:mod:`rayemr.engine.interrupt`; raises JobKilledError when it already was)."""
    con = sandbox.POOL.acquire(threads)
    try:
        interrupt.register(con, con.interrupt)
    except BaseException:
        sandbox.POOL.release(con)
        raise
    return con


def task_memory(limit: Optional[int]):
    """A block whose DuckDB work holds at most ``limit`` bytes per connection and spills
    beyond (:func:`rayemr.hive.sandbox.task_memory`)."""
    return sandbox.task_memory(limit)


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Give back a connection from :func:`acquire`: its file grants, registered Arrow data,
    temporary views and tables are dropped before anyone else uses it."""
    interrupt.unregister(con)
    sandbox.POOL.release(con)


def grant_file(con: duckdb.DuckDBPyConnection, url: str) -> str:
    """Let the task on ``con`` read the split file ``url`` (through EMRFS); returns the name
    DuckDB reads it by. DuckDB reaches no other file."""
    from rayemr import fs as emrfs

    fs, path = emrfs.resolve(url)
    return sandbox.grant(con, fs, path)


def sql_str(s: str) -> str:
    """A DuckDB string literal for ``s`` (control characters through chr())."""
    if s == "":
        return "''"
    parts, buf = [], []
    for ch in s:
        if ord(ch) < 32 or ord(ch) == 127:
            if buf:
                parts.append("'" + "".join(buf).replace("'", "''") + "'")
                buf = []
            parts.append(f"chr({ord(ch)})")
        else:
            buf.append(ch)
    if buf:
        parts.append("'" + "".join(buf).replace("'", "''") + "'")
    return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def translate_error(err: Exception, where: str = "") -> Exception:
    """A DuckDB error as rayemr's: bad SQL/types are user errors, the rest cluster errors."""
    text = re.sub(r"^(Binder|Parser|Conversion|Catalog|Invalid Input|Not implemented) Error:",
                  "", str(err).strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    prefix = f"{where}: " if where else ""
    if isinstance(err, duckdb.NotImplementedException):
        return UnsupportedError(f"{prefix}not supported: {text}")
    if isinstance(err, duckdb.CatalogException):
        m = re.search(r"(Scalar|Aggregate|Table) Function with name (\w+) does not exist", text)
        if m:
            return UnsupportedError(f"{prefix}unknown or unsupported function {m.group(2)}")
        return UserError(f"{prefix}{text}")
    if isinstance(err, (duckdb.BinderException, duckdb.ConversionException,
                        duckdb.ParserException, duckdb.InvalidInputException,
                        duckdb.TypeMismatchException, duckdb.OutOfRangeException)):
        if any(k in text for k in ("No function matches", "Cannot compare", "Cannot mix",
                                   "Could not choose a best candidate", "Could not convert")):
            return UserError(f"{prefix}type mismatch: {text}")
        return UserError(f"{prefix}{text}")
    return ClusterError(f"{prefix}{text}")


_FUNCTIONS: frozenset[str] | None = None


def function_names() -> frozenset[str]:
    """Every function (and macro) DuckDB knows, lower case: what a fragment may call. Read
    once per process, so the compiler can name an unknown function before any task runs."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        con = acquire(1)
        try:
            rows = con.execute("SELECT DISTINCT lower(function_name) FROM duckdb_functions()"
                               ).fetchall()
        finally:
            release(con)
        _FUNCTIONS = frozenset(name for (name,) in rows)
    return _FUNCTIONS


def run_sql(sql: str, tables: dict[str, pa.Table], threads: int = 1) -> pa.Table:
    con = acquire(threads)
    try:
        for name, table in tables.items():
            con.register(name, table)
        return _hive_integers(con.sql(sql)).to_arrow_table()
    except duckdb.Error as err:
        raise translate_error(err) from None
    finally:
        release(con)


def _hive_integers(rel):
    """DuckDB's SUM over integers is a 128-bit HUGEINT (Arrow decimal(38,0)); Hive's is a
    BIGINT. Cast such columns back (a sum beyond BIGINT is an out-of-range error)."""
    types = [str(t).upper() for t in rel.types]
    if "HUGEINT" not in types and "UHUGEINT" not in types:
        return rel
    cols = [f"CAST({ident(c)} AS BIGINT) AS {ident(c)}" if t in ("HUGEINT", "UHUGEINT")
            else ident(c) for c, t in zip(rel.columns, types)]
    return rel.project(", ".join(cols))


# -- scans ----------------------------------------------------------------------------------

def _partition_exprs(spec: ScanSpec, split: FileSplit) -> dict[str, str]:
    out = {}
    for (key, typ), value in zip(spec.partition_keys, split.partition_values):
        if value is None or value == HIVE_DEFAULT_PARTITION:
            out[key] = f"CAST(NULL AS {duckdb_type(typ)})"
        else:
            out[key] = f"TRY_CAST({sql_str(value)} AS {duckdb_type(typ)})"
    return out


def _project(spec: ScanSpec, data_exprs: dict[str, str], split: FileSplit) -> str:
    exprs = dict(data_exprs) | _partition_exprs(spec, split)
    cols = spec.columns or ()
    if not cols:
        return "1 AS __row"
    return ", ".join(f"{exprs[c]} AS {ident(c)}" for c in cols)


def _filter_clause(spec: ScanSpec) -> str:
    where = f" WHERE {spec.filter}" if spec.filter else ""
    return where + (f" LIMIT {int(spec.limit)}" if spec.limit is not None else "")


def scan_split(spec: ScanSpec, split: FileSplit, threads: int = 1, counters=None) -> pa.Table:
    """Read one split of a table: needed columns, Hive types, pushed filters applied."""
    if not split.url:
        return empty_scan(spec)
    kind = spec.storage.kind
    try:
        if kind == "parquet":
            return _scan_parquet(spec, split, threads)
        if kind == "orc":
            return _scan_arrow(spec, split, _read_orc(split, spec), threads)
        if kind == "csv":
            return _scan_csv(spec, split, threads)
        return _scan_lines(spec, split, threads)
    except duckdb.Error as err:
        raise translate_error(err, f"reading {spec.table} ({split.url})") from None


def empty_scan(spec: ScanSpec) -> pa.Table:
    from rayemr.hive.types import arrow_type

    types = dict(spec.schema) | dict(spec.partition_keys)
    if not spec.columns:
        return pa.table({"__row": pa.array([], pa.int32())})
    return pa.table({c: pa.array([], arrow_type(types[c])) for c in spec.columns})


def _typed_exprs(spec: ScanSpec, available: Optional[set[str]] = None) -> dict[str, str]:
    out = {}
    for name, typ in spec.schema:
        if available is not None and name not in available:
            out[name] = f"CAST(NULL AS {duckdb_type(typ)})"
        else:
            out[name] = f"CAST({ident(name)} AS {duckdb_type(typ)})"
    return out


def _parquet_sql(spec: ScanSpec, split: FileSplit, con, check: bool = True) -> str:
    """The scan of one Parquet split as a DuckDB query on ``con`` (not yet run).

    ``check``: ask the file which of the table's columns it has (those it lacks read as
    NULL). Without it every column is assumed present, which saves a query and a footer
    read per split; DuckDB's binder then refuses a missing one (see :func:`_bind_parquet`).
    """
    source = grant_file(con, split.url)
    names = None
    if check:
        names = {r[0].lower() for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_str(source)})").fetchall()}
    if split.rows:
        # a row-group split: DuckDB skips the other row groups (file_row_number pruning)
        # and keeps its own statistics pruning and projection pushdown
        source_sql = (f"read_parquet({sql_str(source)}, file_row_number=true) WHERE "
                      f"file_row_number >= {int(split.rows[0])} AND "
                      f"file_row_number < {int(split.rows[1])}")
    else:
        source_sql = f"read_parquet({sql_str(source)})"
    inner = ", ".join(f"{e} AS {ident(c)}" for c, e in _typed_exprs(spec, names).items())
    return (f"SELECT {_project(spec, {c: ident(c) for c, _ in spec.schema}, split)} "
            f"FROM (SELECT {inner} FROM {source_sql}){_filter_clause(spec)}")


def _bind_parquet(spec: ScanSpec, splits: Sequence[FileSplit], con, bind):
    """``bind(sql)`` over the scan of ``splits`` (one query, their union): first assuming
    every file has all of the table's columns (binding reads each footer once); when a file
    lacks one (an older file of a table whose columns were added), again with each file's
    own columns."""
    def union(check: bool) -> str:
        parts = [_parquet_sql(spec, sp, con, check) for sp in splits]
        return parts[0] if len(parts) == 1 else " UNION ALL ".join(
            f"SELECT * FROM ({p})" for p in parts)

    try:
        return bind(union(False))
    except duckdb.BinderException:
        return bind(union(True))


def _scan_parquet(spec: ScanSpec, split: FileSplit, threads: int) -> pa.Table:
    con = acquire(threads)
    try:
        return _bind_parquet(spec, (split,), con, con.sql).to_arrow_table()
    finally:
        release(con)


def scan_and_run(spec: ScanSpec, split: FileSplit, sql: str, tables: dict[str, pa.Table],
                 threads: int = 1) -> tuple[pa.Table, int]:
    """Run ``sql`` over a split of ``spec`` (named ``spec.id``) and Arrow ``tables``.

    Parquet splits are not materialised: the scan is a view DuckDB pipelines into the
    fragment (projection and filter pushdown, streaming aggregation). Returns the result and
    the number of rows the scan produced (-1 when not counted).
    """
    return run_over_scans(sql, tables, ((spec, (split,)),), threads)


def run_over_scans(sql: str, tables: dict[str, pa.Table],
                   scans: Sequence[tuple[ScanSpec, Sequence[FileSplit]]],
                   threads: int = 1) -> tuple[pa.Table, int]:
    """Run ``sql`` over Arrow ``tables`` and tables this task reads itself: every split of
    each scan in ``scans`` (named by its scan id). A Parquet scan is a view over its splits
    that DuckDB pipelines into the fragment (projection and filter pushdown); other formats,
    and scans with a pushed LIMIT, are read first. Returns the result and the rows the scans
    produced (-1 when a view was not counted)."""
    con = acquire(threads)
    where, scanned = "", 0
    try:
        for spec, splits in scans:
            where = f"reading {spec.table}"
            real = [sp for sp in splits if sp.url]
            if spec.storage.kind == "parquet" and real and spec.limit is None:
                _bind_parquet(spec, real, con, lambda q, name=ident(spec.id): con.execute(
                    f"CREATE TEMP VIEW {name} AS {q}"))
                scanned = -1
                continue
            table = concat([scan_split(spec, sp, threads) for sp in real]) if real \
                else empty_scan(spec)
            con.register(spec.id, table)
            scanned = scanned + table.num_rows if scanned >= 0 else -1
        # a failure while the fragment runs is most often the one scan's file
        where = (f"reading {scans[0][0].table} ({scans[0][1][0].url})"
                 if len(scans) == 1 and len(scans[0][1]) == 1 else "")
        for name, table in tables.items():
            con.register(name, table)
        return _hive_integers(con.sql(sql)).to_arrow_table(), scanned
    except duckdb.Error as err:
        raise translate_error(err, where) from None
    finally:
        release(con)


def _read_orc(split: FileSplit, spec: ScanSpec) -> pa.Table:
    import pyarrow.orc as orc

    from rayemr import fs as emrfs

    afs, path = emrfs.arrow_filesystem(split.url)
    with afs.open_input_file(path) as f:
        t = orc.ORCFile(f).read()
    return t.rename_columns([n.lower() for n in t.column_names])


def _scan_arrow(spec: ScanSpec, split: FileSplit, table: pa.Table, threads: int) -> pa.Table:
    con = acquire(threads)
    try:
        con.register("__src", table)
        names = set(table.column_names)
        inner = ", ".join(f"{e} AS {ident(c)}" for c, e in _typed_exprs(spec, names).items())
        sql = (f"SELECT {_project(spec, {c: ident(c) for c, _ in spec.schema}, split)} "
               f"FROM (SELECT {inner} FROM __src){_filter_clause(spec)}")
        return con.sql(sql).to_arrow_table()
    finally:
        release(con)


def _read_lines(spec: ScanSpec, split: FileSplit) -> pa.Table:
    from rayemr import fs as emrfs

    fsplit = emrfs.Split(split.url, split.start, split.length or split.size, split.size,
                         split.format or "text")
    batches = list(emrfs.read_text_batches(fsplit))
    if batches:
        t = pa.Table.from_batches(batches)
    else:
        t = pa.table({"offset": pa.array([], pa.int64()), "line": pa.array([], pa.string())})
    skip = int(dict(spec.properties).get("skip.header.line.count", "0") or 0)
    if skip > 0 and split.start == 0:
        t = t.slice(min(skip, t.num_rows))
    footer = int(dict(spec.properties).get("skip.footer.line.count", "0") or 0)
    if footer > 0:
        t = t.slice(0, max(0, t.num_rows - footer))
    return t.select(["line"])


def _null_format(spec: ScanSpec) -> str:
    props = dict(spec.properties)
    return spec.storage.prop("serialization.null.format",
                             props.get("serialization.null.format", "\\N"))


def _text_field(raw: str, typ: str, spec: ScanSpec, level: int = 0) -> str:
    """SQL turning the raw string ``raw`` into a value of Hive type ``typ``."""
    t = parse_type(typ)
    if t.name == "array":
        delim = _collection_delim(spec, level)
        item = _text_field("__x", str(t.children[0]), spec, level + 1)
        return (f"CASE WHEN {raw} IS NULL THEN NULL ELSE list_transform("
                f"string_split({raw}, {sql_str(delim)}), lambda __x: {item}) END")
    if t.name == "map":
        delim = _collection_delim(spec, level)
        kd = _mapkey_delim(spec, level)
        k = _text_field(f"split_part(__e, {sql_str(kd)}, 1)", str(t.children[0]), spec, level + 2)
        v = _text_field(f"NULLIF(substr(__e, strpos(__e, {sql_str(kd)}) + 1), '')",
                        str(t.children[1]), spec, level + 2)
        return (f"CASE WHEN {raw} IS NULL THEN NULL ELSE map_from_entries(list_transform("
                f"string_split({raw}, {sql_str(delim)}), lambda __e: {{'k': {k}, 'v': {v}}})) END")
    if t.name == "struct":
        delim = _collection_delim(spec, level)
        parts = ", ".join(
            f"{sql_str(f)}: {_text_field(f'string_split({raw}, {sql_str(delim)})[{i + 1}]', str(c), spec, level + 1)}"
            for i, (f, c) in enumerate(zip(t.fields, t.children)))
        return f"CASE WHEN {raw} IS NULL THEN NULL ELSE {{{parts}}} END"
    if t.name == "uniontype":  # LazySimpleSerDe: the tag, the next delimiter, the value
        delim = _collection_delim(spec, level)
        tag = f"TRY_CAST(split_part({raw}, {sql_str(delim)}, 1) AS TINYINT)"
        value = f"substr({raw}, strpos({raw}, {sql_str(delim)}) + 1)"
        parts = ", ".join(
            f"{sql_str(f)}: " + (tag if i == 0 else f"CASE WHEN {tag} = {i - 1} THEN "
                                 f"{_text_field(value, str(t.children[i - 1]), spec, level + 1)} END")
            for i, f in enumerate(union_fields(len(t.children))))
        return f"CASE WHEN {raw} IS NULL THEN NULL ELSE {{{parts}}} END"
    if t.name in ("string", "varchar", "char"):
        return raw
    if t.name == "boolean":
        return (f"CASE lower({raw}) WHEN 'true' THEN true WHEN 'false' THEN false "
                "ELSE NULL END")
    if t.name in ("tinyint", "smallint", "int", "bigint"):  # LazyInteger's rules ('1.9' -> 1)
        return f"TRY_CAST(hive_text_to_long({raw}) AS {duckdb_type(t)})"
    if t.name in ("float", "double", "decimal"):
        return f"TRY_CAST(NULLIF(trim({raw}), '') AS {duckdb_type(t)})"
    return f"TRY_CAST({raw} AS {duckdb_type(t)})"


def _collection_delim(spec: ScanSpec, level: int) -> str:
    if level == 0:
        return spec.storage.prop("collection.delim", spec.storage.prop("colelction.delim",
                                                                      "\x02"))
    return chr(2 + level)


def _mapkey_delim(spec: ScanSpec, level: int) -> str:
    if level == 0:
        return spec.storage.prop("mapkey.delim", "\x03")
    return chr(3 + level)


def _scan_lines(spec: ScanSpec, split: FileSplit, threads: int) -> pa.Table:
    lines = _read_lines(spec, split)
    con = acquire(threads)
    try:
        con.register("__lines", lines)
        null = _null_format(spec)
        exprs: dict[str, str] = {}
        if spec.storage.kind == "json":
            for name, typ in spec.schema:
                t = parse_type(typ)
                path = sql_str("$." + '"' + name + '"')
                if t.is_complex:
                    raw = f"TRY_CAST(json_extract(line, {path}) AS {duckdb_type(t)})"
                    exprs[name] = raw
                else:
                    exprs[name] = _text_field(f"json_extract_string(line, {path})", typ, spec)
            src = "(SELECT line FROM __lines WHERE json_valid(line) AND trim(line) <> '')"
        else:
            delim = spec.storage.prop("field.delim", spec.storage.prop(
                "serialization.format", "\x01"))
            if delim.isdigit() and len(delim) > 1 or delim == "1":
                delim = chr(int(delim))
            for i, (name, typ) in enumerate(spec.schema):
                raw = f"__f[{i + 1}]"
                raw = f"CASE WHEN {raw} = {sql_str(null)} THEN NULL ELSE {raw} END"
                exprs[name] = _text_field(raw, typ, spec)
            src = f"(SELECT string_split(line, {sql_str(delim)}) AS __f FROM __lines)"
        inner = ", ".join(f"{e} AS {ident(c)}" for c, e in exprs.items())
        sql = (f"SELECT {_project(spec, {c: ident(c) for c, _ in spec.schema}, split)} "
               f"FROM (SELECT {inner} FROM {src}){_filter_clause(spec)}")
        return con.sql(sql).to_arrow_table()
    finally:
        release(con)


def _scan_csv(spec: ScanSpec, split: FileSplit, threads: int) -> pa.Table:
    props = spec.storage.props
    sep = props.get("separatorChar", ",")
    quote = props.get("quoteChar", '"')
    esc = props.get("escapeChar", "\\")
    skip = int(dict(spec.properties).get("skip.header.line.count", "0") or 0)
    con = acquire(threads)
    try:
        source = grant_file(con, split.url)
        columns = "{" + ", ".join(f"{sql_str(f'c{i}')}: 'VARCHAR'"
                                  for i in range(len(spec.schema))) + "}"
        reader = (f"read_csv({sql_str(source)}, delim={sql_str(sep)}, quote={sql_str(quote)}, "
                  f"escape={sql_str(esc)}, header=false, skip={skip}, columns={columns}, "
                  "auto_detect=false, null_padding=true, strict_mode=false, "
                  "allow_quoted_nulls=false, nullstr=chr(0))")
        exprs = {name: _text_field(f"c{i}", typ, spec) for i, (name, typ) in
                 enumerate(spec.schema)}
        inner = ", ".join(f"{e} AS {ident(c)}" for c, e in exprs.items())
        sql = (f"SELECT {_project(spec, {c: ident(c) for c, _ in spec.schema}, split)} "
               f"FROM (SELECT {inner} FROM {reader}){_filter_clause(spec)}")
        return con.sql(sql).to_arrow_table()
    finally:
        release(con)


# -- sampling ---------------------------------------------------------------------------------

def sample_boundaries(spec: ScanSpec, splits: Sequence[FileSplit], key_sql: str,
                      partitions: int, rows_per_split: int = 1000, max_splits: int = 16
                      ) -> tuple[list[str], str]:
    """Range boundaries for ``partitions`` partitions of ``key_sql`` from a sample of splits.

    Returns the boundaries as SQL string literals (sorted, distinct) and the key's DuckDB type.
    """
    step = max(1, len(splits) // max_splits)
    samples = []
    for sp in list(splits)[::step][:max_splits]:
        out, _ = scan_and_run(spec, sp, f"SELECT {key_sql} AS k FROM {ident(spec.id)} "
                                        f"USING SAMPLE reservoir({int(rows_per_split)} ROWS)",
                              {})
        samples.append(out)
    table = concat(samples)
    if table.num_rows == 0 or partitions < 2:
        return [], "VARCHAR"
    fracs = ", ".join(f"{i / partitions:.6f}" for i in range(1, partitions))
    row = run_sql(f"SELECT CAST(quantile_disc(k, [{fracs}]) AS VARCHAR[]) AS b, "
                  f"any_value(typeof(k)) AS t FROM samples WHERE k IS NOT NULL",
                  {"samples": table}).to_pylist()[0]
    bounds = []
    for b in row["b"] or []:
        if b is not None and (not bounds or b != bounds[-1]):
            bounds.append(b)
    return [sql_str(b) for b in bounds], row["t"] or "VARCHAR"


def sample_selectivity(spec: ScanSpec, splits: Sequence[FileSplit],
                       max_splits: int = 2) -> Optional[float]:
    """The fraction of a Parquet scan's rows that pass its pushed filter, from the first row
    group of up to ``max_splits`` splits spread over the table (Hive estimates it from
    column statistics; these are sampled). Read with pyarrow (the footer only once, no
    DuckDB file access), counted by DuckDB over Arrow. None when it cannot be told (no
    filter, not Parquet, nothing sampled, a filter the sample cannot run)."""
    from rayemr.fs.parquet import whole_file_fragment

    real = [sp for sp in splits if sp.url]
    if not spec.filter or spec.storage.kind != "parquet" or not real:
        return None
    step = max(1, len(real) // max_splits)
    wanted = {c.lower() for c in spec.columns}
    sql = (f"SELECT count(*) AS n, count(*) FILTER (WHERE {spec.filter}) AS k FROM "
           f"(SELECT {{inner}} FROM __src)")
    n = k = 0
    try:
        for sp in real[::step][:max_splits]:
            whole = whole_file_fragment(sp.url, sp.size, None)
            names = [c for c in whole.physical_schema.names if c.lower() in wanted]
            group = sp.row_groups[0] if sp.row_groups else 0
            if whole.metadata.num_row_groups == 0:
                continue
            table = whole.subset(row_group_ids=[group]).to_table(columns=names)
            inner = ", ".join(f"{e} AS {ident(c)}"
                              for c, e in _typed_exprs(spec, set(names)).items())
            row = run_sql(sql.format(inner=inner), {"__src": table}).to_pylist()[0]
            n, k = n + row["n"], k + row["k"]
    except (duckdb.Error, OSError, pa.ArrowException):
        return None  # an estimate only: the query then decides on file sizes
    return (k + 1) / (n + 1) if n else None


# -- partitions ------------------------------------------------------------------------------

def select_partitions(filter_sql: str, keys: Sequence[tuple[str, str]],
                      values: Sequence[Sequence[Optional[str]]]) -> list[int]:
    """Indexes of the partitions whose key values satisfy ``filter_sql``."""
    if not values:
        return []
    data = {"__idx": pa.array(range(len(values)), pa.int64())}
    for i, (k, _) in enumerate(keys):
        data[f"__raw_{k}"] = pa.array(
            [None if v[i] in (None, HIVE_DEFAULT_PARTITION) else v[i] for v in values],
            pa.string())
    casts = ", ".join(f"TRY_CAST(__raw_{k} AS {duckdb_type(t)}) AS {ident(k)}" for k, t in keys)
    sql = f"SELECT __idx FROM (SELECT __idx, {casts} FROM __parts) WHERE {filter_sql}"
    out = run_sql(sql, {"__parts": pa.table(data)})
    return sorted(out.column(0).to_pylist())


def eval_partition_values(exprs_sql: Sequence[str]) -> list[Optional[str]]:
    """Evaluate constant partition-value expressions to strings."""
    if not exprs_sql:
        return []
    sql = "SELECT " + ", ".join(f"CAST(({e}) AS VARCHAR)" for e in exprs_sql)
    row = run_sql(sql, {}).to_pylist()[0]
    return list(row.values())


# -- output ----------------------------------------------------------------------------------

def cast_to_schema(table: pa.Table, columns: Sequence[tuple[str, str]],
                   what: str = "", source: Optional[Sequence[Optional[int]]] = None,
                   lazy_text: bool = False) -> pa.Table:
    """Cast query output to a table's Hive column types (INSERT semantics): positionally,
    or with ``source[i]`` naming the query column of target column ``i`` (None: NULL).
    ``lazy_text``: the values are text fields read as LazySimpleSerDe reads them (a
    script's output), not a query's values converted."""
    if source is None:
        source = list(range(len(columns)))
    expected = sum(1 for i in source if i is not None)
    if table.num_columns != expected:
        raise UserError(
            f"{what}: the query returns {table.num_columns} columns but the target has "
            f"{expected}")
    renamed = table.rename_columns([f"__c{i}" for i in range(table.num_columns)])
    exprs = []
    for i, (name, typ) in zip(source, columns):
        if i is None:
            exprs.append(f"CAST(NULL AS {duckdb_type(typ)}) AS {ident(name)}")
        else:
            value = _hive_conversion(ident(f"__c{i}"), table.schema.field(i).type, typ,
                                     lazy_text)
            exprs.append(f"{value} AS {ident(name)}")
    return run_sql(f"SELECT {', '.join(exprs)} FROM __t", {"__t": renamed})


def _hive_conversion(value: str, source: pa.DataType, hive_type: str,
                     lazy_text: bool = False) -> str:
    """``value`` (of Arrow type ``source``) as Hive converts it into a column of
    ``hive_type`` on INSERT (its ObjectInspectorConverters, the same rules as CAST in
    rayemr.hive.sql.semantics): strings to integers by LazyInteger's parser, fractions
    truncated, booleans as TRUE/FALSE, strings to booleans by GenericUDFToBoolean's rule,
    integers to timestamps as milliseconds, timestamps to integers as seconds.
    ``lazy_text``: a text field to BOOLEAN as LazyBoolean reads it ('true'/'false' in any
    case, anything else NULL)."""
    target = parse_type(hive_type).name
    out = duckdb_type(hive_type)
    text = pa.types.is_string(source) or pa.types.is_large_string(source)
    if target in ("tinyint", "smallint", "int", "bigint"):
        if text:
            return f"TRY_CAST(hive_text_to_long({value}) AS {out})"
        if pa.types.is_floating(source):  # Java's (long)/(int) of a double, saturated
            whole = "hive_double_to_long" if target == "bigint" else "hive_double_to_int"
            bits = {"tinyint": 8, "smallint": 16}.get(target)
            if bits is None:
                return f"CAST({whole}({value}) AS {out})"
            half = 2 ** (bits - 1)  # (byte)/(short) keep the int's low bits
            return (f"CAST(((CAST({whole}({value}) AS BIGINT) + {half}) & {2 * half - 1})"
                    f" - {half} AS {out})")
        if pa.types.is_decimal(source):
            return f"TRY_CAST(trunc({value}) AS {out})"
        if pa.types.is_timestamp(source):
            return f"TRY_CAST(floor(epoch({value})) AS {out})"
    if target in ("string", "varchar", "char") and pa.types.is_boolean(source):
        return f"upper(CAST({value} AS VARCHAR))"
    if target in ("string", "varchar", "char") and pa.types.is_floating(source):
        return f"hive_java_double({value})"  # Double.toString / Float.toString
    if target == "boolean" and text and lazy_text:
        return f"CASE lower({value}) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END"
    if target == "boolean" and text:
        return f"NOT (lower({value}) IN ('', 'false', 'no', 'zero', 'off'))"
    if target == "timestamp" and pa.types.is_integer(source):
        return f"epoch_ms(CAST({value} AS BIGINT))"
    return f"TRY_CAST({value} AS {out})"


def text_lines(table: pa.Table, field_delim: str = "\x01", null: str = "\\N",
               collection_delim: str = "\x02", mapkey_delim: str = "\x03") -> bytes:
    """Rows as Hive delimited text (LazySimpleSerDe), one line each."""
    if table.num_rows == 0:
        return b""
    exprs = []
    for i, f in enumerate(table.schema):
        c = ident(f"__c{i}")
        exprs.append(f"coalesce({_to_text(c, f.type, collection_delim, mapkey_delim)}, "
                     f"{sql_str(null)})")
    sql = (f"SELECT concat_ws({sql_str(field_delim)}, {', '.join(exprs)}) AS line FROM __t")
    renamed = table.rename_columns([f"__c{i}" for i in range(table.num_columns)])
    lines = run_sql(sql, {"__t": renamed}).column(0).to_pylist()
    return ("\n".join(lines) + "\n").encode()


def _to_text(c: str, t: pa.DataType, cd: str, md: str) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return (f"array_to_string(list_transform({c}, lambda __x: coalesce("
                f"{_to_text('__x', t.value_type, chr(4), chr(5))}, '\\N')), {sql_str(cd)})")
    if pa.types.is_map(t):
        return (f"array_to_string(list_transform(map_entries({c}), lambda __e: "
                f"{_member_text('__e.key', t.key_type)} || {sql_str(md)} || coalesce("
                f"{_member_text('__e.value', t.item_type)}, '\\N')), {sql_str(cd)})")
    if is_union_struct(t):
        tag = f"{c}.{ident(UNION_TAG)}"
        members = " ".join(
            f"WHEN {i - 1} THEN coalesce("
            f"{_member_text(f'{c}.{ident(t.field(i).name)}', t.field(i).type)}, '\\N')"
            for i in range(1, t.num_fields))
        return (f"CASE WHEN {c} IS NULL THEN NULL ELSE CAST({tag} AS VARCHAR) || {sql_str(cd)}"
                f" || CASE {tag} {members} END END")
    if pa.types.is_struct(t):  # a NULL struct is NULL (\N), not a struct of NULLs
        fields = ", ".join(
            f"coalesce({_member_text(f'{c}.{ident(t.field(i).name)}', t.field(i).type)}, '\\N')"
            for i in range(t.num_fields))
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE concat_ws({sql_str(cd)}, {fields}) END"
    if pa.types.is_boolean(t):
        return f"CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END"
    if pa.types.is_floating(t):  # LazyUtils.writePrimitiveUTF8: Double.toString
        return f"hive_java_double({c})"
    return f"CAST({c} AS VARCHAR)"


def _member_text(c: str, t: pa.DataType) -> str:
    """A map key or value, struct field or union member as text: doubles as Java writes them
    (Double.toString), anything else as its cast."""
    if pa.types.is_floating(t):
        return f"hive_java_double({c})"
    return f"CAST({c} AS VARCHAR)"


def concat(tables: Iterable[pa.Table]) -> pa.Table:
    tables = [t for t in tables if t is not None]
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="permissive")
