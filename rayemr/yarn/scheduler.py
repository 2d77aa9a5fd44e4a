"""The scheduling core: Capacity Scheduler policy over plain data, no Ray, no I/O.

Events come in as method calls (a node registered or was lost, an application was submitted,
an ApplicationMaster heartbeated with asks and releases, an application was killed or
finished); instructions for the Ray shell (:class:`LaunchAM`, :class:`StopAM`,
:class:`AppChanged`) queue up and are taken with :meth:`SchedulerCore.take_instructions`.
Container grants wait in each application's mailbox until its next ``allocate`` heartbeat,
as in YARN.

Policy (Hadoop's CapacityScheduler, minus preemption and reservations):
- at every level the child furthest below its guaranteed capacity is served first;
- a queue may grow past its capacity into idle resources up to ``maximum-capacity``;
- within a leaf, applications are ordered FIFO (priority, then submission) or Fair (least
  resources held first); a user may hold at most ``capacity * user-limit-factor`` and its
  ``minimum-user-limit-percent`` share when several users compete;
- an ACCEPTED application's ApplicationMaster starts only while the queue's AM resources stay
  under ``maximum-am-resource-percent`` (one AM per queue may always run).
"""
from __future__ import annotations

import time
from typing import Callable, Iterable

from rayemr.core.errors import AccessDeniedError, InputNotFoundError, UserError
from rayemr.yarn.config import CapacitySchedulerConfig, QueueConfig
from rayemr.yarn.model import (EPS, AppChanged, AppInfo, ContainerInfo, LaunchAM, NodeInfo,
                               QueueState, StopAM, fifo_key)
from rayemr.yarn.records import (AllocateResponse, ApplicationSpec, Container, ContainerRequest,
                                 ContainerStatus)
from rayemr.yarn.recovery import RecoveryMixin
from rayemr.yarn.reports import ReportsMixin
from rayemr.yarn.resources import Calculator, Resource
from rayemr.yarn.states import AppState, ContainerState, ExitStatus, FinalStatus, NodeState

__all__ = ["AppChanged", "EPS", "LaunchAM", "SchedulerCore", "StopAM"]


