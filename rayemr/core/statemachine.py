"""The one state-machine kernel: a transition table keyed by event, and tracked objects.

A :class:`Machine` is a table ``event -> {from_state: to_states}`` built from rows
``(from_state(s), event, to_state)``. Asking it for a transition the table does not hold raises
:class:`~rayemr.core.errors.InvalidStateTransition` naming the object, both states and the
event. A :class:`Tracked` object holds one state of one machine, the time it entered each state
and a bounded story of its transitions (dask's ``story(key)``), so a failure can be replayed
after the fact. No I/O, no threads: callers that share an object across threads hold their own
lock around :meth:`Tracked.fire`.

Example::

    class Shard(str, Enum):
        OPEN = "OPEN"; CLOSED = "CLOSED"; EXPIRED = "EXPIRED"

    SHARD = Machine("shard", [
        (Shard.OPEN, "RESHARD", Shard.CLOSED),
        (Shard.CLOSED, "RETENTION", Shard.EXPIRED),
    ], final={Shard.EXPIRED})

    s = Tracked(SHARD, "shardId-000000000000", Shard.OPEN)
    s.fire("RESHARD")            # -> CLOSED
    s.fire("RESHARD")            # InvalidStateTransition: shard shardId-...: cannot go from
                                 #   CLOSED to ? on RESHARD
"""
from __future__ import annotations

import time
from collections import deque
from enum import Enum
from typing import Callable, Generic, Iterable, Iterator, Mapping, TypeVar

from rayemr.core.errors import InvalidStateTransition

S = TypeVar("S", bound=Enum)

#: Transitions kept per object by default.
STORY_LENGTH = 32

#: Placeholder target named in errors when an event has no transition from a state at all.
UNKNOWN = "?"


class Machine(Generic[S]):
    """An immutable transition table for one kind of object."""

    __slots__ = ("kind", "_table", "final", "states")

    def __init__(self, kind: str, rows: Iterable[tuple[S | Iterable[S], str, S]], *,
                 final: Iterable[S] = ()) -> None:
        table: dict[str, dict[S, frozenset[S]]] = {}
        states: set[S] = set()
        for src, event, dst in rows:
            sources = (src,) if isinstance(src, Enum) else tuple(src)
            if not sources:
                raise ValueError(f"{kind}: row for {event} has no source state")
            for s in sources:
                by_src = table.setdefault(event, {})
                by_src[s] = by_src.get(s, frozenset()) | {dst}
                states.add(s)
            states.add(dst)
        self.kind = kind
        self._table: Mapping[str, Mapping[S, frozenset[S]]] = {
            e: dict(m) for e, m in table.items()}
        self.final: frozenset[S] = frozenset(final)
        self.states: frozenset[S] = frozenset(states) | self.final
        leaving_final = [(s, e) for e, m in self._table.items() for s in m if s in self.final]
        if leaving_final:
            raise ValueError(f"{kind}: final states have outgoing transitions: {leaving_final}")

    @property
    def events(self) -> frozenset[str]:
        return frozenset(self._table)

    def targets(self, src: S, event: str) -> frozenset[S]:
        """States ``event`` may move an object in ``src`` to (empty: not allowed)."""
        return self._table.get(event, {}).get(src, frozenset())

    def allows(self, src: S, event: str, dst: S | None = None) -> bool:
        t = self.targets(src, event)
        return bool(t) if dst is None else dst in t

    def next(self, key: str, src: S, event: str, to: S | None = None) -> S:
        """The state after ``event`` in ``src``; ``to`` picks among several targets (and must be
        one of them). Raises ``InvalidStateTransition`` otherwise."""
        targets = self.targets(src, event)
        if to is not None:
            if to in targets:
                return to
            raise InvalidStateTransition(self.kind, key, src, to, event)
        if len(targets) == 1:
            return next(iter(targets))
        if not targets:
            raise InvalidStateTransition(self.kind, key, src, UNKNOWN, event)
        raise ValueError(f"{self.kind} {key}: {event} from {src.name} may lead to "
                         f"{sorted(t.name for t in targets)}; say which")

    def rows(self) -> Iterator[tuple[S, str, S]]:
        """Every allowed ``(from, event, to)``, in a stable order (tests walk them all)."""
        for event in sorted(self._table):
            for src, dsts in sorted(self._table[event].items(), key=lambda kv: str(kv[0].value)):
                for dst in sorted(dsts, key=lambda d: str(d.value)):
                    yield src, event, dst

    def is_final(self, state: S) -> bool:
        return state in self.final

    def __repr__(self) -> str:
        return f"Machine({self.kind!r}, {sum(1 for _ in self.rows())} transitions)"


class Tracked(Generic[S]):
    """One object's state in a :class:`Machine`, with entry times and a bounded story."""

    __slots__ = ("machine", "key", "state", "entered", "_story", "_clock")

    def __init__(self, machine: Machine[S], key: str, state: S, *,
                 clock: Callable[[], float] = time.time, story_length: int = STORY_LENGTH,
                 now: float | None = None) -> None:
        if state not in machine.states:
            raise ValueError(f"{machine.kind} {key}: {state!r} is not a state of this machine")
        self.machine, self.key, self.state, self._clock = machine, key, state, clock
        self.entered: dict[S, float] = {state: clock() if now is None else now}
        self._story: deque[tuple[float, str, str, str]] = deque(maxlen=story_length)

    def fire(self, event: str, to: S | None = None, *, now: float | None = None) -> S:
        """Apply ``event`` (``to`` picks among several targets); returns the previous state."""
        src = self.state
        dst = self.machine.next(self.key, src, event, to)
        t = self._clock() if now is None else now
        self.state = dst
        self.entered.setdefault(dst, t)
        self._story.append((t, src.value, dst.value, event))
        return src

    def can(self, event: str, to: S | None = None) -> bool:
        return self.machine.allows(self.state, event, to)

    @property
    def final(self) -> bool:
        return self.machine.is_final(self.state)

    def story(self) -> list[tuple[float, str, str, str]]:
        """The last transitions: ``(time, from, to, event)``, oldest first."""
        return list(self._story)

    def restore(self, state: S, story: Iterable[tuple[float, str, str, str]] = (),
                entered: Mapping[S, float] | None = None) -> None:
        """Put back a state read from durable storage (recovery), bypassing the table."""
        if state not in self.machine.states:
            raise ValueError(f"{self.machine.kind} {self.key}: {state!r} is not a state")
        self.state = state
        self._story.extend(tuple(s) for s in story)
        if entered:
            self.entered.update(entered)

    def __repr__(self) -> str:
        return f"<{self.machine.kind} {self.key} {self.state.name}>"
