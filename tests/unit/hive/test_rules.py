"""The physical rules as an ordered pass list, and the shapes a plan is cut in (pure logic:
the range-sort rule gets a recording sampler instead of DuckDB)."""
from __future__ import annotations

from rayemr.hive import rules
from rayemr.hive.metastore.models import FieldSchema, StorageFormat, Table
from rayemr.hive.plan import FileSplit, QueryPlan, RangeSort, ScanSpec, TransformSpec
from rayemr.hive.planner import SHAPES, build_physical
from rayemr.hive.sql.compile import compile_query


def _table(name: str):
    return Table(database="default", name=name,
                 columns=(FieldSchema("a", "int"), FieldSchema("b", "string")),
                 location=f"memory://warehouse/{name}", storage=StorageFormat.of("parquet"))


def _compile(sql: str) -> QueryPlan:
    return compile_query(sql, lambda db, name: _table(name), "default")


def _splits(plan: QueryPlan, n: int, size: int = 1000) -> dict:
    return {s.id: tuple(FileSplit(f"memory://warehouse/{s.id}/{i}.parquet", size=size)
                        for i in range(n))
            for s in plan.scans}


class Sampler:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str, int]] = []

    def __call__(self, scan: ScanSpec, splits, key_sql: str, partitions: int):
        self.calls.append((scan.id, len(splits), key_sql, partitions))
        return ["'m'"], "VARCHAR"


def test_rules_run_in_order_each_seeing_the_last_ones_output():
    seen = []

    def first(plan, ctx):
        seen.append(("first", plan.columns))
        return QueryPlan(plan.scans, plan.final_sql, ("x",))

    def second(plan, ctx):
        seen.append(("second", plan.columns))
        return plan

    plan = _compile("SELECT a FROM t")
    out = rules.apply(plan, rules.RuleContext({}), (first, second))
    assert seen == [("first", ("a",)), ("second", ("x",))] and out.columns == ("x",)
    assert rules.RULES == (rules.map_side_aggregation, rules.range_sort)


def test_range_sort_is_chosen_with_reducers_and_splits_and_typed():
    plan = _compile("SELECT a, b FROM t ORDER BY b DESC LIMIT 5")
    sampler = Sampler()
    conf = {"mapreduce.job.reduces": "3"}
    out = rules.apply(plan, rules.RuleContext(_splits(plan, 4), conf, sample=sampler))
    assert isinstance(out.sort, RangeSort) and out.sort.limit == 5
    assert "{partition}" not in out.sort.map_sql and "__part" in out.sort.map_sql
    assert "CAST('m' AS VARCHAR)" in out.sort.map_sql
    assert "ORDER BY" in out.sort.reduce_sql
    assert sampler.calls == [(plan.scans[0].id, 4, sampler.calls[0][2], 3)]
    physical = build_physical(out, _splits(plan, 4), reducers=3)
    assert [s.description for s in physical.stages] == [
        "scan default.t, range partition on the sort key", "sort each range"]


def test_range_sort_is_not_chosen_where_it_cannot_help_or_is_wrong():
    plan = _compile("SELECT a, b FROM t ORDER BY b LIMIT 5")
    sampler = Sampler()
    many = {"mapreduce.job.reduces": "3"}
    for ctx in (rules.RuleContext(_splits(plan, 4), {"mapreduce.job.reduces": "1"},
                                  sample=sampler),            # one reducer
                rules.RuleContext(_splits(plan, 1), many, sample=sampler),  # one split
                rules.RuleContext(_splits(plan, 4), many, writing=True,     # a write + LIMIT
                                  sample=sampler),
                rules.RuleContext(_splits(plan, 4), many)):                 # nothing to sample
        assert rules.range_sort(plan, ctx).sort is None
    assert sampler.calls == []


def test_map_side_aggregation_follows_hive_map_aggr():
    plan = _compile("SELECT b, count(*) FROM t GROUP BY b")
    on = rules.apply(plan, rules.RuleContext(_splits(plan, 2)))
    off = rules.apply(plan, rules.RuleContext(_splits(plan, 2), {"hive.map.aggr": "false"}))
    assert on.agg is not None and on.agg.scan_id == plan.scans[0].id
    assert off.agg is None


def test_shapes_are_tried_most_specific_first():
    assert [s.name for s in SHAPES] == ["small job", "map-only", "range sort", "shuffle join",
                                        "map join"]
    plan = _compile("SELECT a FROM t WHERE a > 1")
    splits = _splits(plan, 2, size=10)
    small = build_physical(plan, splits, small_job_bytes=100)
    assert [s.description for s in small.stages] == ["small job: scan and finish in one task"]
    mapped = build_physical(plan, splits, map_only=True)
    assert [s.description for s in mapped.stages] == ["map-only over default.t"]
    staged = build_physical(plan, splits)
    assert [s.description for s in staged.stages] == ["scan default.t", "result"]


def test_a_transform_is_typed_and_ends_the_plan():
    plan = _compile("SELECT a, b FROM t")
    spec = TransformSpec("cat", (("a", "int"), ("b", "string")), True)
    physical = build_physical(QueryPlan(plan.scans, plan.final_sql, ("a", "b"),
                                        transform=spec), _splits(plan, 2),
                              small_job_bytes=10 ** 9)
    last = physical.stages[-1]
    assert last.description == "transform using 'cat'"
    assert type(last.operators[0]).__name__ == "Transform"
    assert last.operators[0].columns == spec.columns and last.operators[0].split_all


class Selectivity:
    def __init__(self, share: float | None) -> None:
        self.share, self.calls = share, []

    def __call__(self, scan: ScanSpec, splits):
        self.calls.append(scan.id)
        return self.share


def test_a_join_side_its_filter_leaves_small_is_sent_not_shuffled():
    # both tables are 40 MB on disk, over hive.mapjoin.smalltable.filesize (25 MB): a common
    # (shuffle) join, unless the filter on u is sampled to keep few of its rows (TPC-H Q12)
    plan = _compile("SELECT t.b, count(*) FROM t JOIN u ON t.a = u.a WHERE u.b = 'x' "
                    "GROUP BY t.b")
    splits = _splits(plan, 4, size=10_000_000)
    shuffled = rules.apply(plan, rules.RuleContext(splits))
    assert shuffled.agg.shuffle_join
    few = Selectivity(0.01)
    sent = rules.apply(plan, rules.RuleContext(splits, selectivity=few))
    assert not sent.agg.shuffle_join
    ids = {sc.table: sc.id for sc in plan.scans}
    assert sent.agg.scan_id == ids["default.t"]  # the unfiltered table is the one streamed
    assert few.calls == [ids["default.u"]]  # only a filtered table over the limit is sampled
    many = rules.apply(plan, rules.RuleContext(splits, selectivity=Selectivity(0.9)))
    assert many.agg.shuffle_join
    unknown = rules.apply(plan, rules.RuleContext(splits, selectivity=Selectivity(None)))
    assert unknown.agg.shuffle_join
    off = Selectivity(0.01)
    plain = rules.apply(plan, rules.RuleContext(
        splits, {"rayemr.hive.sample.selectivity": "false"}, selectivity=off))
    assert plain.agg.shuffle_join and off.calls == []
