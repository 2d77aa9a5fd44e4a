"""Run a StageGraph on YARN: as one application, or as one application per stage.

``job`` mode (the default): the client submits an application (queue, user, name) whose
``am_main`` runs :func:`rayemr.engine.driver.drive` with a :class:`YarnLauncher` inside the
ApplicationMaster: every task attempt asks the ResourceManager for a container (1 vcore +
``mapreduce.{map,reduce}.memory.mb``) and runs as a Ray task pinned to the container's node.
Finished tasks give their container back at once. Map outputs that were on a node YARN
reports lost run again (Hadoop's behaviour), because container tasks are not retried by Ray
itself. The AM posts per-stage progress, which the client reads from the AM while it waits;
the client's ``cancel()`` kills the application.

``stage`` mode (``rayemr.engine.yarn.applications=stage``): :class:`StageApplications` runs
the driver in the client and makes every stage its own application with the client as its
unmanaged ApplicationMaster, as Hive on MapReduce runs one job per stage.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Sequence

from rayemr.core.errors import ClusterError, ConfigError
from rayemr.engine.driver import drive
from rayemr.engine.errors import JobKilledError
from rayemr.engine.launchers import Attempt, RayTasks, remote_attempt
from rayemr.engine.tasks import AttemptSpec

log = logging.getLogger(__name__)

MAP_PRIORITY, REDUCE_PRIORITY = 20, 10
#: How often the client looks at progress and its cancel flag while the application runs.
POLL_S = 0.2
#: With nothing waiting for a container, an AM heartbeats at most this often (to report
#: finished containers, progress and liveness); with attempts waiting, at every turn.
HEARTBEAT_S = 1.0  # MapReduce's yarn.app.mapreduce.am.scheduler.heartbeat.interval-ms
#: Container logs the AM holds before it sends them to the ResourceManager (and at the end).
LOG_BATCH = 32


def available() -> bool:
    """True when ``rayemr.yarn`` offers the client and ApplicationMaster API."""
    try:
        import rayemr.yarn as yarn

        return all(hasattr(yarn, n) for n in ("YarnClient", "ApplicationSpec", "start",
                                               "ContainerRequest", "Resource"))
    except Exception:  # noqa: BLE001 -- any import problem means: not available
        return False


def enabled() -> bool:
    """Whether ``run_graph(runner="ray")`` goes through YARN by default."""
    return available()


class YarnLauncher(RayTasks):
    """Launches attempts in containers granted by the ResourceManager."""

    def __init__(self, amrm: Any, conf: dict[str, str]) -> None:
        super().__init__()
        from rayemr.yarn import Resource

        self.amrm = amrm
        self._remote = remote_attempt()
        self.resources = {
            "map": Resource(1, int(conf.get("mapreduce.map.memory.mb", 512))),
            "reduce": Resource(1, int(conf.get("mapreduce.reduce.memory.mb", 512))),
        }
        self.queued: dict[str, deque[Attempt]] = {"map": deque(), "reduce": deque()}
        self.asked = {"map": 0, "reduce": 0}
        self.kinds: dict[str, str] = {}
        self.by_container: dict[str, Attempt] = {}
        self._lost: set[str] = set()
        self.progress = 0.0
        self._last_beat = float("-inf")
        self.pending_logs: list[Any] = []

    def set_kinds(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds

    def outcome(self, spec: AttemptSpec, handle: Attempt):
        out = super().outcome(spec, handle)
        self.keep_logs(handle, out)
        return out

    def keep_logs(self, handle: Attempt, out) -> None:
        """Hold the attempt's logs for its container; they go to the RM in batches."""
        if handle.container and out.logs:
            from rayemr.yarn.logs import ContainerLogs

            self.pending_logs.append(ContainerLogs(str(handle.container),
                                                   handle.node_id or "", out.logs))

    def send_logs(self) -> None:
        """Aggregate the held container logs at the ResourceManager (never fails the job)."""
        if not self.pending_logs:
            return
        batch, self.pending_logs = self.pending_logs, []
        try:
            from rayemr.yarn.app_master import call_rm

            call_rm("put_container_logs", self.amrm.app_id, batch)
        except Exception:  # noqa: BLE001 -- logs are for reading later, not the job's fate
            log.warning("could not aggregate the logs of %d containers of %s", len(batch),
                        self.amrm.app_id, exc_info=True)

    def close(self) -> None:
        self.send_logs()
        super().close()

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> Attempt:
        handle = Attempt(spec, args)
        self.queued[self.kinds.get(spec.stage_id, "map")].append(handle)
        return handle

    def _heartbeat(self) -> None:
        from rayemr.yarn import ContainerRequest

        now = time.monotonic()
        if not any(self.queued.values()) and now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        if len(self.pending_logs) >= LOG_BATCH:
            self.send_logs()
        asks = []
        for kind, queue in self.queued.items():
            want = len(queue) - self.asked[kind]
            if want > 0:
                asks.append(ContainerRequest(self.resources[kind], want,
                                             MAP_PRIORITY if kind == "map" else REDUCE_PRIORITY))
                self.asked[kind] += want
        resp = self.amrm.allocate(asks=asks, progress=self.progress)
        if resp.killed:
            raise ClusterError("the application was killed")
        self._lost.update(resp.lost_nodes)
        unused = []
        for c in resp.allocated:
            granted = "map" if c.priority == MAP_PRIORITY else "reduce"
            self.asked[granted] = max(0, self.asked[granted] - 1)
            kind = granted if self.queued[granted] else (
                "reduce" if granted == "map" else "map")
            if not self.queued[kind] or c.resource != self.resources[kind]:
                unused.append(c.container_id)
                continue
            handle = self.queued[kind].popleft()
            spec = handle.spec
            refs = self.amrm.launch(c, self._remote, self.fn_ref(spec.fn),
                                    dataclasses.replace(spec, fn=None), *handle.args,
                                    num_returns=spec.num_returns)
            handle.started(list(refs) if spec.num_returns > 1 else [refs])
            handle.node_id, handle.container = c.node_id, c.container_id
        if unused:
            self.amrm.release(unused)

    def wait(self, handles: Sequence[Attempt], timeout: float) -> list[Attempt]:
        self._heartbeat()
        if not any(h.outcome_ref is not None for h in handles):
            time.sleep(min(timeout, 0.02))
            return []
        return super().wait(handles, timeout=min(timeout, 0.2))

    def lost_nodes(self) -> set[str]:
        lost, self._lost = self._lost, set()
        return lost

    def cancel(self, handles: Sequence[Attempt]) -> None:
        super().cancel(handles)
        for q in self.queued.values():
            q.clear()


