"""The whole API in one process (no Ray): durability across restarts, partial failures,
re-routing across reshards, paging, retention, and bad input answered with AWS's errors."""
from __future__ import annotations

import pytest

from rayemr.kinesis import KinesisSettings
from rayemr.kinesis.errors import (
    ExpiredIteratorException, InvalidArgumentException, ResourceInUseException,
    ResourceNotFoundException, ValidationException,
)
from rayemr.kinesis.local import LocalKinesis
from rayemr.kinesis.pyclient import KinesisClient

from tests.unit.kinesis.sim import Clock


@pytest.fixture(params=["disk", "memory"])
def location(request, tmp_path):
    if request.param == "disk":
        return str(tmp_path / "kinesis")
    import uuid
    return f"memory://kinesis-{uuid.uuid4().hex[:8]}"


def open_client(location, clock=None, **kw):
    inst = LocalKinesis(KinesisSettings(location=location, **kw),
                        **({"clock": clock} if clock else {}))
    return inst, KinesisClient(inst.service, sleep=lambda s: None)


def read_stream(c, name):
    """Every record, following parents before children."""
    shards = c.list_shards(StreamName=name)["Shards"]
    listed = {s["ShardId"] for s in shards}
    done, out = set(), []
    while len(done) < len(shards):
        for s in shards:
            parents = {s.get("ParentShardId"), s.get("AdjacentParentShardId")} & listed
            if s["ShardId"] in done or not parents <= done:
                continue
            it = c.get_shard_iterator(StreamName=name, ShardId=s["ShardId"],
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                page = c.get_records(ShardIterator=it)
                out.extend(page["Records"])
                it = page.get("NextShardIterator")
                if not page["Records"] and "ChildShards" not in page:
                    break
            done.add(s["ShardId"])
    return out


def test_acknowledged_records_survive_a_restart(location):
    inst, c = open_client(location)
    c.create_stream(StreamName="clicks", ShardCount=3)
    sent = []
    for batch in range(4):
        recs = [{"Data": f"{batch}-{i}".encode(), "PartitionKey": f"user{i % 7}"}
                for i in range(50)]
        assert c.put_records(StreamName="clicks", Records=recs)["FailedRecordCount"] == 0
        sent += [r["Data"] for r in recs]
    c.split_shard(StreamName="clicks", ShardToSplit="shardId-000000000001",
                  NewStartingHashKey=str(2**127))
    extra = c.put_record(StreamName="clicks", Data=b"after-split", PartitionKey="user1")
    sent.append(b"after-split")
    inst.close()
    inst2, c2 = open_client(location)
    try:
        got = [r["Data"] for r in read_stream(c2, "clicks")]
        assert sorted(got) == sorted(sent)
        desc = c2.describe_stream(StreamName="clicks")["StreamDescription"]
        assert desc["StreamStatus"] == "ACTIVE" and len(desc["Shards"]) == 5
        assert extra["ShardId"] in {s["ShardId"] for s in desc["Shards"]}
        # sequence numbers keep rising after the restart
        again = c2.put_record(StreamName="clicks", Data=b"x", PartitionKey="user1")
        assert again["ShardId"] == extra["ShardId"]
        assert int(again["SequenceNumber"]) > int(extra["SequenceNumber"])
    finally:
        inst2.close()


def test_torn_tail_of_a_local_log_is_cut_on_recovery(tmp_path):
    location = str(tmp_path / "k")
    inst, c = open_client(location)
    c.create_stream(StreamName="s", ShardCount=1)
    c.put_record(StreamName="s", Data=b"kept", PartitionKey="a")
    inst.close()
    seg = next((tmp_path / "k" / "shards").rglob("seg-*.klog"))
    with open(seg, "ab") as f:
        f.write(b"KR\x01\x01garbage")  # a crash in the middle of the next write
    inst, c = open_client(location)
    try:
        c.put_record(StreamName="s", Data=b"next", PartitionKey="a")
        assert [r["Data"] for r in read_stream(c, "s")] == [b"kept", b"next"]
    finally:
        inst.close()
    inst, c = open_client(location)
    try:
        assert [r["Data"] for r in read_stream(c, "s")] == [b"kept", b"next"]
    finally:
        inst.close()


def test_puts_over_the_shard_rate_fail_per_record_and_nothing_acknowledged_is_lost(tmp_path):
    clock = Clock()
    inst, c = open_client(str(tmp_path / "k"), clock=clock)
    try:
        c.create_stream(StreamName="s", ShardCount=1)
        results = []
        for b in range(3):
            recs = [{"Data": f"{b}-{i}".encode(), "PartitionKey": str(i)} for i in range(500)]
            out = c.put_records(StreamName="s", Records=recs)
            results += list(zip(recs, out["Records"]))
        ok = [r["Data"] for r, res in results if "SequenceNumber" in res]
        failed = [res for _, res in results if "ErrorCode" in res]
        assert len(ok) == 1000 and len(failed) == 500
        assert {f["ErrorCode"] for f in failed} == {"ProvisionedThroughputExceededException"}
        assert "Rate exceeded for shard shardId-000000000000 in stream s" in \
            failed[0]["ErrorMessage"]
        clock.tick(1.0)
        with pytest.raises(c.exceptions.ProvisionedThroughputExceededException):
            for _ in range(1001):
                c.put_record(StreamName="s", Data=b"x", PartitionKey="k")
        clock.tick(5)
        got = [r["Data"] for r in read_stream(c, "s")]
        assert got[:1000] == ok and len(got) == 2000  # 1000 more single puts in second two
    finally:
        inst.close()


def test_unlimited_streams_take_any_rate(tmp_path):
    inst, c = open_client(str(tmp_path / "k"), clock=Clock())
    try:
        c.create_stream(StreamName="s", ShardCount=1, Tags={"rayemr:limits": "unlimited"})
        recs = [{"Data": b"x", "PartitionKey": str(i)} for i in range(500)]
        for _ in range(5):
            assert c.put_records(StreamName="s", Records=recs)["FailedRecordCount"] == 0
        with pytest.raises(InvalidArgumentException, match="rayemr:limits"):
            c.create_stream(StreamName="t", ShardCount=1, Tags={"rayemr:limits": "fast"})
    finally:
        inst.close()


def test_bad_input_gets_aws_errors(tmp_path):
    inst, c = open_client(str(tmp_path / "k"))
    try:
        c.create_stream(StreamName="s", ShardCount=2)
        with pytest.raises(ResourceInUseException, match="already exists"):
            c.create_stream(StreamName="s", ShardCount=2)
        with pytest.raises(ResourceNotFoundException, match="Stream nope under account"):
            c.put_record(StreamName="nope", Data=b"x", PartitionKey="k")
        with pytest.raises(ValidationException, match="less than or equal to 1048576"):
            c.put_record(StreamName="s", Data=b"x" * (1024 * 1024 + 1), PartitionKey="k")
        with pytest.raises(ValidationException, match="less than or equal to 500"):
            c.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
        with pytest.raises(ValidationException, match="partitionKey"):
            c.put_record(StreamName="s", Data=b"x", PartitionKey="")
        with pytest.raises(InvalidArgumentException, match="ExplicitHashKey"):
            c.put_record(StreamName="s", Data=b"x", PartitionKey="k",
                         ExplicitHashKey=str(2**128))
        with pytest.raises(InvalidArgumentException, match="5 MB"):
            c.put_records(StreamName="s", Records=[{"Data": b"x" * (1024 * 1024),
                                                    "PartitionKey": "k"}] * 6)
        with pytest.raises(InvalidArgumentException, match="Invalid ShardIterator"):
            c.get_records(ShardIterator="AAAAforged")
        with pytest.raises(ResourceNotFoundException, match="shardId-000000000042"):
            c.get_shard_iterator(StreamName="s", ShardId="shardId-000000000042",
                                 ShardIteratorType="LATEST")
        with pytest.raises(InvalidArgumentException, match="StartingSequenceNumber"):
            c.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                 ShardIteratorType="AT_SEQUENCE_NUMBER")
        # the service is still fine and nothing was stored by the refused calls
        assert read_stream(c, "s") == []
    finally:
        inst.close()


