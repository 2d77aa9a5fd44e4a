"""DML handlers: INSERT (static and dynamic partitions), CTAS, LOAD DATA, TRUNCATE,
INSERT OVERWRITE DIRECTORY. Every write goes through EMRFS's OutputCommitter, so a failed
statement leaves the previous contents in place.
"""
from __future__ import annotations

import io
import json
from typing import Optional

import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import UnsupportedError, UserError
from rayemr.hive import exec as hexec
from rayemr.hive import storage
from rayemr.hive.api import Column, StatementResult
from rayemr.hive.ddl import _spec_values, partition_location
from rayemr.hive.metastore.models import (FieldSchema, Partition, StorageFormat, Table,
                                          escape_path_value)
from rayemr.hive.sql import statements as st
from rayemr.hive.types import hive_type_of_arrow

TASK_ID = "000000"


def query_schema(s, query: str) -> list[Column]:
    """Result columns of a query without reading data (the fragment over empty scans)."""
    from rayemr.hive.sql.compile import compile_query

    plan = compile_query(query, s.metastore.get_table, s.database)
    tables = {sc.id: hexec.empty_scan(sc) for sc in plan.scans}
    out = hexec.run_sql(plan.final_sql, tables)
    names = plan.columns if len(plan.columns) == out.num_columns else out.column_names
    return [Column(n, hive_type_of_arrow(f.type)) for n, f in zip(names, out.schema)]


# -- serialising -----------------------------------------------------------------------------

def serialize(data: pa.Table, fmt: StorageFormat) -> bytes:
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(data, buf)
        return buf.getvalue()
    if fmt.kind == "orc":
        import pyarrow.orc as orc

        buf = io.BytesIO()
        orc.write_table(data, buf)
        return buf.getvalue()
    if fmt.kind == "json":
        rows = data.to_pylist()
        return "".join(json.dumps(r, default=str) + "\n" for r in rows).encode()
    if fmt.kind == "csv":
        import pyarrow.csv as pacsv

        props = fmt.props
        buf = io.BytesIO()
        pacsv.write_csv(data, buf, pacsv.WriteOptions(
            include_header=False, delimiter=props.get("separatorChar", ","),
            quoting_style="all_valid"))
        return buf.getvalue()
    p = fmt.props
    return hexec.text_lines(data, p.get("field.delim", "\x01"),
                            p.get("serialization.null.format", "\\N"),
                            p.get("collection.delim", "\x02"), p.get("mapkey.delim", "\x03"))


def _file_name(fmt: StorageFormat) -> str:
    return {"parquet": f"{TASK_ID}_0.parquet", "orc": f"{TASK_ID}_0.orc"}.get(
        fmt.kind, f"{TASK_ID}_0")


def commit_files(target_dir: str, data: pa.Table, fmt: StorageFormat, overwrite: bool) -> int:
    """Write ``data`` as one file into ``target_dir`` through the output committer.

    OVERWRITE replaces the folder's contents at job commit; INTO adds a file next to the
    existing ones (committed into a hidden staging folder, then moved in).
    """
    body = serialize(data, fmt) if data.num_rows else b""
    appending = not overwrite and storage.list_files(target_dir, recursive=False)
    out = storage.staging_url(target_dir) if appending else target_dir
    committer = storage.committer(out, overwrite=overwrite)
    committer.setup_job()
    try:
        if body:
            f = committer.open_task_output(TASK_ID, 0, _file_name(fmt))
            try:
                f.write(body)
            finally:
                f.close()
        commit = committer.commit_task(TASK_ID, 0)
        committer.commit_job([commit])
    except BaseException:
        committer.abort_job()
        raise
    if appending:
        try:
            for f in storage.list_files(out):
                storage.move_into(f.url, target_dir)
        finally:
            storage.delete(out)
    else:
        from rayemr import fs as emrfs

        fs, path = emrfs.resolve(storage.join(target_dir, "_SUCCESS"))
        if fs.exists(path):
            fs.rm(path)  # Hive tables hold no _SUCCESS marker
    return data.num_rows


