"""Run a StageGraph as a YARN application: the driver loop inside the ApplicationMaster.

The client submits an application (queue, user, name) whose ``am_main`` runs
:func:`rayemr.engine.driver.drive` with a :class:`YarnLauncher`: every task attempt asks the
ResourceManager for a container (1 vcore + ``mapreduce.{map,reduce}.memory.mb``) and runs as a
Ray task pinned to the container's node. Finished tasks give their container back at once.
Map outputs that were on a node YARN reports lost run again (Hadoop's behaviour), because
container tasks are not retried by Ray itself. Progress travels from the AM to the client
through a small actor the client owns; the client's ``cancel()`` kills the application.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from typing import Any, Callable, Sequence

from rayemr.engine.launchers import Attempt, RayTasks, ray_attempt
from rayemr.engine.tasks import AttemptSpec

log = logging.getLogger(__name__)

MAP_PRIORITY, REDUCE_PRIORITY = 20, 10
#: How often the client looks at progress and its cancel flag while the application runs.
POLL_S = 0.2


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
        self._remote = self._ray.remote(ray_attempt)
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

    def set_kinds(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> Attempt:
        handle = Attempt(spec, args)
        self.queued[self.kinds.get(spec.stage_id, "map")].append(handle)
        return handle

    def _heartbeat(self) -> None:
        from rayemr.yarn import ContainerRequest

        asks = []
        for kind, queue in self.queued.items():
            want = len(queue) - self.asked[kind]
            if want > 0:
                asks.append(ContainerRequest(self.resources[kind], want,
                                             MAP_PRIORITY if kind == "map" else REDUCE_PRIORITY))
                self.asked[kind] += want
        resp = self.amrm.allocate(asks=asks, progress=self.progress)
        if resp.killed:
            from rayemr.core.errors import ClusterError

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


class _ProgressBoard:
    """Owned by the client; the AM posts progress here, the client polls it."""

    def __init__(self) -> None:
        self.value = None

    def post(self, value) -> None:
        self.value = value

    def get(self):
        return self.value


def _am_main(amrm: Any, payload: dict[str, Any]):
    from rayemr.engine.driver import drive

    graph = payload["graph"]
    board = payload.get("board")
    launcher = YarnLauncher(amrm, dict(graph.conf) | dict(payload.get("conf") or {}))
    launcher.set_kinds({s.id: s.kind for s in graph.stages})
    total = sum(s.num_tasks for s in graph.stages)

    def progress(p) -> None:
        launcher.progress = sum(d for _, d, _ in p.stages) / max(1, total)
        if board is not None:
            board.post.remote(p)

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


def run_on_yarn(graph, *, queue: str = "default", app_name: str | None = None,
                conf: dict[str, str] | None = None, committer: Any = None,
                max_attempts: int = 4, progress: Callable | None = None,
                cancel: Callable[[], bool] | None = None):
    import ray

    import rayemr.yarn as yarn
    from rayemr.core.errors import RayEmrError

    yarn.start()
    client = yarn.YarnClient()
    board = ray.remote(num_cpus=0)(_ProgressBoard).remote() if progress else None
    spec = yarn.ApplicationSpec(app_name or graph.name, app_type="MAPREDUCE", queue=queue)
    payload = {"graph": graph, "conf": conf, "committer": committer,
               "max_attempts": max_attempts, "board": board}
    app_id = client.submit(spec, _am_main, payload)
    log.info("submitted %s as %s to queue %s", graph.name, app_id, queue)
    last = None
    try:
        while True:
            if cancel is not None and cancel():
                client.kill(app_id)
            if board is not None:
                p = ray.get(board.get.remote())
                if p is not None and p is not last:
                    if last is None or p.line() != last.line():
                        progress(p)
                    last = p
            report = client.poll(app_id, POLL_S)  # returns at once when the app ends
            if report.state.final:
                break
        try:
            result = client.result(app_id)
        except RayEmrError:
            raise
        if board is not None:
            p = ray.get(board.get.remote())
            if p is not None and (last is None or p.line() != last.line()):
                progress(p)
        result.app_id = app_id
        return result
    finally:
        if board is not None:
            ray.kill(board)
