"""Firehose (and Kinesis) on one AWS endpoint on loopback, objects in moto's S3, a Hive
metastore shared with a Hive session; boto3 clients signed for it."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY, SECRET_KEY = "AKIDFIREHOSETEST", "firehose-test-secret"
ROLE = "arn:aws:iam::123456789012:role/firehose"
#: Seconds a test waits for delivery (a deadline on a busy machine, not a measure).
WAIT_S = 90.0


def boto3_client(url: str, service: str = "firehose", secret: str = SECRET_KEY,
                 key: str = ACCESS_KEY):
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


@dataclass
class Lake:
    url: str
    bucket: str
    session: Any
    tmp: Path
    properties: dict

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        import boto3

        s3 = boto3.client("s3")
        out = {}
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for o in page.get("Contents", []):
                out[o["Key"]] = s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
        return out

    def query(self, sql: str) -> list[tuple]:
        return [tuple(r.values()) for r in self.session.execute(sql).table.to_pylist()]


def destination(bucket: str, **extra) -> dict:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", **extra}


def partitioning(query: str) -> dict:
    return {"DynamicPartitioningConfiguration": {"Enabled": True},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                "Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]}}


def conversion(table: str, output: str = "ParquetSerDe") -> dict:
    return {"DataFormatConversionConfiguration": {
        "Enabled": True,
        "SchemaConfiguration": {"DatabaseName": "default", "TableName": table, "RoleARN": ROLE},
        "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
        "OutputFormatConfiguration": {"Serializer": {output: {}}}}}


@pytest.fixture(scope="module")
def lake(s3_server, tmp_path_factory):
    """The endpoint serving kinesis and firehose in this process (local backend)."""
    import boto3

    from rayemr.aws import Credentials, Endpoint, EndpointConfig, ServiceContext
    from rayemr.aws.services import build_services
    from rayemr.hive.session import HiveSession
    from rayemr.kinesis.local import LocalKinesis

    bucket = f"fh-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    tmp = tmp_path_factory.mktemp("firehose-endpoint")
    props = {"firehose-site": {"rayemr.firehose.location": str(tmp / "firehose"),
                               "rayemr.firehose.metastore": str(tmp / "ms.db"),
                               "rayemr.firehose.warehouse": f"s3://{bucket}/warehouse",
                               "rayemr.firehose.lambda.upper":
                                   "tests.e2e.firehose.lambdas:upper"},
             "kinesis-site": {"rayemr.kinesis.location": str(tmp / "kinesis")}}
    services = build_services(["kinesis", "firehose"],
                              ServiceContext(backend="local", properties=props))
    endpoint = Endpoint(services, Credentials({ACCESS_KEY: SECRET_KEY}, "test"),
                        EndpointConfig(port=0))
    endpoint.start()
    session = HiveSession(metastore_path=str(tmp / "ms.db"),
                          warehouse=f"s3://{bucket}/warehouse", runner="inline")
    yield Lake(endpoint.url, bucket, session, tmp, props)
    endpoint.stop()
    session.close()
    kinesis = LocalKinesis._open.get(str(tmp / "kinesis"))
    if kinesis is not None:
        kinesis.close()


@pytest.fixture
def firehose(lake):
    return boto3_client(lake.url)
