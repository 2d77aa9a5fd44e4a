"""Puts from many threads of one process to one shard, coalesced into few remote calls.

A remote call costs about the same whatever it carries, so a client that has several puts
for the same shard at once (producer threads, the endpoint's request threads) sends them as
one call, and keeps up to ``max_in_flight`` calls going so the shard always has the next
group waiting while it writes the current one (pipelining; the shard's group commit then
makes them durable together). Each put keeps its own records, order and answer: the shard
admits the puts of a call one after another, as if they had come one by one, and a failed
call fails every put it carried.

The transport is injected (``send`` starts a call for a group of puts, ``wait`` returns its
list of answers), so this module knows nothing of Ray.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Sequence

from rayemr.kinesis.records import Columns

#: Calls in flight per shard from one process.
MAX_IN_FLIGHT = 2
#: Largest group of puts one call carries (bytes of records; a single bigger put goes alone).
MAX_GROUP_BYTES = 8 * 1024 * 1024


class Put:
    """One put waiting for its answer."""

    __slots__ = ("cols", "ordering", "size", "flight", "answer")

    def __init__(self, cols: Columns, ordering: int | None) -> None:
        self.cols, self.ordering = cols, ordering
        self.size = cols.nbytes
        self.flight: _Flight | None = None
        self.answer: Any = None


class _Flight:
    __slots__ = ("call", "puts", "done", "error")

    def __init__(self, puts: list[Put]) -> None:
        self.puts = puts
        self.call: Any = None
        self.done = False
        self.error: BaseException | None = None


class Coalescer:
    """The puts of this process to one shard (see the module docstring)."""

    def __init__(self, send: Callable[[Sequence[Put]], Any], wait: Callable[[Any], list],
                 *, max_in_flight: int = MAX_IN_FLIGHT,
                 max_group_bytes: int = MAX_GROUP_BYTES) -> None:
        self._send, self._wait = send, wait
        self.max_in_flight, self.max_group_bytes = max_in_flight, max_group_bytes
        self._cond = threading.Condition()
        self._queue: deque[Put] = deque()
        self._in_flight = 0
        self.calls = 0  # remote calls made (for tests and stats)

    def submit(self, cols: Columns, ordering: int | None = None) -> Put:
        """Queue a put (sent at once if a call slot is free); ``result`` waits for it."""
        put = Put(cols, ordering)
        with self._cond:
            self._queue.append(put)
            flights = self._take()
        self._start(flights)
        return put

    def _take(self) -> list[_Flight]:
        """Group queued puts into calls while call slots are free (under the lock)."""
        flights = []
        while self._queue and self._in_flight < self.max_in_flight:
            group = [self._queue.popleft()]
            size = group[0].size
            while self._queue and size + self._queue[0].size <= self.max_group_bytes:
                size += self._queue[0].size
                group.append(self._queue.popleft())
            flight = _Flight(group)
            for put in group:
                put.flight = flight
            self._in_flight += 1
            self.calls += 1
            flights.append(flight)
        return flights

    def _start(self, flights: list[_Flight]) -> None:
        """Send the calls (outside the lock: sending takes a while), then wake their puts."""
        todo = deque(flights)
        while todo:
            flight = todo.popleft()
            try:
                call = self._send(flight.puts)
            except Exception as exc:  # noqa: BLE001 - every put of the group hears of it
                with self._cond:
                    todo.extend(self._land(flight, None, exc))
                continue
            with self._cond:
                flight.call = call
                self._cond.notify_all()

    def _land(self, flight: _Flight, answers: list | None, error: BaseException | None
              ) -> list[_Flight]:
        """A call finished (under the lock): hand out its answers, free its slot; the calls
        to start next."""
        if flight.done:
            return []
        flight.done = True
        flight.error = error
        if answers is not None:
            for put, answer in zip(flight.puts, answers):
                put.answer = answer
        self._in_flight -= 1
        self._cond.notify_all()
        return self._take()

    def result(self, put: Put) -> Any:
        """The put's answer (whatever the shard answered for it); a failed call raises."""
        with self._cond:
            while put.flight is None or (put.flight.call is None and not put.flight.done):
                self._cond.wait()
            flight = put.flight
        if not flight.done:
            try:
                answers, error = self._wait(flight.call), None
            except Exception as exc:  # noqa: BLE001 - re-raised for every put of the call
                answers, error = None, exc
            with self._cond:
                flights = self._land(flight, answers, error)
            self._start(flights)
        if flight.error is not None:
            raise flight.error
        return put.answer
