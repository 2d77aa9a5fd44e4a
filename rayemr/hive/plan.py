"""Query plans as values: the logical plan (scans of base tables and the DuckDB fragments
over them) and the physical plan (stages of typed operators).

A :class:`QueryPlan` is built by :mod:`rayemr.hive.sql.compile` (pure, no storage, no
DuckDB); :mod:`rayemr.hive.planner` cuts it into a :class:`PhysicalPlan`: stages, each a
short pipeline of Hive's operators (``TableScan``, the DuckDB ``Fragment`` that folds
Hive's Filter/Select/Join operators, ``PartialAggregate``, ``Transform``, and one output:
``ReduceOutput``, ``Fetch`` or ``FileOutput``). EXPLAIN prints those operators;
:mod:`rayemr.hive.tasks` runs them. Ids follow plan order, so EXPLAIN output is stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from rayemr.core.errors import UserError
from rayemr.engine.graph import ShuffleSpec, SplitInput, StageInput
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
class RangeSort:
    """Total-order ORDER BY over one table by sampled range partitioning (chosen by
    :func:`rayemr.hive.rules.range_sort`): map tasks run ``map_sql`` (its rows carry their
    range number in ``__part``), reduce task ``r`` sorts range ``r`` with ``reduce_sql``
    (over ``part``); with ``limit`` the client keeps the first rows of the concatenation."""

    map_sql: str
    reduce_sql: str
    limit: Optional[int] = None


@dataclass(frozen=True)
class TransformSpec:
    """``SELECT TRANSFORM (...) USING 'command' AS (...)``: the query's rows piped through
    ``command`` and read back as ``columns`` ((name, Hive type), ...). ``command`` is the
    text as written until the session resolves it to a
    :class:`~rayemr.hive.policy.TransformCommand` (what may run); ``split_all``: every tab
    splits a field (else only the first, into key and value)."""

    command: Any
    columns: tuple[tuple[str, str], ...]
    split_all: bool


@dataclass(frozen=True)
class QueryPlan:
    """A compiled SELECT: scans, the fragment that combines them, and result columns."""

    scans: tuple[ScanSpec, ...]
    final_sql: str
    columns: tuple[str, ...]
    agg: Optional[AggPlan] = None
    transform: Optional[TransformSpec] = None
    sort: Optional[RangeSort] = None
    #: the qualified sqlglot tree over scan ids, before DuckDB fixes (read-only; copy it)
    tree: object = field(default=None, compare=False, repr=False)
    #: Hive's unique result names (``t.col`` for ``SELECT *`` and ``t.col``), () if none
    result_names: tuple[str, ...] = ()
    #: per result column, the Hive type clients are told where the values are Hive's text
    #: of a type Arrow has not (``interval_year_month``, ``interval_day_time``); () if none
    result_types: tuple[Optional[str], ...] = ()


# -- the physical plan: Hive's operators of each stage, as values --------------------------

@dataclass(frozen=True)
class TableScan:
    """Hive's TableScan Operator: read a base table with pruned columns and pushed filters.

    Without ``inline`` it reads the stage's split input (one split per task). With ``inline``
    each task of the stage reads all of ``splits`` itself (a small table repeated in every
    task instead of a stage of its own, or the input of a small job).
    """

    scan: ScanSpec
    splits: tuple[FileSplit, ...] = ()
    inline: bool = False


@dataclass(frozen=True)
class Fragment:
    """Hive's Filter, Select and Join operators folded into one DuckDB query over the
    stage's scans (named by scan id) and the upstream inputs named in ``inputs``."""

    sql: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartialAggregate(Fragment):
    """Hive's Group By Operator in hash mode: a fragment whose rows are group keys and
    partial aggregate states, merged by a later stage."""


@dataclass(frozen=True)
class Transform:
    """Hive's Script Operator (``TRANSFORM ... USING``): the rows of input ``rows`` piped
    through ``command`` (a :class:`~rayemr.hive.policy.TransformCommand`), read back as
    ``columns``; ``split_all``: every tab splits a field (else only the first)."""

    command: Any
    columns: tuple[tuple[str, str], ...]
    split_all: bool


@dataclass(frozen=True)
class ReduceOutput:
    """Hive's Reduce Output Operator: the stage's rows cut into partitions for the next."""

    shuffle: ShuffleSpec


@dataclass(frozen=True)
class Fetch:
    """Hive's Fetch Operator: the stage's rows go back to the client."""


@dataclass(frozen=True)
class FileOutput:
    """Hive's File Output Operator: the stage's rows are written through the job's output
    committer (``write``: a :class:`~rayemr.hive.write.WriteSpec`); the stage returns only
    the partitions written and their row counts."""

    write: Any


Operator = Union[TableScan, Fragment, PartialAggregate, Transform, ReduceOutput, Fetch,
                 FileOutput]
_OUTPUTS = (ReduceOutput, Fetch, FileOutput)


@dataclass(frozen=True)
class HiveStage:
    """One stage of a query: its operators in pipeline order and where its inputs come from
    (the engine's split, shuffle and broadcast inputs)."""

    id: str
    operators: tuple[Operator, ...]
    inputs: tuple[StageInput, ...] = ()
    kind: Literal["map", "reduce"] = "map"
    description: str = ""

    def __post_init__(self) -> None:
        own = [op for op in self.operators if isinstance(op, TableScan) and not op.inline]
        splits = [i for i in self.inputs if isinstance(i, SplitInput)]
        if len(own) > 1 or len(own) != len(splits):
            raise UserError(f"stage {self.id}: {len(own)} split scans for {len(splits)} "
                            "split inputs")
        if sum(isinstance(op, _OUTPUTS) for op in self.operators) > 1:
            raise UserError(f"stage {self.id}: more than one output operator")

    @property
    def output(self) -> Optional[ShuffleSpec]:
        return next((op.shuffle for op in self.operators if isinstance(op, ReduceOutput)),
                    None)

    @property
    def collect(self) -> bool:
        return any(isinstance(op, (Fetch, FileOutput)) for op in self.operators)

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(i.stage for i in self.inputs if not isinstance(i, SplitInput))


@dataclass(frozen=True)
class PhysicalPlan:
    """A query's stages in dependency order (turned into an engine ``StageGraph`` by
    :func:`rayemr.hive.tasks.stage_graph`)."""

    stages: tuple[HiveStage, ...]
    name: str = "hive"
