"""The stage runtime both engines compile into.

A :class:`~rayemr.engine.graph.StageGraph` is a DAG of stages (map over splits, reduce over
shuffled partitions, with broadcast inputs for map joins). ``rayemr.mapreduce`` plans jobs
into graphs, ``rayemr.hive`` compiles SQL into graphs, and the driver runs them on Ray in
YARN containers. :mod:`rayemr.engine.inline` runs a graph in-process (tests, debugging).
"""
