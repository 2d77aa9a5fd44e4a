"""In-process Kinesis: the control plane and shard hosts in the caller's process, no Ray.

For laptops, tests and the endpoint's ``--backend local``: the same cores, logs and API as on
Ray, one process. Only one process may serve a location at a time (a second one would write
the same logs); ``LocalKinesis.open`` returns the instance already serving a location in this
process.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Sequence

from rayemr.kinesis.catalog import Catalog
from rayemr.kinesis.config import KinesisSettings
from rayemr.kinesis.control import ControlPlane
from rayemr.kinesis.host import ShardHost, ShardSpec
from rayemr.kinesis.api import KinesisService


class _Done:
    """An already finished call (the common single-shard case runs inline)."""

    __slots__ = ("value", "error")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error


class LocalPool:
    """Shard hosts as objects in this process; several calls run on a small thread pool."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time,
                 threads: int = 8) -> None:
        self._key = key
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="kinesis-local")

    def start(self, spec: ShardSpec) -> ShardHost:
        return ShardHost(spec, key=self._key, clock=self._clock)

    def stop(self, handle: ShardHost, delete: bool) -> None:
        handle.stop(delete)

    def call_many(self, calls: Sequence[tuple[Any, str, tuple]]) -> list[Any]:
        if len(calls) == 1:
            handle, method, args = calls[0]
            try:
                return [_Done(getattr(handle, method)(*args))]
            except Exception as exc:  # noqa: BLE001 - handed to result()
                return [_Done(error=exc)]
        return [self._executor.submit(getattr(h, m), *a) for h, m, a in calls]

    def result(self, pending: Any) -> Any:
        if isinstance(pending, Future):
            return pending.result()
        if pending.error is not None:
            raise pending.error
        return pending.value

    def close(self) -> None:
        self._executor.shutdown(wait=False)


class LocalKinesis:
    """A control plane, its shard hosts and the API, all in this process."""

    _open: dict[str, LocalKinesis] = {}
    _open_lock = threading.Lock()

    def __init__(self, settings: KinesisSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        key = Catalog(settings.location).iterator_key(create=True)
        self.pool = LocalPool(key, clock)
        self.control = ControlPlane(settings, self.pool, clock=clock)
        self.service = KinesisService(self.control, self.pool)

    @classmethod
    def open(cls, settings: KinesisSettings) -> LocalKinesis:
        """The instance serving ``settings.location`` in this process (started if needed)."""
        with cls._open_lock:
            inst = cls._open.get(settings.location)
            if inst is None:
                inst = cls._open[settings.location] = cls(settings)
            return inst

    def close(self) -> None:
        """Stop every shard host (logs stay on storage)."""
        self.control.shutdown()
        self.pool.close()
        with self._open_lock:
            if self._open.get(self.settings.location) is self:
                del self._open[self.settings.location]
