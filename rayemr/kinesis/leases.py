"""The consumer library's lease table and lease taking, as KCL does it. Pure.

One lease per shard: its owner (a worker id or nobody), a counter bumped each time the lease
is taken or renewed, the checkpoint (a sequence number, or ``TRIM_HORIZON``/``LATEST`` before
the first one, or ``SHARD_END`` once the shard is finished) and the parent shards. Every
change is conditional, as KCL's DynamoDB writes are: a worker takes a lease only at the
counter it observed, renews and checkpoints only while it still owns it.

A worker considers a lease expired when its counter has not moved for ``failover_s`` by its
own clock (KCL's rule: no clock is compared across machines). ``LeaseTaker.plan`` chooses
which leases to take: leases whose parents are finished, unowned or expired, up to an even
share of the workers seen alive, stealing one lease from the busiest worker when there is
nothing free to take.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable, Mapping

TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"
SHARD_END = "SHARD_END"


@dataclass(frozen=True)
class Lease:
    shard_id: str
    owner: str | None = None
    counter: int = 0
    checkpoint: str = TRIM_HORIZON
    parents: tuple[str, ...] = ()
    owner_switches: int = 0

    @property
    def finished(self) -> bool:
        return self.checkpoint == SHARD_END

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["parents"] = list(self.parents)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Lease:
        return cls(d["shard_id"], d.get("owner"), int(d.get("counter", 0)),
                   d.get("checkpoint", TRIM_HORIZON), tuple(d.get("parents", ())),
                   int(d.get("owner_switches", 0)))


class LeaseTable:
    """Leases by shard id with conditional updates (callers serialize access)."""

    def __init__(self, leases: Iterable[Lease] = ()) -> None:
        self._leases: dict[str, Lease] = {lease.shard_id: lease for lease in leases}

    def list(self) -> list[Lease]:
        return sorted(self._leases.values(), key=lambda lease: lease.shard_id)

    def get(self, shard_id: str) -> Lease | None:
        return self._leases.get(shard_id)

    def create_if_absent(self, lease: Lease) -> bool:
        if lease.shard_id in self._leases:
            return False
        self._leases[lease.shard_id] = lease
        return True

    def take(self, shard_id: str, owner: str, expected_counter: int) -> Lease | None:
        """Own a lease if nobody renewed or took it since the counter was observed."""
        lease = self._leases.get(shard_id)
        if lease is None or lease.counter != expected_counter or lease.finished:
            return None
        switched = lease.owner_switches + (1 if lease.owner != owner else 0)
        new = replace(lease, owner=owner, counter=lease.counter + 1, owner_switches=switched)
        self._leases[shard_id] = new
        return new

    def renew(self, shard_id: str, owner: str) -> Lease | None:
        lease = self._leases.get(shard_id)
        if lease is None or lease.owner != owner:
            return None
        new = replace(lease, counter=lease.counter + 1)
        self._leases[shard_id] = new
        return new

    def checkpoint(self, shard_id: str, owner: str, checkpoint: str) -> Lease | None:
        """Record progress; finishing (``SHARD_END``) also lets the lease go."""
        lease = self._leases.get(shard_id)
        if lease is None or lease.owner != owner:
            return None
        new = replace(lease, checkpoint=checkpoint, counter=lease.counter + 1,
                      owner=None if checkpoint == SHARD_END else owner)
        self._leases[shard_id] = new
        return new

    def release(self, shard_id: str, owner: str) -> bool:
        lease = self._leases.get(shard_id)
        if lease is None or lease.owner != owner:
            return False
        self._leases[shard_id] = replace(lease, owner=None, counter=lease.counter + 1)
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"leases": [lease.to_dict() for lease in self.list()]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> LeaseTable:
        return cls(Lease.from_dict(x) for x in (d or {}).get("leases", []))


class LeaseTaker:
    """One worker's view of the table over time (see the module docstring)."""

    def __init__(self, worker_id: str, failover_s: float) -> None:
        self.worker_id = worker_id
        self.failover_s = failover_s
        self._seen: dict[str, tuple[int, float]] = {}  # shard -> (counter, since when)

    def observe(self, leases: Iterable[Lease], now: float) -> None:
        for lease in leases:
            seen = self._seen.get(lease.shard_id)
            if seen is None or seen[0] != lease.counter:
                self._seen[lease.shard_id] = (lease.counter, now)

    def expired(self, lease: Lease, now: float) -> bool:
        if lease.owner is None:
            return True
        counter, since = self._seen.get(lease.shard_id, (lease.counter, now))
        return counter == lease.counter and now - since >= self.failover_s

    def plan(self, leases: list[Lease], now: float) -> list[Lease]:
        """The leases to try to take now (each at the counter observed)."""
        self.observe(leases, now)
        by_id = {lease.shard_id: lease for lease in leases}
        ready = [lease for lease in leases if not lease.finished and all(
            by_id.get(p) is None or by_id[p].finished for p in lease.parents)]
        if not ready:
            return []
        alive = {lease.owner for lease in ready
                 if lease.owner is not None and not self.expired(lease, now)}
        alive.add(self.worker_id)
        target = math.ceil(len(ready) / len(alive))
        mine = [lease for lease in ready if lease.owner == self.worker_id]
        want = target - len(mine)
        if want <= 0:
            return []
        free = [lease for lease in ready if lease.owner != self.worker_id
                and self.expired(lease, now)]
        if free:
            return free[:want]
        counts: dict[str, list[Lease]] = {}
        for lease in ready:
            if lease.owner is not None and lease.owner != self.worker_id:
                counts.setdefault(lease.owner, []).append(lease)
        busiest = max(counts.values(), key=len, default=[])
        if len(busiest) > target:
            return [busiest[-1]]  # steal one: the busiest worker still has its share
        return []
