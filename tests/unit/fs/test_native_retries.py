"""Retries of pyarrow's native S3 requests: classified, backed off, counted and logged."""
from __future__ import annotations

import logging

import pytest

from rayemr.fs import reset_s3_stats, s3_stats
from rayemr.fs.s3 import native_call, native_retryable

SLOWDOWN = OSError("When reading from 'b/k': AWS Error SLOW_DOWN (HTTP status 503) during "
                   "GetObject operation: Please reduce your request rate.")
DENIED = OSError("AWS Error ACCESS_DENIED during GetObject operation: Access Denied")


class Flaky:
    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return b"data"


def test_classification():
    assert native_retryable(SLOWDOWN)
    assert native_retryable(OSError("AWS Error INTERNAL_FAILURE during GetObject operation"))
    assert native_retryable(OSError("AWS Error NETWORK_CONNECTION, curlCode: 7"))
    assert not native_retryable(DENIED)
    assert not native_retryable(OSError("AWS Error NO_SUCH_KEY (HTTP status 404)"))
    assert not native_retryable(ValueError("HTTP status 503"))


def test_retries_are_counted_logged_and_backed_off(caplog):
    caplog.set_level(logging.INFO, logger="rayemr.fs.s3")
    reset_s3_stats()
    delays = []
    fn = Flaky([SLOWDOWN, SLOWDOWN, SLOWDOWN])
    assert native_call(fn, "GetObject", "s3://b/k", 10, sleep=delays.append,
                       rng=lambda: 1.0) == b"data"
    assert fn.calls == 4
    assert delays == [0.1, 0.2, 0.4]  # full jitter upper bounds: 0.05 * 2**attempt
    assert s3_stats() == {"requests": 1, "attempts": 4, "retries": 3, "errors": 0}
    assert any("GetObject s3://b/k succeeded after 3 retries" in r.getMessage()
               for r in caplog.records)


def test_gives_up_after_max_attempts_and_on_permanent_errors():
    reset_s3_stats()
    fn = Flaky([SLOWDOWN] * 5)
    with pytest.raises(OSError, match="SLOW_DOWN"):
        native_call(fn, "GetObject", "s3://b/k", 3, sleep=lambda _: None)
    assert fn.calls == 3
    fn = Flaky([DENIED])
    with pytest.raises(OSError, match="ACCESS_DENIED"):
        native_call(fn, "GetObject", "s3://b/k", 3, sleep=lambda _: None)
    assert fn.calls == 1
    assert s3_stats() == {"requests": 2, "attempts": 4, "retries": 2, "errors": 2}
