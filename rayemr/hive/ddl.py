"""DDL and SHOW/DESCRIBE handlers: ``handler(session, statement, **_) -> StatementResult``."""
from __future__ import annotations

import fnmatch
from typing import Optional

import pyarrow as pa

from rayemr.core.errors import InputNotFoundError, OutputExistsError, UnsupportedError, UserError
from rayemr.hive.errors import (DATABASE_ALREADY_EXISTS, TABLE_ALREADY_EXISTS, AlreadyExistsError,
                                DatabaseNotFoundError, TableNotFoundError)
from rayemr.hive import describe as desc
from rayemr.hive import storage
from rayemr.hive.api import Column, StatementResult
from rayemr.hive.metastore.models import Database, FieldSchema, Partition, Table
from rayemr.hive.sql import statements as st
from rayemr.hive.tables import (
    now, partition_location, spec_values, storage_format, table_location, user)


def rows_result(columns: list[tuple[str, str]], rows: list[tuple]) -> StatementResult:
    data = {name: pa.array([r[i] for r in rows], pa.string())
            for i, (name, _) in enumerate(columns)}
    table = pa.table(data) if columns else None
    return StatementResult(columns=tuple(Column(n, t) for n, t in columns), table=table,
                           has_result_set=True)


def _like(pattern: Optional[str], names: list[str]) -> list[str]:
    if not pattern:
        return names
    alts = [p.strip().lower().replace("%", "*") for p in pattern.split("|")]
    return [n for n in names if any(fnmatch.fnmatchcase(n, a) for a in alts)]


# -- databases -------------------------------------------------------------------------------

def create_database(s, stmt: st.CreateDatabase, **_) -> StatementResult:
    location = storage.normalize_location(stmt.location) or storage.child(
        s.metastore.warehouse, f"{stmt.name.lower()}.db")
    storage.check_access(location, "location")
    if stmt.name.lower() in s.metastore.list_databases():
        if stmt.if_not_exists:
            return StatementResult()
        raise AlreadyExistsError(DATABASE_ALREADY_EXISTS, stmt.name.lower())
    s.metastore.create_database(Database(stmt.name.lower(), location, stmt.comment, user(),
                                         stmt.properties), stmt.if_not_exists)
    storage.makedirs(location)
    return StatementResult()


def drop_database(s, stmt: st.DropDatabase, **_) -> StatementResult:
    name = stmt.name.lower()
    if name not in s.metastore.list_databases():
        if stmt.if_exists:
            return StatementResult()
        raise DatabaseNotFoundError(name)
    tables = s.metastore.list_tables(name)
    if tables and not stmt.cascade:
        raise UserError(f"Database {name} is not empty. One or more tables exist; use "
                        "DROP DATABASE ... CASCADE")
    db = s.metastore.get_database(name)
    victims = [s.metastore.get_table(name, t) for t in tables]
    owned = storage.is_under(db.location, s.metastore.warehouse)
    for t in victims:  # refuse before anything is dropped
        _check_drop(t)
    if owned:
        storage.check_access(db.location, "location")
    for t in victims:
        _drop_table_data(t)
    s.metastore.drop_database(name, cascade=True)
    if owned:
        storage.delete(db.location)
    if s.database == name:
        s.database = "default"
    return StatementResult()


def show_databases(s, stmt: st.ShowDatabases, **_) -> StatementResult:
    names = _like(stmt.like, s.metastore.list_databases())
    return rows_result([("database_name", "string")], [(n,) for n in names])


def describe_database(s, stmt: st.DescribeDatabase, **_) -> StatementResult:
    db = s.metastore.get_database(stmt.name)
    cols = [("db_name", "string"), ("comment", "string"), ("location", "string"),
            ("owner_name", "string"), ("owner_type", "string"), ("parameters", "string")]
    params = ",".join(f"{k}={v}" for k, v in db.properties) if stmt.extended else ""
    return rows_result(cols, [(db.name, db.comment, db.location, db.owner or "hive", "USER",
                               params)])


# -- tables ----------------------------------------------------------------------------------

def _columns(defs) -> tuple[FieldSchema, ...]:
    return tuple(FieldSchema(c.name, c.type, c.comment) for c in defs)