def write_table(s, table: Table, data: pa.Table, overwrite: bool, spec: st.PartSpec = ()
                ) -> int:
    if table.is_view:
        raise UserError(f"Cannot insert into a view: {table.qualified_name}")
    what = f"target table {table.qualified_name}"
    if not table.partition_keys:
        if spec:
            raise UserError(f"{what} is not partitioned")
        data = hexec.cast_to_schema(data, [(c.name, c.type) for c in table.columns], what)
        n = commit_files(table.location, data, table.storage, overwrite)
        return n
    if spec:
        values = _spec_values(table, spec, partial=True)
        if list(dict(spec)) != [k.name for k in table.partition_keys][:len(spec)] or \
                len(spec) != len(table.partition_keys):
            raise UserError(f"partition spec {dict(spec)} must name every partition column "
                            f"of {table.qualified_name} in order")
    else:
        values = tuple(None for _ in table.partition_keys)
    dynamic = [k for k, v in zip(table.partition_keys, values) if v is None]
    if dynamic:
        if s.hiveconf.get("hive.exec.dynamic.partition", "true").lower() != "true":
            raise UserError("Dynamic partition is disabled. Either enable it by setting "
                            "hive.exec.dynamic.partition=true or specify partition column values")
        if len(dynamic) == len(values) and s.hiveconf.get(
                "hive.exec.dynamic.partition.mode", "strict").lower() == "strict":
            raise UserError("Dynamic partition strict mode requires at least one static "
                            "partition column. To turn this off set "
                            "hive.exec.dynamic.partition.mode=nonstrict")
        seen_dynamic = False
        for v in values:
            if v is None:
                seen_dynamic = True
            elif seen_dynamic:
                raise UserError("Dynamic partition cannot be the parent of a static partition")
    cols = [(c.name, c.type) for c in table.columns] + [(k.name, k.type) for k in dynamic]
    data = hexec.cast_to_schema(data, cols, what)
    groups: list[tuple[tuple[str, ...], pa.Table]] = []
    if not dynamic:
        groups.append((tuple(values), data))
    else:
        dyn_names = [k.name for k in dynamic]
        keys_tbl = data.select(dyn_names)
        combos = keys_tbl.group_by(dyn_names).aggregate([]).to_pylist()
        for combo in combos:
            mask = None
            for k in dyn_names:
                v = combo[k]
                m = pc.is_null(data[k]) if v is None else pc.equal(data[k], pa.scalar(
                    v, data.schema.field(k).type))
                mask = m if mask is None else pc.and_(mask, m)
            part = data.filter(mask)
            it = iter(_partition_value(combo[k]) for k in dyn_names)
            full = tuple(v if v is not None else next(it) for v in values)
            groups.append((full, part))
    data_names = [c.name for c in table.columns]
    existing = {p.values: p for p in s.metastore.list_partitions(table.database, table.name)}
    total = 0
    new_parts = []
    for vals, part in groups:
        loc = existing[vals].location if vals in existing else partition_location(table, vals)
        total += commit_files(loc, part.select(data_names), table.storage, overwrite)
        if vals not in existing:
            new_parts.append(Partition(vals, loc))
    if new_parts:
        s.metastore.add_partitions(table.database, table.name, new_parts)
    return total


def _partition_value(v) -> str:
    if v is None:
        return hexec.HIVE_DEFAULT_PARTITION
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def insert(s, stmt: st.Insert, cancel=None, progress=None, **_) -> StatementResult:
    table = s.table(stmt.table)
    if stmt.columns:
        raise UnsupportedError("INSERT with a column list is not supported; select the "
                               "columns in table order")
    if stmt.if_not_exists and stmt.partition:
        vals = _spec_values(table, stmt.partition)
        if any(p.values == vals for p in s.metastore.list_partitions(table.database,
                                                                      table.name)):
            return StatementResult()
    logs: list[str] = []
    data, _ = s.run_query(stmt.query, cancel=cancel, progress=progress, log_lines=logs)
    n = write_table(s, table, data, stmt.overwrite, stmt.partition)
    logs.append(f"Loading data to table {table.qualified_name}")
    return StatementResult(log=logs, rows_affected=n)


def multi_insert(s, stmt: st.MultiInsert, cancel=None, progress=None, **_) -> StatementResult:
    logs: list[str] = []
    total = 0
    for ins in stmt.inserts:
        r = insert(s, ins, cancel=cancel, progress=progress)
        logs.extend(r.log)
        total += r.rows_affected or 0
    return StatementResult(log=logs, rows_affected=total)


