"""The ApplicationMaster actor and the ``AMRMClient`` it hands to ``am_main``.

The AM is a detached Ray actor started in the application's first container (pinned to that
container's node). It calls ``am_main(amrm_client, payload)``; the client asks the
ResourceManager for containers in batches (one ``allocate`` heartbeat returns every grant made
since the last one) and runs work in a container by submitting a Ray task straight from the AM,
pinned to the container's node with the container's CPU and memory: no actor hop per
container. A container's task finishing completes the container at the next heartbeat.

AM processes are reused: an idle one on the container's node runs the next application, so
submitting to a warm cluster costs milliseconds, not a new worker process.

The AM actor itself takes no Ray CPU (``num_cpus=0``): it mostly waits, and YARN's default
resource calculator accounts an AM container by memory only, so on a 2-core laptop both cores
stay free for tasks. Its memory is accounted by the ResourceManager.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rayemr.core.errors import ClusterError, RayEmrError, UserError
from rayemr.runtime import NAMESPACE, remote_errors
from rayemr.yarn.records import AllocateResponse, Container, ContainerRequest, ContainerStatus
from rayemr.yarn.states import ContainerState, FinalStatus

log = logging.getLogger(__name__)
MiB = 1024 * 1024
RM_NAME = "rayemr_yarn_resourcemanager"
#: How long an AM keeps retrying the ResourceManager while it restarts.
RM_RETRY_S = 120.0


def am_actor_name(node_id: str, unique: str) -> str:
    """AM processes are started ahead of need and reused, so named by node, not application."""
    return f"rayemr_am_{node_id[:16]}_{unique}"


#: How long a missing (not restarting) ResourceManager is looked for.
RM_LOOKUP_S = 3.0


_RM_HANDLE: dict = {}


def _rm_handle():
    """The RM actor handle, looked up once per process and Ray cluster (again after a failure).

    Keyed by the cluster's GCS address: a process that shuts Ray down and joins another
    cluster must not reuse a handle to the old cluster's ResourceManager.
    """
    key = ray.get_runtime_context().gcs_address
    handle = _RM_HANDLE.get(key)
    if handle is None:
        _RM_HANDLE.clear()
        handle = _RM_HANDLE[key] = ray.get_actor(RM_NAME, namespace=NAMESPACE)
    return handle


def call_rm(method: str, *args, timeout: float = RM_RETRY_S, **kwargs):
    """Call the ResourceManager, riding out a restart; re-raise its errors unwrapped."""
    start = time.monotonic()
    delay = 0.05
    while True:
        try:
            rm = _rm_handle()
        except ValueError:
            if time.monotonic() - start > RM_LOOKUP_S:
                raise ClusterError("YARN is not running on this Ray cluster (no ResourceManager)",
                                   hint="start it with rayemr.yarn.start() or `rayemr yarn start`"
                                   ) from None
            time.sleep(delay)
            continue
        try:
            with remote_errors(RayEmrError):
                return ray.get(getattr(rm, method).remote(*args, **kwargs))
        except ray.exceptions.RayActorError as exc:  # restarting: wait for it
            _RM_HANDLE.clear()
            if time.monotonic() - start > timeout:
                raise ClusterError(f"the ResourceManager is unavailable ({type(exc).__name__})",
                                   hint="check the Ray head node") from None
            time.sleep(delay)
            delay = min(1.0, delay * 2)


class AMRMClient:
    """What ``am_main`` receives: ask for containers, run work in them, finish."""

    def __init__(self, app_id: str, am_container: Container | None = None,
                 am_actor: str = "") -> None:
        self.app_id = app_id
        self.am_container = am_container
        self.am_actor = am_actor
        self.killed = False
        #: Whatever ``am_main`` last posted for its client to see (``post_status``).
        self.status: Any = None
        self.final_status: FinalStatus | None = None
        self.diagnostics = ""
        self._lock = threading.RLock()
        self._live: dict[str, Container] = {}
        self._refs: dict[str, ray.ObjectRef] = {}
        self._launched: list[str] = []
        self._release: list[str] = []
        self._outstanding: dict[tuple, int] = {}
        self._asks: dict[tuple, ContainerRequest] = {}
        self._remotes: dict = {}

    # -- heartbeat --------------------------------------------------------------------------
    def allocate(self, asks: Iterable[ContainerRequest] = (), release: Iterable[str] = (),
                 progress: float | None = None) -> AllocateResponse:
        """Send new asks and releases; get every container granted since the last call."""
        asks = list(asks)
        with self._lock:
            done = self._finished_containers()
            release = [c for c in release if c in self._live] + self._release
            self._release = []
            launched, self._launched = self._launched, []
            for ask in asks:
                self._outstanding[ask.key] = max(0, self._outstanding.get(ask.key, 0) + ask.count)
                self._asks[ask.key] = ask
            resp = call_rm("allocate", self.app_id, asks, release, done, launched, progress)
            if resp.resync:  # the RM restarted: tell it what this AM still holds and wants
                gone = set(release) | set(done)
                live = [c for cid, c in self._live.items() if cid not in gone]
                call_rm("resync", self.app_id, live, self._pending_asks())
                resp = call_rm("allocate", self.app_id, [], [], [], [], progress)
            for cid in list(release) + list(done):
                self._live.pop(cid, None)
                self._refs.pop(cid, None)
            for c in resp.allocated:
                self._live[c.container_id] = c
                if c.request_key in self._outstanding:
                    self._outstanding[c.request_key] = max(0, self._outstanding[c.request_key] - 1)
            if resp.killed:
                self._on_killed()
            for st in resp.completed:
                self._live.pop(st.container_id, None)
                ref = self._refs.pop(st.container_id, None)
                if ref is not None and st.state == ContainerState.KILLED:
                    _cancel(ref)  # the RM ended the container: stop what runs in it
            own = tuple(ContainerStatus(cid, ContainerState.COMPLETED, 0, "", "") for cid in done)
            if own:
                resp = AllocateResponse(resp.allocated, own + resp.completed, resp.lost_nodes,
                                        resp.killed, resp.available, resp.num_cluster_nodes)
            return resp

    def _pending_asks(self) -> list[ContainerRequest]:
        out = []
        for key, n in self._outstanding.items():
            if n > 0:
                a = self._asks[key]
                out.append(ContainerRequest(a.resource, n, a.priority, a.nodes, a.relax_locality))
        return out

    def _finished_containers(self) -> list[str]:
        if not self._refs:
            return []
        by_ref = {ref: cid for cid, ref in self._refs.items()}
        ready, _ = ray.wait(list(by_ref), num_returns=len(by_ref), timeout=0, fetch_local=False)
        return [by_ref[r] for r in ready]

    def post_status(self, value: Any) -> None:
        """Publish a status object (e.g. per-stage progress) that the client can read with
        ``YarnClient.am_status`` while the application runs."""
        self.status = value

    def release(self, container_ids: Iterable[str]) -> None:
        """Give containers back at the next heartbeat (unused ones, or to stop early)."""
        with self._lock:
            for cid in container_ids:
                if cid in self._live:
                    self._release.append(cid)

    # -- running work -----------------------------------------------------------------------
    def launch(self, container: Container, fn: Callable, *args, num_returns: int = 1,
               **kwargs) -> Any:
        """Run ``fn(*args, **kwargs)`` as a Ray task in ``container``; returns its ObjectRef(s).

        The task is pinned to the container's node (hard affinity) and takes the container's
        CPU and memory. One task per container; the container completes when the task ends.
        """
        with self._lock:
            if self.killed:
                raise ClusterError(f"application {self.app_id} was killed; not launching more work")
            cid = container.container_id
            if cid not in self._live:
                raise UserError(f"container {cid} is not held by {self.app_id} (never granted, "
                                "released, completed or lost)")
            if cid in self._refs:
                raise UserError(f"container {cid} already runs a task; ask for another container")
            remote = self._remote(fn)
            res = container.resource
            opts: dict = {
                "num_cpus": res.vcores, "num_returns": num_returns, "max_retries": 0,
                "scheduling_strategy": NodeAffinitySchedulingStrategy(container.node_id, soft=False),
            }
            if res.memory_mb:
                opts["memory"] = res.memory_mb * MiB
            refs = remote.options(**opts).remote(*args, **kwargs)
            self._refs[cid] = refs[0] if isinstance(refs, list) else refs
            self._launched.append(cid)
            return refs

    def _remote(self, fn: Callable):
        if isinstance(fn, ray.remote_function.RemoteFunction):
            return fn
        remote = self._remotes.get(fn)
        if remote is None:
            remote = self._remotes[fn] = ray.remote(fn)
        return remote

    @property
    def running(self) -> dict[str, Container]:
        """Containers held now, by id."""
        return dict(self._live)

    # -- ending -----------------------------------------------------------------------------
    def finish(self, final_status: FinalStatus | str = FinalStatus.SUCCEEDED,
               diagnostics: str = "", wait: bool = True) -> Callable[[], None] | None:
        """Unregister: the application ends with ``final_status`` and its containers go.

        With ``wait=False`` the call is sent and a function is returned that waits for it
        (and retries through an RM restart); call it before relying on the final state.
        """
        with self._lock:
            if self.final_status is not None:
                return (lambda: None) if not wait else None
            self.final_status = FinalStatus(final_status)
            self.diagnostics = diagnostics
        args = (self.app_id, self.final_status.value, diagnostics, self.am_actor)
        if wait:
            call_rm("finish", *args)
            return None
        try:
            ref = _rm_handle().finish.remote(*args)
        except Exception:  # noqa: BLE001 - no handle now: finish synchronously when asked
            ref = None

        def done() -> None:
            try:
                if ref is not None:
                    with remote_errors(RayEmrError):
                        ray.get(ref)
                    return
            except ray.exceptions.RayActorError:
                _RM_HANDLE.clear()  # restarting: the synchronous call rides it out
            call_rm("finish", *args)

        return done

    def _on_killed(self) -> None:
        with self._lock:
            self.killed = True
            refs = list(self._refs.values())
        for ref in refs:
            _cancel(ref)


def _cancel(ref) -> None:
    try:
        ray.cancel(ref, force=True)
    except Exception:  # already finished
        pass


class _AppRun:
    """One application's run inside an AM process: its client, outcome and retention."""

    __slots__ = ("client", "done", "result", "expires")

    def __init__(self, client: AMRMClient) -> None:
        self.client = client
        self.done = threading.Event()
        self.result: tuple[str, Any] = ("err", ClusterError("the ApplicationMaster has not run"))
        self.expires = float("inf")


