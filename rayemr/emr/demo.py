"""A whole EMR cluster run on bundled data: ``run_demo()`` (and ``rayemr emr demo``).

A cluster with configurations (two queues, the MapReduce queue and reducer count, a metastore
and warehouse of its own) and a bootstrap action; four steps: a Hive script loading a table
from CSV, a MapReduce job over the table's files, a command that fails (CONTINUE) and one that
prints the result. The cluster terminates itself when the steps are done. Everything is
written into a fresh folder, so nothing outside it changes.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from typing import Any, TextIO

PAGES = ("home", "search", "product", "cart", "checkout", "help")

LOAD_Q = """\
-- Load raw visit logs (CSV) into a managed table, dropping zero-length visits.
CREATE EXTERNAL TABLE raw_visits (user STRING, page STRING, seconds INT)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
  LOCATION '${hivevar:RAW}';
CREATE TABLE visits (user STRING, page STRING, seconds INT);
INSERT OVERWRITE TABLE visits SELECT user, page, seconds FROM raw_visits WHERE seconds > 0;
SELECT count(*) AS visits, count(DISTINCT user) AS users FROM visits;
"""

JOB_PY = '''\
"""Seconds spent per page, over the Hive table's files (\\\\x01-separated text)."""
from rayemr.mapreduce import MRJob
from rayemr.mapreduce.protocol import TextProtocol


class SecondsPerPage(MRJob):
    OUTPUT_PROTOCOL = TextProtocol

    def mapper(self, _, line):
        user, page, seconds = line.split("\\x01")
        yield page, int(seconds)

    def combiner(self, page, seconds):
        yield page, sum(seconds)

    def reducer(self, page, seconds):
        yield page, str(sum(seconds))


if __name__ == "__main__":
    SecondsPerPage.run()
