"""The SQLite metastore and Hive types."""
from __future__ import annotations

import pytest

from rayemr.core.errors import InputNotFoundError, OutputExistsError, UserError
from rayemr.hive.metastore import (Database, FieldSchema, Partition, SqliteMetastore,
                                   StorageFormat, Table, escape_path_value, unescape_path_value)
from rayemr.hive.types import arrow_type, duckdb_type, normalize_type, parse_type


def _table(name="t", db="default", **kw):
    return Table(db, name, (FieldSchema("a", "INT"), FieldSchema("b", "string")), **kw)


def test_default_database_and_persistence(tmp_path):
    path = tmp_path / "ms.db"
    ms = SqliteMetastore(path, str(tmp_path / "wh"))
    assert ms.list_databases() == ["default"]
    ms.create_database(Database("sales", str(tmp_path / "wh/sales.db")))
    ms.create_table(_table(db="sales", partition_keys=(FieldSchema("dt", "string"),),
                           storage=StorageFormat.of("parquet")))
    ms.add_partitions("sales", "t", [Partition(("2020-01-01",), "/x/dt=2020-01-01")])
    ms.close()
    again = SqliteMetastore(path, str(tmp_path / "wh"))
    assert again.list_databases() == ["default", "sales"]
    assert again.list_tables("sales") == ["t"]
    t = again.get_table("SALES", "T")
    assert [c.type for c in t.columns] == ["int", "string"]
    assert t.storage.kind == "parquet" and t.partition_keys[0].name == "dt"
    assert again.list_partitions("sales", "t")[0].values == ("2020-01-01",)


def test_errors_name_the_object(tmp_path):
    ms = SqliteMetastore(tmp_path / "ms.db", str(tmp_path / "wh"))
    with pytest.raises(InputNotFoundError, match="nosuch"):
        ms.get_table("default", "nosuch")
    with pytest.raises(InputNotFoundError, match="Database does not exist: nodb"):
        ms.list_tables("nodb")
    ms.create_table(_table())
    with pytest.raises(OutputExistsError, match="default.t"):
        ms.create_table(_table())
    assert ms.create_table(_table(), if_not_exists=True) is False
    with pytest.raises(UserError, match="not empty"):
        ms.create_database(Database("d2", "/x"))
        ms.create_table(_table(db="d2"))
        ms.drop_database("d2")
    with pytest.raises(UserError, match="duplicate column 'a'"):
        Table("default", "x", (FieldSchema("a", "int"), FieldSchema("A", "int")))
    with pytest.raises(UserError, match="not partitioned"):
        ms.add_partitions("default", "t", [Partition(("1",), "/x")])


def test_alter_table_rename_moves_partitions(tmp_path):
    ms = SqliteMetastore(tmp_path / "ms.db", str(tmp_path / "wh"))
    t = _table(partition_keys=(FieldSchema("dt", "string"),))
    ms.create_table(t)
    ms.add_partitions("default", "t", [Partition(("1",), "/p1")])
    ms.alter_table("default", "t", t.evolve(name="u"))
    assert ms.list_tables("default") == ["u"]
    assert ms.list_partitions("default", "u")[0].location == "/p1"


@pytest.mark.parametrize("text,norm,duck", [
    ("INT", "int", "INTEGER"),
    ("decimal(15, 2)", "decimal(15,2)", "DECIMAL(15,2)"),
    ("decimal", "decimal(10,0)", "DECIMAL(10,0)"),
    ("varchar(10)", "varchar(10)", "VARCHAR"),
    ("array<string>", "array<string>", "VARCHAR[]"),
    ("map<string, array<int>>", "map<string,array<int>>", "MAP(VARCHAR, INTEGER[])"),
    ("struct<a:int,b:string>", "struct<a:int,b:string>",
     'STRUCT("a" INTEGER, "b" VARCHAR)'),
])
def test_types(text, norm, duck):
    assert normalize_type(text) == norm
    assert duckdb_type(text) == duck
    arrow_type(text)


@pytest.mark.parametrize("bad", ["integr", "decimal(40,2)", "array<int", "map<int>", ""])
def test_bad_types_are_user_errors(bad):
    with pytest.raises(UserError):
        parse_type(bad)


def test_partition_path_escaping_round_trips():
    v = "a/b:c=d%e"
    esc = escape_path_value(v)
    assert "/" not in esc and ":" not in esc
    assert unescape_path_value(esc) == v
    assert escape_path_value("") == "__HIVE_DEFAULT_PARTITION__"