def test_iterators_expire_after_five_minutes(tmp_path):
    clock = Clock()
    inst, c = open_client(str(tmp_path / "k"), clock=clock)
    try:
        c.create_stream(StreamName="s", ShardCount=1)
        it = c.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        clock.tick(299)
        nxt = c.get_records(ShardIterator=it)["NextShardIterator"]
        clock.tick(301)
        with pytest.raises(ExpiredIteratorException):
            c.get_records(ShardIterator=it)
        with pytest.raises(ExpiredIteratorException):
            c.get_records(ShardIterator=nxt)
    finally:
        inst.close()


def test_retention_expires_closed_shards_and_trims_records(tmp_path):
    clock = Clock()
    inst, c = open_client(str(tmp_path / "k"), clock=clock)
    try:
        c.create_stream(StreamName="s", ShardCount=1)
        c.put_record(StreamName="s", Data=b"old", PartitionKey="k")
        c.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        clock.tick(3600)
        c.put_record(StreamName="s", Data=b"new", PartitionKey="k")
        clock.tick(23.5 * 3600)
        assert inst.control.maintain() == ["s/shardId-000000000000"]
        ids = [s["ShardId"] for s in c.list_shards(StreamName="s")["Shards"]]
        assert "shardId-000000000000" not in ids and len(ids) == 2
        assert [r["Data"] for r in read_stream(c, "s")] == [b"new"]
        clock.tick(3600)
        for host in list(inst.control.handles.values()):
            host.maintain()
        assert read_stream(c, "s") == []
    finally:
        inst.close()


