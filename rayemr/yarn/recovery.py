"""Work-preserving restart for the scheduling core: durable records, recovery, resync.

An application's record (:meth:`RecoveryMixin.app_record`) is what the ResourceManager
persists; after a restart :meth:`recover_app` rebuilds it, and a running ApplicationMaster
re-registers its containers and outstanding asks with :meth:`resync` (YARN's resync).
"""
from __future__ import annotations

from typing import Iterable

from rayemr.yarn.model import AppInfo, ContainerInfo, fifo_key
from rayemr.yarn.records import ApplicationSpec, Container, ContainerRequest
from rayemr.yarn.resources import Resource
from rayemr.yarn.states import AppState, ContainerState, FinalStatus, NodeState


class RecoveryMixin:
    """Part of :class:`~rayemr.yarn.scheduler.SchedulerCore`."""

    def resync(self, app_id: str, containers: Iterable[Container],
               asks: Iterable[ContainerRequest] = ()) -> None:
        """A running AM re-registers after an RM restart with the containers it still holds."""
        app = self._app(app_id)
        if app.state.final:
            return
        for c in containers:
            node = self.nodes.get(c.node_id)
            if c.container_id in app.containers or node is None or node.state != NodeState.RUNNING:
                continue
            info = ContainerInfo(c, app, self.clock(), ContainerState.ACQUIRED,
                                 clock=self.clock)
            info.fire("RECOVER", ContainerState.RUNNING)
            self._account(info, +1)
            n = int(c.container_id.rsplit("_", 1)[-1])
            app.next_container = max(app.next_container, n + 1)
        for ask in asks:
            self._add_ask(app, ask)
        app.registered = True
        self._dirty = True

    def recover_app(self, record: dict) -> None:
        """Rebuild one application from :meth:`app_record` output after a restart."""
        spec = ApplicationSpec(**{**record["spec"], "am_resource": Resource(**record["spec"]["am_resource"])})
        leaf = self.leaves.get(spec.queue) or self.queues.get(spec.queue) or self.root
        app = AppInfo(record["app_id"], record["seq"], spec, leaf, record["submit_time"],
                      clock=self.clock)
        self.apps[app.app_id] = app
        self.next_app = max(self.next_app, app.seq + 1)
        state = AppState(record["state"])
        app.final_status = FinalStatus(record["final_status"])
        app.diagnostics, app.progress = record["diagnostics"], record["progress"]
        app.start_time, app.finish_time = record["start_time"], record["finish_time"]
        app.am_actor = record.get("am_actor", "")
        app.attempts = record.get("attempts", 1)
        app.memory_seconds = record.get("memory_seconds", 0.0)
        app.vcore_seconds = record.get("vcore_seconds", 0.0)
        # the story so far, then this recovery: the table is bypassed only for final states
        app.restore(AppState.NEW, story=record.get("story", ()))
        if state.final:
            app.restore(state, story=[(self.clock(), AppState.NEW.value, state.value, "RECOVER")],
                        entered={state: app.finish_time or self.clock()})
            return
        leaf.num_apps += 1
        am = record.get("am_container")
        if state == AppState.RUNNING and spec.unmanaged_am:  # its AM is the client: resync
            app.fire("RECOVER", AppState.RUNNING)
            app.next_container = max(app.next_container, record.get("next_container", 2))
            app.last_heartbeat = self.clock()
            leaf.apps.append(app)
            leaf.apps.sort(key=fifo_key)
            app.registered = False
        elif state == AppState.RUNNING and am:
            app.fire("RECOVER", AppState.RUNNING)
            c = Container(am["container_id"], am["node_id"], Resource(**am["resource"]))
            app.next_container = max(app.next_container, record.get("next_container", 2))
            node = self.nodes.get(c.node_id)
            if node is None or node.state != NodeState.RUNNING:
                self._end(app, AppState.FAILED, "NODE_LOST", FinalStatus.FAILED,
                          f"ApplicationMaster's node {c.node_id} was lost during RM restart")
                return
            info = ContainerInfo(c, app, self.clock(), ContainerState.ACQUIRED,
                                 clock=self.clock)
            info.fire("RECOVER", ContainerState.RUNNING)
            app.am_container = c
            self._account(info, +1)
            leaf.am_used_vc += c.resource.vcores
            leaf.am_used_mb += c.resource.memory_mb
            leaf.apps.append(app)
            leaf.apps.sort(key=fifo_key)
            app.registered = False
        else:  # not started yet: wait for admission again
            app.fire("RECOVER", AppState.SUBMITTED)
            app.fire("APP_ACCEPTED", AppState.ACCEPTED)
            leaf.pending.append(app)
            leaf.pending.sort(key=fifo_key)
        self._dirty = True

    def app_record(self, app_id: str) -> dict:
        """The durable part of an application (JSON-serializable)."""
        app = self._app(app_id)
        s = app.spec
        am = app.am_container
        return {
            "app_id": app.app_id, "seq": app.seq, "state": app.state.value,
            "final_status": app.final_status.value, "diagnostics": app.diagnostics,
            "progress": app.progress, "submit_time": app.submit_time,
            "start_time": app.start_time, "finish_time": app.finish_time,
            "memory_seconds": app.memory_seconds, "vcore_seconds": app.vcore_seconds,
            "next_container": app.next_container, "am_actor": app.am_actor,
            "attempts": app.attempts, "story": [list(s) for s in app.story()],
            "spec": {"name": s.name, "app_type": s.app_type, "queue": app.queue.conf.name,
                     "user": s.user, "priority": s.priority, "tags": list(s.tags),
                     "groups": list(s.groups or ()), "unmanaged_am": s.unmanaged_am,
                     "am_resource": {"vcores": s.am_resource.vcores,
                                     "memory_mb": s.am_resource.memory_mb}},
            "am_container": None if am is None else {
                "container_id": am.container_id, "node_id": am.node_id,
                "resource": {"vcores": am.resource.vcores, "memory_mb": am.resource.memory_mb}},
        }
