"""Hive's physical plan as values: stages of typed operators, EXPLAIN printed from them, and
the engine graph that runs them (the planner itself is pure)."""
from __future__ import annotations

import pytest

from rayemr.core.errors import UserError
from rayemr.engine.graph import BroadcastInput, ShuffleSpec, SplitInput
from rayemr.hive import tasks
from rayemr.hive.metastore.models import StorageFormat
from rayemr.hive.plan import (AggPlan, Fetch, FileSplit, Fragment, HiveStage,
                              PartialAggregate, PhysicalPlan, QueryPlan, ReduceOutput, ScanSpec,
                              TableScan, Transform)
from rayemr.hive.planner import build_physical, explain


def _scan(sid: str) -> ScanSpec:
    return ScanSpec(sid, f"default.{sid}", "/x", StorageFormat.of("parquet"), (("a", "int"),),
                    ("a",))


SPLITS = {"t": (FileSplit("/x/0.parquet", size=10), FileSplit("/x/1.parquet", size=10)),
          "u": (FileSplit("/y/0.parquet", size=5),)}


def _kinds(stage: HiveStage) -> list[str]:
    return [type(op).__name__ for op in stage.operators]


def test_aggregate_is_cut_into_typed_operators():
    agg = AggPlan("t", "SELECT a AS __g0 FROM t GROUP BY a", ("__g0",),
                  "SELECT __g0 FROM partials GROUP BY __g0", "SELECT __g0 AS a FROM reduced")
    plan = QueryPlan((_scan("t"),), "unused", ("a",), agg=agg)
    physical = build_physical(plan, SPLITS, reducers=3)
    assert [_kinds(s) for s in physical.stages] == [
        ["TableScan", "PartialAggregate", "ReduceOutput"], ["Fragment"], ["Fragment", "Fetch"]]
    first = physical.stages[0]
    assert first.output == ShuffleSpec(3, ("__g0",), "hash") and not first.collect
    assert physical.stages[-1].collect
    graph = tasks.stage_graph(physical, cpus=4)
    assert [s.num_tasks for s in graph.stages] == [2, 3, 1]
    assert [s.output for s in graph.stages] == [first.output, None, None]
    assert all(s.fn.func is tasks.run_operators for s in graph.stages)
    assert dict(graph.conf)["rayemr.hive.threads.Stage-3"] == "4"


def test_small_tables_become_inline_scans_and_explain_says_so():
    plan = QueryPlan((_scan("t"), _scan("u")), "SELECT * FROM t JOIN u USING (a)", ("a",))
    physical = build_physical(plan, SPLITS, inline_bytes=8)
    assert [_kinds(s) for s in physical.stages] == [["TableScan"],
                                                    ["TableScan", "Fragment", "Fetch"]]
    inline = physical.stages[1].operators[0]
    assert inline.inline and inline.scan.id == "u" and inline.splits == SPLITS["u"]
    text = explain(physical)
    assert "      TableScan (u), read in each task (small table)" in text
    assert "      input t: broadcast from Stage-1" in text


def test_explain_prints_each_operator_type():
    stages = (
        HiveStage("Stage-1", (TableScan(_scan("t")), PartialAggregate("SELECT 1", ()),
                              ReduceOutput(ShuffleSpec(1, (), "single"))),
                  (SplitInput("split", SPLITS["t"]),), description="partial"),
        HiveStage("Stage-2", (Transform("cat", (("a", "string"),), False), Fetch()),
                  (BroadcastInput("rows", "Stage-1"),), kind="reduce", description="script"),
    )
    text = explain(PhysicalPlan(stages))
    assert text[text.index("  Stage: Stage-1"):] == [
        "  Stage: Stage-1", "    Map Operator Tree: partial",
        "      TableScan (t)", "        table: default.t", "        format: parquet",
        "        columns: a", "        splits: 2", "      Partial: SELECT 1",
        "      Output: single partition into 1",
        "  Stage: Stage-2", "    Reduce Operator Tree: script", "      Transform: cat",
        "      input rows: broadcast from Stage-1", "      Output: fetched by the client"]


@pytest.mark.parametrize("ops,inputs,message", [
    ((TableScan(_scan("t")), Fetch()), (), "1 split scans for 0 split inputs"),
    ((Fragment("SELECT 1"), Fetch(), ReduceOutput(ShuffleSpec(1, (), "single"))), (),
     "more than one output operator"),
])
def test_stages_are_checked_when_built(ops, inputs, message):
    with pytest.raises(UserError, match=message):
        HiveStage("Stage-1", ops, inputs)