class StageApplications(RayTasks):
    """Every stage of the graph is a YARN application of its own (Hive on MapReduce's
    model): its ApplicationMaster is this process (an unmanaged AM), so the shuffle blocks
    its tasks return are owned here and outlive the stage's application. An application
    finishes when the stage's last task succeeds; a task re-run later (its output was on a
    lost node) runs in a new application.

    The handshakes stay off the critical path: while a stage runs, the applications of the
    stages that consume it are registered by a helper thread (they then heartbeat like any
    open one), and a finished stage's logs and unregistration go out on that thread too.
    """

    def __init__(self, client: Any, graph: Any, conf: dict[str, str], queue: str) -> None:
        super().__init__()
        self.client, self.graph, self.conf, self.queue = client, graph, conf, queue
        self.kinds = {s.id: s.kind for s in graph.stages}
        self.open: dict[str, YarnLauncher] = {}
        self.app_ids: list[str] = []
        self._ahead: dict[str, Future] = {}  # stage id -> its application, registering
        self._finishing: list[Future] = []  # finished stages: logs sent, unregistered
        self._helper: ThreadPoolExecutor | None = None
        self.done: dict[str, int] = {}

    def _background(self, fn: Callable, *args) -> Future:
        if self._helper is None:
            self._helper = ThreadPoolExecutor(1, thread_name_prefix="stage-applications")
        return self._helper.submit(fn, *args)

    def _register(self, stage_id: str) -> Any:
        from rayemr.yarn import ApplicationSpec

        spec = ApplicationSpec(f"{self.graph.name} ({stage_id})", app_type="MAPREDUCE",
                               queue=self.queue, unmanaged_am=True)
        return self.client.register_unmanaged(spec)

    def _open(self, stage_id: str, amrm: Any) -> YarnLauncher:
        sub = YarnLauncher(amrm, self.conf)
        sub.set_kinds(self.kinds)
        sub._fn_refs = self._fn_refs  # each stage function is put once
        sub._last_beat = time.monotonic()  # registering was its first heartbeat
        self.open[stage_id] = sub
        self.app_ids.append(amrm.app_id)
        log.info("stage %s of %s runs as %s in queue %s", stage_id, self.graph.name,
                 amrm.app_id, self.queue)
        for consumer in self.graph.consumers(stage_id):
            if consumer.id not in self.open and consumer.id not in self._ahead \
                    and consumer.id not in self.done:
                self._ahead[consumer.id] = self._background(self._register, consumer.id)
        return sub

    def _opened_ahead(self, block_for: str | None = None) -> None:
        """Open the applications registered ahead that are ready (and ``block_for``'s)."""
        for stage_id, fut in list(self._ahead.items()):
            if stage_id == block_for or fut.done():
                del self._ahead[stage_id]
                self._open(stage_id, fut.result())

    def _stage(self, stage_id: str) -> YarnLauncher:
        if stage_id in self._ahead:
            self._opened_ahead(block_for=stage_id)
        sub = self.open.get(stage_id)
        return sub if sub is not None else self._open(stage_id, self._register(stage_id))

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> Attempt:
        return self._stage(spec.stage_id).launch(spec, args)

    def wait(self, handles: Sequence[Attempt], timeout: float) -> list[Attempt]:
        if self._ahead:
            self._opened_ahead()
        for sub in list(self.open.values()):
            sub._heartbeat()
        if not any(h.outcome_ref is not None for h in handles):
            time.sleep(min(timeout, 0.01))
            return []
        return super().wait(handles, timeout=min(timeout, 0.2))

    def outcome(self, spec: AttemptSpec, handle: Attempt):
        out = super().outcome(spec, handle)
        sub = self.open.get(spec.stage_id)
        if sub is not None:
            sub.keep_logs(handle, out)
        if out.ok:
            n = self.done[spec.stage_id] = self.done.get(spec.stage_id, 0) + 1
            total = self.graph.stage(spec.stage_id).num_tasks
            if sub is not None:
                sub.progress = min(1.0, n / max(1, total))
                if n >= total:
                    del self.open[spec.stage_id]
                    self._finishing.append(self._background(_finish_stage, sub))
        return out

    def lost_nodes(self) -> set[str]:
        lost: set[str] = set()
        for sub in self.open.values():
            lost |= sub.lost_nodes()
        return lost

    def cancel(self, handles: Sequence[Attempt]) -> None:
        super().cancel(handles)
        for sub in self.open.values():
            for q in sub.queued.values():
                q.clear()

    def finish_all(self, status: str, diagnostics: str = "") -> None:
        """End every stage application still open or registered ahead (the job failed or
        was killed), and wait until the finished stages' applications are final."""
        for fut in self._finishing:
            try:
                fut.result()
            except Exception:  # noqa: BLE001 -- the job's outcome stands
                log.warning("a stage application did not finish cleanly", exc_info=True)
        self._finishing.clear()
        for stage_id, fut in list(self._ahead.items()):
            try:
                self.open.setdefault(stage_id, YarnLauncher(fut.result(), self.conf))
            except Exception:  # noqa: BLE001 -- it never got registered
                log.warning("registering the application of %s failed", stage_id,
                            exc_info=True)
        self._ahead.clear()
        for stage_id, sub in list(self.open.items()):
            sub.send_logs()
            try:
                sub.amrm.finish(status, diagnostics[:2000])
            except Exception:  # noqa: BLE001 -- keep the job's own error
                log.warning("could not finish %s", sub.amrm.app_id, exc_info=True)
        self.open.clear()
        if self._helper is not None:
            self._helper.shutdown(wait=True)
            self._helper = None


