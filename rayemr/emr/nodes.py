"""The cluster's nodes through Ray: which nodes there are, and bootstrapping one of them.

``alive_nodes`` reads Ray's node table as :class:`~rayemr.emr.clustercore.NodeInfo` (EMR's
instance role from cluster.yaml's resources). ``bootstrap_node`` runs a node's bootstrap actions
in a Ray task pinned to it, keeps each action's output (under the node's folder in the
cluster's work dir and under the log URI, as EMR lays it out) and returns the
:class:`~rayemr.emr.clustercore.BootstrapReport` the cluster core takes.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from rayemr.core.errors import RayEmrError
from rayemr.emr import storage
from rayemr.emr.bootstrap import TAIL_BYTES, BootstrapAction, NodeBootstrap, run_on_node
from rayemr.emr.clustercore import BootstrapReport, NodeInfo


def role(node: Mapping[str, Any], master_node_id: str) -> str:
    """EMR's instance role: MASTER, TASK (cluster.yaml's ``rayemr_task`` nodes) or CORE."""
    if node["NodeID"] == master_node_id:
        return "MASTER"
    return "TASK" if node.get("Resources", {}).get("rayemr_task") else "CORE"


def node_info(node: Mapping[str, Any], master_node_id: str) -> NodeInfo:
    return NodeInfo(node["NodeID"], node.get("NodeManagerHostname", ""),
                    node.get("NodeManagerAddress", ""), role(node, master_node_id),
                    float(node.get("Resources", {}).get("CPU", 0.0)))


def alive_nodes(master_node_id: str) -> list[NodeInfo]:
    import ray

    return [node_info(n, master_node_id) for n in ray.nodes() if n.get("Alive")]


def _bootstrap_task(node_id: str, actions: tuple[BootstrapAction, ...], env: dict,
                    emrfs: Any) -> NodeBootstrap:
    return run_on_node(node_id, actions, env, emrfs)


def bootstrap_node(node_id: str, actions: tuple[BootstrapAction, ...], env: Mapping[str, str],
                   *, emrfs: Any, work_dir: str, log_prefix: str | None) -> BootstrapReport:
    """Run ``actions`` on the node (a Ray task pinned to it); keep their output."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    task = ray.remote(_bootstrap_task).options(
        num_cpus=0, max_retries=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))
    failure = ""
    try:
        result: NodeBootstrap = ray.get(task.remote(node_id, actions, dict(env), emrfs))
    except Exception as exc:  # noqa: BLE001 - the node died or the task could not run
        result = NodeBootstrap(node_id=node_id, hostname="")
        failure = f"bootstrap could not run: {type(exc).__name__}: {exc}"
    entries = keep_output(result, folder=os.path.join(work_dir, "node", node_id,
                                                      "bootstrap-actions"),
                          log_prefix=log_prefix, emrfs=emrfs)
    return BootstrapReport(failure=failure or result.failure, actions=tuple(entries))


def keep_output(result: NodeBootstrap, *, folder: str, log_prefix: str | None,
                emrfs: Any) -> list[dict[str, Any]]:
    """Write each action's output under ``folder/<n>/`` and ``log_prefix/<n>/``; returns the
    describe entries (output tails)."""
    entries = []
    for i, a in enumerate(result.actions, start=1):
        entry = {"Name": a.name, "ExitCode": a.exit_code, "Seconds": round(a.seconds, 3),
                 "Error": a.error,
                 "Stdout": a.stdout[-TAIL_BYTES:].decode("utf-8", "replace"),
                 "Stderr": a.stderr[-TAIL_BYTES:].decode("utf-8", "replace")}
        os.makedirs(os.path.join(folder, str(i)), exist_ok=True)
        for name, data in (("stdout", a.stdout), ("stderr", a.stderr)):
            with open(os.path.join(folder, str(i), name), "wb") as f:
                f.write(data)
            if log_prefix:
                try:
                    storage.write_bytes(storage.join(log_prefix, str(i), name), data, emrfs)
                except RayEmrError as exc:
                    entry["Error"] = (entry["Error"] + f"; log upload failed: {exc}").lstrip("; ")
        entries.append(entry)
    return entries
