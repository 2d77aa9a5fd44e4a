"""Amazon Data Firehose on the AWS endpoint: ``X-Amz-Target: Firehose_20150804.<Operation>``."""
from __future__ import annotations

from rayemr.aws.protocol import JsonService, decode_blobs
from rayemr.aws.services import ServiceContext

TARGET_PREFIX = "Firehose_20150804"
#: Members sent as base64 on the wire (PutRecord's ``Record.Data`` is decoded in ``call``).
BLOBS = {"PutRecordBatch": ("Records[].Data",)}


def build(context: ServiceContext) -> JsonService:
    import rayemr.firehose as firehose
    from rayemr.firehose.api import OPERATIONS
    from rayemr.firehose.settings import from_properties
    from rayemr.kinesis.config import KinesisSettings

    kinesis = KinesisSettings.from_properties(context.classification("kinesis-site"))
    settings = from_properties(context.classification("firehose-site"),
                               kinesis_location=kinesis.location)
    service, close = firehose.service(context.backend, settings, address=context.address)

    def call(operation: str, params: dict) -> dict:
        if operation == "PutRecord" and isinstance(params.get("Record"), dict):
            decode_blobs(params["Record"], ("Data",))
        return service.call(operation, params)

    return JsonService("firehose", TARGET_PREFIX, "firehose", frozenset(OPERATIONS), call,
                       BLOBS, close=close)
