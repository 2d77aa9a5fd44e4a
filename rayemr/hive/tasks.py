"""Task functions of Hive stages (top-level, so they pickle to Ray workers)."""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from rayemr.hive import exec as hexec
from rayemr.hive.plan import ScanSpec

COUNTER_GROUP = "HIVE"


def _threads(ctx: Any) -> int:
    try:
        return int(ctx.conf.get("rayemr.hive.task.threads", "1"))
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


def partial_task(spec: ScanSpec, sql: str, broadcast: tuple[str, ...], ctx: Any,
                 inputs: dict) -> pa.Table:
    """Scan a split and run a fragment over it (map-side aggregation, map joins)."""
    table = scan_task(spec, ctx, inputs)
    tables = {spec.id: table}
    for name in broadcast:
        tables[name] = inputs[name]
    return hexec.run_sql(sql, tables, _threads(ctx))


def sql_task(sql: str, names: tuple[str, ...], ctx: Any, inputs: dict) -> pa.Table:
    tables = {n: inputs[n] for n in names}
    out = hexec.run_sql(sql, tables, _threads(ctx))
    ctx.increment_counter(COUNTER_GROUP, "RECORDS_OUT", out.num_rows)
    return out