def create_table(s, stmt: st.CreateTable, cancel=None, progress=None, **_) -> StatementResult:
    db, name = s.qualify(stmt.name)
    s.metastore.get_database(db)
    temporary = stmt.temporary
    if temporary and stmt.partition_keys:
        raise UnsupportedError("Partition columns are not supported on temporary tables")
    exists = (s.metastore.is_temporary(db, name) if temporary
              else s.metastore.table_exists(db, name))
    if exists:
        if stmt.if_not_exists:
            return StatementResult()
        raise AlreadyExistsError(TABLE_ALREADY_EXISTS, f"{db}.{name}")
    location = storage.normalize_location(stmt.location) or (
        s.metastore.temporary_location(db, name) if temporary else table_location(s, db, name))
    storage.check_access(location, "location")
    table_type = "EXTERNAL_TABLE" if stmt.external else "MANAGED_TABLE"
    if stmt.like is not None:
        src = s.table(stmt.like)
        if src.is_view:
            raise UnsupportedError("CREATE TABLE LIKE a view is not supported")
        table = src.evolve(database=db, name=name, location=location, table_type=table_type,
                           properties=stmt.properties or (), owner=user(), create_time=now())
        s.metastore.create_table(table, temporary=temporary)
        storage.makedirs(location)
        return StatementResult()
    store = storage_format(stmt.row_format, stmt.stored_as,
                           s.hiveconf.get("hive.default.fileformat", "TextFile"))
    if stmt.as_select is not None:
        from rayemr.hive import dml

        if stmt.partition_keys:
            raise UnsupportedError("CREATE TABLE AS SELECT with PARTITIONED BY is not "
                                   "supported; create the table, then INSERT")
        if stmt.external:
            raise UserError("CREATE EXTERNAL TABLE AS SELECT is not allowed (Hive: CTAS "
                            "creates a managed table)")
        return dml.create_table_as(s, db, name, stmt, store, location, cancel=cancel,
                                   progress=progress)
    if not stmt.columns:
        raise UserError(f"table {db}.{name}: no columns given")
    table = Table(db, name, _columns(stmt.columns), _columns(stmt.partition_keys), table_type,
                  location, store, stmt.properties, stmt.comment, user(), now())
    s.metastore.create_table(table, temporary=temporary)
    storage.makedirs(location)
    return StatementResult()


def _owns_data(table: Table) -> bool:
    props = {k.lower(): v.lower() for k, v in table.properties}
    return (table.table_type == "MANAGED_TABLE" and bool(table.location)
            and props.get("external.table.purge") != "false")


def _check_drop(table: Table) -> None:
    """Refuse (before the metastore changes) a drop whose data this statement may not delete."""
    if _owns_data(table):
        storage.check_access(table.location, "location")


def _drop_table_data(table: Table) -> None:
    if _owns_data(table):
        storage.delete(table.location)


def drop_table(s, stmt: st.DropTable, **_) -> StatementResult:
    db, name = s.qualify(stmt.name)
    if not s.metastore.table_exists(db, name):
        if stmt.if_exists:
            return StatementResult()
        s.metastore.get_database(db)
        raise TableNotFoundError(str(stmt.name))
    table = s.metastore.get_table(db, name)
    if stmt.view and not table.is_view:
        raise UserError(f"Cannot drop a table with DROP VIEW: {db}.{name}")
    if not stmt.view and table.is_view:
        raise UserError(f"Cannot drop a view with DROP TABLE: {db}.{name}; use DROP VIEW")
    _check_drop(table)
    s.metastore.drop_table(db, name)
    _drop_table_data(table)
    return StatementResult()


def create_view(s, stmt: st.CreateView, **_) -> StatementResult:
    from rayemr.hive import dml

    db, name = s.qualify(stmt.name)
    exists = s.metastore.table_exists(db, name)
    if exists and stmt.if_not_exists:
        return StatementResult()
    if exists and not stmt.or_replace:
        raise AlreadyExistsError(TABLE_ALREADY_EXISTS, f"{db}.{name}")
    if exists and not s.metastore.get_table(db, name).is_view:
        raise UserError(f"{db}.{name} is a table, not a view")
    query = stmt.query
    cols = dml.query_schema(s, query)
    if stmt.columns:
        if len(stmt.columns) != len(cols):
            raise UserError(f"view {db}.{name}: {len(stmt.columns)} column names for a query "
                            f"returning {len(cols)} columns")
        query = (f"SELECT {', '.join(f'`{c.name}` AS `{n}`' for c, n in zip(cols, stmt.columns))}"
                 f" FROM ({query}) `__view_source`")
        cols = [Column(n, c.hive_type) for c, n in zip(cols, stmt.columns)]
    table = Table(db, name, tuple(FieldSchema(c.name, c.hive_type) for c in cols),
                  table_type="VIRTUAL_VIEW", comment=stmt.comment, owner=user(),
                  create_time=now(), view_text=query)
    if exists:
        s.metastore.alter_table(db, name, table)
    else:
        s.metastore.create_table(table)
    return StatementResult()