#: Modules an idle AM process imports ahead of need, so the first application it runs does
#: not pay for them (the engine's driver pulls in pyarrow).
PRELOAD = ("rayemr.engine.yarn_runner", "rayemr.engine.driver")


class ApplicationMaster:
    """An ApplicationMaster process: runs one application's ``am_main`` at a time.

    The NodeManager keeps a few idle AM processes per node and hands each new application's
    AM container to one of them, as YARN reuses a container's JVM: the process, its imported
    modules and its Ray worker state outlive one application, so an application starts in
    milliseconds. Each application's result is kept (keyed by application id) until its
    client takes it or ``retention_s`` passes. A killed application whose AM does not stop
    within the grace period has its whole process killed by the ResourceManager; such a
    process is never reused.
    """

    def __init__(self, name: str = "", node_manager: Any = None,
                 max_applications: int = 100) -> None:
        self.name = name
        self._nm = node_manager
        self._max_apps = max(1, int(max_applications))
        self._apps_run = 0
        self._lock = threading.Lock()
        self._runs: dict[str, _AppRun] = {}
        self._current: str | None = None
        self._retiring = False
        threading.Thread(target=_preload, daemon=True, name="am-preload").start()

    def run_async(self, app_id: str, container: Container, blob: bytes,
                  retention_s: float) -> bool:
        """Start ``am_main(client, payload)`` of ``app_id`` on a thread of its own.

        Returns False (and runs nothing) when this process is busy, retiring, or ran
        ``app_id`` before; True once the application is this process's.
        """
        with self._lock:
            if self._current is not None or app_id in self._runs or self._retiring:
                return False
            self._current = app_id
            self._apps_run += 1
            run = self._runs[app_id] = _AppRun(AMRMClient(app_id, container, self.name))
        threading.Thread(target=self._run, args=(run, blob, retention_s), daemon=True,
                         name=f"am-{app_id}").start()
        return True

    def _run(self, run: _AppRun, blob: bytes, retention_s: float) -> None:
        """Unpickle ``(am_main, payload)``, run it, unregister, keep the result."""
        client = run.client
        try:
            am_main, payload = ray.cloudpickle.loads(blob)
            value = am_main(client, payload)
            run.result = ("ok", value)
            status = FinalStatus.KILLED if client.killed else FinalStatus.SUCCEEDED
            diag = "killed" if client.killed else ""
        except BaseException as exc:  # noqa: BLE001 - reported to the client
            run.result = ("err", _picklable(exc))
            status = FinalStatus.KILLED if client.killed else FinalStatus.FAILED
            diag = f"{type(exc).__name__}: {exc}"
        try:
            if client.final_status is None:
                client.finish(status, diag[:4000])
        finally:
            run.expires = time.monotonic() + retention_s
            run.done.set()
            with self._lock:
                self._current = None
            self._expire_later(retention_s)
            if client.killed or self._nm is None or self._apps_run >= self._max_apps:
                self.retire()  # not reused after a kill, nor beyond max-applications
            else:
                try:
                    self._nm.am_idle.remote(self.name)
                except Exception:  # noqa: BLE001 - the NodeManager is gone: not reused
                    self.retire()

    def _slot(self, app_id: str) -> _AppRun:
        run = self._runs.get(app_id)
        if run is None:
            raise ClusterError(f"application {app_id} has no result in ApplicationMaster "
                               f"{self.name} (never ran here, or already taken)")
        return run

    def wait_done(self, app_id: str) -> bool:
        self._slot(app_id).done.wait()
        return True

    def take_result(self, app_id: str) -> tuple[str, Any]:
        run = self._slot(app_id)
        run.done.wait()
        return run.result

    def release(self, app_id: str) -> None:
        """The client holds the result: drop it. Called after ``take_result`` returned, so
        the reply can never be lost to a retiring process's exit."""
        with self._lock:
            self._runs.pop(app_id, None)
        self._maybe_exit()

    def app_status(self, app_id: str) -> Any:
        """What the application's ``am_main`` last posted (None if nothing or unknown)."""
        run = self._runs.get(app_id)
        return None if run is None else run.client.status

    def on_killed(self, app_id: str, reason: str) -> None:
        run = self._runs.get(app_id)
        if run is not None:
            run.client._on_killed()

    def retire(self) -> None:
        """Run no more applications; exit once every kept result is taken or expired."""
        with self._lock:
            self._retiring = True
        self._maybe_exit()

    def ping(self) -> str:
        return self.name

    def _expire_later(self, delay: float) -> None:
        timer = threading.Timer(delay + 0.05, self._expire)
        timer.daemon = True
        timer.start()

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            for app_id in [a for a, r in self._runs.items() if r.done.is_set() and r.expires <= now]:
                self._runs.pop(app_id)
        self._maybe_exit()

    def _maybe_exit(self) -> None:
        with self._lock:
            idle = self._retiring and self._current is None and not self._runs
        if idle:
            threading.Timer(0.1, self._exit).start()

    def _exit(self) -> None:
        try:
            ray.kill(ray.get_runtime_context().current_actor)
        except Exception:  # pragma: no cover - already gone
            pass


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a warm-up; the application imports for real
            log.debug("preloading %s failed", name, exc_info=True)


def _picklable(exc: BaseException) -> BaseException:
    try:
        ray.cloudpickle.loads(ray.cloudpickle.dumps(exc))
        return exc
    except Exception:
        return ClusterError(f"{type(exc).__name__}: {exc}")
