"""boto3 against the endpoint over loopback: every call, AWS's errors, SigV4 refusals."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import botocore
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from tests.e2e.kinesis.conftest import ACCESS_KEY, SECRET_KEY, boto3_client


def name():
    return f"s-{uuid.uuid4().hex[:8]}"


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def get_records(k, iterator, attempts=50):
    """GetRecords as a consumer calls it: a shard serves 5 reads a second, so a consumer
    backs off and retries on ProvisionedThroughputExceededException (AWS's guidance)."""
    for _ in range(attempts):
        try:
            return k.get_records(ShardIterator=iterator, Limit=1000)
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
            time.sleep(0.2)
    raise AssertionError(f"GetRecords throttled {attempts} times in a row")


def drain(k, stream, shard_id, kind="TRIM_HORIZON", **kw):
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=kind,
                              **kw)["ShardIterator"]
    out = []
    while it:
        page = get_records(k, it)
        out.extend(page["Records"])
        if not page["Records"]:
            return out, page
        it = page.get("NextShardIterator")
    return out, page


def test_stream_lifecycle_and_records(kinesis):
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=s, WaiterConfig={"Delay": 0.1})
    desc = kinesis.describe_stream(StreamName=s)["StreamDescription"]
    assert desc["StreamStatus"] == "ACTIVE" and len(desc["Shards"]) == 2
    assert desc["StreamARN"] == f"arn:aws:kinesis:us-east-1:000000000000:stream/{s}"
    assert isinstance(desc["StreamCreationTimestamp"], datetime)
    summary = kinesis.describe_stream_summary(StreamARN=desc["StreamARN"])
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert s in kinesis.list_streams()["StreamNames"]
    one = kinesis.put_record(StreamName=s, Data=b"\x00binary\xff", PartitionKey="alice")
    batch = kinesis.put_records(StreamName=s, Records=[
        {"Data": f"r{i}".encode(), "PartitionKey": f"user{i}"} for i in range(100)])
    assert batch["FailedRecordCount"] == 0 and len(batch["Records"]) == 100
    shards = kinesis.list_shards(StreamName=s)["Shards"]
    got = []
    for shard in shards:
        got += drain(kinesis, s, shard["ShardId"])[0]
    assert len(got) == 101
    first = next(r for r in got if r["PartitionKey"] == "alice")
    assert first["Data"] == b"\x00binary\xff" and first["SequenceNumber"] == one["SequenceNumber"]
    assert isinstance(first["ApproximateArrivalTimestamp"], datetime)


def test_every_iterator_type(kinesis):
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=1)
    sid = "shardId-000000000000"
    seqs = []
    for i in range(5):
        if i == 3:
            time.sleep(1.1)  # botocore may send AT_TIMESTAMP in whole seconds
        seqs.append(kinesis.put_record(StreamName=s, Data=str(i).encode(),
                                       PartitionKey="k")["SequenceNumber"])
    data = lambda recs: [r["Data"] for r in recs]  # noqa: E731
    assert data(drain(kinesis, s, sid)[0]) == [b"0", b"1", b"2", b"3", b"4"]
    assert data(drain(kinesis, s, sid, "AT_SEQUENCE_NUMBER",
                       StartingSequenceNumber=seqs[2])[0]) == [b"2", b"3", b"4"]
    assert data(drain(kinesis, s, sid, "AFTER_SEQUENCE_NUMBER",
                       StartingSequenceNumber=seqs[2])[0]) == [b"3", b"4"]
    records = drain(kinesis, s, sid)[0]
    at = records[3]["ApproximateArrivalTimestamp"]
    assert data(drain(kinesis, s, sid, "AT_TIMESTAMP", Timestamp=at)[0]) == [b"3", b"4"]
    latest = kinesis.get_shard_iterator(StreamName=s, ShardId=sid,
                                        ShardIteratorType="LATEST")["ShardIterator"]
    assert get_records(kinesis, latest)["Records"] == []
    kinesis.put_record(StreamName=s, Data=b"5", PartitionKey="k")
    page = get_records(kinesis, latest)
    assert data(page["Records"]) == [b"5"] and page["MillisBehindLatest"] == 0