def alter_table(s, stmt: st.AlterTable, **_) -> StatementResult:
    db, name = s.qualify(stmt.name)
    table = s.metastore.get_table(db, name)
    a = stmt.action
    if table.is_view and a not in ("rename", "set_properties"):
        raise UserError(f"{db}.{name} is a view; use ALTER VIEW ... AS")
    if a == "add_partitions":
        parts = []
        for spec, loc in zip(stmt.partitions, stmt.locations):
            vals = spec_values(table, spec)
            location = storage.normalize_location(loc) or partition_location(table, vals)
            storage.check_access(location, "location")
            parts.append(Partition(vals, location))
        if not stmt.if_not_exists:
            existing = {p.values for p in s.metastore.list_partitions(db, name)}
            for p in parts:
                if p.values in existing:
                    raise OutputExistsError(
                        f"Partition already exists: {p.name(table.partition_keys)}")
        s.metastore.add_partitions(db, name, parts)
        for p in parts:
            if not any(loc for loc in stmt.locations):
                storage.makedirs(p.location)
        return StatementResult()
    if a == "drop_partitions":
        existing = s.metastore.list_partitions(db, name)
        victims = []
        for spec in stmt.partitions:
            vals = spec_values(table, spec, partial=True)
            match = [p for p in existing
                     if all(v is None or v == pv for v, pv in zip(vals, p.values))]
            if not match and not stmt.if_exists:
                raise InputNotFoundError(f"No partition matches {dict(spec)} in "
                                         f"{table.qualified_name}")
            victims.extend(match)
        if not table.is_external:
            for p in victims:
                storage.check_access(p.location, "location")
        s.metastore.drop_partitions(db, name, [p.values for p in victims])
        if not table.is_external:
            for p in victims:
                storage.delete(p.location)
        return StatementResult()
    if a == "rename":
        ndb, nname = s.qualify(stmt.new_name)
        new_loc = table.location
        if table.table_type == "MANAGED_TABLE" and table.location == table_location(s, db, name):
            new_loc = table_location(s, ndb, nname)
            storage.check_access(table.location, "location")
            storage.check_access(new_loc, "location")
        new = table.evolve(database=ndb, name=nname, location=new_loc)
        s.metastore.alter_table(db, name, new)
        if new_loc != table.location and storage.exists(table.location):
            fs, src = storage.resolve(table.location, "location")
            _, dst = storage.resolve(new_loc, "location")
            fs.mv(src, dst, recursive=True)
            for p in s.metastore.list_partitions(ndb, nname):
                if p.location.startswith(table.location + "/"):
                    moved = Partition(p.values, new_loc + p.location[len(table.location):])
                    s.metastore.drop_partitions(ndb, nname, [p.values])
                    s.metastore.add_partitions(ndb, nname, [moved])
        return StatementResult()
    if a == "add_columns":
        new = table.evolve(columns=table.columns + _columns(stmt.columns))
        s.metastore.alter_table(db, name, new)
        return StatementResult()
    if a == "replace_columns":
        s.metastore.alter_table(db, name, table.evolve(columns=_columns(stmt.columns)))
        return StatementResult()
    if a == "change_column":
        old = stmt.old_column.lower()
        if not any(c.name == old for c in table.columns):
            raise UserError(f"Invalid column reference '{old}' in table {table.qualified_name}")
        newc = _columns(stmt.columns)[0]
        cols = tuple(newc if c.name == old else c for c in table.columns)
        s.metastore.alter_table(db, name, table.evolve(columns=cols))
        return StatementResult()
    if a == "set_properties":
        props = dict(table.properties) | dict(stmt.properties)
        upd = {}
        if props.get("EXTERNAL", "").upper() in ("TRUE", "FALSE"):
            upd["table_type"] = ("EXTERNAL_TABLE" if props.pop("EXTERNAL").upper() == "TRUE"
                                 else "MANAGED_TABLE")
        comment = props.pop("comment", None)
        if comment is not None:
            upd["comment"] = comment
        s.metastore.alter_table(db, name, table.evolve(properties=tuple(sorted(props.items())),
                                                       **upd))
        return StatementResult()
    if a == "unset_properties":
        props = {k: v for k, v in table.properties if k not in dict(stmt.properties)}
        s.metastore.alter_table(db, name, table.evolve(properties=tuple(sorted(props.items()))))
        return StatementResult()
    if a == "set_serde_properties":
        props = table.storage.props | dict(stmt.properties)
        store = table.storage.__class__(table.storage.kind, table.storage.serde,
                                        table.storage.input_format, table.storage.output_format,
                                        tuple(sorted(props.items())))
        s.metastore.alter_table(db, name, table.evolve(storage=store))
        return StatementResult()
    if a == "set_location":
        s.metastore.alter_table(db, name, table.evolve(
            location=storage.normalize_location(stmt.location)))
        return StatementResult()
    if a == "set_fileformat":
        store = storage_format(None, stmt.location)
        s.metastore.alter_table(db, name, table.evolve(storage=store))
        return StatementResult()
    if a == "set_partition_location":
        vals = spec_values(table, stmt.partitions[0])
        s.metastore.drop_partitions(db, name, [vals])
        s.metastore.add_partitions(db, name, [Partition(
            vals, storage.normalize_location(stmt.location))])
        return StatementResult()
    if a == "rename_partition":
        old = spec_values(table, stmt.partitions[0])
        new = spec_values(table, stmt.partitions[1])
        parts = {p.values: p for p in s.metastore.list_partitions(db, name)}
        if old not in parts:
            raise InputNotFoundError(f"partition {dict(stmt.partitions[0])} does not exist")
        loc = partition_location(table, new)
        storage.check_access(loc, "location")
        if storage.exists(parts[old].location):
            fs, src = storage.resolve(parts[old].location, "location")
            _, dst = storage.resolve(loc, "location")
            fs.mv(src, dst, recursive=True)
        s.metastore.drop_partitions(db, name, [old])
        s.metastore.add_partitions(db, name, [Partition(new, loc)])
        return StatementResult()
    raise UnsupportedError(f"ALTER TABLE {a.replace('_', ' ')} is not supported")


