"""Waiting for a condition with a deadline: one helper instead of hand-written poll loops.

``wait_for(condition, timeout)`` calls ``condition()`` until it returns something truthy and
returns that; past ``timeout`` seconds it raises ``TimeoutError`` naming what it waited for
and the last value seen. Tests use it instead of fixed sleeps (which are either too short on a
busy machine or waste time on a quiet one).
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, *, interval: float = 0.05,
             what: str | None = None) -> T:
    """``condition()``'s first truthy value, polled every ``interval`` s for ``timeout`` s."""
    if timeout < 0:
        raise ValueError(f"timeout must not be negative, got {timeout}")
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            name = what or getattr(condition, "__name__", repr(condition))
            raise TimeoutError(f"waited {timeout:g} s for {name}; last value {value!r}")
        time.sleep(min(interval, left))


__all__ = ["wait_for"]
