"""Where task attempts run: in this process, as Ray tasks, or in YARN containers.

A launcher turns an :class:`~rayemr.engine.tasks.AttemptSpec` plus its argument values (Ray
object refs for shuffle blocks) into handles: the first is the attempt's outcome, the rest its
output blocks. The driver only waits on outcome handles; blocks stay where they were made
(Ray's object store) until a downstream task takes them as arguments.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Sequence

from rayemr.engine.tasks import AttemptOutcome, AttemptSpec, execute_attempt


class Launcher(Protocol):
    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> list[Any]: ...

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]: ...

    def outcome(self, spec: AttemptSpec, handle: Any) -> AttemptOutcome: ...

    def fetch(self, handles: Sequence[Any]) -> list[Any]: ...

    def cancel(self, handles: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


def system_failure(spec: AttemptSpec, exc: BaseException) -> AttemptOutcome:
    """An attempt lost to the system (worker or node died, object lost): retriable."""
    return AttemptOutcome(spec.stage_id, spec.task_index, spec.attempt, False, {},
                          error=None, error_type=type(exc).__name__,
                          error_message=str(exc).strip().splitlines()[0] if str(exc) else "",
                          traceback=str(exc), retriable=True, split=spec.split)


class _Value:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class InlineLauncher:
    """Runs each attempt to completion in this process when it is launched."""

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> list[Any]:
        values = [a.value if isinstance(a, _Value) else a for a in args]
        out = execute_attempt(spec, *values)
        if spec.num_returns == 1:
            return [_Value(out)]
        return [_Value(v) for v in out]

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        return list(handles)

    def outcome(self, spec: AttemptSpec, handle: Any) -> AttemptOutcome:
        return handle.value

    def fetch(self, handles: Sequence[Any]) -> list[Any]:
        return [h.value for h in handles]

    def cancel(self, handles: Sequence[Any]) -> None:
        pass

    def close(self) -> None:
        pass


def _ray_attempt(fn, spec: AttemptSpec, *values):
    return execute_attempt(dataclasses.replace(spec, fn=fn), *values)


class RayLauncher:
    """Each attempt is a Ray task (1 CPU); Ray retries it when its worker or node dies and
    rebuilds lost shuffle blocks from lineage."""

    def __init__(self, num_cpus: float = 1, system_retries: int = 3) -> None:
        import ray

        self._ray = ray
        self._remote = ray.remote(_ray_attempt)
        self._num_cpus = num_cpus
        self._retries = system_retries
        self._fn_refs: dict[int, Any] = {}

    def _fn_ref(self, fn) -> Any:
        ref = self._fn_refs.get(id(fn))
        if ref is None:
            ref = self._fn_refs[id(fn)] = (self._ray.put(fn), fn)
        return ref[0]

    def launch(self, spec: AttemptSpec, args: Sequence[Any]) -> list[Any]:
        fn_ref = self._fn_ref(spec.fn)
        refs = self._remote.options(
            num_returns=spec.num_returns, num_cpus=self._num_cpus,
            max_retries=self._retries, retry_exceptions=False,
            name=f"{spec.stage_id}-{spec.task_index:05d}_{spec.attempt}",
        ).remote(fn_ref, dataclasses.replace(spec, fn=None), *args)
        return [refs] if spec.num_returns == 1 else list(refs)

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        if not handles:
            return []
        ready, _ = self._ray.wait(list(handles), num_returns=1, timeout=timeout,
                                  fetch_local=True)
        if ready:
            more, _ = self._ray.wait(list(handles), num_returns=len(handles), timeout=0)
            return more
        return []

    def outcome(self, spec: AttemptSpec, handle: Any) -> AttemptOutcome:
        try:
            return self._ray.get(handle)
        except self._ray.exceptions.RayError as exc:
            return system_failure(spec, exc)

    def fetch(self, handles: Sequence[Any]) -> list[Any]:
        return self._ray.get(list(handles))

    def cancel(self, handles: Sequence[Any]) -> None:
        for h in handles:
            try:
                self._ray.cancel(h, force=True)
            except Exception:  # noqa: BLE001 -- already finished or gone
                pass

    def close(self) -> None:
        self._fn_refs.clear()
