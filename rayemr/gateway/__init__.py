"""The long-lived local cluster ``rayemr start`` runs, and the gateway into it.

``daemon`` is the cluster's process: it starts (or joins) Ray, YARN, HiveServer2, the REST
API and the gateway, records where they listen in ``$RAYEMR_HOME/cluster.json`` and stops
them all on SIGTERM. ``server`` is the gateway: clients (``rayemr mr``, ``rayemr hive``,
``python job.py``, ``rayemr yarn``, ``rayemr status``) send a command over a loopback socket
with a token, and it runs there -- the job's driver inside the cluster, as an
ApplicationMaster runs -- streaming output, progress and counters back. ``status`` gathers
nodes, queues, applications and endpoints. The client side is ``rayemr.client``.
"""