def msck_repair(s, stmt: st.MsckRepair, **_) -> StatementResult:
    db, name = s.qualify(stmt.name)
    table = s.metastore.get_table(db, name)
    if not table.partition_keys:
        raise UserError(f"Table {table.qualified_name} is not partitioned")
    keys = [k.name for k in table.partition_keys]
    found = storage.partition_dirs(table.location, keys)
    known = {p.values for p in s.metastore.list_partitions(db, name)}
    new = [Partition(vals, loc) for vals, loc in found if vals not in known]
    s.metastore.add_partitions(db, name, new)
    log = []
    if new:
        names = [p.name(table.partition_keys) for p in new]
        log.append("Partitions not in metastore:\t" + "\t".join(
            f"{name}:{n}" for n in names))
        log.extend(f"Repair: Added partition to metastore {name}:{n}" for n in names)
    return StatementResult(log=log, rows_affected=len(new))


def show_tables(s, stmt: st.ShowTables, **_) -> StatementResult:
    db = (stmt.db or s.database).lower()
    names = s.metastore.list_tables(db)
    if stmt.views:
        names = [n for n in names if s.metastore.get_table(db, n).is_view]
    return rows_result([("tab_name", "string")], [(n,) for n in _like(stmt.like, names)])


def show_partitions(s, stmt: st.ShowPartitions, **_) -> StatementResult:
    table = s.table(stmt.name)
    if not table.partition_keys:
        raise UserError(f"Table {table.qualified_name} is not a partitioned table")
    parts = s.metastore.list_partitions(table.database, table.name)
    if stmt.partition:
        vals = spec_values(table, stmt.partition, partial=True)
        parts = [p for p in parts if all(v is None or v == pv for v, pv in zip(vals, p.values))]
    names = sorted(p.name(table.partition_keys) for p in parts)
    return rows_result([("partition", "string")], [(n,) for n in names])


def show_create_table(s, stmt: st.ShowCreateTable, **_) -> StatementResult:
    table = s.table(stmt.name)
    return rows_result([("createtab_stmt", "string")],
                       [(line,) for line in desc.show_create_table(table)])


def show_columns(s, stmt: st.ShowColumns, **_) -> StatementResult:
    table = s.table(stmt.name)
    return rows_result([("field", "string")], [(c.name,) for c in table.all_columns])


def show_tblproperties(s, stmt: st.ShowTblProperties, **_) -> StatementResult:
    table = s.table(stmt.name)
    props = dict(table.properties)
    props.setdefault("transient_lastDdlTime", str(table.create_time))
    return rows_result([("prpt_name", "string"), ("prpt_value", "string")],
                       sorted(props.items()))


def show_functions(s, stmt: st.ShowFunctions, **_) -> StatementResult:
    from rayemr.hive.sql.functions import HIVE_FUNCTIONS

    return rows_result([("tab_name", "string")],
                       [(n,) for n in _like(stmt.like, sorted(HIVE_FUNCTIONS))])


def describe(s, stmt: st.Describe, **_) -> StatementResult:
    table = s.table(stmt.name)
    cols = [("col_name", "string"), ("data_type", "string"), ("comment", "string")]
    if stmt.formatted or stmt.extended:
        num_files = total = None
        if not table.is_view:
            files = storage.list_files(table.location)
            num_files, total = len(files), sum(f.size for f in files)
        return rows_result(cols, desc.describe_formatted(table, num_files, total))
    return rows_result(cols, desc.describe(table, stmt.column))