def test_resharding_lineage_and_child_shards(kinesis):
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=2)
    kinesis.put_records(StreamName=s, Records=[{"Data": b"before", "PartitionKey": str(i)}
                                               for i in range(20)])
    kinesis.split_shard(StreamName=s, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2**126))
    kinesis.get_waiter("stream_exists").wait(StreamName=s, WaiterConfig={"Delay": 0.1})
    kinesis.merge_shards(StreamName=s, ShardToMerge="shardId-000000000002",
                         AdjacentShardToMerge="shardId-000000000003")
    shards = {x["ShardId"]: x for x in kinesis.list_shards(StreamName=s)["Shards"]}
    assert shards["shardId-000000000004"]["ParentShardId"] == "shardId-000000000002"
    assert shards["shardId-000000000004"]["AdjacentParentShardId"] == "shardId-000000000003"
    assert "EndingSequenceNumber" in shards["shardId-000000000000"]["SequenceNumberRange"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        kinesis.split_shard(StreamName=s, ShardToSplit="shardId-000000000000",
                            NewStartingHashKey=str(2**125))
    assert code(exc) == "InvalidArgumentException"
    records, end = drain(kinesis, s, "shardId-000000000000")
    assert "NextShardIterator" not in end or end.get("NextShardIterator") is None
    assert {c["ShardId"] for c in end["ChildShards"]} == {"shardId-000000000002",
                                                         "shardId-000000000003"}
    out = kinesis.update_shard_count(StreamName=s, TargetShardCount=4,
                                     ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (2, 4)
    opened = kinesis.list_shards(StreamName=s, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(opened) == 4


def test_retention_tags_consumers_limits_and_delete(kinesis):
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=1, Tags={"team": "web"})
    kinesis.increase_stream_retention_period(StreamName=s, RetentionPeriodHours=48)
    kinesis.decrease_stream_retention_period(StreamName=s, RetentionPeriodHours=36)
    desc = kinesis.describe_stream_summary(StreamName=s)["StreamDescriptionSummary"]
    assert desc["RetentionPeriodHours"] == 36
    kinesis.add_tags_to_stream(StreamName=s, Tags={"env": "dev"})
    kinesis.remove_tags_from_stream(StreamName=s, TagKeys=["team"])
    assert kinesis.list_tags_for_stream(StreamName=s)["Tags"] == [{"Key": "env",
                                                                    "Value": "dev"}]
    arn = desc["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="dash")["Consumer"]
    assert consumer["ConsumerStatus"] == "ACTIVE"
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"][0]["ConsumerName"] == "dash"
    assert kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
        "ConsumerDescription"]["StreamARN"] == arn
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        kinesis.delete_stream(StreamName=s)
    assert code(exc) == "ResourceInUseException"
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="dash")
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 500 and limits["OpenShardCount"] >= 1
    kinesis.delete_stream(StreamName=s)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=s, WaiterConfig={"Delay": 0.1})


