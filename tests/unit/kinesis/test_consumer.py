"""Workers of one application in one process (the in-process service): shares, failover,
parents before children, at-least-once delivery, checkpoints that survive a restart."""
from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from rayemr.kinesis import KinesisSettings
from rayemr.kinesis.consumer import LeaseService, RecordProcessor, Worker
from rayemr.kinesis.local import LocalKinesis
from rayemr.kinesis.pyclient import KinesisClient

from tests.unit.kinesis.sim import Clock


class Collect(RecordProcessor):
    def __init__(self, sink, checkpoint=True):
        self.sink, self.do_checkpoint = sink, checkpoint

    def initialize(self, shard_id, starting_sequence):
        self.shard = shard_id

    def process_records(self, records, checkpointer, millis_behind_latest):
        for r in records:
            self.sink.append((self.shard, r["PartitionKey"], r["Data"]))
        if self.do_checkpoint:
            checkpointer.checkpoint()


@pytest.fixture
def service(tmp_path):
    inst = LocalKinesis(KinesisSettings(location=str(tmp_path / "k"), limits="unlimited"))
    yield inst, KinesisClient(inst.service, sleep=lambda s: None)
    inst.close()


def put(c, stream, n, start=0):
    recs = [{"Data": str(i).encode(), "PartitionKey": f"key{i % 5}"}
            for i in range(start, start + n)]
    assert c.put_records(StreamName=stream, Records=recs)["FailedRecordCount"] == 0
    return [r["Data"] for r in recs]


def workers(c, leases, sink, n, clock, **kw):
    return [Worker("app", "s", lambda: Collect(sink), client=c, leases=leases,
                   worker_id=f"w{i}", clock=clock, poll_s=0, sync_s=0, **kw) for i in range(n)]


def spin(ws, clock, rounds=20, dt=1.0):
    for _ in range(rounds):
        for w in ws:
            w.run_once()
        clock.tick(dt)


def test_workers_share_the_shards_and_deliver_everything(service, tmp_path):
    inst, c = service
    c.create_stream(StreamName="s", ShardCount=4)
    sent = put(c, "s", 200)
    sink, clock = [], Clock(0)
    leases = LeaseService("app", str(tmp_path / "k"))
    ws = workers(c, leases, sink, 2, clock)
    spin(ws, clock)
    assert sorted(d for _, _, d in sink) == sorted(sent)
    assert sorted(len(w.held) for w in ws) == [2, 2]
    fed = {shard for shard, _, _ in sink}
    assert all(lease.checkpoint.isdigit() for lease in leases.list() if lease.shard_id in fed)


def test_a_dead_worker_is_taken_over_and_records_arrive_at_least_once(service, tmp_path):
    inst, c = service
    c.create_stream(StreamName="s", ShardCount=2)
    sent = put(c, "s", 50)
    sink, clock = [], Clock(0)
    leases = LeaseService("app", str(tmp_path / "k"))
    a, b = workers(c, leases, sink, 2, clock, failover_s=6)
    spin([a, b], clock, rounds=5)
    assert len(a.held) == 1 and len(b.held) == 1
    # a stops renewing (it crashed) right after delivering records it never checkpointed
    a.held[next(iter(a.held))].processor.do_checkpoint = False
    sent += put(c, "s", 50, start=50)
    a.run_once()
    spin([b], clock, rounds=10)
    assert len(b.held) == 2  # took a's shard once its lease expired
    counts = Counter(d for _, _, d in sink)
    assert set(counts) == set(sent)  # every record at least once
    assert sum(counts.values()) > len(sent)  # a's unacknowledged batch came again


def test_parents_are_finished_before_children_keep_key_order(service, tmp_path):
    inst, c = service
    c.create_stream(StreamName="s", ShardCount=1)
    sent = put(c, "s", 40)
    c.split_shard(StreamName="s", ShardToSplit="shardId-000000000000",
                  NewStartingHashKey=str(2**127))
    sent += put(c, "s", 40, start=40)
    c.merge_shards(StreamName="s", ShardToMerge="shardId-000000000001",
                   AdjacentShardToMerge="shardId-000000000002")
    sent += put(c, "s", 40, start=80)
    sink, clock = [], Clock(0)
    ws = workers(c, LeaseService("app"), sink, 3, clock)
    spin(ws, clock, rounds=30)
    assert sorted(d for _, _, d in sink) == sorted(sent)
    by_key = defaultdict(list)
    for _, key, data in sink:
        by_key[key].append(int(data))
    assert all(v == sorted(v) for v in by_key.values())


def test_checkpoints_survive_a_restart_of_the_application(service, tmp_path):
    inst, c = service
    c.create_stream(StreamName="s", ShardCount=2)
    first = put(c, "s", 30)
    sink, clock = [], Clock(0)
    ws = workers(c, LeaseService("app", str(tmp_path / "k")), sink, 1, clock)
    spin(ws, clock, rounds=3)
    ws[0].shutdown()
    assert sorted(d for _, _, d in sink) == sorted(first)
    second = put(c, "s", 30, start=30)
    sink2 = []
    ws = workers(c, LeaseService("app", str(tmp_path / "k")), sink2, 1, clock)
    spin(ws, clock, rounds=3)
    assert sorted(d for _, _, d in sink2) == sorted(second)  # from the checkpoints on
