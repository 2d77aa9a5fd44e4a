"""How many reducers a query gets and which tables its tasks read in place (pure)."""
from __future__ import annotations

import pytest

from rayemr.core.errors import UserError
from rayemr.hive import sizing
from rayemr.hive.metastore.models import StorageFormat
from rayemr.hive.plan import AggPlan, FileSplit, QueryPlan, ScanSpec


def scan(sid: str) -> ScanSpec:
    return ScanSpec(sid, f"default.{sid}", "/x", StorageFormat.of("parquet"), (("a", "int"),),
                    ("a",))


def splits(*sizes: int) -> tuple[FileSplit, ...]:
    return tuple(FileSplit(f"/x/{i}.parquet", size=n) for i, n in enumerate(sizes))


@pytest.mark.parametrize("input_bytes,conf,want", [
    (0, {}, 1),
    (255_999_999, {}, 1),
    (256_000_001, {}, 2),
    (10 * 256_000_000, {}, 10),
    (10 * 256_000_000, {"hive.exec.reducers.max": "4"}, 4),
    (1000, {"hive.exec.reducers.bytes.per.reducer": "100"}, 10),
    (10**12, {"mapreduce.job.reduces": "3"}, 3),
    (10**12, {"mapreduce.job.reduces": "-1", "hive.exec.reducers.max": "7"}, 7),
])
def test_reducers_follow_hives_estimate(input_bytes, conf, want):
    assert sizing.reducers(conf, input_bytes) == want


@pytest.mark.parametrize("conf,message", [
    ({"mapreduce.job.reduces": "two"}, "mapreduce.job.reduces must be an integer"),
    ({"hive.exec.reducers.bytes.per.reducer": "0"},
     "hive.exec.reducers.bytes.per.reducer must be at least 1, got 0"),
    ({"hive.exec.reducers.max": "many"}, "hive.exec.reducers.max must be an integer"),
])
def test_bad_settings_are_named(conf, message):
    with pytest.raises(UserError, match=message):
        sizing.reducers(conf, 10)


def test_shuffle_input_is_the_streamed_table_or_both_join_sides():
    big, small = scan("big"), scan("small")
    sp = {"big": splits(300, 200), "small": splits(7)}
    agg = AggPlan("big", "p", ("k",), "f", "t", broadcast=("small",))
    assert sizing.shuffle_input_bytes(QueryPlan((big, small), "q", ("k",), agg=agg), sp) == 500
    join = AggPlan("big", "p", ("k",), "f", "t", shuffle_join=(("big", "a"), ("small", "a")))
    assert sizing.shuffle_input_bytes(QueryPlan((big, small), "q", ("k",), agg=join), sp) == 507
    assert sizing.shuffle_input_bytes(QueryPlan((big, small), "q", ("k",)), sp) == 507


def test_inline_threshold_setting():
    assert sizing.inline_scan_bytes({}) == 16 * 1024 * 1024
    assert sizing.inline_scan_bytes({"rayemr.hive.scan.inline.maxbytes": "0"}) == 0
    with pytest.raises(UserError, match="rayemr.hive.scan.inline.maxbytes must be at least 0"):
        sizing.inline_scan_bytes({"rayemr.hive.scan.inline.maxbytes": "-5"})


def test_final_task_reads_the_smallest_tables_up_to_its_budget():
    from rayemr.hive.planner import build_physical

    mb = 1 << 20
    scans = tuple(scan(s) for s in ("a", "b", "c", "d"))
    sp = {"a": splits(100 * mb), "b": splits(10 * mb), "c": splits(50 * mb, 20 * mb),
          "d": splits(1 * mb)}
    plan = QueryPlan(scans, "SELECT 1", ("x",))

    def staged(**kw) -> list[str]:
        graph = build_physical(plan, sp, **kw)
        return [s.description for s in graph.stages]

    # d (1), b (10), c (70) fit in 128 MiB together; a (100) would not
    assert staged(inline_bytes=16 * mb, final_bytes=128 * mb) == ["scan default.a", "result"]
    assert staged(inline_bytes=16 * mb, final_bytes=0) == [
        "scan default.a", "scan default.c", "result"]
    assert staged(inline_bytes=0, final_bytes=128 * mb) == [
        "scan default.a", "scan default.b", "scan default.c", "scan default.d", "result"]
    assert staged(inline_bytes=16 * mb, final_bytes=1 << 40) == ["scan and result in one task"]