def _finish_stage(sub: YarnLauncher) -> None:
    """A finished stage: unregister and send its container logs to the ResourceManager,
    both calls in flight together (the job waits for the last stage's before it returns)."""
    done = sub.amrm.finish("SUCCEEDED", wait=False)
    sub.send_logs()
    if done is not None:
        done()


def _am_main(amrm: Any, payload: dict[str, Any]):
    graph = payload["graph"]
    launcher = YarnLauncher(amrm, dict(graph.conf) | dict(payload.get("conf") or {}))
    launcher.set_kinds({s.id: s.kind for s in graph.stages})
    total = sum(s.num_tasks for s in graph.stages)

    def progress(p) -> None:
        launcher.progress = sum(d for _, d, _ in p.stages) / max(1, total)
        amrm.post_status(p)

    try:
        result = drive(graph, launcher, conf=payload.get("conf"),
                       committer=payload.get("committer"),
                       max_attempts=payload.get("max_attempts", 4), progress=progress)
    except BaseException as exc:
        try:
            amrm.finish("FAILED", str(exc)[:2000])
        except Exception:  # noqa: BLE001 -- report the job's own error
            pass
        raise
    amrm.finish("SUCCEEDED")
    return result


#: ``rayemr.engine.yarn.applications``: ``job`` -- the whole graph is one application whose
#: ApplicationMaster runs in the cluster (a MapReduce job; Hive on Tez's DAG); ``stage`` --
#: one application per stage, the AM in the submitting process (Hive on MapReduce).
APPLICATIONS_KEY = "rayemr.engine.yarn.applications"
APPLICATION_MODES = ("job", "stage")


