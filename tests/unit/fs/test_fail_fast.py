"""A dead or wrong S3 endpoint fails fast; throttling and 5xx keep their retries, each logged."""
from __future__ import annotations

import asyncio
import logging

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from rayemr.core.errors import ConfigError
from rayemr.fs import EmrfsConfig
from rayemr.fs.errors import translate
from rayemr.fs.s3 import BucketNotFoundError, RetryPolicy, native_call, s3fs_options

REFUSED = OSError("When reading information for key 'k' in bucket 'b': AWS Error "
                  "NETWORK_CONNECTION during HeadObject operation: curlCode: 7, Could not "
                  "connect to server")
SLOWDOWN = OSError("AWS Error SLOW_DOWN (HTTP status 503) during GetObject operation")


class Op:
    name = "ListObjectsV2"


class Inner:
    """Stands for botocore's handler: retries everything up to 10 attempts, 0.5 s apart."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, attempts, **_):
        self.calls += 1
        return 0.5 if attempts < 10 else None


def ask(policy, attempts, exc=None, response=None):
    return asyncio.run(policy.needs_retry(
        attempts=attempts, caught_exception=exc, response=response, operation=Op(),
        request_dict={"context": {"rayemr_target": " s3://b/k"}}))


def test_connection_failures_get_connect_attempts_only(caplog):
    caplog.set_level(logging.INFO, logger="rayemr.fs.s3")
    inner = Inner()
    policy = RetryPolicy(inner, connect_attempts=2)
    refused = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/b")
    assert ask(policy, 1, refused) == 0.5
    assert ask(policy, 2, refused) is None  # no third attempt
    assert ask(policy, 2, ConnectTimeoutError(endpoint_url="http://10.9.9.9/b")) is None
    assert inner.calls == 1
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["S3 ListObjectsV2 s3://b/k: attempt 1 failed (EndpointConnectionError); "
                     "retrying in 0.50s"]


def test_throttling_and_5xx_keep_every_retry_and_each_is_logged(caplog):
    caplog.set_level(logging.INFO, logger="rayemr.fs.s3")
    policy = RetryPolicy(Inner(), connect_attempts=2)

    class Http:
        status_code = 503

    slow = (Http(), {"Error": {"Code": "SlowDown"}})
    delays = [ask(policy, n, response=slow) for n in range(1, 11)]
    assert delays == [0.5] * 9 + [None]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 9
    assert logged[2] == "S3 ListObjectsV2 s3://b/k: attempt 3 failed (503 SlowDown); " \
                        "retrying in 0.50s"


def test_native_reads_give_up_on_a_refused_connection_after_connect_attempts():
    calls = []

    def refused():
        calls.append(1)
        raise REFUSED

    with pytest.raises(OSError, match="curlCode: 7"):
        native_call(refused, "HeadObject", "s3://b/k", 10, connect_attempts=2,
                    sleep=lambda _: None)
    assert len(calls) == 2
    calls.clear()

    def slow():
        calls.append(1)
        raise SLOWDOWN

    with pytest.raises(OSError):
        native_call(slow, "GetObject", "s3://b/k", 5, connect_attempts=2, sleep=lambda _: None)
    assert len(calls) == 5


def test_settings_and_defaults():
    cfg = EmrfsConfig()
    assert cfg.connect_timeout == 5.0 and cfg.connect_attempts == 2
    cfg = EmrfsConfig.from_properties({"fs.s3a.connection.establish.timeout": "2000",
                                       "fs.s3.connection.attempts": "3"})
    assert cfg.connect_timeout == 2.0 and cfg.connect_attempts == 3
    assert EmrfsConfig.from_properties(
        {"fs.s3.connection.establish.timeout": "3s"}).connect_timeout == 3.0
    assert s3fs_options(cfg)["config_kwargs"]["connect_timeout"] == 2.0
    for bad in ({"fs.s3.connection.attempts": "0"},
                {"fs.s3a.connection.establish.timeout": "soon"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            EmrfsConfig.from_properties(bad)


def test_connection_errors_read_as_one_line_naming_the_endpoint():
    exc = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/b?list-type=2",
                                  error="Connect call failed ('127.0.0.1', 9)")
    err = translate(exc, "s3://b/")
    assert str(err).startswith("s3://b/: cannot connect to the S3 endpoint "
                               "http://127.0.0.1:9 (connection refused)")
    exc = EndpointConnectionError(endpoint_url="http://nohost.invalid/b",
                                  error="Cannot connect to host nohost.invalid:80 ssl:default "
                                        "[Name or service not known]")
    assert "http://nohost.invalid (unknown host)" in str(translate(exc, "s3://b/"))
    assert "(connection refused)" in str(translate(REFUSED, "s3://b/k"))
    assert str(translate(BucketNotFoundError("typo"), "s3://typo/x")) == \
        "s3://typo/x: bucket 'typo' does not exist"