def create_table_as(s, db: str, name: str, stmt: st.CreateTable, fmt: StorageFormat,
                    location: str, cancel=None, progress=None) -> StatementResult:
    logs: list[str] = []
    data, cols = s.run_query(stmt.as_select, cancel=cancel, progress=progress, log_lines=logs)
    names = [c.name for c in cols]
    if stmt.columns:
        if len(stmt.columns) != len(cols):
            raise UserError(f"table {db}.{name}: {len(stmt.columns)} columns declared for a "
                            f"query returning {len(cols)}")
        schema = tuple(FieldSchema(c.name, c.type, c.comment) for c in stmt.columns)
    else:
        bad = [n for n in names if not n or names.count(n) > 1]
        if bad:
            raise UserError(f"CREATE TABLE AS SELECT: duplicate or empty column name "
                            f"{bad[0]!r}; alias the expressions")
        schema = tuple(FieldSchema(c.name, c.hive_type if c.hive_type != "void" else "string")
                       for c in cols)
    from rayemr.hive.ddl import _now, _user

    table = Table(db, name, schema, (), "MANAGED_TABLE", location, fmt, stmt.properties,
                  stmt.comment, _user(), _now())
    if storage.list_files(location):
        from rayemr.core.errors import OutputExistsError

        raise OutputExistsError(f"CREATE TABLE AS SELECT: {location} already holds data")
    n = commit_files(location, hexec.cast_to_schema(data, [(c.name, c.type) for c in schema],
                                                    f"table {db}.{name}"), fmt, True)
    s.metastore.create_table(table)
    logs.append(f"Moving data to: {location}")
    return StatementResult(log=logs, rows_affected=n)


def insert_directory(s, stmt: st.InsertDirectory, cancel=None, progress=None, **_
                     ) -> StatementResult:
    from rayemr.hive.ddl import storage_format

    logs: list[str] = []
    data, _ = s.run_query(stmt.query, cancel=cancel, progress=progress, log_lines=logs)
    fmt = storage_format(stmt.row_format, stmt.stored_as)
    path = storage.normalize_location(stmt.path)
    n = commit_files(path, data, fmt, overwrite=True)
    return StatementResult(log=logs, rows_affected=n)


def load_data(s, stmt: st.LoadData, **_) -> StatementResult:
    table = s.table(stmt.table)
    if table.is_view:
        raise UserError(f"Cannot load data into a view: {table.qualified_name}")
    target = table.location
    new_part: Optional[Partition] = None
    if table.partition_keys:
        if not stmt.partition:
            raise UserError(f"LOAD DATA into partitioned table {table.qualified_name} needs a "
                            "PARTITION (...) spec")
        vals = _spec_values(table, stmt.partition)
        existing = {p.values: p for p in s.metastore.list_partitions(table.database,
                                                                      table.name)}
        if vals in existing:
            target = existing[vals].location
        else:
            target = partition_location(table, vals)
            new_part = Partition(vals, target)
    elif stmt.partition:
        raise UserError(f"table {table.qualified_name} is not partitioned")
    src = storage.normalize_location(stmt.path)
    if stmt.overwrite:
        storage.delete_contents(target)
    moved = storage.copy_into(src, target) if stmt.local else storage.move_into(src, target)
    if new_part is not None:
        s.metastore.add_partitions(table.database, table.name, [new_part])
    return StatementResult(log=[f"Loading data to table {table.qualified_name}"] +
                           [f"  {u}" for u in moved])


def truncate_table(s, stmt: st.TruncateTable, **_) -> StatementResult:
    table = s.table(stmt.name)
    if table.is_external:
        raise UserError(f"Cannot truncate non-managed table {table.qualified_name}")
    if table.is_view:
        raise UserError(f"Cannot truncate a view: {table.qualified_name}")
    if stmt.partition:
        vals = _spec_values(table, stmt.partition, partial=True)
        for p in s.metastore.list_partitions(table.database, table.name):
            if all(v is None or v == pv for v, pv in zip(vals, p.values)):
                storage.delete_contents(p.location)
    else:
        storage.delete_contents(table.location)
    return StatementResult()


__all__ = ["create_table_as", "insert", "insert_directory", "load_data", "multi_insert",
           "query_schema", "truncate_table", "write_table", "escape_path_value"]
