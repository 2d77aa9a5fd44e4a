"""Delivery streams end to end on the loopback S3 endpoint (in-process backend): buffering,
prefixes, dynamic partitioning, conversion against a Hive table, compression, transformation,
backup, bad input, and a Hive query over exactly the records sent."""
from __future__ import annotations

import base64
import io
import json
import re
import threading
import time

import boto3
import pyarrow.parquet as pq
import pytest

from rayemr.core.waiting import wait_for
from rayemr.firehose import client
from rayemr.firehose.compress import decompress
from tests.integration.firehose.conftest import conversion, jq_partitioning, s3_dest


def _objects(bucket: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    out = {}
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        out[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


@pytest.fixture
def fh(lake):
    settings, session, bucket = lake
    c = client("local", settings)
    yield c, session, bucket
    c.close()


def rows(result):
    return [tuple(r.values()) for r in result.table.to_pylist()]


def test_size_buffering_and_default_layout(fh):
    c, _, bucket = fh
    c.create_delivery_stream(DeliveryStreamName="raw", ExtendedS3DestinationConfiguration=s3_dest(
        bucket, Prefix="raw/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}))
    record = b"x" * 100_000 + b"\n"
    for _ in range(11):  # 1.1 MB: over 1 MiB, the buffer is full long before 900 s
        c.put_record(DeliveryStreamName="raw", Record={"Data": record})
    objects = wait_for(lambda: _objects(bucket), 30)
    (key, body), = objects.items()
    assert re.fullmatch(r"raw/\d{4}/\d\d/\d\d/\d\d/raw-1-\d{4}(-\d\d){5}-[0-9a-f-]{36}", key)
    assert body == record * 11


def test_interval_buffering_and_compression(fh):
    c, _, bucket = fh
    for fmt in ("GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"):
        c.create_delivery_stream(
            DeliveryStreamName=f"c-{fmt}", ExtendedS3DestinationConfiguration=s3_dest(
                bucket, Prefix=f"{fmt}/!{{timestamp:yyyy}}/", ErrorOutputPrefix="e/",
                CompressionFormat=fmt, BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 1}))
        r = c.put_record_batch(DeliveryStreamName=f"c-{fmt}",
                               Records=[{"Data": f"{i}\n".encode()} for i in range(100)])
        assert r["FailedPutCount"] == 0 and len(r["RequestResponses"]) == 100
    objects = wait_for(lambda: (o := _objects(bucket)) and len(o) == 4 and o, 30)
    ext = {"GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy", "HADOOP_SNAPPY": ".hsnappy"}
    for key, body in objects.items():
        fmt = key.split("/")[0]
        assert key.endswith(ext[fmt]) and key.split("/")[1] == time.strftime("%Y", time.gmtime())
        assert decompress(body, fmt) == "".join(f"{i}\n" for i in range(100)).encode()


def test_partitioned_parquet_hive_table_returns_exactly_what_was_sent(fh):
    c, session, bucket = fh
    session.execute(f"CREATE EXTERNAL TABLE clicks (user_id int, url string, ts timestamp) "
                    f"PARTITIONED BY (event_type string) STORED AS PARQUET "
                    f"LOCATION 's3://{bucket}/clicks/'")
    c.create_delivery_stream(DeliveryStreamName="clicks", ExtendedS3DestinationConfiguration={
        **s3_dest(bucket, Prefix="clicks/event_type=!{partitionKeyFromQuery:event_type}/",
                  ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                  BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1}),
        **jq_partitioning("{event_type: .event_type}"), **conversion("clicks")})
    sent = [{"user_id": i, "url": f"/p/{i}", "ts": f"2024-05-01 10:00:{i % 60:02d}",
             "event_type": ["click", "view", "buy"][i % 3]} for i in range(300)]
    bad = [b"not json", json.dumps({"user_id": "abc", "event_type": "click"}).encode(),
           json.dumps({"url": "no type"}).encode()]
    r = c.put_record_batch(DeliveryStreamName="clicks",
                           Records=[{"Data": json.dumps(s).encode()} for s in sent]
                           + [{"Data": b} for b in bad])
    assert r["FailedPutCount"] == 0
    count = "SELECT count(*) FROM clicks"
    wait_for(lambda: rows(session.execute(count)) == [(300,)], 30)
    got = rows(session.execute("SELECT user_id, url, event_type FROM clicks ORDER BY user_id"))
    assert got == [(s["user_id"], s["url"], s["event_type"]) for s in sent]
    assert rows(session.execute("SHOW PARTITIONS clicks")) == [
        ("event_type=buy",), ("event_type=click",), ("event_type=view",)]
    objects = wait_for(lambda: (o := _objects(bucket)) and sum(
        k.startswith("errors/") for k in o) == 2 and o, 30)
    errors = {k.split("/")[1]: [json.loads(x) for x in v.splitlines()]
              for k, v in objects.items() if k.startswith("errors/")}
    # not JSON and no partition key: partitioning fails first; "abc": conversion fails
    assert sorted(base64.b64decode(e["rawData"]) for e in errors["partitioning-failed"]) == sorted(
        [bad[0], bad[2]])
    (conv,) = errors["format-conversion-failed"]
    assert base64.b64decode(conv["rawData"]) == bad[1]
    assert "user_id" in conv["ErrorMessage"] and conv["dataCatalogTable"]["tableName"] == "clicks"
    m = c.metrics("clicks")["clicks"]
    assert m["DeliveredRecords"] == 300 and m["FailedRecords"] == 3
    assert m["PartitionsRegistered"] == 3


def test_orc_conversion_against_a_table_schema(fh):
    c, session, bucket = fh
    session.execute(f"CREATE EXTERNAL TABLE ev (id bigint, name string) STORED AS ORC "
                    f"LOCATION 's3://{bucket}/ev/'")
    c.create_delivery_stream(DeliveryStreamName="ev", ExtendedS3DestinationConfiguration={
        **s3_dest(bucket, Prefix="ev/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0}),
        **conversion("ev", "OrcSerDe")})
    c.put_record_batch(DeliveryStreamName="ev", Records=[
        {"Data": json.dumps({"ID": i, "Name": f"n{i}"}).encode()} for i in range(5)])
    wait_for(lambda: rows(session.execute("SELECT count(*) FROM ev")) == [(5,)], 30)
    assert rows(session.execute("SELECT id, name FROM ev ORDER BY id")) == [
        (i, f"n{i}") for i in range(5)]


def test_transformation_results_and_backup(fh, lake):
    settings, _, _ = lake
    from dataclasses import replace

    def upper(event, context):
        out = []
        for r in event["records"]:
            text = base64.b64decode(r["data"]).decode()
            result = "Dropped" if "drop" in text else (
                "ProcessingFailed" if "fail" in text else "Ok")
            out.append({"recordId": r["recordId"], "result": result,
                        "data": base64.b64encode(text.upper().encode()).decode()})
        return {"records": out}

    c, _, bucket = fh
    c2 = client("local", replace(settings, lambdas=(("upper", upper),),
                                 location=settings.location + "2"))
    try:
        with pytest.raises(c2.exceptions.InvalidArgumentException, match="not-registered"):
            c2.create_delivery_stream(DeliveryStreamName="t", ExtendedS3DestinationConfiguration={
                **s3_dest(bucket), "ProcessingConfiguration": {"Enabled": True, "Processors": [
                    {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn",
                                                       "ParameterValue": "not-registered"}]}]}})
        c2.create_delivery_stream(DeliveryStreamName="t", ExtendedS3DestinationConfiguration={
            **s3_dest(bucket, Prefix="out/", ErrorOutputPrefix="err/",
                      BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1},
                      S3BackupMode="Enabled",
                      S3BackupConfiguration=s3_dest(
                          bucket, Prefix="backup/", CompressionFormat="GZIP",
                          BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})),
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn",
                     "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:upper"}]}]}})
        data = [b"a;", b"drop;", b"fail;", b"b;"]
        c2.put_record_batch(DeliveryStreamName="t", Records=[{"Data": d} for d in data])
        objects = wait_for(lambda: (o := _objects(bucket)) and len(o) == 3 and o, 30)
    finally:
        c2.close()
    by_top = {k.split("/")[0]: v for k, v in objects.items()}
    assert by_top["out"] == b"A;B;"
    assert decompress(by_top["backup"], "GZIP") == b"".join(data)
    failed = [json.loads(x) for x in by_top["err"].splitlines()]
    assert [base64.b64decode(f["rawData"]) for f in failed] == [b"fail;"]
    assert failed[0]["errorCode"] == "Lambda.ProcessingFailed" and "lambdaArn" in failed[0]
    assert [k.split("/")[1] for k in objects if k.startswith("err/")] == ["processing-failed"]


