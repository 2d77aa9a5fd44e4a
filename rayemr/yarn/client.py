"""Starting YARN on a Ray cluster and the client applications are submitted through.

``start()`` finds or starts the ResourceManager (a detached, restartable named actor on the
head node, namespace ``rayemr``); the RM starts a NodeManager on every Ray node.
``YarnClient`` submits applications and follows them; ``result()`` returns what the
application's ``am_main`` returned (or raises what it raised).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

import ray

from rayemr.core.errors import ClusterError, InputNotFoundError, UserError
from rayemr.runtime import NAMESPACE, remote_errors
from rayemr.yarn.app_master import RM_NAME, call_rm
from rayemr.yarn.records import (TAGS_ENV, ApplicationReport, ApplicationSpec, NodeReport,
                                 current_groups, current_user)
from rayemr.yarn.settings import YarnConfig
from rayemr.yarn.states import AppState

log = logging.getLogger(__name__)


def with_process_tags(spec: ApplicationSpec) -> ApplicationSpec:
    """``spec`` with the tags of ``$RAYEMR_APPLICATION_TAGS`` added."""
    extra = [t.strip() for t in os.environ.get(TAGS_ENV, "").split(",") if t.strip()]
    missing = tuple(t for t in extra if t not in spec.tags)
    return replace(spec, tags=spec.tags + missing) if missing else spec


@dataclass(frozen=True)
class YarnHandle:
    """What ``start()`` returns: the RM actor and where its REST API listens."""

    resource_manager: Any
    rest_url: str
    cluster_ts: int
    state_dir: str

    def client(self) -> YarnClient:
        return YarnClient()


def _ensure_ray() -> None:
    if not ray.is_initialized():
        import rayemr

        rayemr.init()


def start(config: object = None) -> YarnHandle:
    """Find or start the ResourceManager and NodeManagers; idempotent.

    ``config``: a :class:`YarnConfig`, a ``CapacitySchedulerConfig``, a dict of
    ``yarn-site``/``capacity-scheduler`` properties, or a file. If YARN is already running
    and a config is given, its queues are refreshed (``yarn rmadmin -refreshQueues``).
    """
    _ensure_ray()
    cfg = YarnConfig.load(config)
    try:
        rm = ray.get_actor(RM_NAME, namespace=NAMESPACE)
        existed = True
    except ValueError:
        rm = ray.remote(_rm_class()).options(
            name=RM_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
            num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=64,
            resources={"node:__internal_head__": 0.001}).remote(cfg)
        existed = False
    with remote_errors():
        info = ray.get(rm.ready.remote(), timeout=120)
    _report_rest_fallback(cfg, info.get("rest_url") or "", started=not existed)
    if existed and config is not None:
        with remote_errors():
            ray.get(rm.refresh_queues.remote(cfg.scheduler))
    return YarnHandle(rm, info["rest_url"], info["cluster_ts"], info["state_dir"])


def is_running() -> bool:
    """Whether a ResourceManager runs in the Ray cluster this process joined (asking a
    ``YarnClient`` would start one)."""
    if not ray.is_initialized():
        return False
    try:
        ray.get_actor(RM_NAME, namespace=NAMESPACE)
    except ValueError:
        return False
    return True


def _report_rest_fallback(cfg: YarnConfig, rest_url: str, started: bool) -> None:
    """Say, in this process, where the REST API went when its port was taken."""
    port = cfg.webapp_port
    if (not started or not cfg.webapp_enabled or not rest_url or not port
            or rest_url.rstrip("/").endswith(f":{port}")):
        return
    log.warning("YARN REST API at %s (%s:%s is in use by another process)", rest_url,
                cfg.webapp_host, port)


def _rm_class():
    from rayemr.yarn.resource_manager import ResourceManager

    return ResourceManager


def stop() -> None:
    """Stop YARN: ApplicationMasters, NodeManagers and the ResourceManager (state cleared)."""
    if not ray.is_initialized():
        return
    try:
        rm = ray.get_actor(RM_NAME, namespace=NAMESPACE)
    except ValueError:
        rm = None
    if rm is not None:
        try:
            ray.get(rm.shutdown.remote(True), timeout=30)
        except Exception:
            pass
        ray.kill(rm, no_restart=True)
    for entry in ray.util.list_named_actors(all_namespaces=True):
        name, ns = entry["name"], entry["namespace"]
        if ns == NAMESPACE and (name.startswith("rayemr_am_") or name.startswith("rayemr_nm_")):
            try:
                ray.kill(ray.get_actor(name, namespace=ns), no_restart=True)
            except ValueError:
                pass


def decommission_node(node_id: str, reason: str = "") -> None:
    """Stop scheduling on a Ray node (``yarn rmadmin -refreshNodes`` with an exclude list).

    Containers already running there finish; the node's capacity leaves the cluster total.
    The last node able to run containers is never decommissioned (``UserError``).
    """
    call_rm("decommission_node", node_id, reason)


def recommission_node(node_id: str) -> None:
    """Put a decommissioned node back into scheduling."""
    call_rm("recommission_node", node_id)


class YarnClient:
    """Submit applications and follow them (``yarn application ...`` from Python)."""

    def __init__(self, user: str | None = None) -> None:
        """Talk to the cluster's ResourceManager (started with defaults if none runs)."""
        _ensure_ray()
        try:
            ray.get_actor(RM_NAME, namespace=NAMESPACE)
        except ValueError:
            start()
        self.user = user or current_user()
        self._results: dict[str, tuple[str, Any]] = {}
        self._ams: dict[str, Any] = {}

    def submit(self, spec: ApplicationSpec, am_main: Callable, payload: Any = None) -> str:
        """Submit; once admitted, the AM runs ``am_main(amrm_client, payload)``."""
        if not isinstance(spec, ApplicationSpec):
            raise UserError(f"submit needs an ApplicationSpec, got {type(spec).__name__}")
        if not callable(am_main):
            raise UserError("submit needs a callable am_main(amrm_client, payload)")
        try:
            blob = ray.cloudpickle.dumps((am_main, payload))
        except Exception as exc:
            raise UserError(f"cannot serialize am_main/payload of {spec.name!r}: {exc}") from None
        return call_rm("submit", with_process_tags(spec), blob)

    def status(self, app_id: str) -> ApplicationReport:
        return call_rm("status", app_id)

    def list(self, states: Iterable[AppState | str] | None = None,
             queue: str | None = None, tags: Iterable[str] | None = None
             ) -> list[ApplicationReport]:
        """Application reports, filtered by state, queue and tags (any of them matches)."""
        if states is not None:
            try:
                states = [AppState(str(getattr(s, "value", s)).upper()) for s in states]
            except ValueError as exc:
                raise UserError(f"unknown application state: {exc}",
                                hint="states: " + ", ".join(s.value for s in AppState)) from None
        return call_rm("list_apps", states, queue, None if tags is None else list(tags))

    def kill(self, app_id: str) -> None:
        call_rm("kill", app_id, self.user, current_groups(self.user))

    def register_unmanaged(self, spec: ApplicationSpec):
        """Submit an application whose ApplicationMaster is this process (YARN's unmanaged
        AM) and return its :class:`AMRMClient`: ``allocate`` / ``launch`` / ``finish`` from
        here; tasks launched are owned by this process. The application turns RUNNING when
        its queue admits it (until then ``allocate`` grants nothing); it must heartbeat
        (``allocate``) at least every ``yarn.am.liveness-monitor.expiry-interval-ms``."""
        from rayemr.yarn.app_master import AMRMClient

        if not isinstance(spec, ApplicationSpec):
            raise UserError(f"register_unmanaged needs an ApplicationSpec, got {type(spec).__name__}")
        app_id = call_rm("submit", replace(with_process_tags(spec), unmanaged_am=True), None)
        return AMRMClient(app_id)

    def am_status(self, report: ApplicationReport) -> Any:
        """What a running application's ``am_main`` last posted with ``post_status``."""
        if not report.am_actor:
            return None
        am = self._ams.get(report.am_actor)
        try:
            if am is None:
                am = self._ams[report.am_actor] = ray.get_actor(report.am_actor,
                                                                namespace=NAMESPACE)
            return ray.get(am.app_status.remote(report.app_id), timeout=30)
        except (ValueError, ray.exceptions.RayError):
            self._ams.pop(report.am_actor, None)
            return None

    def poll(self, app_id: str, timeout: float) -> ApplicationReport:
        """The application's report as soon as it is final, or after ``timeout`` seconds."""
        return call_rm("wait_final", app_id, max(0.0, float(timeout)))

    def wait(self, app_id: str, timeout: float | None = None) -> ApplicationReport:
        """Block until the application is FINISHED, FAILED or KILLED; returns its report."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 2.0 if deadline is None else max(0.0, min(2.0, deadline - time.monotonic()))
            report = call_rm("wait_final", app_id, step)
            if report.state.final:
                return report
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"application {app_id} still {report.state.value} after "
                                   f"{timeout:g} s")

    def result(self, app_id: str, timeout: float | None = None) -> Any:
        """``am_main``'s return value; raises its error, or ClusterError if killed/failed."""
        if app_id in self._results:
            return _deliver(app_id, self._results[app_id])
        report = self.wait(app_id, timeout)
        try:
            am = ray.get_actor(report.am_actor, namespace=NAMESPACE)
            outcome = ray.get(am.take_result.remote(app_id), timeout=60)
            am.release.remote(app_id)
        except (ValueError, ray.exceptions.RayActorError, ClusterError):
            if report.state.value == "KILLED":
                raise ClusterError(f"application {app_id} was killed: {report.diagnostics}") from None
            raise ClusterError(f"application {app_id} {report.state.value}: "
                               f"{report.diagnostics or 'its result is no longer available'}") from None
        if report.state.value == "KILLED" and outcome[0] == "ok":
            outcome = ("err", ClusterError(f"application {app_id} was killed: {report.diagnostics}"))
        self._results[app_id] = outcome
        return _deliver(app_id, outcome)

    def nodes(self) -> list[NodeReport]:
        return call_rm("nodes")

    def logs(self, app_id: str) -> tuple[ApplicationReport, list]:
        """The application's report and its containers' aggregated logs
        (``rayemr.yarn.logs.ContainerLogs``); an unknown id raises."""
        return call_rm("application_logs", app_id)

    def queue(self, name: str) -> dict:
        return call_rm("queue_info", name)

    def scheduler(self) -> dict:
        return call_rm("scheduler_info")

    def metrics(self) -> dict:
        return call_rm("metrics")


def _deliver(app_id: str, outcome: tuple[str, Any]) -> Any:
    kind, value = outcome
    if kind == "ok":
        return value
    if isinstance(value, BaseException):
        raise value
    raise ClusterError(f"application {app_id} failed: {value}")


__all__ = ["YarnClient", "YarnHandle", "start", "stop", "InputNotFoundError"]
