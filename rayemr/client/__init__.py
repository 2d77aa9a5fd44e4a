"""How a process finds and talks to the cluster ``rayemr start`` keeps running.

``state`` reads and writes ``$RAYEMR_HOME/cluster.json`` (where the cluster's Ray, gateway,
HiveServer2 and REST API listen); ``protocol`` frames messages on the gateway's socket;
``gateway`` is the client jobs and queries are submitted through. Nothing here imports Ray,
pyarrow or DuckDB, so a fresh process reaches a running cluster in milliseconds. The server
side lives in ``rayemr.gateway``.
"""
