"""DML handlers: INSERT (static and dynamic partitions), CTAS, LOAD DATA, TRUNCATE,
INSERT OVERWRITE DIRECTORY. Every write goes through EMRFS's OutputCommitter, so a failed
statement leaves the previous contents in place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import pyarrow as pa
import pyarrow.compute as pc

from rayemr.core.errors import StorageError, UserError
from rayemr.hive import exec as hexec
from rayemr.hive import publish, storage
from rayemr.hive.api import Column, StatementResult
from rayemr.hive.metastore.models import (FieldSchema, Partition, StorageFormat, Table,
                                          escape_path_value)
from rayemr.hive.sql import statements as st
from rayemr.hive.tables import now, partition_location, spec_values, storage_format, user
from rayemr.hive.types import hive_type_of_arrow
from rayemr.hive.write import ROWS, WriteSpec, partition_path, serialize  # noqa: F401


def query_schema(s, query: str) -> list[Column]:
    """Result columns of a query without reading data (the fragment over empty scans)."""
    plan = s.compile(query)
    if plan.transform:
        return [Column(n, t) for n, t in plan.transform.columns]
    tables = {sc.id: hexec.empty_scan(sc) for sc in plan.scans}
    out = hexec.run_sql(plan.final_sql, tables)
    names = plan.columns if len(plan.columns) == out.num_columns else out.column_names
    return [Column(n, hive_type_of_arrow(f.type)) for n, f in zip(names, out.schema)]


# -- writing ---------------------------------------------------------------------------------

def _write_query(s, query: str, write: WriteSpec, target: str, overwrite: bool, *,
                 cancel=None, progress=None, logs=None, staging_in: Optional[str] = None,
                 force_stage: bool = False) -> tuple[pa.Table, Optional[str]]:
    """Run ``query`` with its last stage's tasks writing part files through a committer.

    Straight into ``target`` (the committer replaces its contents at job commit) when
    overwriting a folder or filling an empty one; otherwise (appending next to existing
    files, or dynamic partitions) into a hidden staging folder inside ``staging_in`` (the
    table folder; default ``target``) that the caller publishes (:mod:`rayemr.hive.publish`).
    Returns the tasks' summaries and the staging folder, if any.
    A failure aborts the committer: nothing of the statement stays visible.
    """
    staged = force_stage or bool(write.dynamic) or (not overwrite and bool(
        storage.list_files(target, recursive=False)))
    out = storage.staging_url(staging_in or target) if staged else target
    committer = storage.committer(out, overwrite=overwrite and not staged)
    try:
        summary = s.run_write(query, write, committer, cancel=cancel, progress=progress,
                              log_lines=logs)
    except BaseException:
        if staged:
            storage.delete(out)
        raise
    if not staged:
        _drop_success(target)
    return summary, (out if staged else None)


def _drop_success(folder: str) -> None:
    fs, path = storage.resolve(storage.join(folder, "_SUCCESS"), "output location")
    if fs.exists(path):
        fs.rm(path)  # Hive tables hold no _SUCCESS marker


def _rows(summary: pa.Table) -> int:
    if summary.num_rows == 0 or ROWS not in summary.column_names:
        return 0
    return int(pc.sum(summary[ROWS]).as_py() or 0)


def _insert_plan(s, table: Table, spec: st.PartSpec, listed: tuple[str, ...]
                 ) -> tuple[tuple[Optional[str], ...], WriteSpec]:
    """Static partition values and the tasks' write spec for an INSERT into ``table``."""
    what = f"target table {table.qualified_name}"
    keys = [k.name for k in table.partition_keys]
    if not keys:
        if spec:
            raise UserError(f"{what} is not partitioned")
        values: tuple[Optional[str], ...] = ()
    elif spec:
        values = spec_values(table, spec, partial=True)
        if list(dict(spec)) != keys[:len(spec)] or len(spec) != len(keys):
            raise UserError(f"partition spec {dict(spec)} must name every partition column "
                            f"of {table.qualified_name} in order")
    else:
        values = tuple(None for _ in keys)
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
    cols = tuple((c.name, c.type) for c in table.columns) + tuple(
        (k.name, k.type) for k in dynamic)
    source: tuple[Optional[int], ...] = ()
    if listed:
        source = _column_source(table, [c for c, _ in cols], [k.name for k in dynamic],
                                listed)
    return values, WriteSpec(table.storage, what, cols, tuple(k.name for k in dynamic),
                             source)


