"""Where task attempts run: in this process, as Ray tasks, or in YARN containers.

A launcher turns an :class:`~rayemr.engine.tasks.AttemptSpec` plus its argument values (Ray
object refs for shuffle blocks) into an :class:`Attempt` handle. The driver waits on
handles, reads each finished attempt's small outcome, and hands its output blocks (object
refs that stay in Ray's object store) to downstream tasks as arguments.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol, Sequence

from rayemr.engine import interrupt

from rayemr.engine.tasks import AttemptOutcome, AttemptSpec, execute_attempt


class Attempt:
    """A launched (or queued) attempt: its outcome ref, output block refs, and node."""

    __slots__ = ("spec", "args", "outcome_ref", "block_refs", "node_id", "container")

    def __init__(self, spec: AttemptSpec, args: Sequence[Any]) -> None:
        self.spec = spec
        self.args = list(args)
        self.outcome_ref: Any = None
        self.block_refs: list[Any] = []
        self.node_id: str | None = None
        self.container: Any = None

    def started(self, refs: Any) -> None:
        refs = refs if isinstance(refs, list) else [refs]
        self.outcome_ref, self.block_refs = refs[0], refs[1:]
        self.args = []


class Launcher(Protocol):
    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> Attempt: ...

    def wait(self, handles: Sequence[Attempt], timeout: float) -> list[Attempt]: ...

    def outcome(self, spec: AttemptSpec, handle: Attempt) -> AttemptOutcome: ...

    def blocks(self, handle: Attempt) -> list[Any]: ...

    def location(self, handle: Attempt) -> str | None: ...

    def lost_nodes(self) -> set[str]: ...

    def fetch(self, blocks: Sequence[Any]) -> list[Any]: ...

    def cancel(self, handles: Sequence[Attempt]) -> None: ...

    def close(self) -> None: ...


def system_failure(spec: AttemptSpec, exc: BaseException) -> AttemptOutcome:
    """An attempt lost to the system (worker or node died, object lost): retriable."""
    text = str(exc).strip()
    return AttemptOutcome(spec.stage_id, spec.task_index, spec.attempt, False, {},
                          error=None, error_type=type(exc).__name__,
                          error_message=text.splitlines()[0] if text else "",
                          traceback=text, retriable=True, split=spec.split)


def ray_attempt(fn, spec: AttemptSpec, *values):
    """The Ray task body: the stage function travels once per stage as an object ref.
    What the attempt prints and logs comes back with its outcome (its container's logs)."""
    from rayemr.engine import tasklog

    with tasklog.captured() as buffers:
        out = execute_attempt(dataclasses.replace(spec, fn=fn), *values)
    outcome = out[0] if isinstance(out, tuple) else out
    outcome.logs = tasklog.texts(buffers)
    return out


_REMOTE: dict[str, Any] = {}


def remote_attempt():
    """``ray.remote(ray_attempt)``, made once per process (and so exported once)."""
    remote = _REMOTE.get("attempt")
    if remote is None:
        import ray

        remote = _REMOTE["attempt"] = ray.remote(ray_attempt)
    return remote


class InlineLauncher:
    """Runs each attempt to completion in this process when it is launched. While it runs,
    the job's ``cancel()`` is watched (:mod:`rayemr.engine.interrupt`): once it is set, what
    the attempt registered is interrupted and a failed attempt is reported killed."""

    def __init__(self, cancel: Callable[[], bool] | None = None) -> None:
        self._cancel = cancel

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> Attempt:
        with interrupt.watch(self._cancel, f"{spec.stage_id}-{spec.task_index:05d}") as scope:
            out = execute_attempt(spec, *args)
        outcome = out[0] if isinstance(out, tuple) else out
        if scope.stopped and not outcome.ok:
            outcome.killed = True
        handle = Attempt(spec, ())
        handle.started(list(out) if spec.num_returns > 1 else [out])
        return handle

    def wait(self, handles: Sequence[Attempt], timeout: float) -> list[Attempt]:
        return list(handles)

    def outcome(self, spec: AttemptSpec, handle: Attempt) -> AttemptOutcome:
        return handle.outcome_ref

    def blocks(self, handle: Attempt) -> list[Any]:
        return handle.block_refs

    def location(self, handle: Attempt) -> str | None:
        return None

    def lost_nodes(self) -> set[str]:
        return set()

    def fetch(self, blocks: Sequence[Any]) -> list[Any]:
        return list(blocks)

    def cancel(self, handles: Sequence[Attempt]) -> None:
        pass

    def close(self) -> None:
        pass


#: How long cancelling waits for the cancelled tasks' processes to end.
CANCEL_WAIT_S = 30.0


class RayTasks:
    """Shared Ray plumbing: stage functions put once, waiting, outcomes, cancelling."""

    def __init__(self) -> None:
        import ray

        self._ray = ray
        self._fn_refs: dict[int, tuple[Any, Any]] = {}

    def fn_ref(self, fn) -> Any:
        ref = self._fn_refs.get(id(fn))
        if ref is None:
            ref = self._fn_refs[id(fn)] = (self._ray.put(fn), fn)
        return ref[0]

    def wait(self, handles: Sequence[Attempt], timeout: float) -> list[Attempt]:
        started = {h.outcome_ref: h for h in handles if h.outcome_ref is not None}
        if not started:
            return []
        refs = list(started)
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout, fetch_local=True)
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        return [started[r] for r in ready]

    def outcome(self, spec: AttemptSpec, handle: Attempt) -> AttemptOutcome:
        try:
            return self._ray.get(handle.outcome_ref)
        except self._ray.exceptions.RayError as exc:
            return system_failure(spec, exc)

    def blocks(self, handle: Attempt) -> list[Any]:
        return handle.block_refs

    def location(self, handle: Attempt) -> str | None:
        return handle.node_id

    def lost_nodes(self) -> set[str]:
        return set()

    def fetch(self, blocks: Sequence[Any]) -> list[Any]:
        return self._ray.get(list(blocks))

    def cancel(self, handles: Sequence[Attempt]) -> None:
        """Kill the attempts' tasks and return once they have ended (at most
        ``CANCEL_WAIT_S``): the caller aborts the job's output next, and a task still
        running would write attempt files after that."""
        refs = [h.outcome_ref for h in handles if h.outcome_ref is not None]
        for ref in refs:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 -- already finished or gone
                pass
        if refs:
            self._ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S,
                           fetch_local=False)

    def close(self) -> None:
        self._fn_refs.clear()


class RayLauncher(RayTasks):
    """Each attempt is a Ray task (1 CPU); Ray retries it when its worker or node dies and
    rebuilds lost shuffle blocks from lineage."""

    def __init__(self, num_cpus: float = 1, system_retries: int = 3) -> None:
        super().__init__()
        self._remote = remote_attempt()
        self._num_cpus = num_cpus
        self._retries = system_retries

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> Attempt:
        handle = Attempt(spec, ())
        refs = self._remote.options(
            num_returns=spec.num_returns, num_cpus=self._num_cpus,
            max_retries=self._retries, retry_exceptions=False,
            name=f"{spec.stage_id}-{spec.task_index:05d}_{spec.attempt}",
        ).remote(self.fn_ref(spec.fn), dataclasses.replace(spec, fn=None), *args)
        handle.started(list(refs) if spec.num_returns > 1 else [refs])
        return handle
