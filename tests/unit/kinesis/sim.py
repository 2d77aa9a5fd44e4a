"""A pure stream simulator for property tests: StreamCore + ShardCores, commits inline."""
from __future__ import annotations

from rayemr.kinesis.limits import ShardLimits
from rayemr.kinesis.shard import ShardCore
from rayemr.kinesis.stream import StreamCore


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def tick(self, dt: float) -> None:
        self.t += dt


class Sim:
    """One stream; every acknowledged put is remembered as (shard, position, key, data)."""

    def __init__(self, shards: int, clock: Clock, limits: ShardLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or ShardLimits.unlimited()
        self.stream = StreamCore("s", "arn:aws:kinesis:us-east-1:000000000000:stream/s",
                                 shard_count=shards, now=clock(), limits=self.limits)
        self.stream.status.fire("CREATED", now=clock())
        self.cores: dict[str, ShardCore] = {}
        for meta in self.stream.listed():
            self._core(meta.shard_id, meta.starting_position)
        self.acked: list[tuple[str, int, str, bytes]] = []

    def _core(self, sid: str, start: int) -> ShardCore:
        core = ShardCore(sid, starting_position=start, limits=self.limits,
                         retention_s=self.stream.retention_s, now=self.clock())
        self.cores[sid] = core
        return core

    def put(self, key: str, data: bytes, explicit: int | None = None,
            ordering: int | None = None) -> tuple[str, int]:
        sid = self.stream.router().route(key, explicit)
        core = self.cores[sid]
        adm = core.admit([key], [data], [len(key) + len(data)], self.clock(), ordering)
        assert adm.accepted == 1
        for b in core.take_pending():
            b.location = ("mem", 0, 0)
        core.commit(core.take_pending())
        self.acked.append((sid, adm.batch.first, key, data))
        return sid, adm.batch.first

    def _apply(self, plan) -> None:
        now = self.clock()
        self.stream.begin(plan, now)
        endings = {}
        for sid in plan.parents:
            self.cores[sid].close(now)
            endings[sid] = self.cores[sid].ending
        for meta in self.stream.finish(endings, now):
            self._core(meta.shard_id, meta.starting_position)

    def split(self, sid: str, key: int) -> None:
        self._apply(self.stream.plan_split(sid, str(key), 10_000))

    def merge(self, a: str, b: str) -> None:
        self._apply(self.stream.plan_merge(a, b))

    def read_all(self, sid: str) -> list[tuple[int, float, str, bytes]]:
        core, out, pos = self.cores[sid], [], 0
        while True:
            res = core.read(pos, 1000, self.clock())
            out.extend(res.records)
            if not res.records:
                return out
            pos = res.next_position

    def lineage_order(self) -> list[str]:
        """Shard ids with every parent before its children."""
        done: list[str] = []
        metas = {m.shard_id: m for m in self.stream.listed()}
        while len(done) < len(metas):
            for sid, m in sorted(metas.items()):
                if sid not in done and all(p in done for p in m.parents):
                    done.append(sid)
        return done
