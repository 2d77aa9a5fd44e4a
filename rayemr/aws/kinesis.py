"""Kinesis Data Streams on the AWS endpoint: ``X-Amz-Target: Kinesis_20131202.<Operation>``."""
from __future__ import annotations

from rayemr.aws.protocol import JsonService
from rayemr.aws.services import ServiceContext

TARGET_PREFIX = "Kinesis_20131202"
#: Members sent as base64 on the wire.
BLOBS = {"PutRecord": ("Data",), "PutRecords": ("Records[].Data",)}


def build(context: ServiceContext) -> JsonService:
    import rayemr.kinesis as kinesis
    from rayemr.kinesis.api import OPERATIONS

    settings = kinesis.KinesisSettings.from_properties(context.classification("kinesis-site"))
    service = kinesis.service(context.backend, settings, address=context.address)
    return JsonService("kinesis", TARGET_PREFIX, "kinesis", frozenset(OPERATIONS),
                       service.call, BLOBS)