def test_bad_input_gets_awss_errors_and_the_stream_lives_on(fh):
    c, _, bucket = fh
    E = c.exceptions
    with pytest.raises(E.ResourceNotFoundException):
        c.put_record(DeliveryStreamName="nope", Record={"Data": b"x"})
    c.create_delivery_stream(DeliveryStreamName="s", ExtendedS3DestinationConfiguration=s3_dest(
        bucket, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}))
    with pytest.raises(E.ResourceInUseException):
        c.create_delivery_stream(DeliveryStreamName="s",
                                 ExtendedS3DestinationConfiguration=s3_dest(bucket))
    with pytest.raises(E.ValidationException, match="1024000"):
        c.put_record(DeliveryStreamName="s", Record={"Data": b"x" * (1000 * 1024 + 1)})
    with pytest.raises(E.ValidationException, match="501"):
        c.put_record_batch(DeliveryStreamName="s", Records=[{"Data": b"x"}] * 501)
    with pytest.raises(E.InvalidArgumentException, match="not a valid JQ"):
        c.create_delivery_stream(DeliveryStreamName="j", ExtendedS3DestinationConfiguration={
            **s3_dest(bucket, Prefix="!{partitionKeyFromQuery:k}/", ErrorOutputPrefix="e/"),
            **jq_partitioning("{k: .k")})
    with pytest.raises(E.InvalidArgumentException, match="not in the metastore"):
        c.create_delivery_stream(DeliveryStreamName="m", ExtendedS3DestinationConfiguration={
            **s3_dest(bucket), **conversion("no_such_table")})
    assert c.list_delivery_streams()["DeliveryStreamNames"] == ["s"]
    r = c.put_record_batch(DeliveryStreamName="s", Records=[{"Data": b"ok\n"}])
    assert r["FailedPutCount"] == 0
    d = c.describe_delivery_stream(DeliveryStreamName="s")["DeliveryStreamDescription"]
    assert d["DeliveryStreamStatus"] == "ACTIVE" and d["VersionId"] == "1"
    c.update_destination(DeliveryStreamName="s", CurrentDeliveryStreamVersionId="1",
                         DestinationId=d["Destinations"][0]["DestinationId"],
                         ExtendedS3DestinationUpdate={"Prefix": "moved/"})
    with pytest.raises(E.ConcurrentModificationException):
        c.update_destination(DeliveryStreamName="s", CurrentDeliveryStreamVersionId="1",
                             DestinationId="destinationId-000000000001",
                             ExtendedS3DestinationUpdate={"Prefix": "again/"})
    objects = _objects(bucket)  # the update delivered what version 1 had buffered
    assert [v for v in objects.values()] == [b"ok\n"] and list(objects)[0].count("/s-1-")
    c.delete_delivery_stream(DeliveryStreamName="s")
    with pytest.raises(E.ResourceNotFoundException):
        c.describe_delivery_stream(DeliveryStreamName="s")