def test_aws_errors(kinesis, kinesis_endpoint):
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=1)
    cases = [
        (lambda: kinesis.describe_stream(StreamName="missing"), "ResourceNotFoundException"),
        (lambda: kinesis.create_stream(StreamName=s, ShardCount=1), "ResourceInUseException"),
        (lambda: kinesis.put_records(StreamName=s, Records=[{"Data": b"x",
                                                             "PartitionKey": "k"}] * 501),
         "ValidationException"),
        (lambda: kinesis.put_record(StreamName=s, Data=b"x" * (1024 * 1024 + 1),
                                    PartitionKey="k"), "ValidationException"),
        (lambda: kinesis.put_record(StreamName=s, Data=b"x", PartitionKey="k" * 257),
         "ValidationException"),
        (lambda: kinesis.put_record(StreamName=s, Data=b"x", PartitionKey="k",
                                    ExplicitHashKey=str(2**128)), "InvalidArgumentException"),
        (lambda: kinesis.get_records(ShardIterator="bm90IGFuIGl0ZXJhdG9y"),
         "InvalidArgumentException"),
        (lambda: kinesis.get_shard_iterator(StreamName=s, ShardId="shardId-000000000009",
                                            ShardIteratorType="LATEST"),
         "ResourceNotFoundException"),
        (lambda: kinesis.increase_stream_retention_period(StreamName=s,
                                                          RetentionPeriodHours=9000),
         "ValidationException"),  # outside the model's 1..8760
        (lambda: kinesis.decrease_stream_retention_period(StreamName=s,
                                                          RetentionPeriodHours=23),
         "InvalidArgumentException"),  # in the model, under Kinesis's 24 hours
    ]
    for call, expected in cases:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            call()
        assert code(exc) == expected
    # an expired iterator: minted with the service's key five minutes and a bit ago
    from rayemr.kinesis import iterators
    from rayemr.kinesis.catalog import Catalog
    real = kinesis.get_shard_iterator(StreamName=s, ShardId="shardId-000000000000",
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    state = iterators.peek(real)
    old = iterators.mint(state.advanced(state.position, time.time() - 301),
                         Catalog(kinesis_endpoint[1]).iterator_key())
    with pytest.raises(kinesis.exceptions.ExpiredIteratorException):
        kinesis.get_records(ShardIterator=old)


def test_wrong_secret_is_refused(kinesis_endpoint):
    bad = boto3_client(kinesis_endpoint[0].url, secret="wrong-secret")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        bad.list_streams()
    assert code(exc) == "InvalidSignatureException"
    stranger = boto3_client(kinesis_endpoint[0].url)
    stranger._request_signer._credentials = BotoCredentials("AKIDSTRANGER", SECRET_KEY)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        stranger.list_streams()
    assert code(exc) == "UnrecognizedClientException"


def raw(url, target, body, content_type="application/x-amz-json-1.1"):
    req = AWSRequest("POST", url + "/", data=body, headers={
        "Content-Type": content_type, "X-Amz-Target": f"Kinesis_20131202.{target}"})
    SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "kinesis", "us-east-1").add_auth(req)
    return requests.post(url + "/", data=body, headers=dict(req.headers), timeout=10)


def test_garbage_requests_leave_the_server_up_and_data_intact(kinesis, kinesis_endpoint):
    url = kinesis_endpoint[0].url
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=1)
    kinesis.put_records(StreamName=s, Records=[{"Data": b"kept", "PartitionKey": "k"}] * 3)
    bad = [
        (raw(url, "PutRecords", b'{"StreamName": "' + s.encode() + b'", "Records": ['), 400,
         "SerializationException"),
        (raw(url, "PutRecord", json.dumps({"StreamName": s, "PartitionKey": "k",
                                           "Data": "***"}).encode()), 400,
         "SerializationException"),
        (raw(url, "PutRecord", json.dumps({"StreamName": s, "PartitionKey": 5,
                                           "Data": "eA=="}).encode()), 400,
         "SerializationException"),
        (raw(url, "PutRecord", json.dumps({"StreamName": s, "PartitionKey": "",
                                           "Data": "eA=="}).encode()), 400,
         "ValidationException"),
        (raw(url, "DescribeStream", b"{}", content_type="text/plain"), 404, None),
        (raw(url, "NoSuchOperation", b"{}"), 400, "UnknownOperationException"),
        (raw(url, "SubscribeToShard", b"{}"), 400, "UnknownOperationException"),
    ]
    for resp, status, err in bad:
        assert resp.status_code == status, resp.text
        if err:
            assert resp.json()["__type"] == err
    records, _ = drain(kinesis, s, "shardId-000000000000")
    assert [r["Data"] for r in records] == [b"kept"] * 3


def test_over_the_shard_rate_is_refused_per_record_and_nothing_is_lost(kinesis):
    s = name()
    kinesis.create_stream(StreamName=s, ShardCount=1)
    ok, throttled, start = [], 0, time.time()
    for round_ in range(8):  # 4,000 records as fast as possible: far over 1,000/s
        recs = [{"Data": f"{round_}-{i}".encode(), "PartitionKey": "k"} for i in range(500)]
        out = kinesis.put_records(StreamName=s, Records=recs)
        for rec, res in zip(recs, out["Records"]):
            if "SequenceNumber" in res:
                ok.append(rec["Data"])
            else:
                assert res["ErrorCode"] == "ProvisionedThroughputExceededException"
                throttled += 1
        assert out["FailedRecordCount"] == sum(1 for r in out["Records"] if "ErrorCode" in r)
    seconds = int(time.time()) - int(start) + 1
    assert throttled > 0 and len(ok) <= 1000 * seconds
    time.sleep(1.1)  # out of the write second; reads have their own limits
    records, _ = drain(kinesis, s, "shardId-000000000000")
    assert [r["Data"] for r in records] == ok
