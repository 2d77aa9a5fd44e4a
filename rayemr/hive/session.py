"""HiveSession: one Hive session (current database, SET properties, hivevars).

``prepare`` substitutes variables once (:mod:`rayemr.hive.variables`), requires exactly one
statement and parses it (DDL and session commands with rayemr's own parser, queries with
sqlglot); ``run`` dispatches the parsed statement on its type (``statement_handlers``, a table of
functions) to a handler in :mod:`rayemr.hive.ddl` or :mod:`rayemr.hive.dml`, or runs the query here: compile ->
splits (partition pruning) -> StageGraph -> engine -> Arrow result. ``execute`` is both.

A session opened for a remote client carries a :class:`~rayemr.hive.policy.SessionPolicy`;
every decision it implies is made on the parsed statement that runs (settings in ``SET``,
locations at each storage use, the TRANSFORM command of the compiled plan), never on a
second reading of the text.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from rayemr.core.errors import (AccessDeniedError, ConfigError, RayEmrError, UnsupportedError,
                                UserError)
from rayemr.core.secrets import HIDDEN, HiddenKeys
from rayemr.hive import storage, variables
from rayemr.hive.api import Column, ProgressCallback, StatementResult
from rayemr.hive.errors import TableNotFoundError
from rayemr.hive.metastore import MetastoreStore, open_metastore
from rayemr.hive.metastore.temporary import SessionTables
from rayemr.hive.plan import FileSplit, QueryPlan, ScanSpec
from rayemr.hive.policy import SessionPolicy, TransformCommand
from rayemr.hive.progress import HiveProgress
from rayemr.hive.sql import statements as st
from rayemr.hive.sql.compile import compile_query
from rayemr.hive.sql.lexer import split_statements
from rayemr.hive.sql.parser import parse_statement
from rayemr.hive.types import hive_type_of_arrow

log = logging.getLogger(__name__)

#: Session defaults (Hive's names); SET changes them, RESET restores them.
DEFAULT_CONF: dict[str, str] = {
    "hive.exec.dynamic.partition": "true",
    "hive.exec.dynamic.partition.mode": "strict",
    "hive.auto.convert.join": "true",
    "hive.mapjoin.smalltable.filesize": "25000000",
    # the tables of a many-way join sent to every task of the biggest, at most (bytes)
    "hive.auto.convert.join.noconditionaltask.size": str(1024 * 1024 * 1024),
    "mapreduce.job.reduces": "-1",
    "mapreduce.job.queuename": "default",
    # mr: every stage is a YARN application of its own (Hive on MapReduce);
    # tez: the query's stages are the vertices of one application (Hive on Tez)
    "hive.execution.engine": "mr",
    "hive.default.fileformat": "TextFile",
    "hive.cli.print.header": "false",
    "hive.map.aggr": "true",
    "hive.resultset.use.unique.column.names": "true",
    # inputs up to this many bytes (at most 4 splits) run as one task, like Hive's
    # hive.exec.mode.local.auto for small jobs; 0 turns it off
    "rayemr.hive.smalljob.maxbytes": str(16 * 1024 * 1024),
    # so do Parquet inputs up to this many bytes in all, in any number of splits
    "rayemr.hive.smalljob.parquet.maxbytes": str(512 * 1024 * 1024),
}

#: hive.execution.engine -> how the engine maps stages to YARN applications
EXECUTION_ENGINES = {"mr": "stage", "tez": "job"}

#: Statements whose result is rows (HiveServer2 says so before they run).
_ROWS = (st.Query, st.ShowDatabases, st.ShowTables, st.ShowPartitions, st.ShowCreateTable,
         st.ShowColumns, st.ShowTblProperties, st.ShowFunctions, st.Describe,
         st.DescribeDatabase, st.Explain)


@dataclass(frozen=True)
class Prepared:
    """One statement after substitution and parsing: what :meth:`HiveSession.run` runs."""

    text: str
    statement: object

    @property
    def has_result_set(self) -> bool:
        if isinstance(self.statement, st.SetProperty):
            return self.statement.value is None
        return isinstance(self.statement, _ROWS)


class HiveSession:
    """A Hive session over a metastore; ``execute`` runs one statement.

    ``runner``: ``"ray"`` (stages run as applications on the Ray cluster, through YARN
    when available) or ``"inline"`` (in this process; tests and quick local work). Defaults
    to ``$RAYEMR_HIVE_RUNNER`` or ``"ray"``.
    """

    def __init__(self, metastore: MetastoreStore | None = None, *, database: str = "default",
                 hiveconf: dict[str, str] | None = None, hivevars: dict[str, str] | None = None,
                 runner: str | None = None, metastore_path: str | None = None,
                 warehouse: str | None = None, policy: SessionPolicy | None = None,
                 hidden: HiddenKeys | None = None) -> None:
        #: limits of a remote client's session (None: a local, trusted session)
        self.policy = policy
        self.hidden = hidden or (policy.settings.hidden if policy is not None else HIDDEN)
        base = metastore or open_metastore(metastore_path, warehouse)
        #: the shared metastore seen through this session's TEMPORARY tables
        self.metastore = base if isinstance(base, SessionTables) else SessionTables(base)
        self.hiveconf: dict[str, str] = dict(DEFAULT_CONF) | dict(hiveconf or {})
        self.hivevars: dict[str, str] = dict(hivevars or {})
        self.runner = runner or os.environ.get("RAYEMR_HIVE_RUNNER") or "ray"
        if self.runner not in ("ray", "inline"):
            raise UserError(f"unknown Hive runner {self.runner!r}; use 'ray' or 'inline'")
        self.metastore.get_database(database)
        self.database = database.lower()
        self.closed = False
        self._lock = threading.RLock()
        self.last_counters: dict[str, dict[str, int]] = {}
        #: files the last query scanned (after partition pruning), for tests and EXPLAIN-ish checks
        self.last_inputs: list[str] = []

    def __repr__(self) -> str:
        return f"HiveSession(database={self.database!r}, runner={self.runner!r})"

    # -- statements ----------------------------------------------------------------------------
    def substitute(self, sql: str) -> str:
        """Hive's variable substitution (``${hivevar:x}``, ``${hiveconf:x}``, ``${x}``, and
        for local sessions ``${env:X}``/``${system:x}``); hidden settings never expand."""
        local = self.policy is None
        return variables.substitute(
            sql, self.hivevars, self.hiveconf, hidden=self.hidden,
            environ=os.environ if local else None,
            system=variables.system_properties() if local else None)

    def prepare(self, sql: str) -> Prepared:
        """Substitute once, require exactly one statement, parse it."""
        if self.closed:
            raise UserError("the session is closed")
        pieces = split_statements(self.substitute(sql or ""))
        if not pieces:
            raise UserError("empty statement: send one HiveQL statement")
        if len(pieces) > 1:
            raise UserError(f"{len(pieces)} statements in one request: a Hive session runs "
                            "one statement at a time; send them one by one")
        return Prepared(pieces[0], parse_statement(pieces[0]))

    def run(self, prepared: Prepared, *, cancel: threading.Event | None = None,
            progress: ProgressCallback | None = None) -> StatementResult:
        """Run a prepared statement; in a remote session, every storage use is confined."""
        if self.closed:
            raise UserError("the session is closed")
        roots = self.policy.roots if self.policy is not None else None
        with self._lock, storage.confined(roots):
            return self.run_statement(prepared.statement, prepared.text, cancel=cancel,
                                      progress=progress)

    def execute(self, sql: str | Prepared, *, cancel: threading.Event | None = None,
                progress: ProgressCallback | None = None) -> StatementResult:
        prepared = sql if isinstance(sql, Prepared) else self.prepare(sql)
        return self.run(prepared, cancel=cancel, progress=progress)

    def execute_script(self, script: str, **kwargs) -> list[StatementResult]:
        return [self.execute(s, **kwargs) for s in split_statements(script)]

    def run_statement(self, stmt: object, text: str, *, cancel=None, progress=None
                      ) -> StatementResult:
        handler = statement_handlers().get(type(stmt))
        if handler is None:
            raise UnsupportedError(f"statement not supported: {type(stmt).__name__}")
        return handler(self, stmt, text=text, cancel=cancel, progress=progress)

    def close(self) -> None:
        """End the session: its temporary tables and their data go."""
        if self.closed:
            return
        self.closed = True
        with self._lock:
            temporary = self.metastore.forget_temporary()
            try:
                for table in temporary:
                    if table.table_type == "MANAGED_TABLE" and table.location:
                        storage.delete(table.location)
                storage.delete(self.metastore.scratch)
            except Exception:  # noqa: BLE001 - closing must not fail on leftovers
                log.warning("could not remove the scratch folder %s", self.metastore.scratch,
                            exc_info=True)

    # -- helpers used by handlers ----------------------------------------------------------------
    def qualify(self, name: st.TableName) -> tuple[str, str]:
        return (name.db or self.database).lower(), name.name.lower()

    def table(self, name: st.TableName):
        """The table ``name`` names; a missing one is reported as the statement wrote it."""
        try:
            return self.metastore.get_table(*self.qualify(name))
        except TableNotFoundError:
            raise TableNotFoundError(str(name)) from None

    def num_reducers(self, input_bytes: int = 0) -> int:
        """``mapreduce.job.reduces``, else Hive's estimate from the shuffled input's bytes."""
        from rayemr.hive import sizing

        return sizing.reducers(self.hiveconf, input_bytes)

    def small_job_bytes(self) -> int:
        try:
            return int(self.hiveconf.get("rayemr.hive.smalljob.maxbytes", "0"))
        except ValueError:
            raise UserError("rayemr.hive.smalljob.maxbytes must be a number of bytes") \
                from None

    def split_size(self) -> int:
        """Bytes per scan split (Hadoop's ``mapreduce.input.fileinputformat.split.maxsize``):
        bigger text files are cut into byte ranges, bigger Parquet files into row groups."""
        from rayemr.hive.storage import DEFAULT_SPLIT_SIZE

        value = self.hiveconf.get("mapreduce.input.fileinputformat.split.maxsize")
        try:
            size = int(value) if value else DEFAULT_SPLIT_SIZE
        except ValueError:
            raise UserError("mapreduce.input.fileinputformat.split.maxsize must be a number "
                            "of bytes") from None
        if size <= 0:
            raise UserError("mapreduce.input.fileinputformat.split.maxsize must be positive")
        return size

    def cluster_cpus(self, start: bool = True) -> int:
        """CPUs the stages can use: this machine's inline, the Ray cluster's otherwise.
        ``start=False`` (planning, EXPLAIN): when Ray is not connected yet, this machine's
        CPUs, which is what a local instance gets, rather than starting Ray to ask."""
        if self.runner == "inline":
            return min(4, os.cpu_count() or 1)
        import ray

        import rayemr

        if not start and not ray.is_initialized():
            return os.cpu_count() or 1
        rayemr.init()
        return int(ray.cluster_resources().get("CPU", 1))

    def transform_command(self, text: str) -> TransformCommand:
        """What ``TRANSFORM ... USING 'text'`` runs: for a remote client, only a command the
        operator allowed; for a local session, the text as its user wrote it."""
        if self.policy is not None:
            return self.policy.commands.resolve(text)
        return TransformCommand.local(text)

    def execution_engine(self) -> str:
        engine = (self.hiveconf.get("hive.execution.engine") or "mr").strip().lower()
        if engine not in EXECUTION_ENGINES:
            raise ConfigError(f"hive.execution.engine={engine!r} is not supported",
                              hint="use mr (one YARN application per stage) or tez (one "
                                   "application per query)")
        return engine

    def queue(self) -> str:
        """The YARN queue: ``tez.queue.name`` on Tez (else ``mapreduce.job.queuename``),
        ``mapreduce.job.queuename`` on MapReduce."""
        if self.execution_engine() == "tez" and self.hiveconf.get("tez.queue.name"):
            return self.hiveconf["tez.queue.name"]
        return self.hiveconf.get("mapreduce.job.queuename") or "default"

    # -- queries -------------------------------------------------------------------------------
    def compile(self, text: str) -> QueryPlan:
        from dataclasses import replace

        from rayemr.hive.sql.transform import plan_transform_or_none

        plan = plan_transform_or_none(text, self.metastore.get_table, self.database,
                                      conf=self.hiveconf)
        if plan is not None:
            command = self.transform_command(plan.transform.command)
            return replace(plan, transform=replace(plan.transform, command=command))
        from rayemr.hive import exec as hexec

        return compile_query(text, self.metastore.get_table, self.database,
                             functions=hexec.function_names(), conf=self.hiveconf)

    def physical(self, plan: QueryPlan, splits: dict[str, list[FileSplit]],
                 writing: bool = False) -> QueryPlan:
        """The plan after the physical rules (:mod:`rayemr.hive.rules`): map-side
        aggregation and map joins from the scans' sizes, range-partitioned sorts."""
        from rayemr.hive import exec as hexec, rules

        return rules.apply(plan, rules.RuleContext(splits, self.hiveconf, writing,
                                                   sample=hexec.sample_boundaries,
                                                   selectivity=hexec.sample_selectivity))

    def splits_for(self, scan: ScanSpec, log_lines: list[str] | None = None
                   ) -> list[FileSplit]:
        """The scan's splits: its table's files (or its selected partitions' files), cut at
        the split size grouped for this cluster (:func:`rayemr.hive.sizing.grouped_split_size`)."""
        from rayemr.hive import exec as hexec, sizing

        if not scan.partition_keys:  # the scan knows the table's files (read at compile)
            listed = [(storage.list_files(scan.location), ())]
            kind = scan.storage.kind
        else:
            table = self.metastore.get_table(*scan.table.split(".", 1))
            kind = table.storage.kind
            parts = self.metastore.list_partitions(table.database, table.name)
            chosen = list(range(len(parts)))
            if scan.partition_filter:
                chosen = hexec.select_partitions(scan.partition_filter, scan.partition_keys,
                                                 [p.values for p in parts])
            if log_lines is not None:
                log_lines.append(f"{scan.table}: {len(chosen)} of {len(parts)} partitions "
                                 "selected")
            listed = [(storage.list_files(parts[i].location), parts[i].values) for i in chosen]
        size = self.split_size()
        if not self.hiveconf.get("mapreduce.input.fileinputformat.split.maxsize"):
            # a split size the user set is kept as is (that is how Hive users on MapReduce
            # choose their number of mappers); otherwise splits are grouped
            total = sum(f.size for files, _values in listed for f in files)
            size = sizing.grouped_split_size(self.hiveconf, total, size,
                                             self.cluster_cpus(start=False))
        out: list[FileSplit] = []
        for files, values in listed:
            out.extend(storage.files_splits(files, kind, values, split_size=size))
        return out

    def plan_query(self, text: str, log_lines: list[str] | None = None, writing: bool = False):
        """Compile, list splits (partition pruning), choose the physical shape, cut it into
        stages of operators: the :class:`~rayemr.hive.plan.PhysicalPlan`."""
        from rayemr.hive import sizing
        from rayemr.hive.planner import build_physical

        plan = self.compile(text)
        splits = {s.id: self.splits_for(s, log_lines) for s in plan.scans}
        self.last_inputs = sorted({sp.url for ss in splits.values() for sp in ss})
        plan = self.physical(plan, splits, writing)
        map_only = False
        if writing:
            from rayemr.hive.sql.aggregate import row_wise

            map_only = row_wise(plan)
        reducers = self.num_reducers(sizing.shuffle_input_bytes(plan, splits))
        physical = build_physical(plan, splits, name=_app_name(text), reducers=reducers,
                                  small_job_bytes=self.small_job_bytes(), map_only=map_only,
                                  inline_bytes=sizing.inline_scan_bytes(self.hiveconf),
                                  final_bytes=sizing.inline_final_bytes(self.hiveconf),
                                  small_parquet_bytes=sizing.small_parquet_bytes(self.hiveconf))
        return plan, physical

    def stage_graph(self, physical):
        """The engine graph that runs ``physical``, with DuckDB thread hints for the
        cluster's CPUs."""
        from rayemr.hive.tasks import stage_graph

        return stage_graph(physical, cpus=self.cluster_cpus())

    def run_write(self, text: str, write, committer, *, cancel=None, progress=None,
                  log_lines=None) -> pa.Table:
        """Run a query whose last stage writes its rows through ``committer`` (see
        :mod:`rayemr.hive.write`); returns the written partitions and row counts."""
        from rayemr.hive import exec as hexec
        from rayemr.hive.planner import with_write

        log_lines = log_lines if log_lines is not None else []
        t0 = time.perf_counter()
        _plan, physical = self.plan_query(text, log_lines, writing=True)
        graph = self.stage_graph(with_write(physical, write))
        result = self.run_graph(graph, cancel=cancel, progress=progress, log_lines=log_lines,
                                committer=committer)
        out = hexec.concat(result.outputs[graph.stages[-1].id])
        log_lines.append(f"Time taken: {time.perf_counter() - t0:.3f} seconds")
        return out

    def run_query(self, text: str, *, cancel=None, progress=None, log_lines=None
                  ) -> tuple[pa.Table, tuple[Column, ...]]:
        from rayemr.hive import exec as hexec

        log_lines = log_lines if log_lines is not None else []
        t0 = time.perf_counter()
        plan, physical = self.plan_query(text, log_lines)
        graph = self.stage_graph(physical)
        result = self.run_graph(graph, cancel=cancel, progress=progress, log_lines=log_lines)
        table = hexec.concat(result.outputs[graph.stages[-1].id])
        if plan.sort is not None and plan.sort.limit is not None:
            table = table.slice(0, plan.sort.limit)  # each range kept its first n rows
        if table.num_columns == len(plan.columns):
            table = table.rename_columns(list(self.result_names(plan)))
        told = plan.result_types if len(plan.result_types) == table.num_columns else ()
        cols = tuple(Column(f.name, (told[i] if told and told[i] else None)
                            or hive_type_of_arrow(f.type)) for i, f in enumerate(table.schema))
        log_lines.append(f"Time taken: {time.perf_counter() - t0:.3f} seconds, Fetched: "
                         f"{table.num_rows} row(s)")
        return table, cols

    def result_names(self, plan: QueryPlan) -> tuple[str, ...]:
        """Hive's ``hive.resultset.use.unique.column.names`` (true by default): ``t.col`` for
        columns of ``SELECT *`` and ``t.col``, else the plain names."""
        unique = self.hiveconf.get("hive.resultset.use.unique.column.names", "true")
        if (unique.strip().lower() == "true" and not plan.transform
                and len(plan.result_names) == len(plan.columns)):
            return plan.result_names
        return plan.columns

    def run_graph(self, graph, *, cancel=None, progress=None, log_lines=None, committer=None):
        from rayemr.engine import run_graph

        from rayemr.hive import sizing

        sizing.int_setting(self.hiveconf, "rayemr.hive.task.memory.mb", 0)  # checked here
        conf = {k: v for k, v in self.hiveconf.items()}
        conf.setdefault("rayemr.engine.yarn.applications",
                        EXECUTION_ENGINES[self.execution_engine()])

        hive = HiveProgress.of(graph)  # Hive's own log lines: Stage-1 map = 0%,  reduce = 0%

        def emit(fraction: float, lines: list[str]) -> None:
            for line in lines:
                if log_lines is not None:
                    log_lines.append(line)
                if progress is not None:
                    try:
                        progress(fraction, line)
                    except Exception:  # noqa: BLE001 - a front end's callback must not kill it
                        log.debug("progress callback failed", exc_info=True)

        def on_progress(p) -> None:
            emit((p.map + p.reduce) / 2, hive.lines(p))

        emit(0.0, hive.header())

        cancelled = (lambda: cancel.is_set()) if cancel is not None else None
        kwargs = {}
        yarn = self.hiveconf.get("rayemr.hive.yarn", "").lower()
        if self.runner == "ray" and yarn in ("true", "false"):
            kwargs["yarn"] = yarn == "true"
        try:
            result = run_graph(graph, runner=self.runner, conf=conf, queue=self.queue(),
                               app_name=graph.name, progress=on_progress, cancel=cancelled,
                               committer=committer, max_attempts=_attempts(self.hiveconf),
                               **kwargs)
        except RayEmrError:
            raise
        self.last_counters = result.counters
        if log_lines is not None:
            for group, counters in sorted(result.counters.items()):
                for name, value in sorted(counters.items()):
                    log_lines.append(f"  {group}.{name}={value}")
        return result

    # -- session statements ----------------------------------------------------------------------
    def _query(self, stmt: st.Query, *, text: str, cancel=None, progress=None) -> StatementResult:
        logs: list[str] = []
        table, cols = self.run_query(stmt.text, cancel=cancel, progress=progress, log_lines=logs)
        return StatementResult(columns=cols, table=table, has_result_set=True, log=logs)

    def _use(self, stmt: st.Use, **_) -> StatementResult:
        self.metastore.get_database(stmt.name)
        self.database = stmt.name.lower()
        return StatementResult()

    def _set(self, stmt: st.SetProperty, **_) -> StatementResult:
        """Hive's SetProcessor: ``SET`` lists (hidden settings left out), ``SET k`` shows
        one (a hidden one as hidden), ``SET k=v`` changes one -- for a remote client only
        what its policy allows."""
        if stmt.key is None:
            rows = [f"{k}={v}" for k, v in sorted(self.hiveconf.items()) if not self.hidden(k)]
            rows += [f"hivevar:{k}={v}" for k, v in sorted(self.hivevars.items())]
            return _lines_result("set", rows)
        key = stmt.key
        prefix, sep, name = key.partition(":")
        ns = prefix.lower() if sep else ""
        if ns in ("env", "system"):
            if stmt.value is not None:
                raise AccessDeniedError(f"cannot set {key}: {ns}:* variables can not be set")
            if self.policy is not None:
                raise AccessDeniedError(f"{key}: {ns} variables are not available to "
                                        "HiveServer2 clients")
            value = os.environ.get(name) if ns == "env" else \
                variables.system_properties().get(name)
            return _lines_result("set", [f"{key}={value}" if value is not None else
                                         f"{key} is undefined"])
        if stmt.value is None:
            return _lines_result("set", [self._show_setting(ns, name if ns else key)])
        if ns == "hivevar":
            if self.policy is not None:
                self.policy.settings.check_hivevar(name)
            self.hivevars[name] = stmt.value
            return StatementResult()
        if ns == "hiveconf":
            key = name
        if self.policy is not None:
            self.policy.check_setting(key)
        if key == "rayemr.hive.runner":
            if stmt.value not in ("ray", "inline"):
                raise UserError(f"rayemr.hive.runner must be 'ray' or 'inline', "
                                f"got {stmt.value!r}")
            self.runner = stmt.value
        self.hiveconf[key] = stmt.value
        return StatementResult()

    def _show_setting(self, ns: str, key: str) -> str:
        shown = f"{ns}:{key}" if ns else key
        if ns != "hivevar" and self.hidden(key):
            return f"{shown} is a hidden config"
        if ns != "hivevar" and key in self.hiveconf:
            return f"{shown}={self.hiveconf[key]}"
        if ns != "hiveconf" and key in self.hivevars:
            return f"{shown}={self.hivevars[key]}"
        return f"{shown} is undefined"

    def _reset(self, stmt: st.Reset, **_) -> StatementResult:
        if not stmt.keys:
            self.hiveconf = dict(DEFAULT_CONF)
        for k in stmt.keys:
            if k in DEFAULT_CONF:
                self.hiveconf[k] = DEFAULT_CONF[k]
            else:
                self.hiveconf.pop(k, None)
        return StatementResult()

    def _explain(self, stmt: st.Explain, **_) -> StatementResult:
        from rayemr.hive.planner import explain, with_write

        inner = stmt.statement
        if isinstance(inner, (st.Insert, st.CreateTable, st.InsertDirectory)):
            query = inner.query if not isinstance(inner, st.CreateTable) else inner.as_select
            if not query:
                raise UnsupportedError("EXPLAIN supports queries, INSERT and CREATE TABLE AS")
        elif isinstance(inner, st.Query):
            query = inner.text
        else:
            raise UnsupportedError(f"EXPLAIN of {type(inner).__name__} is not supported")
        writing = not isinstance(inner, st.Query)
        _plan, physical = self.plan_query(query, writing=writing)
        if isinstance(inner, st.Insert):
            from rayemr.hive.dml import _insert_plan

            _, write = _insert_plan(self, self.table(inner.table), inner.partition,
                                    inner.columns)
            physical = with_write(physical, write)
        return _lines_result("Explain", explain(physical))

    def _noop(self, stmt, **_) -> StatementResult:
        return StatementResult()


def _attempts(conf: dict[str, str]) -> int:
    try:
        return max(1, int(conf.get("mapreduce.map.maxattempts", "4")))
    except ValueError:
        return 4


def _app_name(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 60 else one[:57] + "..."


def _lines_result(column: str, lines: list[str]) -> StatementResult:
    table = pa.table({column: pa.array(lines, pa.string())})
    return StatementResult(columns=(Column(column, "string"),), table=table,
                           has_result_set=True)


#: A statement's handler: ``handler(session, statement, text=, cancel=, progress=)``.
StatementHandler = Callable[..., StatementResult]


@functools.cache
def statement_handlers() -> dict[type, StatementHandler]:
    """Each statement type's handler. DDL and DML are imported on first use (DML brings the
    executor and DuckDB; a client that only connects does not pay for them)."""
    from rayemr.hive import ddl, dml

    return {
        st.Query: HiveSession._query,
        st.Use: HiveSession._use,
        st.SetProperty: HiveSession._set,
        st.Reset: HiveSession._reset,
        st.Explain: HiveSession._explain,
        st.Noop: HiveSession._noop,
        st.CreateDatabase: ddl.create_database,
        st.DropDatabase: ddl.drop_database,
        st.ShowDatabases: ddl.show_databases,
        st.DescribeDatabase: ddl.describe_database,
        st.CreateTable: ddl.create_table,
        st.DropTable: ddl.drop_table,
        st.CreateView: ddl.create_view,
        st.AlterTable: ddl.alter_table,
        st.MsckRepair: ddl.msck_repair,
        st.ShowTables: ddl.show_tables,
        st.ShowPartitions: ddl.show_partitions,
        st.ShowCreateTable: ddl.show_create_table,
        st.ShowColumns: ddl.show_columns,
        st.ShowTblProperties: ddl.show_tblproperties,
        st.ShowFunctions: ddl.show_functions,
        st.Describe: ddl.describe,
        st.TruncateTable: dml.truncate_table,
        st.LoadData: dml.load_data,
        st.Insert: dml.insert,
        st.MultiInsert: dml.multi_insert,
        st.InsertDirectory: dml.insert_directory,
    }