def run_on_yarn(graph, *, queue: str = "default", app_name: str | None = None,
                conf: dict[str, str] | None = None, committer: Any = None,
                max_attempts: int = 4, progress: Callable | None = None,
                cancel: Callable[[], bool] | None = None):
    import rayemr.yarn as yarn

    merged = dict(graph.conf) | dict(conf or {})
    mode = str(merged.get(APPLICATIONS_KEY, "job")).strip().lower()
    if mode not in APPLICATION_MODES:
        raise ConfigError(f"{APPLICATIONS_KEY}: {mode!r} is not one of "
                          f"{', '.join(APPLICATION_MODES)}")
    client = yarn.YarnClient()  # starts YARN if none runs
    if mode == "stage":
        return _run_stages(client, graph, merged, queue=queue, conf=conf, committer=committer,
                           max_attempts=max_attempts, progress=progress, cancel=cancel)
    spec = yarn.ApplicationSpec(app_name or graph.name, app_type="MAPREDUCE", queue=queue)
    payload = {"graph": graph, "conf": conf, "committer": committer,
               "max_attempts": max_attempts}
    app_id = client.submit(spec, _am_main, payload)
    log.info("submitted %s as %s to queue %s", graph.name, app_id, queue)
    last = None

    def show(report) -> None:
        nonlocal last
        p = client.am_status(report) if progress is not None else None
        if p is not None and (last is None or p.line() != last.line()):
            progress(p)
            last = p

    while True:
        if cancel is not None and cancel():
            client.kill(app_id)
        report = client.poll(app_id, POLL_S)  # returns at once when the app ends
        if report.state.final:
            break
        show(report)
    result = client.result(app_id)
    if progress is not None and result.progress is not None and (
            last is None or result.progress.line() != last.line()):
        progress(result.progress)
    result.app_id = app_id
    result.app_ids = [app_id]
    return result


def _run_stages(client, graph, merged: dict[str, str], *, queue: str, conf, committer,
                max_attempts: int, progress, cancel):
    launcher = StageApplications(client, graph, merged, queue)
    try:
        result = drive(graph, launcher, conf=conf, committer=committer,
                       max_attempts=max_attempts, progress=progress, cancel=cancel)
    except JobKilledError as exc:
        launcher.finish_all("KILLED", str(exc))
        raise
    except BaseException as exc:
        launcher.finish_all("FAILED", f"{type(exc).__name__}: {exc}")
        raise
    launcher.finish_all("SUCCEEDED")
    result.app_id = launcher.app_ids[0] if launcher.app_ids else None
    result.app_ids = list(launcher.app_ids)
    return result
