"""Operator settings from the ``firehose-site`` classification (``rayemr aws serve --conf``)."""
from __future__ import annotations

import pytest

from rayemr.core.errors import ConfigError
from rayemr.firehose.settings import from_properties


def test_properties_become_settings(tmp_path):
    s = from_properties({"rayemr.firehose.location": str(tmp_path),
                         "rayemr.firehose.bucket-root": "/lake",
                         "rayemr.firehose.wal-sync": "flush",
                         "rayemr.firehose.active-partition-limit": "7",
                         "rayemr.firehose.wal-segment-bytes": str(8 << 20),
                         "rayemr.firehose.lambda.upper": "my.module:handler",
                         "rayemr.kinesis.location": "/elsewhere"},  # other services' ignored
                        kinesis_location="/k")
    assert (s.location, s.bucket_root, s.wal_sync, s.active_partition_limit) == (
        str(tmp_path), "/lake", "flush", 7)
    assert dict(s.lambdas) == {"upper": "my.module:handler"} and s.kinesis_location == "/k"
    assert s.wal_segment_bytes == 8 << 20


def test_a_stream_s_log_takes_the_segment_size_and_prepares_that_much(tmp_path):
    from rayemr.firehose.config import parse_create
    from rayemr.firehose.delivery import DeliveryStream

    s = from_properties({"rayemr.firehose.location": str(tmp_path / "fh"),
                         "rayemr.firehose.bucket-root": str(tmp_path / "lake"),
                         "rayemr.firehose.wal-segment-bytes": str(2 << 20)})
    config = parse_create({"DeliveryStreamName": "small", "ExtendedS3DestinationConfiguration": {
        "BucketARN": "arn:aws:s3:::b", "RoleARN": "arn:aws:iam::123456789012:role/r"}})
    stream = DeliveryStream(config, 1, 1, s)
    stream.recover()
    segments = list((tmp_path / "fh").rglob("wal-*.log"))
    assert [p.stat().st_size for p in segments] == [2 << 20]
    stream.close(delete=True)


@pytest.mark.parametrize("props, message", [
    ({"rayemr.firehose.nope": "1"}, "unknown property 'rayemr.firehose.nope'"),
    ({"rayemr.firehose.active-partition-limit": "many"}, "is not an integer"),
    ({"rayemr.firehose.wal-sync": "sometimes"}, "wal_sync 'sometimes'"),
    ({"rayemr.firehose.wal-segment-bytes": "4096"}, "wal_segment_bytes 4096: expected"),
    ({"rayemr.firehose.wal-segment-bytes": str(2 << 30)}, "to 1073741824 .1 GiB."),
    ({"rayemr.firehose.lambda.f": "no_colon"}, "expected module:function"),
])
def test_bad_properties_are_one_line_errors(props, message):
    with pytest.raises(ConfigError, match=message) as exc:
        from_properties(props)
    assert "\n" not in str(exc.value)
