"""Running Hive's physical operators: each stage of a
:class:`~rayemr.hive.plan.PhysicalPlan` becomes an engine stage whose task function is
:func:`run_operators` over the stage's operators (top-level, so it pickles to Ray workers).
"""
from __future__ import annotations

import os
from functools import partial
from typing import Any

import pyarrow as pa

from rayemr.engine.graph import Stage, StageGraph
from rayemr.hive import exec as hexec
from rayemr.hive.plan import (FileOutput, Fragment, Operator, PhysicalPlan, ScanSpec,
                              TableScan, Transform)
from rayemr.hive.write import write_rows

COUNTER_GROUP = "HIVE"


def _threads(ctx: Any) -> int:
    """DuckDB threads for this task: the planner's hint for its stage (a stage with fewer
    tasks than CPUs gets more threads per task), else ``rayemr.hive.task.threads``."""
    value = ctx.conf.get(f"rayemr.hive.threads.{ctx.stage_id}") or ctx.conf.get(
        "rayemr.hive.task.threads", "1")
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _memory(ctx: Any) -> int:
    """Bytes each of this task's DuckDB connections may hold before spilling to disk
    (``rayemr.hive.task.memory.mb``; 0 or unset: DuckDB's default, 80% of the node's
    memory); checked by the session before any task runs."""
    return max(0, int(ctx.conf.get("rayemr.hive.task.memory.mb") or 0)) * 1024 * 1024


def scan_task(spec: ScanSpec, ctx: Any, inputs: dict) -> pa.Table:
    split = inputs["split"]
    table = hexec.scan_split(spec, split, _threads(ctx))
    ctx.increment_counter(COUNTER_GROUP, "RECORDS_IN", table.num_rows)
    if split.url:
        ctx.increment_counter(COUNTER_GROUP, "FILES_READ", 1)
        ctx.increment_counter(COUNTER_GROUP, "BYTES_READ", split.length or split.size)
    return table


def _count_inline(ctx: Any, inline: tuple) -> None:
    files = sum(1 for _spec, sps in inline for sp in sps if sp.url)
    if files:
        ctx.increment_counter(COUNTER_GROUP, "FILES_READ", files)
        ctx.increment_counter(COUNTER_GROUP, "BYTES_READ", sum(
            sp.length or sp.size for _spec, sps in inline for sp in sps if sp.url))


def partial_task(spec: ScanSpec, sql: str, broadcast: tuple[str, ...], ctx: Any,
                 inputs: dict, *, inline: tuple = ()) -> pa.Table:
    """Scan a split and run a fragment over it (map-side aggregation, map joins).

    ``inline``: ``(ScanSpec, splits)`` of small tables this task reads itself (every split)
    instead of receiving them from a stage of their own."""
    split = inputs["split"]
    tables = {name: inputs[name] for name in broadcast}
    out, scanned = hexec.run_over_scans(sql, tables, ((spec, (split,)), *inline),
                                        _threads(ctx))
    _count_inline(ctx, inline)
    if scanned >= 0:
        ctx.increment_counter(COUNTER_GROUP, "RECORDS_IN", scanned)
    if split.url:
        ctx.increment_counter(COUNTER_GROUP, "FILES_READ", 1)
        ctx.increment_counter(COUNTER_GROUP, "BYTES_READ", split.length or split.size)
    return out


def sql_task(sql: str, names: tuple[str, ...], ctx: Any, inputs: dict, *,
             inline: tuple = ()) -> pa.Table:
    """Run a fragment over upstream outputs (and ``inline`` small tables read here; with no
    upstream outputs the task reads all of its input itself, as a small job does)."""
    tables = {n: inputs[n] for n in names}
    if inline:
        out, scanned = hexec.run_over_scans(sql, tables, inline, _threads(ctx))
        if not names and scanned >= 0:
            ctx.increment_counter(COUNTER_GROUP, "RECORDS_IN", scanned)
        _count_inline(ctx, inline)
    else:
        out = hexec.run_sql(sql, tables, _threads(ctx))
    ctx.increment_counter(COUNTER_GROUP, "RECORDS_OUT", out.num_rows)
    return out


#: The environment an operator's TRANSFORM command gets for a remote client.
_CLEAN_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


