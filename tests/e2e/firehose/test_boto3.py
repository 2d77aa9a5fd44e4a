"""boto3's ``firehose`` client against ``rayemr aws serve`` (in this process, local backend) over
loopback, objects in moto's S3: every call, AWS's errors, SigV4 refusals, bad input that ends in
AWS's error or the error prefix (never a lost record, never a crashed stream), and a Hive query
over what was delivered."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from rayemr.core.waiting import wait_for
from tests.e2e.firehose.conftest import (
    ACCESS_KEY, ROLE, WAIT_S, boto3_client, conversion, destination, partitioning)


def name() -> str:
    return f"fh-{uuid.uuid4().hex[:8]}"


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_every_call(lake, firehose):
    s = name()
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=s, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=destination(
            lake.bucket, Prefix=f"{s}/v1/", ErrorOutputPrefix=f"{s}/err/",
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}),
        Tags=[{"Key": "team", "Value": "data"}])["DeliveryStreamARN"]
    assert arn == f"arn:aws:firehose:us-east-1:123456789012:deliverystream/{s}"
    desc = firehose.describe_delivery_stream(DeliveryStreamName=s)["DeliveryStreamDescription"]
    assert desc["DeliveryStreamStatus"] == "ACTIVE" and desc["VersionId"] == "1"
    assert isinstance(desc["CreateTimestamp"], datetime)
    ext = desc["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["Prefix"] == f"{s}/v1/" and ext["BufferingHints"]["IntervalInSeconds"] == 1
    listed = firehose.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    assert s in listed
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=s)["Tags"] == [
        {"Key": "team", "Value": "data"}]

    one = firehose.put_record(DeliveryStreamName=s, Record={"Data": b"\x00first\xff\n"})
    assert one["RecordId"] and one["Encrypted"] is False
    batch = firehose.put_record_batch(DeliveryStreamName=s, Records=[
        {"Data": f"r{i}\n".encode()} for i in range(500)])
    assert batch["FailedPutCount"] == 0 and len(batch["RequestResponses"]) == 500
    assert len({r["RecordId"] for r in batch["RequestResponses"]} | {one["RecordId"]}) == 501
    v1 = wait_for(lambda: (o := lake.objects(f"{s}/v1/")) and sum(
        b.count(b"\n") for b in o.values()) == 501 and o, WAIT_S)
    body = b"".join(v1[k] for k in sorted(v1))
    assert body.startswith(b"\x00first\xff\n") and body.count(b"\n") == 501

    with pytest.raises(ClientError) as exc:
        firehose.update_destination(DeliveryStreamName=s, CurrentDeliveryStreamVersionId="7",
                                    DestinationId=desc["Destinations"][0]["DestinationId"],
                                    ExtendedS3DestinationUpdate={"Prefix": f"{s}/never/"})
    assert code(exc) == "ConcurrentModificationException"
    firehose.update_destination(DeliveryStreamName=s, CurrentDeliveryStreamVersionId="1",
                                DestinationId=desc["Destinations"][0]["DestinationId"],
                                ExtendedS3DestinationUpdate={"Prefix": f"{s}/v2/"})
    desc = firehose.describe_delivery_stream(DeliveryStreamName=s)["DeliveryStreamDescription"]
    assert desc["VersionId"] == "2"
    assert desc["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == f"{s}/v2/"
    firehose.put_record(DeliveryStreamName=s, Record={"Data": b"after update\n"})
    v2 = wait_for(lambda: lake.objects(f"{s}/v2/"), WAIT_S)
    assert list(v2.values()) == [b"after update\n"]
    assert not lake.objects(f"{s}/never/")

    firehose.delete_delivery_stream(DeliveryStreamName=s)
    with pytest.raises(ClientError) as exc:
        firehose.describe_delivery_stream(DeliveryStreamName=s)
    assert code(exc) == "ResourceNotFoundException"
    assert s not in firehose.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]


def test_list_pages_and_delete_delivers_the_buffers(lake, firehose):
    names = sorted(name() for _ in range(3))
    for s in names:
        firehose.create_delivery_stream(
            DeliveryStreamName=s, ExtendedS3DestinationConfiguration=destination(
                lake.bucket, Prefix=f"{s}/", BufferingHints={"SizeInMBs": 128,
                                                              "IntervalInSeconds": 900}))
    page = firehose.list_delivery_streams(Limit=1, ExclusiveStartDeliveryStreamName=names[0])
    assert page["DeliveryStreamNames"] == [names[1]] and page["HasMoreDeliveryStreams"]
    page = firehose.list_delivery_streams(Limit=10, DeliveryStreamType="KinesisStreamAsSource")
    assert not set(names) & set(page["DeliveryStreamNames"])
    firehose.put_record(DeliveryStreamName=names[0], Record={"Data": b"kept\n"})
    for s in names:  # 900 s buffers: only deleting the stream delivers the record now
        firehose.delete_delivery_stream(DeliveryStreamName=s)
    assert list(lake.objects(f"{names[0]}/").values()) == [b"kept\n"]


def test_aws_error_types(lake, firehose):
    missing = name()
    for call, kw in ((firehose.describe_delivery_stream, {}),
                     (firehose.delete_delivery_stream, {}),
                     (firehose.put_record, {"Record": {"Data": b"x"}}),
                     (firehose.put_record_batch, {"Records": [{"Data": b"x"}]})):
        with pytest.raises(firehose.exceptions.ResourceNotFoundException) as exc:
            call(DeliveryStreamName=missing, **kw)
        assert missing in exc.value.response["Error"]["Message"]
    s = name()
    firehose.create_delivery_stream(DeliveryStreamName=s,
                                    ExtendedS3DestinationConfiguration=destination(lake.bucket))
    with pytest.raises(firehose.exceptions.ResourceInUseException):
        firehose.create_delivery_stream(
            DeliveryStreamName=s, ExtendedS3DestinationConfiguration=destination(lake.bucket))
    with pytest.raises(firehose.exceptions.InvalidArgumentException) as exc:
        firehose.create_delivery_stream(
            DeliveryStreamName=name(), ExtendedS3DestinationConfiguration={
                **destination(lake.bucket, Prefix="p/!{partitionKeyFromQuery:k}/",
                              ErrorOutputPrefix="e/"), **partitioning("{k: .a | ")})
    assert "JQ" in exc.value.response["Error"]["Message"]
    with pytest.raises(firehose.exceptions.InvalidArgumentException):
        firehose.create_delivery_stream(
            DeliveryStreamName=name(), ExtendedS3DestinationConfiguration=destination(
                lake.bucket, BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60}))
    with pytest.raises(ClientError) as exc:
        firehose.create_delivery_stream(DeliveryStreamName="bad/name",
                                        ExtendedS3DestinationConfiguration=destination("b"))
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        firehose.list_delivery_streams(Limit=10001)  # botocore checks the minimum only
    assert code(exc) == "ValidationException"
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_sigv4_refusals(lake):
    for client, expected in ((boto3_client(lake.url, secret="not-the-secret"),
                              "InvalidSignatureException"),
                             (boto3_client(lake.url, key="AKIDUNKNOWN"),
                              "UnrecognizedClientException")):
        with pytest.raises(ClientError) as exc:
            client.list_delivery_streams()
        assert code(exc) == expected
        with pytest.raises(ClientError) as exc:
            client.put_record(DeliveryStreamName="any", Record={"Data": b"x"})
        assert code(exc) == expected
    # a request signed for another service's scope is refused too
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from tests.e2e.firehose.conftest import SECRET_KEY

    req = AWSRequest("POST", lake.url + "/", data=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Firehose_20150804.ListDeliveryStreams"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "kinesis", "us-east-1").add_auth(req)
    answer = requests.post(lake.url + "/", data=b"{}", headers=dict(req.headers), timeout=30)
    assert answer.status_code == 400
    assert answer.json()["__type"] == "InvalidSignatureException"
    assert SECRET_KEY not in answer.text


def test_request_limits_refuse_the_whole_call_and_the_stream_goes_on(lake, firehose):
    s = name()
    firehose.create_delivery_stream(
        DeliveryStreamName=s, ExtendedS3DestinationConfiguration=destination(
            lake.bucket, Prefix=f"{s}/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
    big = b"x" * (1000 * 1024 + 1)
    with pytest.raises(ClientError) as exc:
        firehose.put_record(DeliveryStreamName=s, Record={"Data": big})
    assert code(exc) == "ValidationException" and "1024000" in exc.value.response["Error"][
        "Message"]
    with pytest.raises(ClientError) as exc:
        firehose.put_record_batch(DeliveryStreamName=s, Records=[{"Data": b"ok\n"}, {"Data": big}])
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        firehose.put_record_batch(DeliveryStreamName=s,
                                  Records=[{"Data": b"n\n"} for _ in range(501)])
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:  # 5 x 1,000,000 bytes: over 4 MiB a call
        firehose.put_record_batch(DeliveryStreamName=s,
                                  Records=[{"Data": b"y" * 1_000_000} for _ in range(5)])
    assert code(exc) == "InvalidArgumentException"
    # nothing of the refused calls was accepted; the stream still takes records
    assert firehose.put_record(DeliveryStreamName=s, Record={"Data": b"fine\n"})["RecordId"]
    assert list(wait_for(lambda: lake.objects(f"{s}/"), WAIT_S).values()) == [b"fine\n"]
    assert firehose.describe_delivery_stream(DeliveryStreamName=s)[
        "DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE"
    firehose.delete_delivery_stream(DeliveryStreamName=s)
    assert list(lake.objects(f"{s}/").values()) == [b"fine\n"]


def _errors(lake, prefix: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for key, body in lake.objects(prefix).items():
        kind = key[len(prefix):].split("/")[0]
        out.setdefault(kind, []).extend(json.loads(line) for line in body.splitlines())
    return out


def test_bad_records_go_to_the_error_prefix_with_the_reason(lake, firehose):
    """Non-JSON with conversion on, schema mismatches and a JQ query that fails on some
    records: every record is delivered or in the error output, and the stream goes on."""
    t, s = f"plain_{uuid.uuid4().hex[:6]}", name()
    lake.session.execute(f"CREATE EXTERNAL TABLE {t} (id bigint, name string) STORED AS PARQUET "
                         f"LOCATION 's3://{lake.bucket}/{t}/'")
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration={
        **destination(lake.bucket, Prefix=f"{t}/", ErrorOutputPrefix=f"{s}-errors/",
                      BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1}),
        **conversion(t)})
    good = [{"id": i, "name": f"n{i}"} for i in range(20)]
    bad = [b"not json at all", b'{"id": 1', b'{"id": "abc", "name": "x"}', b"[1, 2]"]
    answer = firehose.put_record_batch(DeliveryStreamName=s, Records=[
        {"Data": json.dumps(g).encode()} for g in good] + [{"Data": b} for b in bad])
    assert answer["FailedPutCount"] == 0
    wait_for(lambda: lake.query(f"SELECT count(*) FROM {t}") == [(20,)], WAIT_S)
    assert sorted(lake.query(f"SELECT id, name FROM {t}")) == [(g["id"], g["name"]) for g in good]
    errors = wait_for(lambda: (e := _errors(lake, f"{s}-errors/")) and sum(
        map(len, e.values())) == 4 and e, WAIT_S)
    assert set(errors) == {"format-conversion-failed"}
    by_raw = {base64.b64decode(e["rawData"]): e for e in errors["format-conversion-failed"]}
    assert set(by_raw) == set(bad)
    assert by_raw[b"not json at all"]["ErrorCode"] == "DataFormatConversion.MalformedData"
    mismatch = by_raw[b'{"id": "abc", "name": "x"}']
    assert "id" in mismatch["ErrorMessage"]
    assert mismatch["dataCatalogTable"]["tableName"] == t
    # the stream is not crashed: it still converts what it gets
    firehose.put_record(DeliveryStreamName=s, Record={"Data": b'{"id": 99, "name": "late"}'})
    wait_for(lambda: lake.query(f"SELECT count(*) FROM {t}") == [(21,)], WAIT_S)
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_failing_jq_expression(lake, firehose):
    s = name()
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration={
        **destination(lake.bucket, Prefix=f"{s}/kind=!{{partitionKeyFromQuery:kind}}/",
                      ErrorOutputPrefix=f"{s}-errors/!{{firehose:error-output-type}}/",
                      BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1}),
        **partitioning("{kind: .kind | ascii_downcase}")})
    ok = [json.dumps({"kind": k, "i": i}).encode() + b"\n" for i, k in enumerate("AbAb")]
    failing = [json.dumps({"kind": 7}).encode() + b"\n", b"{broken\n",
               json.dumps({"other": 1}).encode() + b"\n"]
    answer = firehose.put_record_batch(DeliveryStreamName=s, Records=[
        {"Data": d} for d in ok + failing])
    assert answer["FailedPutCount"] == 0
    delivered = wait_for(lambda: (o := lake.objects(f"{s}/")) and len(o) == 2 and o, WAIT_S)
    by_kind = {k.split("/")[1]: v for k, v in delivered.items()}
    assert by_kind == {"kind=a": ok[0] + ok[2], "kind=b": ok[1] + ok[3]}
    errors = wait_for(lambda: (e := _errors(lake, f"{s}-errors/")) and sum(
        map(len, e.values())) == 3 and e, WAIT_S)
    failed = {base64.b64decode(e["rawData"]): e for e in errors["partitioning-failed"]}
    assert set(failed) == set(failing)
    assert "cannot be" in failed[failing[0]]["errorMessage"].lower() or "explode" in failed[
        failing[0]]["errorMessage"]
    assert all(e["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
               for e in failed.values())
    firehose.put_record(DeliveryStreamName=s, Record={"Data": ok[0]})
    wait_for(lambda: len(lake.objects(f"{s}/kind=a/")) == 2, WAIT_S)
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_hive_query_returns_exactly_the_records_sent(lake, firehose):
    t, s = f"clicks_{uuid.uuid4().hex[:6]}", name()
    lake.session.execute(
        f"CREATE EXTERNAL TABLE {t} (user_id bigint, url string, price double) "
        f"PARTITIONED BY (event_type string) STORED AS PARQUET "
        f"LOCATION 's3://{lake.bucket}/tables/{t}'")
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration={
        **destination(lake.bucket, Prefix=f"tables/{t}/event_type=!{{partitionKeyFromQuery:"
                                          "event_type}/",
                      ErrorOutputPrefix=f"{s}-errors/!{{firehose:error-output-type}}/",
                      BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1}),
        **partitioning("{event_type: .event_type}"), **conversion(t)})
    sent = [{"user_id": i, "url": f"/p/{i % 97}", "price": round(i * 0.25, 2),
             "event_type": ("click", "view", "purchase")[i % 3]} for i in range(1500)]
    for i in range(0, 1400, 350):
        answer = firehose.put_record_batch(DeliveryStreamName=s, Records=[
            {"Data": json.dumps(r).encode()} for r in sent[i:i + 350]])
        assert answer["FailedPutCount"] == 0
    for r in sent[1400:]:
        firehose.put_record(DeliveryStreamName=s, Record={"Data": json.dumps(r).encode()})
    wait_for(lambda: lake.query(f"SELECT count(*) FROM {t}") == [(len(sent),)], WAIT_S)
    got = lake.query(f"SELECT user_id, url, price, event_type FROM {t}")
    assert sorted(got) == sorted(tuple(r.values()) for r in sent)
    assert lake.query(f"SELECT event_type, count(*) FROM {t} GROUP BY event_type "
                      "ORDER BY event_type") == [("click", 500), ("purchase", 500), ("view", 500)]
    assert lake.query(f"SHOW PARTITIONS {t}") == [
        ("event_type=click",), ("event_type=purchase",), ("event_type=view",)]
    keys = [k for k in lake.objects(f"tables/{t}/")]
    assert keys and all(k.endswith(".parquet") for k in keys)
    assert not lake.objects(f"{s}-errors/")
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_kinesis_stream_as_source_over_the_endpoint(lake, firehose):
    """boto3's kinesis client puts records on the same endpoint; a delivery stream reading that
    Kinesis stream lands exactly those records; puts to it are refused as AWS refuses them."""
    kinesis = boto3_client(lake.url, "kinesis")
    stream, s = f"src-{uuid.uuid4().hex[:6]}", name()
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    wait_for(lambda: kinesis.describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE", WAIT_S)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"]
    firehose.create_delivery_stream(
        DeliveryStreamName=s, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=destination(
            lake.bucket, Prefix=f"{s}/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
    desc = firehose.describe_delivery_stream(DeliveryStreamName=s)["DeliveryStreamDescription"]
    assert desc["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == arn
    assert s in firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")[
        "DeliveryStreamNames"]
    with pytest.raises(ClientError) as exc:
        firehose.put_record(DeliveryStreamName=s, Record={"Data": b"x\n"})
    assert code(exc) == "InvalidArgumentException"
    sent = [f"k{i}\n".encode() for i in range(600)]
    for i in range(0, len(sent), 300):
        answer = kinesis.put_records(StreamName=stream, Records=[
            {"Data": d, "PartitionKey": d.decode()} for d in sent[i:i + 300]])
        assert answer["FailedRecordCount"] == 0
    got = wait_for(lambda: (o := lake.objects(f"{s}/")) and sum(
        b.count(b"\n") for b in o.values()) >= len(sent) and o, WAIT_S)
    lines = b"".join(got.values()).splitlines(keepends=True)
    assert sorted(lines) == sorted(sent)
    firehose.delete_delivery_stream(DeliveryStreamName=s)
    kinesis.delete_stream(StreamName=stream)
