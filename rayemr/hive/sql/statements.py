"""Parsed HiveQL statements: frozen values the session executes.

Names are validated when a statement is built (:mod:`rayemr.hive.names`): a database, table
or partition key name that could be a path never becomes a statement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rayemr.hive.names import check_column, check_name


@dataclass(frozen=True)
class TableName:
    db: Optional[str]
    name: str

    def __post_init__(self) -> None:
        if self.db is not None:
            check_name(self.db, "database")
        check_name(self.name, "table")

    def __str__(self) -> str:
        return f"{self.db}.{self.name}" if self.db else self.name


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: str
    comment: str = ""

    def __post_init__(self) -> None:
        check_column(self.name)


@dataclass(frozen=True)
class RowFormat:
    """``ROW FORMAT DELIMITED ...`` (serde None) or ``ROW FORMAT SERDE 'cls'``."""

    serde: Optional[str] = None
    properties: tuple[tuple[str, str], ...] = ()


#: partition spec: (key, value or None for a dynamic partition column)
PartSpec = tuple[tuple[str, Optional[str]], ...]


@dataclass(frozen=True)
class CreateDatabase:
    name: str
    if_not_exists: bool = False
    comment: str = ""
    location: Optional[str] = None
    properties: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "database")


@dataclass(frozen=True)
class DropDatabase:
    name: str
    if_exists: bool = False
    cascade: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "database")


@dataclass(frozen=True)
class ShowDatabases:
    like: Optional[str] = None


@dataclass(frozen=True)
class Use:
    name: str

    def __post_init__(self) -> None:
        check_name(self.name, "database")


@dataclass(frozen=True)
class CreateTable:
    name: TableName
    external: bool = False
    if_not_exists: bool = False
    columns: tuple[ColumnDef, ...] = ()
    partition_keys: tuple[ColumnDef, ...] = ()
    comment: str = ""
    row_format: Optional[RowFormat] = None
    stored_as: Optional[str] = None
    location: Optional[str] = None
    properties: tuple[tuple[str, str], ...] = ()
    as_select: Optional[str] = None
    like: Optional[TableName] = None
    temporary: bool = False

    def __post_init__(self) -> None:
        for key in self.partition_keys:  # each becomes a folder name: key=value
            check_name(key.name, "partition column")


@dataclass(frozen=True)
class DropTable:
    name: TableName
    if_exists: bool = False
    view: bool = False
    purge: bool = False


@dataclass(frozen=True)
class CreateView:
    name: TableName
    query: str
    if_not_exists: bool = False
    or_replace: bool = False
    columns: tuple[str, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class AlterTable:
    """``ALTER TABLE name <action>``; ``action`` names the form, the rest are its operands."""

    name: TableName
    action: str  # add_partitions, drop_partitions, rename, add_columns, replace_columns,
    #              set_properties, unset_properties, set_serde_properties, set_location,
    #              change_column, set_fileformat
    partitions: tuple[PartSpec, ...] = ()
    locations: tuple[Optional[str], ...] = ()
    new_name: Optional[TableName] = None
    columns: tuple[ColumnDef, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    if_exists: bool = False
    if_not_exists: bool = False
    location: Optional[str] = None
    old_column: Optional[str] = None
    view: bool = False


@dataclass(frozen=True)
class MsckRepair:
    name: TableName


@dataclass(frozen=True)
class ShowTables:
    db: Optional[str] = None
    like: Optional[str] = None
    views: bool = False


@dataclass(frozen=True)
class ShowPartitions:
    name: TableName
    partition: PartSpec = ()


@dataclass(frozen=True)
class ShowCreateTable:
    name: TableName


@dataclass(frozen=True)
class ShowColumns:
    name: TableName


@dataclass(frozen=True)
class ShowFunctions:
    like: Optional[str] = None


@dataclass(frozen=True)
class ShowTblProperties:
    name: TableName


@dataclass(frozen=True)
class Describe:
    name: TableName
    formatted: bool = False
    extended: bool = False
    column: Optional[str] = None
    partition: PartSpec = ()


@dataclass(frozen=True)
class DescribeDatabase:
    name: str
    extended: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "database")


@dataclass(frozen=True)
class SetProperty:
    key: Optional[str] = None  # None: show all
    value: Optional[str] = None  # None: show key


@dataclass(frozen=True)
class Reset:
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadData:
    path: str
    table: TableName
    local: bool = False
    overwrite: bool = False
    partition: PartSpec = ()


@dataclass(frozen=True)
class Insert:
    table: TableName
    query: str
    overwrite: bool = False
    partition: PartSpec = ()
    if_not_exists: bool = False
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class InsertDirectory:
    path: str
    query: str
    local: bool = False
    row_format: Optional[RowFormat] = None
    stored_as: Optional[str] = None


@dataclass(frozen=True)
class MultiInsert:
    inserts: tuple[Insert, ...]


@dataclass(frozen=True)
class Query:
    text: str


@dataclass(frozen=True)
class Explain:
    statement: object
    extended: bool = False


@dataclass(frozen=True)
class TruncateTable:
    name: TableName
    partition: PartSpec = ()


@dataclass(frozen=True)
class Noop:
    """Statements accepted for compatibility that change nothing (ANALYZE, ADD JAR)."""

    text: str = field(default="")