def transform_task(command: Any, columns: tuple[tuple[str, str], ...], split_all: bool,
                   ctx: Any, inputs: dict) -> pa.Table:
    """Pipe rows through ``command`` (Hive's TRANSFORM): tab-separated text both ways.

    ``command`` is a :class:`~rayemr.hive.policy.TransformCommand`: its ``argv`` runs as is,
    without a shell (for a remote client, the operator's resolved command); only a local
    session's command with shell syntax runs through ``/bin/sh``.
    """
    import subprocess

    from rayemr.core.errors import UserError

    table = inputs["rows"]
    body = hexec.text_lines(table, "\t", "\\N") if table.num_rows else b""
    args = command.text if command.shell else list(command.argv)
    env = None
    if command.clean_env:
        env = {k: v for k, v in os.environ.items() if k in _CLEAN_ENV}
    try:
        proc = subprocess.run(args, input=body, capture_output=True, shell=command.shell,
                              env=env,
                              timeout=float(ctx.conf.get("rayemr.hive.transform.timeout",
                                                         "3600")))
    except FileNotFoundError:
        raise UserError(f"TRANSFORM script not found: {command.text}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise UserError(f"TRANSFORM script {command.text!r} exited with {proc.returncode}"
                        + (f": {err[-1]}" if err else ""))
    lines = proc.stdout.decode(errors="replace").splitlines()
    n = len(columns)
    cols: list[list] = [[] for _ in range(n)]
    for line in lines:
        parts = line.split("\t") if split_all else line.split("\t", 1)
        for i in range(n):
            v = parts[i] if i < len(parts) else None
            cols[i].append(None if v == "\\N" else v)
    raw = pa.table({f"__c{i}": pa.array(c, pa.string()) for i, c in enumerate(cols)})
    out = hexec.cast_to_schema(raw, columns, "TRANSFORM output", lazy_text=True)
    ctx.increment_counter(COUNTER_GROUP, "TRANSFORM_RECORDS_OUT", out.num_rows)
    return out


def run_operators(ops: tuple[Operator, ...], ctx: Any, inputs: dict) -> pa.Table:
    """One task of a stage: its scans and fragment (a split scan alone, a fragment over a
    split, or a fragment over upstream outputs and tables read here), then TRANSFORM, then
    the File Output Operator. Reduce Output and Fetch are the engine's (the stage's
    ``output`` and ``collect``)."""
    with hexec.task_memory(_memory(ctx)):
        return _run_operators(ops, ctx, inputs)


def _run_operators(ops: tuple[Operator, ...], ctx: Any, inputs: dict) -> pa.Table:
    own = next((op.scan for op in ops if isinstance(op, TableScan) and not op.inline), None)
    inline = tuple((op.scan, op.splits) for op in ops if isinstance(op, TableScan) and op.inline)
    rows = None
    if own is not None and not any(isinstance(op, Fragment) for op in ops):
        rows = scan_task(own, ctx, inputs)
    for op in ops:
        if isinstance(op, Fragment):
            rows = partial_task(own, op.sql, op.inputs, ctx, inputs, inline=inline) \
                if own is not None else sql_task(op.sql, op.inputs, ctx, inputs, inline=inline)
        elif isinstance(op, Transform):
            rows = transform_task(op.command, op.columns, op.split_all, ctx, inputs)
        elif isinstance(op, FileOutput):
            rows = write_rows(ctx, op.write, rows)
    return rows


def stage_graph(physical: PhysicalPlan, conf: dict[str, str] | None = None, cpus: int = 0
                ) -> StageGraph:
    """The engine's graph of a physical plan: one stage per Hive stage, running
    :func:`run_operators` over its operators. ``cpus``: the cluster's CPUs; stages with fewer
    tasks than CPUs give each task more DuckDB threads (0: no hints)."""
    stages = tuple(Stage(s.id, partial(run_operators, s.operators), s.inputs, output=s.output,
                         collect=s.collect, kind=s.kind, description=s.description)
                   for s in physical.stages)
    graph = StageGraph(stages, name=physical.name)
    conf = dict(conf or {})
    if cpus > 0:
        for st in graph.stages:
            conf[f"rayemr.hive.threads.{st.id}"] = str(max(1, min(4, cpus // st.num_tasks)))
    return StageGraph(graph.stages, name=physical.name, conf=tuple(sorted(conf.items())))
