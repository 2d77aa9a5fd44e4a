"""Reports of the scheduling core, in the shapes of YARN's CLI and REST API."""
from __future__ import annotations

from typing import Iterable

from rayemr.yarn.model import QueueState
from rayemr.yarn.records import ApplicationReport, NodeReport
from rayemr.yarn.resources import Resource
from rayemr.yarn.states import AppState, NodeState


class ReportsMixin:
    """Part of :class:`~rayemr.yarn.scheduler.SchedulerCore`."""

    def app_report(self, app_id: str) -> ApplicationReport:
        app = self._app(app_id)
        s, am = app.spec, app.am_container
        return ApplicationReport(
            app_id=app.app_id, name=s.name, app_type=s.app_type, user=s.user,
            queue=app.queue.path, priority=s.priority, tags=s.tags, state=app.state,
            final_status=app.final_status, progress=app.progress, diagnostics=app.diagnostics,
            submit_time=app.submit_time, start_time=app.start_time, finish_time=app.finish_time,
            am_container=am.container_id if am else "", am_node=am.node_id if am else "",
            am_actor=app.am_actor, unmanaged_am=s.unmanaged_am,
            running_containers=len(app.containers),
            allocated=Resource(max(0.0, app.used_vc), max(0, app.used_mb)),
            memory_seconds=int(app.memory_seconds), vcore_seconds=int(app.vcore_seconds))

    def app_reports(self, states: Iterable[AppState | str] | None = None,
                    queue: str | None = None, tags: Iterable[str] | None = None
                    ) -> list[ApplicationReport]:
        """Reports of the applications in ``states``, ``queue`` and carrying any of ``tags``
        (compared case-insensitively, as YARN does)."""
        wanted = None if states is None else {AppState(s) for s in states}
        tagged = None if tags is None else {t.lower() for t in tags}
        out = []
        for app in self.apps.values():
            if wanted is not None and app.state not in wanted:
                continue
            if queue is not None and queue not in (app.queue.path, app.queue.conf.name):
                continue
            if tagged is not None and not tagged & {t.lower() for t in app.spec.tags}:
                continue
            out.append(self.app_report(app.app_id))
        return out

    def node_reports(self) -> list[NodeReport]:
        return [NodeReport(n.node_id, n.address, n.state, Resource(n.cap_vc, n.cap_mb),
                           Resource(max(0.0, n.used_vc), max(0, n.used_mb)), len(n.containers),
                           n.health, n.last_update) for n in self.nodes.values()]

    def queue_info(self, q: QueueState | None = None) -> dict:
        """YARN's ``/scheduler`` ``queue`` objects, recursively."""
        q = q or self.root
        c = q.conf
        info = {
            "queueName": c.name, "queuePath": c.path, "state": c.state,
            "capacity": round(c.capacity * 100, 3), "maxCapacity": round(c.max_capacity * 100, 3),
            "absoluteCapacity": round(c.abs_capacity * 100, 3),
            "absoluteMaxCapacity": round(c.abs_max_capacity * 100, 3),
            "usedCapacity": round(self._share(q) * 100, 3) if c.abs_capacity > 0 else 0.0,
            "absoluteUsedCapacity": round(self.calc.share(
                q.used_vc, q.used_mb, self.total_vc, self.total_mb) * 100, 3),
            "numContainers": q.num_containers,
            "resourcesUsed": {"memory": max(0, q.used_mb), "vCores": max(0.0, q.used_vc)},
        }
        if q.children:
            info["type"] = "capacitySchedulerParentQueue"
            info["queues"] = {"queue": [self.queue_info(ch) for ch in q.children]}
        else:
            info.update({
                "type": "capacitySchedulerLeafQueueInfo",
                "numApplications": q.num_apps,
                "numActiveApplications": len(q.apps), "numPendingApplications": len(q.pending),
                "maxApplications": c.max_applications, "userLimitFactor": c.user_limit_factor,
                "userLimit": c.min_user_limit_percent,
                "maxAMResourcePercent": c.max_am_percent, "orderingPolicy": c.ordering,
                "aclSubmitApplications": str(c.acl_submit),
                "aclAdministerQueue": str(c.acl_admin),
                "users": {"user": [{"username": u, "resourcesUsed": {"memory": max(0, v[1]),
                                                                    "vCores": max(0.0, v[0])}}
                                   for u, v in sorted(q.users.items())]},
            })
        return info

    def cluster_metrics(self) -> dict:
        states = [a.state for a in self.apps.values()]
        alloc_mb = sum(max(0, n.used_mb) for n in self.nodes.values() if n.state == NodeState.RUNNING)
        alloc_vc = sum(max(0.0, n.used_vc) for n in self.nodes.values()
                       if n.state == NodeState.RUNNING)
        count = lambda st: sum(1 for n in self.nodes.values() if n.state == st)  # noqa: E731
        return {
            "appsSubmitted": self.apps_submitted, "appsCompleted": self.apps_completed,
            "appsPending": states.count(AppState.ACCEPTED) + states.count(AppState.SUBMITTED),
            "appsRunning": states.count(AppState.RUNNING), "appsFailed": self.apps_failed,
            "appsKilled": self.apps_killed, "allocatedMB": alloc_mb,
            "allocatedVirtualCores": alloc_vc, "containersAllocated": len(self.containers),
            "availableMB": max(0, self.total_mb - alloc_mb),
            "availableVirtualCores": max(0.0, self.total_vc - alloc_vc),
            "totalMB": self.total_mb, "totalVirtualCores": self.total_vc,
            "totalNodes": len(self.nodes), "activeNodes": count(NodeState.RUNNING),
            "lostNodes": count(NodeState.LOST), "unhealthyNodes": count(NodeState.UNHEALTHY),
            "decommissionedNodes": count(NodeState.DECOMMISSIONED),
            "containersGranted": self.grants,
        }
