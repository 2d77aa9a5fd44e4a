"""StageGraph validation and the inline reference executor."""
from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from rayemr.core.errors import UserError
from rayemr.engine.graph import (BroadcastInput, ShuffleInput, ShuffleSpec, SplitInput, Stage,
                                 StageGraph)
from rayemr.engine.inline import run_graph_inline
from rayemr.engine.shuffle import split_table


def _words(ctx, inputs):
    words = inputs["lines"].split()
    ctx.increment_counter("job", "words", len(words))
    return pa.table({"word": words, "n": [1] * len(words)})


def _count(ctx, inputs):
    t = inputs["words"]
    agg = t.group_by("word").aggregate([("n", "sum")]).rename_columns(["word", "n"])
    return agg.sort_by("word")


def test_wordcount_graph_inline():
    graph = StageGraph((
        Stage("Stage-1", _words, (SplitInput("lines", ("a b a", "b c", "a")),),
              output=ShuffleSpec(3, ("word",))),
        Stage("Stage-2", _count, (ShuffleInput("words", "Stage-1"),), kind="reduce",
              collect=True),
    ))
    assert graph.stage("Stage-2").num_tasks == 3
    res = run_graph_inline(graph)
    rows = sorted(r for t in res.outputs["Stage-2"] for r in zip(*t.to_pydict().values()))
    assert rows == [("a", 3), ("b", 2), ("c", 1)]
    assert res.counters["job"] == {"words": 6}
    assert res.counters["Job Counters"] == {"Launched map tasks": 3, "Launched reduce tasks": 3}


def test_broadcast_input_reaches_every_task():
    small = Stage("Stage-1", lambda c, i: pa.table({"k": [1, 2]}), num_tasks=1)
    big = Stage("Stage-2", lambda c, i: pa.table({"n": [i["small"].num_rows]}),
                (SplitInput("s", (0, 1, 2)), BroadcastInput("small", "Stage-1")), collect=True)
    res = run_graph_inline(StageGraph((small, big)))
    assert [t["n"][0].as_py() for t in res.outputs["Stage-2"]] == [2, 2, 2]


def test_graph_rejects_bad_plans():
    with pytest.raises(UserError, match="not an earlier stage"):
        StageGraph((Stage("A", _count, (ShuffleInput("w", "B"),)),))
    with pytest.raises(UserError, match="boundaries"):
        ShuffleSpec(3, ("k",), kind="range", boundaries=((1,),))
    with pytest.raises(UserError, match="repeats"):
        StageGraph((Stage("A", _count), Stage("A", _count)))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=5), max_size=60), st.integers(1, 7))
def test_every_row_lands_in_exactly_one_partition(keys, n):
    table = pa.table({"k": pa.array(keys, pa.string()), "i": list(range(len(keys)))})
    parts = split_table(table, ShuffleSpec(n, ("k",)))
    assert len(parts) == n
    seen = sorted(i for p in parts for i in p["i"].to_pylist())
    assert seen == list(range(len(keys)))
    owner = {}
    for p_idx, p in enumerate(parts):
        for k in p["k"].to_pylist():
            assert owner.setdefault(k, p_idx) == p_idx  # one key, one partition


def test_range_partitioning_gives_total_order():
    table = pa.table({"k": [5, 1, 9, 3, 7, 2, 8]})
    parts = split_table(table, ShuffleSpec(3, ("k",), kind="range", boundaries=((3,), (7,))))
    flat = [v for p in parts for v in sorted(p["k"].to_pylist())]
    assert flat == sorted(table["k"].to_pylist())