MIB = 1024 * 1024


@pytest.mark.parametrize("total,cpus,conf,want", [
    # a table that fits in the waves at the split size keeps it (TPC-H SF1 lineitem, 2 CPUs)
    (232 * MIB, 2, {}, 128 * MIB),
    # 2.5 GB on 2 CPUs: 1.7 waves -> 4 tasks of 640 MiB, not twenty of 128 MiB
    (2560 * MIB, 2, {}, 640 * MIB),
    # more CPUs, more tasks
    (2560 * MIB, 16, {}, 128 * MIB),
    (28 * 1024 * MIB, 16, {}, 1024 * MIB),  # capped at tez.grouping.max-size
    (28 * 1024 * MIB, 16, {"tez.grouping.max-size": str(256 * MIB)}, 256 * MIB),
    (2560 * MIB, 2, {"tez.grouping.split-waves": "4"}, 320 * MIB),
    (2560 * MIB, 2, {"tez.grouping.split-waves": "0"}, 128 * MIB),  # off
    (2560 * MIB, 0, {}, 128 * MIB),  # CPUs unknown
])
def test_split_grouping_follows_tez(total, cpus, conf, want):
    assert sizing.grouped_split_size(conf, total, 128 * MIB, cpus) == want


@pytest.mark.parametrize("conf,message", [
    ({"tez.grouping.split-waves": "many"}, "tez.grouping.split-waves must be a number"),
    ({"tez.grouping.split-waves": "-1"}, "tez.grouping.split-waves must be at least 0"),
    ({"tez.grouping.max-size": "0"}, "tez.grouping.max-size must be at least 1"),
])
def test_split_grouping_rejects_bad_settings(conf, message):
    with pytest.raises(UserError, match=message):
        sizing.grouped_split_size(conf, 10 * MIB, MIB, 2)


def test_parquet_inputs_up_to_their_budget_run_as_one_task():
    from rayemr.hive.planner import build_physical

    mb = 1 << 20
    scans = (scan("a"), scan("b"))
    sp = {"a": splits(*[40 * mb] * 6), "b": splits(30 * mb)}  # 270 MiB in 7 splits
    plan = QueryPlan(scans, "SELECT 1", ("x",))

    def staged(**kw) -> list[str]:
        return [s.description for s in build_physical(plan, sp, **kw).stages]

    one = ["small job: scan and finish in one task"]
    assert staged(small_job_bytes=16 * mb, small_parquet_bytes=512 * mb) == one
    # over the budget, or small jobs off, or a map-only write: staged as before
    assert staged(small_job_bytes=16 * mb, small_parquet_bytes=256 * mb) != one
    assert staged(small_job_bytes=0, small_parquet_bytes=512 * mb) != one
    assert staged(small_job_bytes=16 * mb, small_parquet_bytes=512 * mb, map_only=True) != one
    text = ScanSpec("b", "default.b", "/x", StorageFormat.of("textfile"), (("a", "int"),),
                    ("a",))
    mixed = QueryPlan((scans[0], text), "SELECT 1", ("x",))
    assert [s.description for s in build_physical(
        mixed, sp, small_job_bytes=16 * mb, small_parquet_bytes=512 * mb).stages] != one


def test_small_parquet_setting():
    assert sizing.small_parquet_bytes({}) == 512 * 1024 * 1024
    assert sizing.small_parquet_bytes({"rayemr.hive.smalljob.parquet.maxbytes": "0"}) == 0
    with pytest.raises(UserError, match="rayemr.hive.smalljob.parquet.maxbytes must be an"):
        sizing.small_parquet_bytes({"rayemr.hive.smalljob.parquet.maxbytes": "lots"})
