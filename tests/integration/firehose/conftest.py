"""Firehose against the loopback S3 endpoint: a bucket, a Hive metastore and settings."""
from __future__ import annotations

import pytest

from rayemr.firehose.settings import FirehoseSettings
from rayemr.hive.session import HiveSession

ROLE = "arn:aws:iam::123456789012:role/firehose"


@pytest.fixture
def lake(s3_bucket, tmp_path):
    """(settings, hive session, bucket) sharing one metastore."""
    session = HiveSession(metastore_path=str(tmp_path / "ms.db"),
                          warehouse=f"s3://{s3_bucket}/warehouse", runner="inline")
    settings = FirehoseSettings(location=str(tmp_path / "firehose"),
                                metastore_path=str(tmp_path / "ms.db"),
                                warehouse=f"s3://{s3_bucket}/warehouse")
    yield settings, session, s3_bucket
    session.close()


def s3_dest(bucket: str, **extra) -> dict:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", **extra}


def jq_partitioning(query: str) -> dict:
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
