"""Run a StageGraph in this process, task by task: the reference executor.

Used by tests and by ``-r inline`` runners; the Ray driver must give the same results.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from rayemr.engine.context import TaskContext, merge_counters
from rayemr.engine.graph import BroadcastInput, ShuffleInput, SplitInput, StageGraph
from rayemr.engine.shuffle import assemble, split_table


@dataclass
class GraphResult:
    """Tables of every ``collect`` stage (in task order) and the merged counters."""

    outputs: dict[str, list[pa.Table]] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)


def run_graph_inline(graph: StageGraph, conf: dict[str, str] | None = None) -> GraphResult:
    conf = dict(graph.conf) | dict(conf or {})
    result = GraphResult()
    # stage id -> per-partition lists of blocks (shuffle) and the whole output (broadcast)
    partitions: dict[str, list[list[pa.Table]]] = {}
    whole: dict[str, list[pa.Table]] = {}
    for stage in graph.stages:
        if stage.output is not None:
            partitions[stage.id] = [[] for _ in range(stage.output.num_partitions)]
        whole[stage.id] = []
        for i in range(stage.num_tasks):
            inputs = {}
            for inp in stage.inputs:
                if isinstance(inp, SplitInput):
                    inputs[inp.name] = inp.splits[i]
                elif isinstance(inp, ShuffleInput):
                    up = graph.stage(inp.stage)
                    inputs[inp.name] = assemble(partitions[inp.stage][i], up.output)
                elif isinstance(inp, BroadcastInput):
                    inputs[inp.name] = assemble(whole[inp.stage], None)
            ctx = TaskContext(stage.id, i, 0, conf)
            out = stage.fn(ctx, inputs)
            merge_counters(result.counters, ctx.counters_dict())
            if out is None:
                continue
            whole[stage.id].append(out)
            if stage.output is not None:
                for p, block in enumerate(split_table(out, stage.output)):
                    partitions[stage.id][p].append(block)
        if stage.collect:
            result.outputs[stage.id] = whole[stage.id]
    return result
