"""The stage runtime both engines compile into.

A :class:`~rayemr.engine.graph.StageGraph` is a DAG of stages (map over splits, reduce over
shuffled partitions, with broadcast inputs for map joins). ``rayemr.mapreduce`` plans jobs
into graphs, ``rayemr.hive`` compiles SQL into graphs, and :func:`run_graph` runs them: on Ray
in YARN containers (``runner="ray"``) or in this process (``runner="inline"``).
"""
from __future__ import annotations

from rayemr.engine.driver import GraphResult
from rayemr.engine.errors import JobKilledError, TaskFailedError
from rayemr.engine.run import run_graph
from rayemr.engine.schedule import Progress

__all__ = ["GraphResult", "JobKilledError", "Progress", "TaskFailedError", "run_graph"]
