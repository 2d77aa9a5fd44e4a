"""Run a StageGraph in this process, task by task: the reference executor.

Used by tests and by ``-r inline`` runners; the Ray driver gives the same results because it
is the same driver loop (:func:`rayemr.engine.driver.drive`) on another launcher.
"""
from __future__ import annotations

from rayemr.engine.driver import GraphResult
from rayemr.engine.run import run_graph
from rayemr.engine.graph import StageGraph

__all__ = ["GraphResult", "run_graph_inline"]


def run_graph_inline(graph: StageGraph, conf: dict[str, str] | None = None, **kwargs
                     ) -> GraphResult:
    """``run_graph(graph, runner="inline", ...)``."""
    return run_graph(graph, runner="inline", conf=conf, **kwargs)
