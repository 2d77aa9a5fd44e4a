"""Query plans as values: scans of base tables and the DuckDB fragments over them.

Built by :mod:`rayemr.hive.sql.compile` (pure, no storage, no DuckDB), turned into a
``StageGraph`` by :mod:`rayemr.hive.planner` and executed by :mod:`rayemr.hive.exec`. Ids
follow plan order, so EXPLAIN output is stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rayemr.hive.metastore.models import StorageFormat


@dataclass(frozen=True)
class ScanSpec:
    """Read one base table: the columns needed and the filters that can run in the scan.

    ``filter`` and ``partition_filter`` are DuckDB SQL over the table's own column names.
    ``schema`` is the full data schema (text formats parse fields by position).
    """

    id: str
    table: str
    location: str
    storage: StorageFormat
    schema: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]
    partition_keys: tuple[tuple[str, str], ...] = ()
    filter: Optional[str] = None
    partition_filter: Optional[str] = None
    properties: tuple[tuple[str, str], ...] = ()
    #: LIMIT pushed into every split's scan (a plain SELECT ... LIMIT n over one table)
    limit: Optional[int] = None

    @property
    def out_columns(self) -> tuple[str, ...]:
        return self.columns


@dataclass(frozen=True)
class FileSplit:
    """One unit of scan work: a file (or a Parquet row-group range) and its partition values."""

    url: str
    partition_values: tuple[Optional[str], ...] = ()
    size: int = 0
    start: int = 0
    length: int = 0
    format: str = ""
    row_groups: tuple[int, ...] = ()
    #: Parquet row-group split: the file's rows [first, end) those row groups hold
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.rows:
            return f"{self.url} row groups {self.row_groups[0]}-{self.row_groups[-1]}"
        return self.url


@dataclass(frozen=True)
class AggPlan:
    """Map-side partial aggregation of a single-scan aggregate query.

    ``partial_sql`` runs in each map task over the scan (named ``scan_id``) and produces
    group keys plus partial states; the rows are hash-partitioned on ``keys``; ``final_sql``
    merges partial states in each reduce task (over ``partials``); ``top_sql`` runs once
    over the union of reduce outputs (``reduced``) for ORDER BY / LIMIT / outer parts.
    """

    scan_id: str
    partial_sql: str
    keys: tuple[str, ...]
    final_sql: str
    top_sql: str
    broadcast: tuple[str, ...] = ()
    #: shuffle (common) join instead of a map join: ((scan id, key column), ...) for both
    #: sides, hash-partitioned on their keys; partial_sql then runs in the reduce tasks
    shuffle_join: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class QueryPlan:
    """A compiled SELECT: scans, the fragment that combines them, and result columns."""

    scans: tuple[ScanSpec, ...]
    final_sql: str
    columns: tuple[str, ...]
    agg: Optional[AggPlan] = None
    transform: tuple = ()
    #: total-order sort: (map_sql, reduce_sql, limit or None), map output has "__part"
    sort: tuple = ()
    #: the qualified sqlglot tree over scan ids, before DuckDB fixes (read-only; copy it)
    tree: object = field(default=None, compare=False, repr=False)
    #: Hive's unique result names (``t.col`` for ``SELECT *`` and ``t.col``), () if none
    result_names: tuple[str, ...] = ()
