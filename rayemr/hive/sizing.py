"""How many tasks a query's stages get, from its inputs' sizes (pure, no storage).

- Reducers: with ``mapreduce.job.reduces`` unset (-1), Hive estimates them from the input of
  the job that shuffles: ``ceil(input bytes / hive.exec.reducers.bytes.per.reducer)``, at
  least 1 and at most ``hive.exec.reducers.max``. The input is the table whose rows reach
  the shuffle (the streamed side of a map join; both sides of a common join); the small
  tables of a map join are not part of it, as in Hive, where a local task loads them.
- Small tables: a table of at most ``rayemr.hive.scan.inline.maxbytes`` that is not the
  aggregated one is read by each task that joins it, rather than by a stage of its own whose
  output is then broadcast (Hive on MapReduce reads map-join tables in a local task too,
  not in a job of their own). The query's final task, which runs alone, reads the tables
  only it uses itself up to ``rayemr.hive.scan.inline.final.maxbytes`` in all (smallest
  first): it would receive all their rows anyway, and DuckDB then joins them straight off
  the files instead of from materialised copies. Its default, 512 MiB, is where one task
  (which gets all the CPUs' DuckDB threads, up to four) still reads a table faster than a
  scan stage whose rows are materialised, sent through the object store and put together
  again (TPC-H SF1 on two cores: Q8, Q9 and Q17 over a 232 MB lineitem ran 35-45% faster
  in one task); bigger tables are scanned by stages of their own.
- Split grouping (Tez's, on both engines): a table bigger than ``split.maxsize`` times the
  tasks one wave of the cluster runs is cut into bigger splits, so its scan gets about
  ``tez.grouping.split-waves`` (1.7) waves of tasks, each at most ``tez.grouping.max-size``
  (1 GiB). Every task of a map join builds its own hash table of the tables sent to it, so
  twenty 128 MiB tasks build it twenty times where four build it four times (TPC-H SF10 on two
  cores: Q3, Q5 and Q10 in 21 s instead of 43 s); fewer tasks also pay less fixed cost.
- Small jobs: a query whose inputs are at most ``rayemr.hive.smalljob.maxbytes`` in at most
  four splits runs as one task (Hive's automatic local mode), and so does one over Parquet
  inputs of at most ``rayemr.hive.smalljob.parquet.maxbytes`` in all (512 MiB by default, the
  same measured point: DuckDB pipelines Parquet into the query with all the task's threads,
  so at that size one task is faster than map, shuffle and reduce stages; TPC-H SF1 on two
  cores runs every query so).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from rayemr.core.errors import UserError
from rayemr.hive.plan import FileSplit, QueryPlan

#: Hive's defaults (since Hive 0.14)
BYTES_PER_REDUCER = 256_000_000
MAX_REDUCERS = 1009
INLINE_SCAN_BYTES = 16 * 1024 * 1024
INLINE_FINAL_BYTES = 512 * 1024 * 1024
#: a query over Parquet inputs of at most this many bytes in all runs as one task
SMALL_PARQUET_BYTES = 512 * 1024 * 1024
#: the tables of a many-way join sent to every task of the biggest one, at most (on disk);
#: Hive's hive.auto.convert.join.noconditionaltask.size, sized for a task's memory here
SENT_TABLES_BYTES = 1024 * 1024 * 1024
#: Tez's split grouping defaults (tez.grouping.split-waves, tez.grouping.max-size)
SPLIT_WAVES = 1.7
GROUPED_SPLIT_MAX_BYTES = 1024 * 1024 * 1024


def int_setting(conf: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    """``conf[key]`` as an int, or a one-line error naming the setting."""
    value = conf.get(key)
    if value is None or str(value).strip() == "":
        return default
    try:
        n = int(str(value).strip())
    except ValueError:
        raise UserError(f"{key} must be an integer, got {value!r}") from None
    if n < minimum:
        raise UserError(f"{key} must be at least {minimum}, got {n}")
    return n


def split_bytes(splits: Sequence[FileSplit] | None) -> int:
    return sum(sp.length or sp.size for sp in splits or ())


def shuffle_input_bytes(plan: QueryPlan, splits: Mapping[str, Sequence[FileSplit]]) -> int:
    """Bytes of the tables whose rows go through the query's shuffle."""
    agg = plan.agg
    if agg is not None and agg.shuffle_join:
        return sum(split_bytes(splits.get(sid)) for sid, _key in agg.shuffle_join)
    if agg is not None:
        return split_bytes(splits.get(agg.scan_id))
    return sum(split_bytes(splits.get(sc.id)) for sc in plan.scans)


def reducers(conf: Mapping[str, str], input_bytes: int) -> int:
    """``mapreduce.job.reduces`` when set (> 0), else Hive's estimate from ``input_bytes``."""
    try:
        n = int(conf.get("mapreduce.job.reduces", "-1"))
    except ValueError:
        raise UserError("mapreduce.job.reduces must be an integer") from None
    if n > 0:
        return n
    per = int_setting(conf, "hive.exec.reducers.bytes.per.reducer", BYTES_PER_REDUCER, 1)
    most = int_setting(conf, "hive.exec.reducers.max", MAX_REDUCERS, 1)
    return max(1, min(most, -(-input_bytes // per)))


def inline_scan_bytes(conf: Mapping[str, str]) -> int:
    return int_setting(conf, "rayemr.hive.scan.inline.maxbytes", INLINE_SCAN_BYTES)


def small_parquet_bytes(conf: Mapping[str, str]) -> int:
    return int_setting(conf, "rayemr.hive.smalljob.parquet.maxbytes", SMALL_PARQUET_BYTES)


def inline_final_bytes(conf: Mapping[str, str]) -> int:
    return int_setting(conf, "rayemr.hive.scan.inline.final.maxbytes", INLINE_FINAL_BYTES)


def grouped_split_size(conf: Mapping[str, str], total_bytes: int, split_size: int,
                       cpus: int) -> int:
    """Bytes per split of a scan of ``total_bytes`` on a cluster of ``cpus`` (Tez's split
    grouping): ``split_size`` unless that gives more than ``tez.grouping.split-waves`` waves
    of tasks, else the size that gives about that many (at most ``tez.grouping.max-size``);
    ``tez.grouping.split-waves=0`` turns grouping off (so does setting
    ``mapreduce.input.fileinputformat.split.maxsize``: see the session)."""
    raw = str(conf.get("tez.grouping.split-waves", "")).strip()
    try:
        waves = float(raw) if raw else SPLIT_WAVES
    except ValueError:
        raise UserError(f"tez.grouping.split-waves must be a number, got {raw!r}") from None
    if waves < 0:
        raise UserError(f"tez.grouping.split-waves must be at least 0, got {raw}")
    most = int_setting(conf, "tez.grouping.max-size", GROUPED_SPLIT_MAX_BYTES, 1)
    if waves == 0 or cpus <= 0:
        return split_size
    tasks = max(1, math.ceil(cpus * waves))
    return max(split_size, min(most, -(-total_bytes // tasks)))
