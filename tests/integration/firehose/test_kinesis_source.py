"""Delivery streams reading a rayemr Kinesis stream (``KinesisStreamAsSource``) with the
consumer library: records put to Kinesis become rows of a Hive table in S3; a restarted
consumer loses nothing acknowledged, and what it reads again is counted, not delivered twice."""
from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

import rayemr.kinesis as kinesis
from rayemr.core.waiting import wait_for
from rayemr.firehose import client
from tests.integration.firehose.conftest import ROLE, conversion, jq_partitioning, s3_dest


@pytest.fixture
def source_lake(lake, tmp_path):
    """(settings, hive session, bucket, Kinesis client, stream ARN): a 2-shard Kinesis stream
    served in this process, and Firehose settings that find it."""
    settings, session, bucket = lake
    ks = kinesis.KinesisSettings(location=str(tmp_path / "kinesis"))
    k = kinesis.client("local", ks)
    k.create_stream(StreamName="events", ShardCount=2)
    arn = k.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]["StreamARN"]
    yield replace(settings, kinesis_location=ks.location), session, bucket, k, arn
    from rayemr.kinesis.local import LocalKinesis

    LocalKinesis._open[ks.location].close()


def _create(fh, name: str, arn: str, bucket: str, table: str) -> None:
    fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration={
            **s3_dest(bucket, Prefix=f"{table}/event_type=!{{partitionKeyFromQuery:event_type}}/",
                      ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                      BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1}),
            **jq_partitioning("{event_type: .event_type}"), **conversion(table)})


def _put(k, first: int, n: int) -> list[tuple]:
    rows = [(i, f"/p/{i}", ("click", "view")[i % 2]) for i in range(first, first + n)]
    for i in range(0, n, 250):
        out = k.put_records(StreamName="events", Records=[
            {"Data": json.dumps({"user_id": u, "url": url, "event_type": t}).encode(),
             "PartitionKey": f"user{u}"} for u, url, t in rows[i:i + 250]])
        assert out["FailedRecordCount"] == 0
    return rows


def _rows(session, table: str) -> list[tuple]:
    return sorted(tuple(r.values()) for r in session.execute(
        f"SELECT user_id, url, event_type FROM {table}").table.to_pylist())


def _table(session, bucket: str, name: str) -> None:
    session.execute(f"CREATE EXTERNAL TABLE {name} (user_id bigint, url string) "
                    f"PARTITIONED BY (event_type string) STORED AS PARQUET "
                    f"LOCATION 's3://{bucket}/{name}'")


def test_kinesis_records_become_hive_rows_and_survive_a_restart(source_lake):
    settings, session, bucket, k, arn = source_lake
    _table(session, bucket, "events")
    early = _put(k, 0, 5)  # before the delivery stream exists: Firehose starts after them
    time.sleep(0.05)  # the stream's creation (in ms) comes strictly after their arrival
    fh = client("local", settings)
    _create(fh, "from-kinesis", arn, bucket, "events")
    desc = fh.describe_delivery_stream(DeliveryStreamName="from-kinesis")[
        "DeliveryStreamDescription"]
    assert desc["DeliveryStreamType"] == "KinesisStreamAsSource"
    source = desc["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == arn and source["RoleARN"] == ROLE
    assert source["DeliveryStartTimestamp"].timestamp() == pytest.approx(
        desc["CreateTimestamp"].timestamp(), abs=1)
    with pytest.raises(fh.exceptions.InvalidArgumentException, match="KinesisStreamAsSource"):
        fh.put_record(DeliveryStreamName="from-kinesis", Record={"Data": b"{}"})

    sent = _put(k, 100, 1000)
    wait_for(lambda: len(_rows(session, "events")) >= len(sent), 90)
    assert _rows(session, "events") == sorted(sent)
    m = fh.metrics("from-kinesis")["from-kinesis"]
    assert m["SourceRecordsBeforeStart"] == len(early) and m["SourceRecordsReadAgain"] == 0
    assert sorted(m["SourceShards"]) == ["shardId-000000000000", "shardId-000000000001"]

    fh.close()  # the consumer checkpoints and stops; records keep arriving in Kinesis
    sent += _put(k, 5000, 600)
    fh = client("local", settings)  # the catalog brings the stream back; it reads on
    try:
        wait_for(lambda: len(_rows(session, "events")) >= len(sent), 90)
        # a record read again would have been logged before the new ones of its shard, so
        # it would be in S3 by now: the rows are exactly those sent
        assert _rows(session, "events") == sorted(sent)
        m = fh.metrics("from-kinesis")["from-kinesis"]
        assert m["IncomingRecords"] == 600 and m["SourceRecordsReadAgain"] == 0
    finally:
        fh.delete_delivery_stream(DeliveryStreamName="from-kinesis")
        fh.close()


def test_records_read_again_after_a_crash_are_counted_not_delivered_twice(
        source_lake, monkeypatch):
    """The consumer logs records but dies before checkpointing them (checkpoints are made to
    go nowhere); the next one reads them again from the stream's start."""
    from rayemr.kinesis import consumer

    settings, session, bucket, k, arn = source_lake
    _table(session, bucket, "crash")
    fh = client("local", settings)
    lost_checkpoints = monkeypatch.context()
    with lost_checkpoints as patch:
        patch.setattr(consumer.Checkpointer, "checkpoint", lambda self, seq=None: None)
        _create(fh, "crashy", arn, bucket, "crash")
        sent = _put(k, 0, 700)
        wait_for(lambda: fh.metrics("crashy")["crashy"]["IncomingRecords"] == len(sent), 90)
        fh.close()
    fh = client("local", settings)
    try:
        # every record is read again: counted ...
        wait_for(lambda: fh.metrics("crashy")["crashy"]["SourceRecordsReadAgain"] == len(sent),
                 90)
        sent += _put(k, 1000, 100)
        wait_for(lambda: len(_rows(session, "crash")) >= len(sent), 90)
        assert _rows(session, "crash") == sorted(sent)  # ... and delivered once
        m = fh.metrics("crashy")["crashy"]
        assert m["IncomingRecords"] == 100 and m["SourceError"] is None
    finally:
        fh.delete_delivery_stream(DeliveryStreamName="crashy")
        fh.close()


def test_bad_source_configurations(source_lake):
    settings, _, bucket, _, arn = source_lake
    fh = client("local", settings)
    try:
        for bad_arn, message in (("arn:aws:kinesis:us-east-1:000000000000:stream/nope",
                                  "not found"),
                                 ("arn:aws:s3:::bucket", "not a Kinesis stream ARN")):
            with pytest.raises(fh.exceptions.InvalidArgumentException, match=message):
                fh.create_delivery_stream(
                    DeliveryStreamName="bad", DeliveryStreamType="KinesisStreamAsSource",
                    KinesisStreamSourceConfiguration={"KinesisStreamARN": bad_arn,
                                                      "RoleARN": ROLE},
                    ExtendedS3DestinationConfiguration=s3_dest(bucket))
        assert fh.list_delivery_streams()["DeliveryStreamNames"] == []
    finally:
        fh.close()
