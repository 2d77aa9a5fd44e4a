"""Kinesis on Ray: shard actors and the control actor, durability across actor crashes and
service restarts (the Python client, on the shared local Ray)."""
from __future__ import annotations

import time

import pytest
import ray

import rayemr.kinesis as kinesis
from rayemr.kinesis import actors


def read_all(c, stream):
    shards = c.list_shards(StreamName=stream)["Shards"]
    listed = {s["ShardId"] for s in shards}
    done, out = set(), []
    while len(done) < len(shards):
        for s in shards:
            parents = {s.get("ParentShardId"), s.get("AdjacentParentShardId")} & listed
            if s["ShardId"] in done or not parents <= done:
                continue
            it = c.get_shard_iterator(StreamName=stream, ShardId=s["ShardId"],
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                page = c.get_records(ShardIterator=it)
                out.extend(page["Records"])
                if not page["Records"]:
                    break
                it = page.get("NextShardIterator")
            done.add(s["ShardId"])
    return out


def shard_actor(stream_desc, shard_id):
    name = (f"kinesis:{stream_desc['StreamName']}:"
            f"{int(stream_desc['StreamCreationTimestamp'].timestamp() * 1000)}:{shard_id}")
    return ray.get_actor(name, namespace=actors.NAMESPACE)


def test_streams_live_in_actors_and_survive_crashes(ray_kinesis):
    c, location = ray_kinesis
    c.create_stream(StreamName="clicks", ShardCount=2)
    sent = []
    for b in range(3):
        recs = [{"Data": f"{b}-{i}".encode(), "PartitionKey": f"u{i}"} for i in range(200)]
        assert c.put_records(StreamName="clicks", Records=recs)["FailedRecordCount"] == 0
        sent += [r["Data"] for r in recs]
    desc = c.describe_stream(StreamName="clicks")["StreamDescription"]
    # a shard actor crashes: Ray restarts it and it replays its log
    victim = shard_actor(desc, "shardId-000000000000")
    ray.kill(victim, no_restart=False)
    got = sorted(r["Data"] for r in read_all(c, "clicks"))
    assert got == sorted(sent)
    more = c.put_records(StreamName="clicks", Records=[{"Data": b"after", "PartitionKey": "u1"}])
    assert more["FailedRecordCount"] == 0
    sent.append(b"after")
    # the control actor crashes: Ray restarts it and it reloads the catalog
    control = actors.ControlProxy(ray.get_actor(actors.CONTROL_NAME,
                                                namespace=actors.NAMESPACE))
    before = control.pid()
    ray.kill(ray.get_actor(actors.CONTROL_NAME, namespace=actors.NAMESPACE), no_restart=False)
    deadline = time.monotonic() + 120
    while control.pid() == before:  # wait for the new instance (reads retry meanwhile)
        assert time.monotonic() < deadline
        time.sleep(0.2)
    c.split_shard(StreamName="clicks", ShardToSplit="shardId-000000000001",
                  NewStartingHashKey=str(2**127 + 2**100))
    assert len(c.list_shards(StreamName="clicks")["Shards"]) == 4
    assert sorted(r["Data"] for r in read_all(c, "clicks")) == sorted(sent)


def test_the_service_restarts_from_its_location(ray_kinesis):
    c, location = ray_kinesis
    c.create_stream(StreamName="logs", ShardCount=1)
    c.put_record(StreamName="logs", Data=b"one", PartitionKey="k")
    assert actors.shutdown()
    c2 = kinesis.client("ray", kinesis.KinesisSettings(location=location))
    assert [r["Data"] for r in read_all(c2, "logs")] == [b"one"]
    with pytest.raises(Exception, match="keeps its streams at"):
        kinesis.client("ray", kinesis.KinesisSettings(location=location + "-other"))
