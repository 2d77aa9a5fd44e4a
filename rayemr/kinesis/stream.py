"""One stream's metadata: status, shards and their lineage, retention, tags, consumers.

``StreamCore`` is pure. Resharding is planned here and carried out by the shell in two steps,
because a parent's ``EndingSequenceNumber`` is only known once its shard host has stopped
taking puts: ``begin(plan)`` records the intent (persisted, so a restart finishes it),
``finish(endings, now)`` closes the parents and opens the children above the parents' last
positions. SplitShard and MergeShards are one plan each; UpdateShardCount (uniform scaling) is
a series of splits and merges chosen by ``next_uniform_step`` until the open shards are the
target's even ranges, so every child still names its parents.

Stream states follow the shared kernel: CREATING -> ACTIVE <-> UPDATING, any -> DELETING.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from rayemr.core.statemachine import Machine, Tracked
from rayemr.kinesis import seqnum
from rayemr.kinesis.errors import (
    InvalidArgumentException, LimitExceededException, ResourceInUseException,
    ResourceNotFoundException, ValidationException,
)
from rayemr.kinesis.hashkeys import HashRange, Router, even_ranges, parse_hash_key
from rayemr.kinesis.limits import ShardLimits
from rayemr.kinesis.shard import SHARD, ShardState

HOUR = 3600
DEFAULT_RETENTION_H = 24
MAX_RETENTION_H = 8760
ON_DEMAND_SHARDS = 4


class StreamStatus(str, Enum):
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    UPDATING = "UPDATING"
    DELETING = "DELETING"


STREAM = Machine("stream", [
    (StreamStatus.CREATING, "CREATED", StreamStatus.ACTIVE),
    (StreamStatus.ACTIVE, "UPDATE", StreamStatus.UPDATING),
    (StreamStatus.UPDATING, "UPDATED", StreamStatus.ACTIVE),
    ((StreamStatus.CREATING, StreamStatus.ACTIVE, StreamStatus.UPDATING), "DELETE",
     StreamStatus.DELETING),
], final={StreamStatus.DELETING})


@dataclass
class ShardMeta:
    """What the stream knows of one shard (the shard host holds its records)."""

    shard_id: str
    hash_range: HashRange
    starting_position: int
    state: Tracked[ShardState]
    parent: str | None = None
    adjacent_parent: str | None = None
    ending_position: int | None = None

    @property
    def index(self) -> int:
        return seqnum.shard_index(self.shard_id)

    @property
    def open(self) -> bool:
        return self.state.state is ShardState.OPEN

    @property
    def created_at(self) -> float:
        return self.state.entered[ShardState.OPEN]

    @property
    def closed_at(self) -> float | None:
        return self.state.entered.get(ShardState.CLOSED)

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(p for p in (self.parent, self.adjacent_parent) if p)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ShardId": self.shard_id}
        if self.parent:
            out["ParentShardId"] = self.parent
        if self.adjacent_parent:
            out["AdjacentParentShardId"] = self.adjacent_parent
        out["HashKeyRange"] = self.hash_range.to_wire()
        seq = {"StartingSequenceNumber": seqnum.encode(self.starting_position, self.index)}
        if self.ending_position is not None:
            seq["EndingSequenceNumber"] = seqnum.encode(self.ending_position, self.index)
        out["SequenceNumberRange"] = seq
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.shard_id, "range": [str(self.hash_range.start),
                                                 str(self.hash_range.end)],
                "start": str(self.starting_position), "parent": self.parent,
                "adjacent": self.adjacent_parent,
                "end": None if self.ending_position is None else str(self.ending_position),
                "state": self.state.state.value,
                "entered": {s.value: t for s, t in self.state.entered.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ShardMeta:
        entered = {ShardState(k): v for k, v in d["entered"].items()}
        state = Tracked(SHARD, d["id"], ShardState.OPEN, now=entered[ShardState.OPEN])
        state.restore(ShardState(d["state"]), entered=entered)
        return cls(d["id"], HashRange(int(d["range"][0]), int(d["range"][1])), int(d["start"]),
                   state, d.get("parent"), d.get("adjacent"),
                   None if d.get("end") is None else int(d["end"]))


@dataclass(frozen=True)
class Reshard:
    """One split or merge: the shards it closes and the children it opens."""

    kind: str  # "split" | "merge"
    parents: tuple[str, ...]
    children: tuple[tuple[str, HashRange, str | None, str | None], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "parents": list(self.parents),
                "children": [[c, str(r.start), str(r.end), p, a]
                             for c, r, p, a in self.children]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reshard:
        return cls(d["kind"], tuple(d["parents"]),
                   tuple((c, HashRange(int(s), int(e)), p, a)
                         for c, s, e, p, a in d["children"]))


@dataclass
class Consumer:
    name: str
    arn: str
    created: float

    def to_wire(self) -> dict[str, Any]:
        return {"ConsumerName": self.name, "ConsumerARN": self.arn,
                "ConsumerStatus": "ACTIVE", "ConsumerCreationTimestamp": self.created}


class StreamCore:
    """Metadata of one stream (see the module docstring)."""

    def __init__(self, name: str, arn: str, *, shard_count: int, now: float,
                 limits: ShardLimits, mode: str = "PROVISIONED",
                 tags: Mapping[str, str] | None = None,
                 retention_hours: int = DEFAULT_RETENTION_H) -> None:
        self.name = name
        self.arn = arn
        self.created = int(now * 1000) / 1000  # AWS: millisecond precision
        self.mode = mode
        self.limits = limits
        self.retention_hours = retention_hours
        self.tags: dict[str, str] = dict(tags or {})
        self.consumers: dict[str, Consumer] = {}
        self.status: Tracked[StreamStatus] = Tracked(STREAM, name, StreamStatus.CREATING,
                                                     now=now)
        self.shards: dict[str, ShardMeta] = {}
        self.next_index = 0
        self.resharding: Reshard | None = None
        self.updating_to: int | None = None  # UpdateShardCount target while it runs
        start = int(now * 1_000_000)
        for r in even_ranges(shard_count):
            sid = self._new_id()
            self.shards[sid] = ShardMeta(sid, r, start, Tracked(SHARD, sid, ShardState.OPEN,
                                                                now=now))

    def _new_id(self) -> str:
        sid = seqnum.shard_id(self.next_index)
        self.next_index += 1
        return sid

    # -- lookups --------------------------------------------------------------------------------
    @property
    def created_ms(self) -> int:
        return int(self.created * 1000)

    @property
    def retention_s(self) -> float:
        return self.retention_hours * HOUR

    def shard(self, shard_id: str, account: str = "") -> ShardMeta:
        meta = self.shards.get(shard_id)
        if meta is None or meta.state.state is ShardState.EXPIRED:
            raise ResourceNotFoundException(
                f"Could not find shard {shard_id} in stream {self.name} under account "
                f"{account or _account(self.arn)}.")
        return meta

    def listed(self) -> list[ShardMeta]:
        """Shards still within retention, by shard id."""
        return sorted((m for m in self.shards.values()
                       if m.state.state is not ShardState.EXPIRED), key=lambda m: m.index)

    def open_shards(self) -> list[ShardMeta]:
        return [m for m in self.listed() if m.open]

    def router(self) -> Router:
        return Router([(m.hash_range, m.shard_id) for m in self.open_shards()])

    def children_of(self, shard_id: str) -> list[ShardMeta]:
        return [m for m in self.listed() if shard_id in m.parents]

    def require_active(self) -> None:
        if self.status.state is not StreamStatus.ACTIVE:
            raise ResourceInUseException(
                f"Stream {self.name} under account {_account(self.arn)} not ACTIVE, instead in "
                f"state {self.status.state.value}")

    # -- resharding -------------------------------------------------------------------------------
    def plan_split(self, shard_id: str, new_starting_hash_key: str, shard_limit: int) -> Reshard:
        self.require_active()
        meta = self.shard(shard_id)
        self._require_open(meta)
        key = parse_hash_key(new_starting_hash_key)
        if key is None:
            raise ValidationException(
                f"1 validation error detected: Value '{new_starting_hash_key}' at "
                "'newStartingHashKey' failed to satisfy constraint: Member must satisfy regular "
                "expression pattern: 0|([1-9]\\d{0,38})")
        r = meta.hash_range
        if not (key > r.start + 1 and key < r.end):
            raise InvalidArgumentException(
                f"NewStartingHashKey {key} used in SplitShard() on shard {shard_id} in stream "
                f"{self.name} under account {_account(self.arn)} is not both greater than one "
                f"plus the shard's StartingHashKey {r.start} and less than the shard's "
                f"EndingHashKey {r.end}.")
        self._check_shard_limit(1, shard_limit)
        return self._split_plan(meta, key)

    def _split_plan(self, meta: ShardMeta, key: int) -> Reshard:
        r = meta.hash_range
        first, second = self._peek_ids(2)
        return Reshard("split", (meta.shard_id,),
                       ((first, HashRange(r.start, key - 1), meta.shard_id, None),
                        (second, HashRange(key, r.end), meta.shard_id, None)))

    def plan_merge(self, shard_id: str, adjacent_id: str) -> Reshard:
        self.require_active()
        a, b = self.shard(shard_id), self.shard(adjacent_id)
        self._require_open(a)
        self._require_open(b)
        if not a.hash_range.adjacent(b.hash_range):
            raise InvalidArgumentException(
                f"Shards {shard_id} and {adjacent_id} in stream {self.name} under account "
                f"{_account(self.arn)} are not an adjacent pair of shards eligible for merging")
        return self._merge_plan(a, b)

    def _merge_plan(self, a: ShardMeta, b: ShardMeta) -> Reshard:
        (child,) = self._peek_ids(1)
        return Reshard("merge", (a.shard_id, b.shard_id),
                       ((child, a.hash_range.union(b.hash_range), a.shard_id, b.shard_id),))

    def _peek_ids(self, n: int) -> list[str]:
        return [seqnum.shard_id(self.next_index + i) for i in range(n)]

    def _require_open(self, meta: ShardMeta) -> None:
        if not meta.open:
            raise InvalidArgumentException(
                f"Shard {meta.shard_id} in stream {self.name} under account "
                f"{_account(self.arn)} has already been merged or split, and thus is not "
                "eligible for merging or splitting.")

    def _check_shard_limit(self, more: int, shard_limit: int) -> None:
        if len(self.open_shards()) + more > shard_limit:
            raise LimitExceededException(
                f"This request would exceed the shard limit of {shard_limit} open shards for "
                f"stream {self.name}; open shards: {len(self.open_shards())}")

    def begin(self, plan: Reshard, now: float) -> None:
        """Record the intent; the stream is UPDATING until ``finish``."""
        if self.status.state is StreamStatus.ACTIVE:
            self.status.fire("UPDATE", now=now)
        self.resharding = plan
        self.next_index = max(self.next_index,
                              max(seqnum.shard_index(c[0]) for c in plan.children) + 1)

    def finish(self, endings: Mapping[str, int], now: float) -> list[ShardMeta]:
        """Close the plan's parents at ``endings`` and open its children; returns them."""
        plan = self.resharding
        assert plan is not None, "finish() without begin()"
        for sid in plan.parents:
            meta = self.shards[sid]
            if meta.open:
                meta.state.fire("CLOSE", now=now)
            meta.ending_position = endings[sid]
        start = max(endings[sid] for sid in plan.parents) + 1
        children = []
        for sid, r, parent, adjacent in plan.children:
            meta = ShardMeta(sid, r, start, Tracked(SHARD, sid, ShardState.OPEN, now=now),
                             parent, adjacent)
            self.shards[sid] = meta
            children.append(meta)
        self.resharding = None
        if self.updating_to is None and self.status.state is StreamStatus.UPDATING:
            self.status.fire("UPDATED", now=now)
        return children

    def plan_update(self, target: int, scaling_type: str, shard_limit: int) -> int:
        """Validate UpdateShardCount; returns the current open shard count."""
        self.require_active()
        if self.mode == "ON_DEMAND":
            raise ValidationException(
                f"UpdateShardCount is not supported for stream {self.name}: it is ON_DEMAND")
        if scaling_type != "UNIFORM_SCALING":
            raise ValidationException(
                f"1 validation error detected: Value '{scaling_type}' at 'scalingType' failed "
                "to satisfy constraint: Member must satisfy enum value set: [UNIFORM_SCALING]")
        current = len(self.open_shards())
        if target > 2 * current or target * 2 < current:
            raise LimitExceededException(
                f"UpdateShardCount of stream {self.name} from {current} to {target} shards: "
                "a single update can at most double or halve the open shard count")
        self._check_shard_limit(target - current, shard_limit)
        return current

    def start_update(self, target: int, now: float) -> None:
        """UpdateShardCount begins: UPDATING until ``end_update``, across its steps."""
        if self.status.state is StreamStatus.ACTIVE:
            self.status.fire("UPDATE", now=now)
        self.updating_to = target

    def end_update(self, now: float) -> None:
        self.updating_to = None
        if self.status.state is StreamStatus.UPDATING and self.resharding is None:
            self.status.fire("UPDATED", now=now)

    def next_uniform_step(self, target: int) -> Reshard | None:
        """The next split or merge towards ``target`` even shards; None when there."""
        goal = even_ranges(target)
        starts = [g.start for g in goal]
        opened = self.open_shards()
        for meta in sorted(opened, key=lambda m: m.hash_range.start):
            r = meta.hash_range
            inside = [s for s in starts if r.start < s <= r.end]
            if inside:
                return self._split_plan(meta, inside[0])
        ordered = sorted(opened, key=lambda m: m.hash_range.start)
        for a, b in zip(ordered, ordered[1:]):
            if _goal_of(a.hash_range.start, starts) == _goal_of(b.hash_range.start, starts):
                return self._merge_plan(a, b)
        return None

    # -- retention, tags, consumers ------------------------------------------------------------
    def set_retention(self, hours: int, *, increase: bool) -> None:
        self.require_active()
        if not DEFAULT_RETENTION_H <= hours <= MAX_RETENTION_H:
            raise InvalidArgumentException(
                f"Minimum allowed retention period is {DEFAULT_RETENTION_H} hours. Maximum "
                f"allowed retention period is {MAX_RETENTION_H} hours. Requested retention "
                f"period ({hours} hours) is too {'short' if hours < 24 else 'long'}.")
        if increase and hours < self.retention_hours:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {self.name} can not be "
                f"shorter than existing retention period ({self.retention_hours} hours). Use "
                "DecreaseRetentionPeriod API.")
        if not increase and hours > self.retention_hours:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {self.name} can not be "
                f"longer than existing retention period ({self.retention_hours} hours). Use "
                "IncreaseRetentionPeriod API.")
        self.retention_hours = hours

    def expire_due(self, now: float) -> list[str]:
        """Mark closed shards past the retention period EXPIRED; returns their ids."""
        out = []
        for meta in self.shards.values():
            closed = meta.closed_at
            if (meta.state.state is ShardState.CLOSED and closed is not None
                    and now - closed >= self.retention_s):
                meta.state.fire("EXPIRE", now=now)
                out.append(meta.shard_id)
        return out

    def add_consumer(self, name: str, now: float, max_consumers: int = 20) -> Consumer:
        if name in self.consumers:
            raise ResourceInUseException(
                f"Consumer {name} under stream {self.name} already exists")
        if len(self.consumers) >= max_consumers:
            raise LimitExceededException(
                f"Stream {self.name} already has {max_consumers} registered consumers")
        consumer = Consumer(name, f"{self.arn}/consumer/{name}:{int(now)}", now)
        self.consumers[name] = consumer
        return consumer

    # -- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arn": self.arn, "created": self.created, "mode": self.mode,
                "limits": self.limits.to_dict(), "retention_hours": self.retention_hours,
                "tags": self.tags, "status": self.status.state.value,
                "consumers": [[c.name, c.arn, c.created] for c in self.consumers.values()],
                "next_index": self.next_index,
                "resharding": self.resharding.to_dict() if self.resharding else None,
                "updating_to": self.updating_to,
                "shards": [m.to_dict() for m in self.shards.values()]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StreamCore:
        self = cls.__new__(cls)
        self.name, self.arn, self.created, self.mode = d["name"], d["arn"], d["created"], d["mode"]
        self.limits = ShardLimits.from_dict(d["limits"])
        self.retention_hours = d["retention_hours"]
        self.tags = dict(d["tags"])
        self.consumers = {n: Consumer(n, a, c) for n, a, c in d["consumers"]}
        self.status = Tracked(STREAM, self.name, StreamStatus.CREATING, now=self.created)
        self.status.restore(StreamStatus(d["status"]))
        self.next_index = d["next_index"]
        self.resharding = Reshard.from_dict(d["resharding"]) if d.get("resharding") else None
        self.updating_to = d.get("updating_to")
        self.shards = {s["id"]: ShardMeta.from_dict(s) for s in d["shards"]}
        return self


def _goal_of(start: int, goal_starts: list[int]) -> int:
    return bisect.bisect_right(goal_starts, start) - 1


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""