def test_paging_of_streams_and_shards(tmp_path):
    inst, c = open_client(str(tmp_path / "k"))
    try:
        for name in ("a", "b", "c"):
            c.create_stream(StreamName=name, ShardCount=3)
        page = c.list_streams(Limit=2)
        assert page["StreamNames"] == ["a", "b"] and page["HasMoreStreams"]
        rest = c.list_streams(NextToken=page["NextToken"])
        assert rest["StreamNames"] == ["c"] and not rest["HasMoreStreams"]
        shards = c.list_shards(StreamName="b", MaxResults=2)
        assert len(shards["Shards"]) == 2
        more = c.list_shards(NextToken=shards["NextToken"])
        assert [s["ShardId"] for s in more["Shards"]] == ["shardId-000000000002"]
        with pytest.raises(InvalidArgumentException):
            c.list_shards(StreamName="b", NextToken=shards["NextToken"])
        desc = c.describe_stream(StreamName="b", Limit=1)["StreamDescription"]
        assert desc["HasMoreShards"] and len(desc["Shards"]) == 1
        c.delete_stream(StreamName="b")
        assert c.list_streams()["StreamNames"] == ["a", "c"]
        with pytest.raises(ResourceNotFoundException):
            c.describe_stream(StreamName="b")
    finally:
        inst.close()


def test_put_racing_a_split_is_rerouted_to_the_children(tmp_path):
    inst, c = open_client(str(tmp_path / "k"))
    try:
        c.create_stream(StreamName="s", ShardCount=1)
        route = inst.service._route("s")  # cache the route, then reshard behind its back
        c.split_shard(StreamName="s", ShardToSplit="shardId-000000000000",
                      NewStartingHashKey=str(2**127))
        assert inst.service._route("s") is route
        out = c.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": str(i)}
                                                     for i in range(20)])
        assert out["FailedRecordCount"] == 0
        assert {r["ShardId"] for r in out["Records"]} == {"shardId-000000000001",
                                                          "shardId-000000000002"}
    finally:
        inst.close()