'''

BOOTSTRAP_SH = """\
#!/bin/bash
# Runs on every node before it takes work.
echo "bootstrapped $(hostname) for cluster $RAYEMR_CLUSTER_ID ($1)"
"""


def _visits(rows: int = 400, seed: int = 7) -> str:
    rnd = random.Random(seed)
    lines = []
    for _ in range(rows):
        page = rnd.choice(PAGES)
        lines.append(f"u{rnd.randint(1, 60)},{page},{rnd.choice([0, rnd.randint(1, 300)])}")
    return "\n".join(lines) + "\n"


def expected_seconds_per_page(rows: int = 400, seed: int = 7) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in _visits(rows, seed).splitlines():
        _, page, seconds = line.split(",")
        if int(seconds) > 0:
            totals[page] = totals.get(page, 0) + int(seconds)
    return totals


def prepare(folder: str) -> dict[str, str]:
    """Write the demo's data, scripts and job into ``folder``; returns their paths."""
    paths = {name: os.path.join(folder, name) for name in
             ("raw", "load.q", "seconds_per_page.py", "bootstrap.sh", "warehouse", "logs",
              "work", "out")}
    os.makedirs(paths["raw"], exist_ok=True)
    with open(os.path.join(paths["raw"], "visits.csv"), "w") as f:
        f.write(_visits())
    for name, text in (("load.q", LOAD_Q), ("seconds_per_page.py", JOB_PY),
                       ("bootstrap.sh", BOOTSTRAP_SH)):
        with open(paths[name], "w") as f:
            f.write(text)
    return paths


def demo_cluster(folder: str, *, num_cpus: int | None = None):
    """The demo's ``Cluster`` (not started): configurations, bootstrap action, four steps."""
    from rayemr.emr.cluster import Cluster

    p = prepare(folder)
    configurations = [
        {"Classification": "capacity-scheduler", "Properties": {
            "yarn.scheduler.capacity.root.queues": "default,etl",
            "yarn.scheduler.capacity.root.default.capacity": "40",
            "yarn.scheduler.capacity.root.etl.capacity": "60",
            "yarn.scheduler.capacity.root.etl.maximum-capacity": "100"}},
        {"Classification": "mapred-site", "Properties": {
            "mapreduce.job.queuename": "etl", "mapreduce.job.reduces": "2"}},
        {"Classification": "hive-site", "Properties": {
            "javax.jdo.option.ConnectionURL": f"jdbc:sqlite:{folder}/metastore.db",
            "hive.metastore.warehouse.dir": p["warehouse"]}},
        {"Classification": "hadoop-env", "Configurations": [
            {"Classification": "export", "Properties": {"DEMO_OUTPUT": p["out"]}}]},
    ]
    steps = [
        {"Type": "HIVE", "Name": "Load visits (Hive)", "ActionOnFailure": "CANCEL_AND_WAIT",
         "Args": ["-f", p["load.q"], "-d", f"RAW={p['raw']}"]},
        {"Type": "MAPREDUCE", "Name": "Seconds per page (MapReduce)",
         "ActionOnFailure": "CANCEL_AND_WAIT",
         "Args": [p["seconds_per_page.py"], os.path.join(p["warehouse"], "visits"),
                  "-o", p["out"]]},
        {"Type": "COMMAND", "Name": "A failing check (CONTINUE)", "ActionOnFailure": "CONTINUE",
         "Args": ["bash", "-c", "echo 'this step fails on purpose' >&2; exit 1"]},
        {"Type": "COMMAND", "Name": "Show the result",
         "Args": ["bash", "-c", "cat \"$DEMO_OUTPUT\"/part-* | sort"]},
    ]
    return Cluster(name="rayemr-demo", configurations=configurations,
                   bootstrap_actions=[{"Name": "hello", "ScriptBootstrapAction": {
                       "Path": p["bootstrap.sh"], "Args": ["demo"]}}],
                   steps=steps, log_uri=p["logs"], work_dir=p["work"], keep_alive=False,
                   applications=["Hadoop", "Hive"], num_cpus=num_cpus)


def run_demo(out: TextIO = sys.stdout, *, folder: str | None = None,
             num_cpus: int | None = None) -> dict[str, Any]:
    """Run the demo cluster to its end, printing what happens; returns the final
    ``describe()`` with ``Steps`` and ``Output`` (the MapReduce result, page -> seconds)."""
    own = folder is None
    tmp = tempfile.mkdtemp(prefix="rayemr-emr-demo-") if own else folder
    cluster = demo_cluster(tmp, num_cpus=num_cpus)
    t0 = time.perf_counter()
    out.write("== EMR cluster on Ray: configurations, a bootstrap action, four steps\n")
    out.flush()
    cluster.start()
    desc = cluster.describe()["Cluster"]
    out.write(f"   cluster {cluster.id} {desc['Status']['State']} in "
              f"{time.perf_counter() - t0:.1f}s on {len(desc['Nodes'])} node(s); "
              f"services: {', '.join(s['Name'] for s in desc['Services'])}\n")
    for node in desc["Nodes"]:
        for action in node["BootstrapActions"]:
            out.write(f"   bootstrap {action['Name']!r} on {node['Hostname'] or node['NodeId'][:8]}:"
                      f" {action['Stdout'].strip()}\n")
    out.flush()
    final = cluster.wait_terminated(timeout=1800)
    steps = list(reversed(cluster.list_steps()))
    for step in steps:
        tl = step["Status"]["Timeline"]
        secs = (tl.get("EndDateTime", 0) - tl.get("StartDateTime", 0)) if "StartDateTime" in tl \
            else 0.0
        apps = ", ".join(step["ApplicationIds"]) or "-"
        out.write(f"   {step['Id']}  {step['Status']['State']:<9} {secs:5.1f}s  "
                  f"{step['Name']}  [{apps}]\n")
    result = {}
    show = [s for s in steps if s["Name"] == "Show the result"]
    if show and show[0]["Status"]["State"] == "COMPLETED":
        for line in cluster.step_output(show[0]["Id"])["stdout"].splitlines():
            page, _, seconds = line.partition("\t")
            result[page] = int(seconds)
        out.write("   seconds per page: " + ", ".join(f"{k}={v}" for k, v in
                                                      sorted(result.items())) + "\n")
    status = final["Cluster"]["Status"]
    out.write(f"   cluster {status['State']} ({status.get('StateChangeReason', {}).get('Message', '')})"
              f" after {time.perf_counter() - t0:.1f}s; step logs under "
              f"{os.path.join(tmp, 'logs', cluster.id, 'steps')}\n")
    out.flush()
    cluster.close()
    return {**final, "Steps": steps, "Output": result, "Folder": tmp}
