"""Faults during a stream of puts: no acknowledged record is lost and the consumer group
processes every record at least once (the duplicate count is reported).

The default selection kills a shard actor on the shared local Ray (local-disk logs); the
slow one runs on three Ray nodes with S3 logs and kills a shard actor, then a whole node.
"""
from __future__ import annotations

import functools
from collections import Counter

import pytest
import ray
from ray.util.state import get_actor

import rayemr.kinesis as kinesis
from rayemr.core.waiting import wait_for
from rayemr.kinesis import actors

from tests.integration.kinesis.programs import Collector, Reporting, produce
from tests.integration.kinesis.test_on_ray import read_all


def shard_actors(client, stream):
    desc = client.describe_stream(StreamName=stream)["StreamDescription"]
    created = int(desc["StreamCreationTimestamp"].timestamp() * 1000)
    return {s["ShardId"]: ray.get_actor(f"kinesis:{stream}:{created}:{s['ShardId']}",
                                        namespace=actors.NAMESPACE)
            for s in desc["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]}


def consume_and_check(client, stream, acked, app, n_consumers=2, timeout=300):
    collector = Collector.remote()
    consumers = actors.start_consumers(app, stream, functools.partial(Reporting, collector),
                                       n=n_consumers, failover_s=6, poll_s=0.2)
    try:
        wait_for(lambda: ray.get(collector.count.remote()) >= len(set(acked)), timeout,
                 interval=0.5, what="the consumers to process every acknowledged record")
    finally:
        statuses = ray.get([c.stop.remote() for c in consumers])
    seen = ray.get(collector.all.remote())
    counts = Counter(seen)
    assert set(acked) <= set(counts), "an acknowledged record was never processed"
    duplicates = sum(counts.values()) - len(counts)
    print(f"\n{app}: {len(acked)} acknowledged, {len(counts)} processed, "
          f"{duplicates} duplicates; workers {[(s['worker'], s['processed']) for s in statuses]}")
    assert all(s["error"] is None for s in statuses), statuses
    return duplicates


def test_shard_actor_killed_during_puts(ray_kinesis):
    client, _ = ray_kinesis
    client.create_stream(StreamName="faults", ShardCount=2,
                         Tags={"rayemr:limits": "unlimited"})

    def crash(i):
        if i == 4:
            ray.kill(shard_actors(client, "faults")["shardId-000000000001"], no_restart=False)

    acked = produce(client, "faults", 600, during=crash)
    stored = [r["Data"] for r in read_all(client, "faults")]
    assert set(acked) <= set(stored)  # nothing acknowledged was lost
    consume_and_check(client, "faults", acked, "faults-app")


@pytest.mark.slow
def test_shard_then_node_lost_on_three_nodes_with_s3(ray_cluster, s3_bucket):
    for _ in range(3):
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    settings = kinesis.KinesisSettings(location=f"s3://{s3_bucket}/kinesis")
    client = kinesis.client("ray", settings)
    client.create_stream(StreamName="nodes", ShardCount=4, Tags={"rayemr:limits": "unlimited"})
    head = ray.get_runtime_context().get_node_id()

    def node_of(handle):
        state = get_actor(handle._actor_id.hex())
        return state.node_id

    def chaos(i):
        if i == 3:
            ray.kill(shard_actors(client, "nodes")["shardId-000000000000"], no_restart=False)
        if i == 8:  # lose a worker node that hosts at least one shard
            hosting = {node_of(h) for h in shard_actors(client, "nodes").values()}
            victim = next(n for n in ray_cluster.worker_nodes
                          if n.node_id in hosting and n.node_id != head)
            ray_cluster.remove_node(victim, allow_graceful=False)

    try:
        acked = produce(client, "nodes", 1500, during=chaos)
        stored = [r["Data"] for r in read_all(client, "nodes")]
        assert set(acked) <= set(stored)
        consume_and_check(client, "nodes", acked, "nodes-app", n_consumers=3, timeout=600)
    finally:
        actors.shutdown()
