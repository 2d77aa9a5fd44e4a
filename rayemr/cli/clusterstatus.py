"""What ``rayemr status`` shows: nodes, queues, running applications, endpoints.

``collect`` runs where Ray is connected (the cluster's own process, or a CLI attached to a
``ray up`` cluster) and returns plain JSON-able data; ``format_status`` turns it into text.
"""
from __future__ import annotations

from typing import Any

ACTIVE = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING")


def collect(endpoints: dict[str, str] | None = None) -> dict[str, Any]:
    """Nodes, leaf queues, unfinished applications of the YARN this process reaches."""
    from rayemr.yarn import YarnClient, is_running

    out: dict[str, Any] = {"endpoints": dict(endpoints or {}), "nodes": [], "queues": [],
                           "applications": [], "yarn": is_running()}
    if not out["yarn"]:
        return out
    client = YarnClient()
    out["nodes"] = [n.to_dict() for n in client.nodes()]
    out["queues"] = _leaves(client.scheduler()["schedulerInfo"])
    states = [s for s in ACTIVE if _is_state(s)]
    out["applications"] = [r.to_dict() for r in client.list(states=states)]
    return out


def _is_state(name: str) -> bool:
    from rayemr.yarn import AppState

    return name in {s.value for s in AppState}


def _leaves(info: dict[str, Any], parent: str = "root") -> list[dict[str, Any]]:
    children = (info.get("queues") or {}).get("queue") or []
    if not children:
        return [{"name": parent, "capacity": info.get("capacity"),
                 "used": info.get("usedCapacity"),
                 "applications": info.get("numApplications", 0)}]
    out = []
    for child in children:
        out += _leaves(child, f"{parent}.{child.get('queueName')}")
    return out


def format_status(status: dict[str, Any]) -> str:
    lines = ["Endpoints:"]
    for name, where in status.get("endpoints", {}).items():
        lines.append(f"  {name:<12} {where}")
    if not status.get("yarn"):
        lines.append("YARN: not running")
        return "\n".join(lines) + "\n"
    nodes = status.get("nodes", [])
    lines.append(f"Nodes: {len(nodes)}")
    for n in nodes:
        total = n.get("totalResource") or {}
        lines.append(f"  {str(n.get('id'))[:16]}  {n.get('state')}  containers "
                     f"{n.get('numContainers', 0)}  vcores {n.get('usedVirtualCores', 0):g}/"
                     f"{total.get('vCores', '?')}  memory {n.get('usedMemoryMB', 0)}/"
                     f"{total.get('memory', '?')} MB")
    lines.append("Queues:")
    for q in status.get("queues", []):
        lines.append(f"  {q['name']:<20} capacity {q.get('capacity') or 0:5.1f}%  "
                     f"used {q.get('used') or 0:5.1f}%  applications "
                     f"{q.get('applications') or 0}")
    apps = status.get("applications", [])
    lines.append(f"Running applications: {len(apps)}")
    for a in apps:
        lines.append(f"  {a.get('id')}  {a.get('state')}  {a.get('queue')}  "
                     f"{float(a.get('progress') or 0):.0f}%  {a.get('name')}")
    return "\n".join(lines) + "\n"
