"""What a delivery stream does, driven by boto3's ``firehose`` client over the AWS endpoint
(in this process, local backend), objects in moto's S3 on loopback: buffering by size and by
interval, prefix expressions and the default layout, compression, ORC conversion against a Hive
table's schema, transformation results (Lambda contract) and source-record backup."""
from __future__ import annotations

import base64
import json
import re
import time
import uuid

from rayemr.core.waiting import wait_for
from rayemr.firehose.compress import decompress
from tests.e2e.firehose.conftest import WAIT_S, conversion, destination


def name() -> str:
    return f"fd-{uuid.uuid4().hex[:8]}"


def test_size_buffering_and_the_default_layout(lake, firehose):
    s = name()
    dest = destination(lake.bucket, Prefix=f"{s}/",
                       BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration=dest)
    record = b"x" * 100_000 + b"\n"
    for _ in range(11):  # 1.1 MB: over 1 MiB, the buffer is full long before 900 s
        firehose.put_record(DeliveryStreamName=s, Record={"Data": record})
    (key, body), = wait_for(lambda: lake.objects(f"{s}/"), WAIT_S).items()
    assert re.fullmatch(rf"{s}/\d{{4}}/\d\d/\d\d/\d\d/{s}-1-\d{{4}}(-\d\d){{5}}-[0-9a-f-]{{36}}",
                        key)
    assert body == record * 11
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_interval_buffering_and_prefix_expressions(lake, firehose):
    s = name()
    dest = destination(lake.bucket, BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 1},
                       Prefix=f"{s}/!{{timestamp:yyyy/MM/dd/HH}}/!{{firehose:random-string}}/",
                       ErrorOutputPrefix=f"{s}-e/!{{firehose:error-output-type}}/")
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration=dest)
    before = time.gmtime()
    firehose.put_record_batch(DeliveryStreamName=s, Records=[
        {"Data": f"{i}\n".encode()} for i in range(10)])
    (key, body), = wait_for(lambda: lake.objects(f"{s}/"), WAIT_S).items()  # 128 MB: by time
    parts = key.split("/")
    after = time.gmtime()
    assert "/".join(parts[1:5]) in {time.strftime("%Y/%m/%d/%H", t) for t in (before, after)}
    assert re.fullmatch(r"[A-Za-z0-9]{11}", parts[5])
    assert body == b"".join(f"{i}\n".encode() for i in range(10))
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_compression(lake, firehose):
    streams = {}
    for fmt in ("GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"):
        s = streams[fmt] = name()
        firehose.create_delivery_stream(
            DeliveryStreamName=s, ExtendedS3DestinationConfiguration=destination(
                lake.bucket, Prefix=f"{s}/", CompressionFormat=fmt,
                BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 1}))
        firehose.put_record_batch(DeliveryStreamName=s, Records=[
            {"Data": f"{i}\n".encode()} for i in range(100)])
    ext = {"GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy", "HADOOP_SNAPPY": ".hsnappy"}
    for fmt, s in streams.items():
        (key, body), = wait_for(lambda: lake.objects(f"{s}/"), WAIT_S).items()
        assert key.endswith(ext[fmt])
        assert decompress(body, fmt) == "".join(f"{i}\n" for i in range(100)).encode()
        firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_orc_conversion_against_a_table_schema(lake, firehose):
    t, s = f"orc_{uuid.uuid4().hex[:6]}", name()
    lake.session.execute(f"CREATE EXTERNAL TABLE {t} (id bigint, name string) STORED AS ORC "
                         f"LOCATION 's3://{lake.bucket}/{t}/'")
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration={
        **destination(lake.bucket, Prefix=f"{t}/", ErrorOutputPrefix=f"{s}-e/",
                      BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}),
        **conversion(t, "OrcSerDe")})
    firehose.put_record_batch(DeliveryStreamName=s, Records=[  # keys matched as Hive's SerDe
        {"Data": json.dumps({"ID": i, "Name": f"n{i}"}).encode()} for i in range(5)])
    wait_for(lambda: lake.query(f"SELECT count(*) FROM {t}") == [(5,)], WAIT_S)
    assert sorted(lake.query(f"SELECT id, name FROM {t}")) == [(i, f"n{i}") for i in range(5)]
    assert all(k.endswith(".orc") for k in lake.objects(f"{t}/"))
    firehose.delete_delivery_stream(DeliveryStreamName=s)


def test_transformation_results_and_backup(lake, firehose):
    s = name()
    firehose.create_delivery_stream(DeliveryStreamName=s, ExtendedS3DestinationConfiguration={
        **destination(lake.bucket, Prefix=f"{s}/out/", ErrorOutputPrefix=f"{s}/err/",
                      BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1},
                      S3BackupMode="Enabled", S3BackupConfiguration=destination(
                          lake.bucket, Prefix=f"{s}/backup/", CompressionFormat="GZIP",
                          BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})),
        "ProcessingConfiguration": {"Enabled": True, "Processors": [{
            "Type": "Lambda", "Parameters": [{
                "ParameterName": "LambdaArn",
                "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:upper"}]}]}})
    data = [b"a;", b"drop;", b"fail;", b"b;"]
    answer = firehose.put_record_batch(DeliveryStreamName=s, Records=[{"Data": d} for d in data])
    assert answer["FailedPutCount"] == 0
    objects = wait_for(lambda: (o := lake.objects(f"{s}/")) and len(o) == 3 and o, WAIT_S)
    by_part = {k.split("/")[1]: v for k, v in objects.items()}
    assert by_part["out"] == b"A;B;"  # Ok records, transformed; the dropped one nowhere
    assert decompress(by_part["backup"], "GZIP") == b"".join(data)  # source records, all
    failed = [json.loads(x) for x in by_part["err"].splitlines()]
    assert [base64.b64decode(f["rawData"]) for f in failed] == [b"fail;"]
    assert failed[0]["errorCode"] == "Lambda.ProcessingFailed" and "lambdaArn" in failed[0]
    assert [k.split("/")[2] for k in objects if "/err/" in k] == ["processing-failed"]
    firehose.delete_delivery_stream(DeliveryStreamName=s)