def _column_source(table: Table, targets: list[str], dynamic: list[str],
                   listed: tuple[str, ...]) -> tuple[Optional[int], ...]:
    """``INSERT INTO t (c, ...)``: which query column feeds each target column. Unlisted
    data columns are NULL; dynamic partition columns not listed follow the listed ones."""
    names = [c.lower() for c in listed]
    static = {k.name for k in table.partition_keys} - set(dynamic)
    for n in names:
        if n in static:
            raise UserError(f"'{n}' is a static partition column of {table.qualified_name}; "
                            "it cannot be in the INSERT column list")
        if n not in targets:
            raise UserError(f"Invalid column reference '{n}': not a column of "
                            f"{table.qualified_name}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"column '{dup[0]}' appears twice in the INSERT column list")
    order = names + [d for d in dynamic if d not in names]
    pos = {n: i for i, n in enumerate(order)}
    return tuple(pos.get(t) for t in targets)


def insert(s, stmt: st.Insert, cancel=None, progress=None, **_) -> StatementResult:
    return _insert_job(s, stmt, cancel, progress).finish()


@dataclass
class _PendingInsert:
    """An INSERT whose query has run and committed into place or into a staging folder;
    ``finish`` publishes it, ``abort`` drops what is staged."""

    logs: list[str]
    rows: int
    publish: Optional[Callable[[], None]] = None
    staging: Optional[str] = None

    def finish(self) -> StatementResult:
        if self.publish is not None:
            self.publish()
        return StatementResult(log=self.logs, rows_affected=self.rows)

    def abort(self) -> None:
        if self.staging is not None:
            storage.delete(self.staging)


def _insert_job(s, stmt: st.Insert, cancel=None, progress=None, stage_all: bool = False
                ) -> _PendingInsert:
    """Run an INSERT's query; publishing waits for ``finish`` (with ``stage_all`` even an
    OVERWRITE commits into staging, so several INSERTs can run before any is published)."""
    table = s.table(stmt.table)
    if table.is_view:
        raise UserError(f"Cannot insert into a view: {table.qualified_name}")
    if stmt.if_not_exists and stmt.partition:
        vals = spec_values(table, stmt.partition)
        if any(p.values == vals for p in s.metastore.list_partitions(table.database,
                                                                      table.name)):
            return _PendingInsert([], 0)
    values, write = _insert_plan(s, table, stmt.partition, stmt.columns)
    logs: list[str] = []
    if publish.recover(table, s.metastore):
        logs.append(f"Finished an interrupted earlier write into {table.qualified_name}")
    existing = {p.values: p for p in s.metastore.list_partitions(table.database, table.name)} \
        if table.partition_keys else {}
    done = f"Loading data to table {table.qualified_name}"
    if not write.dynamic:
        if table.partition_keys:
            vals = tuple(values)
            target = existing[vals].location if vals in existing else \
                partition_location(table, vals)
        else:
            target = table.location
        summary, staging = _write_query(s, stmt.query, write, target, stmt.overwrite,
                                        cancel=cancel, progress=progress, logs=logs,
                                        staging_in=table.location, force_stage=stage_all)
        new_parts = [Partition(tuple(values), target)] \
            if table.partition_keys and tuple(values) not in existing else []

        def finish_static() -> None:
            if staging is not None:
                _publish(s, table, staging, [publish.Target(staging, target, stmt.overwrite)],
                         new_parts)
            elif new_parts:
                s.metastore.add_partitions(table.database, table.name, new_parts)
            logs.append(done)

        return _PendingInsert(logs, _rows(summary), finish_static, staging)
    summary, staging = _write_query(s, stmt.query, write, table.location, stmt.overwrite,
                                    cancel=cancel, progress=progress, logs=logs)
    targets, new_parts = _dynamic_targets(table, values, write.dynamic, summary, staging,
                                          existing, stmt.overwrite)

    def finish_dynamic() -> None:
        _publish(s, table, staging, targets, new_parts)
        logs.extend(f"  Loading partition {p.name(table.partition_keys)}" for p in new_parts)
        logs.append(done)

    return _PendingInsert(logs, _rows(summary), finish_dynamic, staging)


def _dynamic_targets(table: Table, values: tuple[Optional[str], ...],
                     dynamic: tuple[str, ...], summary: pa.Table, staging: str,
                     existing: dict, overwrite: bool
                     ) -> tuple[list[publish.Target], list[Partition]]:
    """Where each dynamic partition's committed files go (an OVERWRITE replaces only the
    partitions that received rows, as Hive does), and the partitions that are new."""
    written = sorted({tuple(r[k] for k in dynamic) for r in summary.select(
        list(dynamic)).to_pylist()}) if summary.num_rows else []
    targets, new_parts = [], []
    for dyn in written:
        it = iter(dyn)
        full = tuple(v if v is not None else next(it) for v in values)
        loc = existing[full].location if full in existing else \
            partition_location(table, full)
        targets.append(publish.Target(storage.join(staging, partition_path(dynamic, dyn)),
                                      loc, overwrite))
        if full not in existing:
            new_parts.append(Partition(full, loc))
    return targets, new_parts


def _publish(s, table: Table, staging: str, targets: list[publish.Target],
             new_parts: list[Partition]) -> None:
    """Move a statement's committed files into place, roll-forward safe: once the plan is
    stored, an interruption is finished by the next write into the table."""
    try:
        plan = publish.plan(table, staging, targets, new_parts)
        publish.write_plan(plan)
    except BaseException:
        storage.delete(staging)  # not committed: the statement leaves nothing
        raise
    try:
        publish.apply(plan, s.metastore)
    except Exception as exc:  # noqa: BLE001 -- any storage or metastore failure
        raise StorageError(
            f"INSERT into {table.qualified_name}: the rows are committed but moving them "
            f"into place was interrupted ({type(exc).__name__}: {exc}); the next INSERT or "
            f"LOAD DATA into the table finishes it (plan in {staging})") from exc


def multi_insert(s, stmt: st.MultiInsert, cancel=None, progress=None, **_) -> StatementResult:
    """``FROM src INSERT ... INSERT ...``: every INSERT's query runs (and commits into
    staging) before any is published, so all of them read the sources as they were -- an
    INSERT OVERWRITE of a source does not change what the others see -- and a failing one
    publishes nothing, as Hive's single multi-insert job."""
    pending: list[_PendingInsert] = []
    try:
        for ins in stmt.inserts:
            pending.append(_insert_job(s, ins, cancel, progress, stage_all=True))
    except BaseException:
        for p in pending:
            p.abort()
        raise
    logs: list[str] = []
    total = 0
    for p in pending:
        r = p.finish()
        logs.extend(r.log)
        total += r.rows_affected or 0
    return StatementResult(log=logs, rows_affected=total)


def create_table_as(s, db: str, name: str, stmt: st.CreateTable, fmt: StorageFormat,
                    location: str, cancel=None, progress=None) -> StatementResult:
    logs: list[str] = []
    cols = query_schema(s, stmt.as_select)
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
    table = Table(db, name, schema, (), "MANAGED_TABLE", location, fmt, stmt.properties,
                  stmt.comment, user(), now())
    if storage.list_files(location):
        from rayemr.core.errors import OutputExistsError

        raise OutputExistsError(f"CREATE TABLE AS SELECT: {location} already holds data")
    write = WriteSpec(fmt, f"table {db}.{name}", tuple((c.name, c.type) for c in schema))
    summary, _ = _write_query(s, stmt.as_select, write, location, True, cancel=cancel,
                              progress=progress, logs=logs)
    s.metastore.create_table(table, temporary=stmt.temporary)
    logs.append(f"Moving data to: {location}")
    return StatementResult(log=logs, rows_affected=_rows(summary))


def insert_directory(s, stmt: st.InsertDirectory, cancel=None, progress=None, **_
                     ) -> StatementResult:
    logs: list[str] = []
    fmt = storage_format(stmt.row_format, stmt.stored_as)
    path = storage.normalize_location(stmt.path, "DIRECTORY")
    write = WriteSpec(fmt, f"directory {path}")
    summary, _ = _write_query(s, stmt.query, write, path, True, cancel=cancel,
                              progress=progress, logs=logs)
    return StatementResult(log=logs, rows_affected=_rows(summary))


def load_data(s, stmt: st.LoadData, **_) -> StatementResult:
    table = s.table(stmt.table)
    if table.is_view:
        raise UserError(f"Cannot load data into a view: {table.qualified_name}")
    publish.recover(table, s.metastore)
    target = table.location
    new_part: Optional[Partition] = None
    if table.partition_keys:
        if not stmt.partition:
            raise UserError(f"LOAD DATA into partitioned table {table.qualified_name} needs a "
                            "PARTITION (...) spec")
        vals = spec_values(table, stmt.partition)
        existing = {p.values: p for p in s.metastore.list_partitions(table.database,
                                                                      table.name)}
        if vals in existing:
            target = existing[vals].location
        else:
            target = partition_location(table, vals)
            new_part = Partition(vals, target)
    elif stmt.partition:
        raise UserError(f"table {table.qualified_name} is not partitioned")
    src = storage.normalize_location(stmt.path, "LOAD DATA path")
    storage.check_access(target, "location")
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
        vals = spec_values(table, stmt.partition, partial=True)
        for p in s.metastore.list_partitions(table.database, table.name):
            if all(v is None or v == pv for v, pv in zip(vals, p.values)):
                storage.delete_contents(p.location)
    else:
        storage.delete_contents(table.location)
    return StatementResult()


__all__ = ["create_table_as", "insert", "insert_directory", "load_data", "multi_insert",
           "query_schema", "serialize", "truncate_table", "escape_path_value"]