def test_streams_survive_a_restart_of_the_service(fh, lake):
    settings, _, bucket = lake
    c, _, _ = fh
    c.create_delivery_stream(DeliveryStreamName="keep", ExtendedS3DestinationConfiguration=s3_dest(
        bucket, Prefix="k/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}))
    c.put_record(DeliveryStreamName="keep", Record={"Data": b"durable\n"})
    # a second service on the same location (as after a restart) sees the stream
    c.close()  # delivers what was buffered
    again = client("local", settings)
    try:
        assert again.list_delivery_streams()["DeliveryStreamNames"] == ["keep"]
        assert list(_objects(bucket).values()) == [b"durable\n"]
    finally:
        again.close()


def test_a_put_is_answered_only_once_its_records_are_on_disk(fh, monkeypatch, tmp_path):
    """The answer is built while the put's log frame syncs (``PutResult.settle``), and leaves
    only after the sync; a sync that fails answers AWS's InternalFailure, not the records'
    ids."""
    from rayemr.firehose import logfile

    c, _, bucket = fh
    c.create_delivery_stream(DeliveryStreamName="d",
                             ExtendedS3DestinationConfiguration=s3_dest(bucket, Prefix="d/"))
    _, _, host = c._service.control.route("d")
    gate, real, failing = threading.Event(), logfile.datasync, []

    def slow_or_failing(fd):
        gate.wait(30)
        if failing:
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(logfile, "datasync", slow_or_failing)
    answers = []
    put = threading.Thread(target=lambda: answers.append(c.put_record_batch(
        DeliveryStreamName="d", Records=[{"Data": b"a\n"}, {"Data": b"b\n"}])))
    put.start()
    wait_for(lambda: host.stream.wal._syncing, 10, what="the put's sync")
    time.sleep(0.2)
    assert answers == []  # logged, synced only once the gate opens: not answered yet
    gate.set()
    put.join(30)
    assert answers[0]["FailedPutCount"] == 0 and len(answers[0]["RequestResponses"]) == 2

    failing.append(True)
    with pytest.raises(c.exceptions.InternalFailure) as caught:
        c.put_record(DeliveryStreamName="d", Record={"Data": b"c\n"})
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert "not acknowledged" in str(caught.value) and str(tmp_path) not in str(caught.value)
