"""Task functions of Hive stages (top-level, so they pickle to Ray workers)."""
from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from rayemr.hive import exec as hexec
from rayemr.hive.plan import ScanSpec

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


def local_task(scans: tuple, splits: tuple, sql: str, ctx: Any, inputs: dict) -> pa.Table:
    """A small query in one task: read every (small) input and run the whole fragment."""
    out, scanned = hexec.run_over_scans(sql, {}, tuple(zip(scans, splits)), _threads(ctx))
    if scanned >= 0:
        ctx.increment_counter(COUNTER_GROUP, "RECORDS_IN", scanned)
    _count_inline(ctx, tuple(zip(scans, splits)))
    ctx.increment_counter(COUNTER_GROUP, "RECORDS_OUT", out.num_rows)
    return out


def sql_task(sql: str, names: tuple[str, ...], ctx: Any, inputs: dict, *,
             inline: tuple = ()) -> pa.Table:
    """Run a fragment over upstream outputs (and ``inline`` small tables read here)."""
    tables = {n: inputs[n] for n in names}
    if inline:
        out, _ = hexec.run_over_scans(sql, tables, inline, _threads(ctx))
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
    out = hexec.cast_to_schema(raw, columns, "TRANSFORM output")
    ctx.increment_counter(COUNTER_GROUP, "TRANSFORM_RECORDS_OUT", out.num_rows)
    return out


def write_task(write: Any, fn: Any, ctx: Any, inputs: dict) -> pa.Table:
    """Run the stage's own function, then write its rows through the job's committer
    (one part file per task and partition); returns the partitions and row counts."""
    from rayemr.hive.write import write_rows

    return write_rows(ctx, write, fn(ctx, inputs))