# -- the core ----------------------------------------------------------------------------------
class SchedulerCore(RecoveryMixin, ReportsMixin):
    """Queues, nodes, applications and grants; see the module docstring for the policy."""

    def __init__(self, config: CapacitySchedulerConfig | None = None, cluster_ts: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.cluster_ts = int(cluster_ts if cluster_ts is not None else clock() * 1000)
        self.next_app = 1
        self.nodes: dict[str, NodeInfo] = {}
        self._room: dict[str, NodeInfo] = {}   # RUNNING nodes with free resources, round-robin
        self.apps: dict[str, AppInfo] = {}
        self.containers: dict[str, ContainerInfo] = {}
        self.total_vc, self.total_mb = 0.0, 0
        self.grants = 0
        self.apps_submitted = self.apps_completed = self.apps_failed = self.apps_killed = 0
        self._out: list = []
        self._dirty = True
        #: ApplicationMaster attempts per application (yarn.resourcemanager.am.max-attempts)
        self.am_max_attempts = 2
        self.configure(config or CapacitySchedulerConfig.default())

    # -- configuration ----------------------------------------------------------------------
    def configure(self, config: CapacitySchedulerConfig) -> None:
        """(Re)build the queue tree; running applications keep their queues (refreshQueues)."""
        old = getattr(self, "leaves", {})
        self.config = config
        self.calc = Calculator(config.resource_calculator)
        self.queues: dict[str, QueueState] = {}

        def build(conf: QueueConfig, parent: QueueState | None) -> QueueState:
            q = QueueState(conf, parent)
            self.queues[conf.path] = q
            q.children = [build(c, q) for c in conf.children]
            return q

        self.root = build(config.root, None)
        self.leaves = {q.conf.name: q for q in self.queues.values() if q.conf.is_leaf}
        for app in self.apps.values():
            if app.state.final:
                continue
            new = self.leaves.get(app.queue.conf.name)
            if new is None:
                raise UserError(f"queue {app.queue.path} still has application {app.app_id}; "
                                "it cannot be removed while applications run")
            self._move_app(app, new)
        if old:
            self._dirty = True

    def _move_app(self, app: AppInfo, leaf: QueueState) -> None:
        app.queue = leaf
        leaf.num_apps += 1
        (leaf.pending if app.state in (AppState.SUBMITTED, AppState.ACCEPTED)
         and app.am_container is None else leaf.apps).append(app)
        self._add_usage(app, app.used_vc, app.used_mb, count=len(app.containers))
        if app.am_container is not None:
            leaf.am_used_vc += app.am_container.resource.vcores
            leaf.am_used_mb += app.am_container.resource.memory_mb
        if any(app.asks.values()):
            leaf.demand.add(app.app_id)
        leaf.apps.sort(key=fifo_key)
        leaf.pending.sort(key=fifo_key)

    def find_queue(self, name: str) -> QueueState:
        q = self.queues.get(name) or self.leaves.get(name)
        if q is None:
            raise InputNotFoundError(f"queue {name!r} does not exist",
                                     hint="known queues: " + ", ".join(self.queues))
        return q

    def take_instructions(self) -> list:
        out, self._out = self._out, []
        return out

    # -- nodes ------------------------------------------------------------------------------
    def add_node(self, node_id: str, address: str, vcores: float, memory_mb: int) -> None:
        node = self.nodes.get(node_id)
        if node is not None and node.state in (NodeState.RUNNING, NodeState.UNHEALTHY):
            return
        if node is None:
            node = self.nodes[node_id] = NodeInfo(node_id, address, vcores, memory_mb,
                                                       clock=self.clock)
        node.cap_vc, node.cap_mb = float(vcores), int(memory_mb)
        node.fire("REGISTER", NodeState.RUNNING)
        node.last_update = self.clock()
        self.total_vc += node.cap_vc
        self.total_mb += node.cap_mb
        self._update_room(node)
        self._dirty = True

    def node_health(self, node_id: str, healthy: bool, report: str = "") -> None:
        node = self._node(node_id)
        node.health, node.last_update = report, self.clock()
        want = NodeState.RUNNING if healthy else NodeState.UNHEALTHY
        if node.state != want and node.state in (NodeState.RUNNING, NodeState.UNHEALTHY):
            node.fire("HEALTH_REPORT", want)
            self._update_room(node)
            self._dirty = True

    def node_lost(self, node_id: str, reason: str = "") -> list[str]:
        """Mark a node LOST; its containers end as LOST and their applications are told.

        Returns the ids of the applications that failed because their AM was on the node.
        """
        node = self._node(node_id)
        if node.state in (NodeState.LOST, NodeState.DECOMMISSIONED):
            return []
        was_active = node.state in (NodeState.RUNNING, NodeState.UNHEALTHY)
        node.fire("EXPIRE", NodeState.LOST)
        if was_active:
            self.total_vc -= node.cap_vc
            self.total_mb -= node.cap_mb
        self._room.pop(node_id, None)
        diag = f"container lost with node {node_id}" + (f": {reason}" if reason else "")
        failed, touched = [], set()
        for cid in sorted(node.containers):
            info = self.containers[cid]
            app = info.app
            touched.add(app.app_id)
            if app.am_container is not None and app.am_container.container_id == cid:
                failed.append(app)
                continue
            self._free(info, ContainerState.LOST, "NODE_LOST", ExitStatus.ABORTED, diag)
        for app in self.apps.values():  # YARN's updatedNodes: every live AM hears of it
            if app.app_id in touched or app.state == AppState.RUNNING:
                app.lost_nodes.append(node_id)
        for app in failed:
            self._attempt_failed(app, "NODE_LOST", f"ApplicationMaster's node {node_id} was lost")
        self._dirty = True
        return [a.app_id for a in failed]

    def decommission_node(self, node_id: str, reason: str = "") -> None:
        """Take a node out of scheduling; containers running there may finish (graceful)."""
        node = self._node(node_id)
        if node.state not in (NodeState.RUNNING, NodeState.UNHEALTHY):
            return
        if not any(n.state == NodeState.RUNNING for n in self.nodes.values()
                   if n is not node and n.cap_vc > 0):
            raise UserError(f"node {node_id} is the last node that can run containers; "
                            "decommissioning it would leave YARN with nothing to schedule on")
        node.fire("DECOMMISSION", NodeState.DECOMMISSIONED)
        node.health = reason or "decommissioned"
        self.total_vc -= node.cap_vc
        self.total_mb -= node.cap_mb
        self._room.pop(node_id, None)
        self._dirty = True

    def recommission_node(self, node_id: str) -> None:
        """Put a decommissioned node back into scheduling."""
        node = self._node(node_id)
        if node.state != NodeState.DECOMMISSIONED:
            return
        node.fire("REGISTER", NodeState.RUNNING)
        node.health = ""
        self.total_vc += node.cap_vc
        self.total_mb += node.cap_mb
        self._update_room(node)
        self._dirty = True

    def _node(self, node_id: str) -> NodeInfo:
        node = self.nodes.get(node_id)
        if node is None:
            raise InputNotFoundError(f"node {node_id!r} is not known to the ResourceManager")
        return node

    def _update_room(self, node: NodeInfo) -> None:
        # Memory decides: a node without free vcores may still host a 0-vcore container (an AM).
        has_room = node.state == NodeState.RUNNING and node.used_mb < node.cap_mb
        if has_room:
            self._room.setdefault(node.node_id, node)
        else:
            self._room.pop(node.node_id, None)

    # -- submission -------------------------------------------------------------------------
    def submit(self, spec: ApplicationSpec) -> str:
        """Admit a new application into its queue (ACCEPTED) or raise a UserError."""
        leaf = self._submit_queue(spec)
        if not spec.unmanaged_am:
            self._check_fits(spec.am_resource, f"ApplicationMaster resource of {spec.name!r}")
        if leaf.num_apps >= leaf.conf.max_applications:
            raise UserError(f"queue {leaf.path} already has {leaf.num_apps} applications, "
                            f"cannot accept submission of {spec.name!r}",
                            hint=f"maximum-applications is {leaf.conf.max_applications}")
        seq = self.next_app
        self.next_app += 1
        app_id = f"application_{self.cluster_ts}_{seq:04d}"
        app = self.apps[app_id] = AppInfo(app_id, seq, spec, leaf, self.clock(),
                                              clock=self.clock)
        app.fire("SUBMIT", AppState.SUBMITTED)
        app.fire("APP_ACCEPTED", AppState.ACCEPTED)
        leaf.num_apps += 1
        leaf.pending.append(app)
        leaf.pending.sort(key=fifo_key)
        self.apps_submitted += 1
        self._out.append(AppChanged(app_id))
        self._dirty = True
        return app_id

    def _submit_queue(self, spec: ApplicationSpec) -> QueueState:
        q = self.queues.get(spec.queue) or self.leaves.get(spec.queue)
        if q is None:
            raise InputNotFoundError(
                f"queue {spec.queue!r} does not exist; cannot submit {spec.name!r}",
                hint="leaf queues: " + ", ".join(sorted(self.leaves)))
        if not q.conf.is_leaf:
            raise UserError(f"queue {q.path} is a parent queue; submit to one of its leaf "
                            f"queues: {', '.join(c.conf.name for c in q.children)}")
        if q.conf.state != "RUNNING":
            raise UserError(f"queue {q.path} is STOPPED and accepts no applications")
        if not any(a.conf.acl_submit.admits(spec.user, spec.groups) for a in q.chain()):
            raise AccessDeniedError(f"user {spec.user} may not submit applications to queue "
                                    f"{q.path}", hint="see acl_submit_applications")
        return q

    def _check_fits(self, res: Resource, what: str) -> None:
        live = [n for n in self.nodes.values() if n.state == NodeState.RUNNING]
        if not live:
            return
        if not any(self._node_can_ever_fit(n, res.vcores, res.memory_mb) for n in live):
            big = max(live, key=lambda n: (n.cap_mb, n.cap_vc))
            raise UserError(f"{what} {res} is larger than any node; the largest is "
                            f"{big.node_id[:12]} with <memory:{big.cap_mb}, vCores:{big.cap_vc:g}>")

    def _node_can_ever_fit(self, n: NodeInfo, vc: float, mb: int) -> bool:
        # Even when only memory is scheduled, Ray can never run vc CPUs on a smaller node.
        return mb <= n.cap_mb and vc <= n.cap_vc + EPS

    # -- the ApplicationMaster heartbeat ----------------------------------------------------
    def allocate(self, app_id: str, asks: Iterable[ContainerRequest] = (),
                 release: Iterable[str] = (), completed: Iterable[str] = (),
                 launched: Iterable[str] = (), progress: float | None = None) -> AllocateResponse:
        app = self._app(app_id)
        if app.state.final:
            return AllocateResponse(killed=True, completed=tuple(self._drain(app)[1]))
        if not app.registered:
            return AllocateResponse(resync=True)
        app.last_heartbeat = self.clock()
        if progress is not None:
            app.progress = min(1.0, max(0.0, float(progress)))
        for cid in launched:
            info = app.containers.get(cid)
            if info is not None and info.state == ContainerState.ACQUIRED:
                info.fire("LAUNCH", ContainerState.RUNNING)
        for cid in completed:
            info = app.containers.get(cid)
            if info is not None:
                self._free(info, ContainerState.COMPLETED, "FINISH", ExitStatus.SUCCESS, "",
                           notify=False)
        for cid in release:
            info = app.containers.get(cid)
            if info is not None and app.am_container and cid == app.am_container.container_id:
                continue
            if info is not None:
                self._free(info, ContainerState.RELEASED, "RELEASE", ExitStatus.ABORTED,
                           "released by the ApplicationMaster", notify=False)
        for ask in asks:
            self._add_ask(app, ask)
        if self._dirty:
            self.schedule()
        newly, done = self._drain(app)
        for c in newly:
            self.containers[c.container_id].fire("ACQUIRE", ContainerState.ACQUIRED)
        lost = tuple(app.lost_nodes)
        app.lost_nodes.clear()
        return AllocateResponse(allocated=tuple(newly), completed=tuple(done), lost_nodes=lost,
                                available=self.headroom(app),
                                num_cluster_nodes=sum(1 for n in self.nodes.values()
                                                      if n.state == NodeState.RUNNING))

    def _drain(self, app: AppInfo) -> tuple[list, list]:
        newly, done = app.newly, app.completed
        app.newly, app.completed = [], []
        return newly, done

    def _add_ask(self, app: AppInfo, ask: ContainerRequest) -> None:
        if ask.count > 0:
            self._check_fits(ask.resource, f"container request of {app.app_id}")
            leaf_max = Resource(self.total_vc * app.queue.conf.abs_max_capacity,
                                int(self.total_mb * app.queue.conf.abs_max_capacity))
            if self.nodes and not self.calc.fits(ask.resource.vcores, ask.resource.memory_mb,
                                                 leaf_max.vcores, leaf_max.memory_mb):
                raise UserError(f"container request {ask.resource} of {app.app_id} is larger "
                                f"than queue {app.queue.path}'s maximum capacity {leaf_max}")
        key = ask.key
        count = max(0, app.asks.get(key, 0) + ask.count)
        if count:
            if key not in app.asks:
                app.ask_order.append(key)
                app.ask_order.sort(key=lambda k: k[0])
            app.asks[key] = count
            app.queue.demand.add(app.app_id)
            self._dirty = True
        elif key in app.asks:
            del app.asks[key]
            app.ask_order.remove(key)
            if not app.asks:
                app.queue.demand.discard(app.app_id)

    def headroom(self, app: AppInfo) -> Resource:
        """What the app could still get from its queue if the cluster were free."""
        vc, mb = self.total_vc, self.total_mb
        for q in app.queue.chain():
            vc = min(vc, q.conf.abs_max_capacity * self.total_vc - q.used_vc)
            mb = min(mb, q.conf.abs_max_capacity * self.total_mb - q.used_mb)
        free_vc = sum(n.cap_vc - n.used_vc for n in self._room.values())
        free_mb = sum(n.cap_mb - n.used_mb for n in self._room.values())
        return Resource(max(0.0, min(vc, free_vc)), max(0, int(min(mb, free_mb))))

    # -- application lifecycle --------------------------------------------------------------
    def am_launched(self, app_id: str, am_actor: str = "") -> None:
        """The AM actor runs (idempotent: an AM may report before its launch is confirmed)."""
        app = self._app(app_id)
        if am_actor and app.am_actor != am_actor:
            app.am_actor = am_actor
            self._out.append(AppChanged(app_id))
        if app.state != AppState.ACCEPTED:
            return
        app.fire("AM_LAUNCHED", AppState.RUNNING)
        app.start_time = self.clock()
        self._out.append(AppChanged(app_id))

    def am_launch_failed(self, app_id: str, diagnostics: str) -> None:
        app = self._app(app_id)
        self._end(app, AppState.FAILED, "AM_LAUNCH_FAILED", FinalStatus.FAILED, diagnostics)

    def am_failed(self, app_id: str, diagnostics: str) -> None:
        app = self._app(app_id)
        if app.state == AppState.RUNNING:
            self._attempt_failed(app, "AM_FAILED", diagnostics)
        elif not app.state.final:
            self._end(app, AppState.FAILED, "AM_LAUNCH_FAILED", FinalStatus.FAILED, diagnostics)

    def _attempt_failed(self, app: AppInfo, event: str, diagnostics: str) -> None:
        """A running application's AM died or its node was lost: YARN starts a new attempt
        (``yarn.resourcemanager.am.max-attempts``) -- every container of the old attempt is
        killed and the application waits in ACCEPTED for a new AM -- or fails it."""
        if app.spec.unmanaged_am or app.attempts >= self.am_max_attempts:
            self._end(app, AppState.FAILED, event, FinalStatus.FAILED, diagnostics)
            self._out.append(StopAM(app.app_id, diagnostics))
            return
        for info in list(app.containers.values()):
            self._free(info, ContainerState.KILLED, "KILL", ExitStatus.ABORTED,
                       f"attempt {app.attempts} failed: {diagnostics}", notify=False)
        app.am_container = None
        app.am_actor = ""
        app.asks.clear()
        app.ask_order.clear()
        app.newly, app.completed, app.lost_nodes = [], [], []
        leaf = app.queue
        leaf.demand.discard(app.app_id)
        if app in leaf.apps:
            leaf.apps.remove(app)
        leaf.pending.append(app)
        leaf.pending.sort(key=fifo_key)
        app.attempts += 1
        app.next_container = 2
        app.diagnostics = f"attempt {app.attempts - 1} failed: {diagnostics}"
        app.fire("ATTEMPT_FAILED", AppState.ACCEPTED)
        self._out.append(AppChanged(app.app_id))
        self._dirty = True

    def finish(self, app_id: str, final_status: FinalStatus | str, diagnostics: str = "",
               am_actor: str = "") -> None:
        """The ApplicationMaster unregistered with ``final_status``."""
        app = self._app(app_id)
        status = FinalStatus(final_status)
        if app.state.final:
            return  # killed meanwhile: the kill wins
        if app.am_container is None and not app.spec.unmanaged_am:
            raise UserError(f"application {app_id} has no running ApplicationMaster to finish")
        self.am_launched(app_id, am_actor)
        state = {FinalStatus.SUCCEEDED: AppState.FINISHED, FinalStatus.KILLED: AppState.KILLED,
                 FinalStatus.FAILED: AppState.FAILED,
                 FinalStatus.UNDEFINED: AppState.FINISHED}[status]
        app.progress = 1.0 if status == FinalStatus.SUCCEEDED else app.progress
        self._end(app, state, "AM_FINISHED", status, diagnostics)

    def kill(self, app_id: str, user: str | None = None, groups: tuple[str, ...] = (),
             diagnostics: str = "") -> None:
        app = self._app(app_id)
        if app.state.final:
            raise UserError(f"application {app_id} has already {app.state.value}; "
                            "it cannot be killed")
        if user is not None and user != app.spec.user and not any(
                q.conf.acl_admin.admits(user, groups) for q in app.queue.chain()):
            raise AccessDeniedError(f"user {user} may not kill {app_id} in queue "
                                    f"{app.queue.path}", hint="see acl_administer_queue")
        self._end(app, AppState.KILLED, "KILL", FinalStatus.KILLED,
                  diagnostics or f"application killed by user {user or 'unknown'}")
        self._out.append(StopAM(app_id, "killed"))

    def _end(self, app: AppInfo, state: AppState, event: str, status: FinalStatus,
             diagnostics: str) -> None:
        app.fire(event, state)
        app.final_status, app.finish_time = status, self.clock()
        if diagnostics:
            app.diagnostics = diagnostics
        leaf = app.queue
        exit_code = (ExitStatus.KILLED_BY_RESOURCEMANAGER if state == AppState.KILLED
                     else ExitStatus.KILLED_AFTER_APP_COMPLETION)
        for info in list(app.containers.values()):
            self._free(info, ContainerState.KILLED, "KILL", exit_code,
                       f"application {state.value.lower()}", notify=True)
        app.am_container = None
        app.asks.clear()
        app.ask_order.clear()
        leaf.demand.discard(app.app_id)
        if app in leaf.pending:
            leaf.pending.remove(app)
        if app in leaf.apps:
            leaf.apps.remove(app)
        if not any(a.spec.user == app.spec.user for a in leaf.apps):
            leaf.users.pop(app.spec.user, None)
        leaf.num_apps -= 1
        if state == AppState.FINISHED:
            self.apps_completed += 1
        elif state == AppState.FAILED:
            self.apps_failed += 1
        else:
            self.apps_killed += 1
        self._out.append(AppChanged(app.app_id))
        self._dirty = True

    def expire_unmanaged(self, expiry_s: float) -> list[str]:
        """Fail RUNNING unmanaged applications whose AM sent no heartbeat for ``expiry_s``
        (YARN's AM liveness monitor); returns their ids."""
        now, gone = self.clock(), []
        for app in list(self.apps.values()):
            if (app.spec.unmanaged_am and app.state == AppState.RUNNING
                    and now - app.last_heartbeat > expiry_s):
                self._end(app, AppState.FAILED, "EXPIRE", FinalStatus.FAILED,
                          f"ApplicationMaster timed out: no heartbeat for {expiry_s:g} s")
                gone.append(app.app_id)
        return gone

    def _app(self, app_id: str) -> AppInfo:
        app = self.apps.get(app_id)
        if app is None:
            raise InputNotFoundError(f"application {app_id!r} does not exist",
                                     hint="list applications with `rayemr yarn application -list`")
        return app

    # -- scheduling -------------------------------------------------------------------------
    def schedule(self) -> int:
        """Grant what can be granted now; returns the number of containers granted."""
        self._dirty = False
        if not self._room:
            return 0
        granted = self._admit()
        blocked: set[tuple[str, tuple]] = set()
        blocked_apps: set[str] = set()
        while self._room:
            leaf = self._pick_leaf(self.root, blocked_apps)
            if leaf is None:
                break
            app = self._pick_app(leaf, blocked_apps)
            if app is None:  # every app with demand is over its user limit
                blocked_apps.update(leaf.demand)
                continue
            key = next((k for k in app.ask_order if (app.app_id, k) not in blocked), None)
            if key is None:
                blocked_apps.add(app.app_id)
                continue
            res = key[1]  # _pick_app checked the first ask; a later one must fit too
            if not (self._queue_room(leaf, res.vcores, res.memory_mb)
                    and self._user_ok(leaf, app.spec.user, res)):
                blocked.add((app.app_id, key))
                continue
            node = self._place(key)
            if node is None:
                blocked.add((app.app_id, key))
                continue
            self._grant(app, key, node)
            granted += 1
        return granted

    def _admit(self) -> int:
        started = 0
        for leaf in self.leaves.values():
            if not leaf.pending:
                continue
            limit_mb = leaf.conf.max_am_percent * leaf.conf.abs_max_capacity * self.total_mb
            for app in list(leaf.pending):
                if app.spec.unmanaged_am:  # no AM container: admitted in FIFO order
                    leaf.pending.remove(app)
                    leaf.apps.append(app)
                    leaf.apps.sort(key=fifo_key)
                    app.last_heartbeat = self.clock()
                    self.am_launched(app.app_id)
                    started += 1
                    continue
                res = app.spec.am_resource
                if leaf.apps and leaf.am_used_mb + res.memory_mb > limit_mb + EPS:
                    break  # FIFO admission: later apps wait behind this one
                if not self._queue_room(leaf, res.vcores, res.memory_mb):
                    break
                key = (-1, res, (), True)
                node = self._place(key)
                if node is None:
                    break
                leaf.pending.remove(app)
                leaf.apps.append(app)
                leaf.apps.sort(key=fifo_key)
                c = self._grant(app, key, node, am=True)
                app.am_container = c
                leaf.am_used_vc += res.vcores
                leaf.am_used_mb += res.memory_mb
                self._out.append(LaunchAM(app.app_id, c))
                started += 1
        return started

    def _share(self, q: QueueState) -> float:
        used = self.calc.share(q.used_vc, q.used_mb, self.total_vc, self.total_mb)
        return used / q.conf.abs_capacity if q.conf.abs_capacity > 0 else float("inf") if used else 1e9

    def _pick_leaf(self, q: QueueState, blocked_apps: set[str]) -> QueueState | None:
        if not q.children:
            return q if q.demand and not q.demand <= blocked_apps else None
        for child in sorted(q.children, key=lambda c: (self._share(c), c.conf.path)):
            if not self._queue_has_room(child):
                continue
            leaf = self._pick_leaf(child, blocked_apps)
            if leaf is not None:
                return leaf
        return None

    def _queue_has_room(self, q: QueueState) -> bool:
        if q.used_mb >= q.conf.abs_max_capacity * self.total_mb - EPS:
            return False
        return not self.calc.dominant or q.used_vc < q.conf.abs_max_capacity * self.total_vc - EPS

    def _queue_room(self, leaf: QueueState, vc: float, mb: int) -> bool:
        for q in leaf.chain():
            m = q.conf.abs_max_capacity
            if not self.calc.fits(vc, mb, m * self.total_vc - q.used_vc + EPS,
                                  m * self.total_mb - q.used_mb + EPS):
                return False
        return True

    def _pick_app(self, leaf: QueueState, blocked_apps: set[str]) -> AppInfo | None:
        candidates = [a for a in leaf.apps if a.app_id in leaf.demand
                      and a.app_id not in blocked_apps]
        if leaf.conf.ordering == "fair":
            candidates.sort(key=lambda a: (self.calc.share(a.used_vc, a.used_mb, self.total_vc,
                                                           self.total_mb), a.seq))
        for app in candidates:
            key = app.ask_order[0] if app.ask_order else None
            if key is None:
                continue
            res = key[1]
            if not self._queue_room(leaf, res.vcores, res.memory_mb):
                blocked_apps.add(app.app_id)
                continue
            if self._user_ok(leaf, app.spec.user, res):
                return app
            blocked_apps.add(app.app_id)
        return None

    def _user_ok(self, leaf: QueueState, user: str, res: Resource) -> bool:
        used = leaf.users.get(user)
        if not used or (used[0] <= EPS and used[1] == 0):
            return True  # a user may always hold one container
        active = len({a.spec.user for a in leaf.apps if a.app_id in leaf.demand}) or 1
        conf = leaf.conf
        for total, u_used, q_used, need in ((self.total_mb, used[1], leaf.used_mb, res.memory_mb),
                                            (self.total_vc, used[0], leaf.used_vc, res.vcores)):
            cap = conf.abs_capacity * total
            current = max(cap, q_used + need)
            limit = max(current / active, current * conf.min_user_limit_percent / 100)
            limit = min(limit, cap * conf.user_limit_factor, conf.abs_max_capacity * total)
            if u_used + need > limit + EPS:
                return False
            if not self.calc.dominant:
                break
        return True

    def _place(self, key: tuple) -> NodeInfo | None:
        _, res, nodes, relax = key
        vc, mb = res.vcores, res.memory_mb
        fits = self.calc.fits
        for nid in nodes:
            n = self._room.get(nid)
            if n is not None and vc <= n.cap_vc + EPS and fits(vc, mb, n.cap_vc - n.used_vc,
                                                              n.cap_mb - n.used_mb):
                return n
        if nodes and not relax:
            return None
        for n in self._room.values():
            if vc <= n.cap_vc + EPS and fits(vc, mb, n.cap_vc - n.used_vc, n.cap_mb - n.used_mb):
                return n
        return None

    def _grant(self, app: AppInfo, key: tuple, node: NodeInfo, am: bool = False) -> Container:
        res = key[1]
        if am:
            cid = f"container_{self.cluster_ts}_{app.seq:04d}_{app.attempts:02d}_000001"
        else:
            cid = (f"container_{self.cluster_ts}_{app.seq:04d}_{app.attempts:02d}_"
                   f"{app.next_container:06d}")
            app.next_container += 1
        c = Container(cid, node.node_id, res, key[0], key)
        info = ContainerInfo(c, app, self.clock(), clock=self.clock)
        if am:
            info.fire("LAUNCH", ContainerState.RUNNING)
        self._account(info, +1)
        # round-robin: the node goes to the back of the line
        self._room.pop(node.node_id, None)
        self._update_room(node)
        if not am:
            left = app.asks[key] - 1
            if left:
                app.asks[key] = left
            else:
                del app.asks[key]
                app.ask_order.remove(key)
                if not app.asks:
                    app.queue.demand.discard(app.app_id)
            app.newly.append(c)
        self.grants += 1
        return c

    def _account(self, info: ContainerInfo, sign: int) -> None:
        c, app = info.container, info.app
        vc, mb = c.resource.vcores * sign, c.resource.memory_mb * sign
        node = self.nodes[c.node_id]
        node.used_vc += vc
        node.used_mb += mb
        if sign > 0:
            node.containers.add(c.container_id)
            app.containers[c.container_id] = info
            self.containers[c.container_id] = info
        else:
            node.containers.discard(c.container_id)
            app.containers.pop(c.container_id, None)
            self.containers.pop(c.container_id, None)
        app.used_vc += vc
        app.used_mb += mb
        self._add_usage(app, vc, mb, count=sign)

    def _add_usage(self, app: AppInfo, vc: float, mb: int, count: int = 0) -> None:
        leaf = app.queue
        u = leaf.users.setdefault(app.spec.user, [0.0, 0])
        u[0] += vc
        u[1] += mb
        for q in leaf.chain():
            q.used_vc += vc
            q.used_mb += mb
            q.num_containers += count

    def _free(self, info: ContainerInfo, state: ContainerState, event: str, exit_status: int,
              diagnostics: str, notify: bool = True) -> None:
        info.fire(event, state)
        c, app = info.container, info.app
        self._account(info, -1)
        dt = max(0.0, self.clock() - info.start)
        app.memory_seconds += c.resource.memory_mb * dt
        app.vcore_seconds += c.resource.vcores * dt
        if app.am_container is not None and c.container_id == app.am_container.container_id:
            app.queue.am_used_vc -= c.resource.vcores
            app.queue.am_used_mb -= c.resource.memory_mb
        node = self.nodes[c.node_id]
        self._update_room(node)
        if notify:
            app.completed.append(ContainerStatus(c.container_id, state, exit_status, diagnostics,
                                                 c.node_id))
        self._dirty = True
