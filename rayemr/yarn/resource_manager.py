"""The ResourceManager actor: a thin, thread-safe shell around :class:`SchedulerCore`.

It turns RPCs and Ray's view of the cluster into core events, and the core's instructions
into actions: start an ApplicationMaster through the node's NodeManager, tell a killed AM to
stop, persist an application's record. A monitor thread registers nodes that join (starting a
NodeManager on each), marks dead nodes LOST, collects NodeManager health reports and notices
ApplicationMasters that died. The REST API runs in a thread of this actor.

Work-preserving restart: the actor is detached and restartable; on start it reloads queues and
applications from its state store; running AMs keep running and re-register (resync) the
containers they hold at their next heartbeat.
"""
from __future__ import annotations

import logging
import os
import queue as queue_mod
import threading
import time
from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rayemr.core.errors import InputNotFoundError
from rayemr.runtime import NAMESPACE
from rayemr.yarn.config import CapacitySchedulerConfig
from rayemr.yarn.node_manager import NodeManager, nm_actor_name
from rayemr.yarn.records import ApplicationSpec, Container, ContainerRequest
from rayemr.yarn.scheduler import AppChanged, LaunchAM, SchedulerCore, StopAM
from rayemr.yarn.settings import YarnConfig
from rayemr.yarn.states import AppState, NodeState

log = logging.getLogger(__name__)
MiB = 1024 * 1024


def default_state_dir() -> str:
    try:
        node = ray._private.worker._global_node  # the session dir of this Ray node
        return str(Path(node.get_session_dir_path()) / "rayemr-yarn")
    except Exception:  # pragma: no cover - outside a Ray worker
        import tempfile

        return str(Path(tempfile.gettempdir()) / "rayemr-yarn")


