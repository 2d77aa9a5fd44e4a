"""Who is connected to a HiveServer2, and the limits that keep one client from starving others.

A connection is *handshaking* from accept until it authenticated (SASL) or sent its first
request (NOSASL), then *established*. The rules, pure and clock-injected:

* a handshake has an absolute deadline (``handshake_timeout`` from accept, whatever arrives
  in between -- a byte every few seconds does not keep it alive);
* at most ``max_handshakes`` handshake at once: a new connection pushes out the oldest
  handshaking one, so idle unauthenticated sockets never lock out a real login, which
  finishes its handshake in milliseconds;
* at most ``max_per_address`` connections from one address: beyond that, the address's own
  oldest handshaking connection makes room (or, if it has none, the new one is refused);
* at most ``max_established`` established connections in total.

The server acts on the answers: it shuts down the sockets to drop and closes refused ones.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(eq=False)
class Conn:
    sock: Any
    address: str
    opened: float
    established: bool = False
    #: asked to go (evicted or past its deadline); its thread is ending it
    dropped: bool = False


@dataclass
class Admission:
    conn: Conn | None  # None: refused
    drop: list[Conn] = field(default_factory=list)


class Connections:
    """The server's connection table (thread-safe)."""

    def __init__(self, *, max_handshakes: int, max_established: int, max_per_address: int,
                 handshake_timeout: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.max_handshakes = max_handshakes
        self.max_established = max_established
        self.max_per_address = max_per_address
        self.handshake_timeout = handshake_timeout
        self._clock = clock
        self._conns: list[Conn] = []  # in accept order
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._conns)

    def all(self) -> list[Conn]:
        with self._lock:
            return list(self._conns)

    def _handshaking(self, address: str | None = None) -> list[Conn]:
        return [c for c in self._conns if not c.established and not c.dropped
                and (address is None or c.address == address)]

    def admit(self, sock: Any, address: str) -> Admission:
        """Take a new connection; says which older ones to drop to make room."""
        with self._lock:
            drop: list[Conn] = []
            mine = [c for c in self._conns if c.address == address and not c.dropped]
            if len(mine) >= self.max_per_address:
                waiting = self._handshaking(address)
                if not waiting:
                    return Admission(None)
                waiting[0].dropped = True
                drop.append(waiting[0])
            waiting = self._handshaking()
            while len(waiting) >= self.max_handshakes:
                waiting[0].dropped = True
                drop.append(waiting.pop(0))
            conn = Conn(sock, address, self._clock())
            self._conns.append(conn)
            return Admission(conn, drop)

    def establish(self, conn: Conn) -> bool:
        """The connection finished its handshake; False: over the limit, close it."""
        with self._lock:
            if conn.dropped:
                return False
            established = sum(1 for c in self._conns if c.established and not c.dropped)
            if established >= self.max_established:
                return False
            conn.established = True
            return True

    def release(self, conn: Conn) -> None:
        with self._lock:
            try:
                self._conns.remove(conn)
            except ValueError:
                pass

    def expired(self) -> list[Conn]:
        """Handshaking connections past their deadline (marked dropped)."""
        now = self._clock()
        with self._lock:
            late = [c for c in self._handshaking() if now - c.opened > self.handshake_timeout]
            for c in late:
                c.dropped = True
            return late
