"""Stopping a task attempt that runs in the driver's own process when its job is cancelled.

A Ray launcher stops a running attempt by killing its worker process. An attempt run in the
driver's process (the inline runner: tests, ``-r inline``, HiveServer2 sessions run inline)
cannot be killed so, and the driver loop only looks at ``cancel()`` between attempts. So the
code an attempt calls registers an *interrupt hook* for what it is running (``rayemr.hive.exec``
registers each DuckDB connection's ``interrupt``), and the inline launcher runs the attempt
under :func:`watch`, which polls the job's ``cancel()`` on a thread of its own and, once it
returns True, calls every registered hook, again at each poll while the attempt runs (a
statement that starts after the first call would miss it). Registering a hook for an attempt
already stopped raises :class:`~rayemr.engine.errors.JobKilledError`, so the attempt ends at
its next registered step.

Hooks belong to the attempt running in the current thread (a context variable): concurrent
sessions of one server interrupt only their own attempts. Outside a watched attempt,
registering does nothing.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from rayemr.engine.errors import JobKilledError

log = logging.getLogger(__name__)

#: How often a watched attempt's ``cancel()`` is polled (seconds).
POLL_S = 0.05


class Interrupts:
    """The interrupt hooks of one running attempt, and whether it was told to stop."""

    def __init__(self, what: str = "task") -> None:
        self.what = what
        self.stopped = False
        self._hooks: dict[int, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def add(self, key: Any, hook: Callable[[], None]) -> None:
        """Call ``hook()`` when the attempt is stopped, until :meth:`remove` of ``key``."""
        with self._lock:
            if self.stopped:
                raise JobKilledError(f"{self.what}: stopped, its job was cancelled")
            self._hooks[id(key)] = hook

    def remove(self, key: Any) -> None:
        with self._lock:
            self._hooks.pop(id(key), None)

    def stop(self) -> None:
        """Mark the attempt stopped and call every hook registered now."""
        with self._lock:
            self.stopped = True
            hooks = list(self._hooks.values())
            # under the lock: a hook removed by its owner is never called after
            for hook in hooks:
                try:
                    hook()
                except Exception:  # noqa: BLE001 -- one failing hook must not spare the rest
                    log.debug("interrupt hook of %s failed", self.what, exc_info=True)


_CURRENT: ContextVar[Interrupts | None] = ContextVar("rayemr_attempt_interrupts",
                                                     default=None)


def register(key: Any, hook: Callable[[], None]) -> None:
    """``hook()`` stops what ``key`` runs for the attempt in this thread, when its job is
    cancelled; raises JobKilledError when it already was. No-op outside a watched attempt."""
    scope = _CURRENT.get()
    if scope is not None:
        scope.add(key, hook)


def unregister(key: Any) -> None:
    scope = _CURRENT.get()
    if scope is not None:
        scope.remove(key)


@contextmanager
def watch(cancel: Callable[[], bool] | None, what: str = "task",
          interval: float = POLL_S) -> Iterator[Interrupts]:
    """Run the block as an attempt whose hooks are called once ``cancel()`` returns True
    (polled every ``interval`` seconds on a thread of its own; none when ``cancel`` is None).
    The yielded :class:`Interrupts` says afterwards whether the attempt was stopped."""
    scope = Interrupts(what)
    token = _CURRENT.set(scope)
    done = threading.Event()

    def poll() -> None:
        while not done.wait(interval):
            try:
                if scope.stopped or cancel():
                    scope.stop()
            except Exception:  # noqa: BLE001 -- a broken flag: say so once, stop watching
                log.exception("polling the cancel flag of %s failed", what)
                return

    watcher = None
    if cancel is not None:
        watcher = threading.Thread(target=poll, name=f"cancel-watch {what}", daemon=True)
        watcher.start()
    try:
        yield scope
    finally:
        done.set()
        _CURRENT.reset(token)
        if watcher is not None:
            watcher.join()


__all__ = ["Interrupts", "POLL_S", "register", "unregister", "watch"]