class ResourceManager:
    def __init__(self, config: YarnConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self.state_dir = config.state_dir or default_state_dir()
        self.store = None
        meta = None
        if config.recovery_enabled:
            from rayemr.yarn.store import StateStore

            self.store = StateStore(self.state_dir)
            meta = self.store.load_meta()
        sched = config.scheduler
        if meta and meta.get("scheduler") is not None:
            sched = CapacitySchedulerConfig.from_properties(meta["scheduler"], source="recovered")
        self.core = SchedulerCore(sched, cluster_ts=meta["cluster_ts"] if meta else None)
        self.core.am_max_attempts = config.am_max_attempts
        self.started = time.time()
        self.recovered = bool(meta)
        self._payloads: dict[str, bytes] = {}
        self._nms: dict[str, object] = {}
        self._am_watch: dict = {}
        self._kill_at: dict[str, float] = {}
        self._am_done: set[str] = set()  # killed applications whose AM returned in time
        self._health_refs: dict = {}
        self._finished_order: list[str] = []
        self._launch_q: queue_mod.Queue = queue_mod.Queue()
        self._sync_nodes()
        with self._lock:
            if meta:
                for record in (self.store.load_apps() if self.store else []):
                    self.core.recover_app(record)
                    if record["state"] in ("FINISHED", "FAILED", "KILLED"):
                        self._finished_order.append(record["app_id"])
                for app in self.core.apps.values():
                    if app.state == AppState.RUNNING and not app.spec.unmanaged_am:
                        self._watch_am(app.app_id)
            self._save_meta()
            self.core.schedule()
            self._process()
        self.rest_url = ""
        self._http = None
        if config.webapp_enabled:
            self._start_rest()
        for target in (self._monitor_loop, self._launch_loop):
            threading.Thread(target=target, daemon=True, name=target.__name__).start()

    # -- plumbing ---------------------------------------------------------------------------
    def _save_meta(self) -> None:
        if self.store:
            self.store.save_meta({"cluster_ts": self.core.cluster_ts,
                                  "scheduler": dict(self.core.config.properties)})

    def _process(self) -> None:
        """Carry out the core's instructions (caller holds the lock)."""
        for ins in self.core.take_instructions():
            if isinstance(ins, AppChanged):
                app = self.core.apps[ins.app_id]
                if app.state.final:
                    self._payloads.pop(ins.app_id, None)
                    if ins.app_id not in self._finished_order:
                        self._finished_order.append(ins.app_id)
                    self._trim_finished()
                if self.store and ins.app_id in self.core.apps:
                    self.store.save_app(self.core.app_record(ins.app_id))
                    if app.state.final:
                        self.store.delete_payload(ins.app_id)
            elif isinstance(ins, LaunchAM):
                self._launch_q.put(ins)
            elif isinstance(ins, StopAM):
                self._kill_at[ins.app_id] = time.monotonic() + self.config.am_kill_grace_s
                am = self._am(ins.app_id)
                if am is not None:
                    am.on_killed.remote(ins.app_id, ins.reason)
        self._changed.notify_all()

    def _trim_finished(self) -> None:
        while len(self._finished_order) > self.config.max_completed_apps:
            old = self._finished_order.pop(0)
            self.core.apps.pop(old, None)
            if self.store:
                self.store.delete_app(old)

    def _am(self, app_id: str):
        app = self.core.apps.get(app_id)
        if app is None or not app.am_actor:
            return None
        try:
            return ray.get_actor(app.am_actor, namespace=NAMESPACE)
        except ValueError:
            return None

    def _watch_am(self, app_id: str) -> None:
        am = self._am(app_id)
        if am is None:
            self.core.am_failed(app_id, "ApplicationMaster is gone (lost while the "
                                "ResourceManager restarted)")
            return
        self._am_watch[am.wait_done.remote(app_id)] = app_id

    # -- nodes ------------------------------------------------------------------------------
    def _sync_nodes(self) -> None:
        alive, dead = {}, set()
        for n in ray.nodes():
            (alive.__setitem__(n["NodeID"], n) if n.get("Alive") else dead.add(n["NodeID"]))
        for nid in alive:
            self._start_nm(nid)
        with self._lock:
            for nid, n in alive.items():
                if nid not in self.core.nodes:  # a Ray node id never comes back after death
                    self._register(n)
            for nid in dead:
                info = self.core.nodes.get(nid)
                if info is not None and info.state in (NodeState.RUNNING, NodeState.UNHEALTHY):
                    self.core.node_lost(nid, "Ray reports the node dead")
                    self._nms.pop(nid, None)
            if self.core._dirty:
                self.core.schedule()
            self._process()

    def _start_nm(self, nid: str) -> None:
        if nid not in self._nms:
            self._nms[nid] = ray.remote(NodeManager).options(
                name=nm_actor_name(nid), namespace=NAMESPACE, get_if_exists=True,
                lifetime="detached", num_cpus=0, max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(nid, soft=False)).remote(
                    nid, am_pool_size=self.config.am_pool_size,
                    am_max_applications=self.config.am_max_applications)

    def _register(self, n: dict) -> None:
        res = n.get("Resources", {})
        self.core.add_node(n["NodeID"], n.get("NodeManagerAddress", ""),
                           float(res.get("CPU", 0.0)), int(res.get("memory", 0) // MiB))

    def _check_health(self) -> None:
        if self._health_refs:
            ready, _ = ray.wait(list(self._health_refs), num_returns=len(self._health_refs),
                                timeout=0)
            for ref in ready:
                self._health_refs.pop(ref)
                try:
                    r = ray.get(ref)
                except Exception:
                    continue
                with self._lock:
                    if r["node_id"] in self.core.nodes:
                        self.core.node_health(r["node_id"], r["healthy"], r["report"])
        if not self._health_refs:
            for nid, nm in list(self._nms.items()):
                self._health_refs[nm.report.remote()] = nid

    def _check_ams(self) -> None:
        ready = []
        if self._am_watch:
            ready, _ = ray.wait(list(self._am_watch), num_returns=len(self._am_watch), timeout=0)
        for ref in ready:
            app_id = self._am_watch.pop(ref)
            try:
                ray.get(ref)
                if app_id in self._kill_at:
                    self._am_done.add(app_id)
            except Exception as exc:  # the AM actor died
                with self._lock:
                    if app_id in self.core.apps:
                        self.core.am_failed(app_id, f"ApplicationMaster died: "
                                            f"{type(exc).__name__}")
                        self._process()
        now = time.monotonic()
        for app_id, deadline in list(self._kill_at.items()):
            if app_id in self._am_done:  # its AM stopped in time; the process lives on
                self._kill_at.pop(app_id)
                self._am_done.discard(app_id)
            elif now >= deadline:
                self._kill_at.pop(app_id)
                with self._lock:
                    am = self._am(app_id)
                if am is not None:
                    ray.kill(am)

    def _monitor_loop(self) -> None:
        tick = 0
        while not self._stopping.wait(self.config.monitor_interval_s):
            try:
                self._sync_nodes()
                self._check_ams()
                with self._lock:
                    if self.core.expire_unmanaged(self.config.am_expiry_s):
                        self.core.schedule()
                        self._process()
                if tick % 10 == 0:
                    self._check_health()
                tick += 1
            except Exception:  # keep monitoring whatever one round hit
                log.exception("ResourceManager monitor round failed")

    def _launch_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ins = self._launch_q.get(timeout=0.5)
            except queue_mod.Empty:
                continue
            self._launch(ins)

    def _launch(self, ins: LaunchAM) -> None:
        app_id, c = ins.app_id, ins.container
        with self._lock:
            app = self.core.apps.get(app_id)
            if app is None or app.state != AppState.ACCEPTED:
                return
            blob = self._payloads.get(app_id) or (self.store.load_payload(app_id)
                                                   if self.store else None)
            nm = self._nms.get(c.node_id)
        error, name = "", ""
        if blob is None:
            error = "the application's ApplicationMaster code was lost"
        elif nm is None:
            error = f"no NodeManager on node {c.node_id}"
        else:
            try:
                name = ray.get(nm.launch_am.remote(app_id, c, blob,
                                                   self.config.result_retention_s), timeout=180)
            except Exception as exc:
                error = f"could not start the ApplicationMaster: {type(exc).__name__}: {exc}"
        with self._lock:
            app = self.core.apps.get(app_id)
            if app is None or app.state.final:  # killed while its AM was starting
                if name:
                    if app is not None:
                        app.am_actor = name
                    self._kill_at[app_id] = time.monotonic() + self.config.am_kill_grace_s
                    try:
                        ray.get_actor(name, namespace=NAMESPACE).on_killed.remote(app_id, "killed")
                    except ValueError:
                        pass
                return
            if error:
                self.core.am_launch_failed(app_id, error[:2000])
            else:
                self.core.am_launched(app_id, name)
                self._watch_am(app_id)  # the payload stays until the app ends: a new AM
                # attempt (its AM died or its node was lost) starts from it again
            self._process()

    # -- RPCs -------------------------------------------------------------------------------
    def ready(self) -> dict:
        return {"cluster_ts": self.core.cluster_ts, "rest_url": self.rest_url,
                "state_dir": self.state_dir, "recovered": self.recovered,
                "started": self.started}

    def submit(self, spec: ApplicationSpec, blob: bytes | None) -> str:
        with self._lock:
            app_id = self.core.submit(spec)
            if not spec.unmanaged_am:
                self._payloads[app_id] = blob
                if self.store:
                    self.store.save_payload(app_id, blob)
            self.core.schedule()
            self._process()
            return app_id

    def allocate(self, app_id: str, asks: list[ContainerRequest], release: list[str],
                 completed: list[str], launched: list[str], progress: float | None):
        with self._lock:
            resp = self.core.allocate(app_id, asks, release, completed, launched, progress)
            self._process()
            return resp

    def resync(self, app_id: str, containers: list[Container], asks: list[ContainerRequest]):
        with self._lock:
            self.core.resync(app_id, containers, asks)
            self._process()

    def finish(self, app_id: str, final_status: str, diagnostics: str = "",
               am_actor: str = "") -> None:
        with self._lock:
            self.core.finish(app_id, final_status, diagnostics, am_actor)
            self.core.schedule()
            self._process()

    def kill(self, app_id: str, user: str | None = None, groups: tuple = ()) -> None:
        with self._lock:
            self.core.kill(app_id, user, tuple(groups))
            self.core.schedule()
            self._process()

    def status(self, app_id: str):
        with self._lock:
            return self.core.app_report(app_id)

    def list_apps(self, states=None, queue: str | None = None, tags=None):
        with self._lock:
            if queue is not None:
                self.core.find_queue(queue)
            return self.core.app_reports(states, queue, tags)

    def wait_final(self, app_id: str, timeout: float):
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                report = self.core.app_report(app_id)
                left = deadline - time.monotonic()
                if report.state.final or left <= 0:
                    return report
                self._changed.wait(left)

    def nodes(self):
        with self._lock:
            return self.core.node_reports()

    # -- aggregated container logs ----------------------------------------------------------
    @property
    def log_dir(self) -> str:
        """Where container logs are aggregated (``yarn.nodemanager.remote-app-log-dir``)."""
        return self.config.log_dir or os.path.join(self.state_dir, "logs")

    def put_container_logs(self, app_id: str, logs: list) -> int:
        from rayemr.yarn import logs as container_logs

        with self._lock:
            self.core.app_report(app_id)  # an unknown application is an error
        return container_logs.write(self.log_dir, app_id, logs)

    def application_logs(self, app_id: str) -> tuple:
        """(report, container logs) of an application; unknown ids raise."""
        from rayemr.yarn import logs as container_logs

        with self._lock:
            report = self.core.app_report(app_id)
        return report, container_logs.read(self.log_dir, app_id)

    def queue_info(self, name: str | None = None) -> dict:
        with self._lock:
            return self.core.queue_info(self.core.find_queue(name) if name else None)

    def scheduler_info(self) -> dict:
        with self._lock:
            return {"schedulerInfo": {**self.core.queue_info(), "type": "capacityScheduler",
                                      "resourceCalculator": self.core.config.resource_calculator}}

    def metrics(self) -> dict:
        with self._lock:
            return self.core.cluster_metrics()

    def cluster_info(self) -> dict:
        from rayemr import __version__

        return {"id": self.core.cluster_ts, "startedOn": int(self.started * 1000),
                "state": "STARTED", "haState": "ACTIVE",
                "rmStateStoreName": "rayemr.yarn.store.StateStore" if self.store else "none",
                "resourceManagerVersion": __version__, "hadoopVersion": "rayemr",
                "recovered": self.recovered}

    def refresh_queues(self, scheduler: CapacitySchedulerConfig) -> None:
        """Replace the queue configuration (``yarn rmadmin -refreshQueues``)."""
        with self._lock:
            self.core.configure(scheduler)
            self._save_meta()
            self.core.schedule()
            self._process()

    def decommission_node(self, node_id: str, reason: str = "") -> None:
        """Take a node out of scheduling. A node Ray has but this RM has not registered yet
        (it joined a moment ago) is registered and decommissioned at once, before anything
        can be scheduled on it (YARN's exclude list)."""
        with self._lock:
            if node_id not in self.core.nodes:
                joined = [n for n in ray.nodes() if n["NodeID"] == node_id and n.get("Alive")]
                if joined:
                    self._start_nm(node_id)
                    self._register(joined[0])
            self.core.decommission_node(node_id, reason)
            self._process()

    def recommission_node(self, node_id: str) -> None:
        with self._lock:
            self.core.recommission_node(node_id)
            self.core.schedule()
            self._process()

    def story(self, key: str) -> list:
        """Transition log of an application, container or node."""
        with self._lock:
            obj = (self.core.apps.get(key) or self.core.containers.get(key)
                   or self.core.nodes.get(key))
            if obj is None:
                raise InputNotFoundError(f"{key!r} is not a known application, container or node")
            return obj.story()

    def app_ids(self) -> list[str]:
        with self._lock:
            return list(self.core.apps)

    def shutdown(self, clear_state: bool = True) -> None:
        self._stopping.set()
        if self._http is not None:
            self._http.shutdown()
        if clear_state and self.store:
            self.store.clear()

    # -- REST -------------------------------------------------------------------------------
    def _start_rest(self) -> None:
        from rayemr.yarn.rest import serve

        try:
            self._http, self.rest_url = serve(self, self.config.webapp_host,
                                              self.config.webapp_port)
        except OSError as exc:
            # the client that started this RM reports the port actually used
            log.info("REST API port %s:%s taken (%s); using a free port",
                     self.config.webapp_host, self.config.webapp_port, exc)
            self._http, self.rest_url = serve(self, self.config.webapp_host, 0)
        log.info("YARN REST API at %s (pid %s)", self.rest_url, os.getpid())
