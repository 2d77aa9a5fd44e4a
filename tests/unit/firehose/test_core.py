"""Firehose's pure core: request limits, buffering, prefixes, states, what records owe (no
Ray, no network)."""
from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rayemr.core.errors import InvalidStateTransition
from rayemr.firehose import prefixes as px
from rayemr.firehose.buffers import BufferingHints, Buffers, Record
from rayemr.firehose.chunks import Owed
from rayemr.firehose.errors import InvalidArgumentException, ValidationException
from rayemr.firehose.requests import MAX_RECORD_BYTES, batch_data, record_data
from rayemr.firehose.states import DELIVERY_STREAM, StreamStatus, tracked
from rayemr.firehose.timefmt import PatternError, compile_pattern

T0 = 1_700_000_000.25  # 2023-11-14 22:13:20.25 UTC


# -- requests ---------------------------------------------------------------------------------
def test_batch_limits_are_awss():
    assert len(batch_data([{"Data": b"x"}] * 500)) == 500
    with pytest.raises(ValidationException, match="between 1 and 500 .got 501"):
        batch_data([{"Data": b"x"}] * 501)
    with pytest.raises(ValidationException, match="between 1 and 500"):
        batch_data([])
    assert record_data({"Data": b"x" * MAX_RECORD_BYTES}, "record") is not None
    with pytest.raises(ValidationException, match="less than or equal to 1024000"):
        record_data({"Data": b"x" * (MAX_RECORD_BYTES + 1)}, "record")
    with pytest.raises(InvalidArgumentException, match="4 MiB"):
        batch_data([{"Data": b"x" * 900_000}] * 5)
    with pytest.raises(ValidationException, match="Data"):
        batch_data([{"NoData": 1}])
    assert record_data({"Data": "é"}, "r") == "é".encode()


# -- buffering ----------------------------------------------------------------------------------
@settings(deadline=None)
@given(st.integers(-5, 200), st.integers(-5, 1000))
def test_buffering_hint_ranges(size, interval):
    ok = 1 <= size <= 128 and 0 <= interval <= 900
    if ok:
        h = BufferingHints(size, interval)
        assert h.size_bytes == size * 1024 * 1024
    else:
        with pytest.raises(InvalidArgumentException, match="out of range"):
            BufferingHints(size, interval)


def test_flush_by_size_or_interval_whichever_first():
    b = Buffers(BufferingHints(1, 60))
    assert not b.add("a", Record(0, T0, b"x" * 1000), now=T0)
    assert b.due(T0 + 59) == []
    assert b.due(T0 + 60) == ["a"]
    assert b.add("b", Record(1, T0, b"x" * (1024 * 1024)), now=T0 + 1)  # full at once
    assert b.due(T0 + 2) == ["b"]
    assert b.next_deadline() == T0 + 60
    zero = Buffers(BufferingHints(1, 0))
    assert zero.add("a", Record(0, T0, b"x"), now=T0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 3000),
                          st.floats(0, 100)), max_size=80),
       st.integers(1, 2), st.integers(0, 30))
def test_every_buffered_record_is_flushed_exactly_once(events, size_mb, interval):
    b = Buffers(BufferingHints(size_mb, interval))
    out: list[int] = []
    now = T0
    for seq, (key, size, dt) in enumerate(events):
        now += dt
        b.add(key, Record(seq, now, b"x" * size * 300), now)
        for k in b.due(now):
            buf = b.take(k)
            assert buf.records and buf.key == k
            out.extend(r.seq for r in buf.records)
    out.extend(r.seq for buf in b.take_all() for r in buf.records)
    assert sorted(out) == list(range(len(events)))


# -- prefixes ------------------------------------------------------------------------------------
def test_timestamp_is_utc_of_the_oldest_arrival():
    layout = px.key_layout("logs/!{timestamp:yyyy/MM/dd/HH}/x=!{timestamp:yyyy'-'MM}/",
                           "err/!{firehose:error-output-type}/", dynamic_partitioning=False)
    assert layout.object_prefix(T0) == "logs/2023/11/14/22/x=2023-11/"
    assert layout.error_object_prefix(T0, px.PROCESSING_FAILED) == "err/processing-failed/"


def test_default_layouts():
    layout = px.key_layout("raw/", None, dynamic_partitioning=False)
    assert layout.object_prefix(T0) == "raw/2023/11/14/22/"
    assert layout.error_object_prefix(T0, "format-conversion-failed") == (
        "format-conversion-failed/2023/11/14/22/")
    name = px.object_name("clicks", 3, T0, ".gz")
    assert re.fullmatch(r"clicks-3-2023-11-14-22-13-20-[0-9a-f-]{36}\.gz", name)


def test_random_string_is_eleven_alphanumerics_once_per_object():
    layout = px.key_layout("a/!{firehose:random-string}/b/!{firehose:random-string}/",
                           "e/!{firehose:error-output-type}", dynamic_partitioning=False)
    one = layout.object_prefix(T0, rng=random.Random(1))
    first, second = one.split("/")[1], one.split("/")[3]
    assert first == second and re.fullmatch(r"[A-Za-z0-9]{11}", first)
    assert layout.object_prefix(T0, rng=random.Random(2)) != one


def test_partition_keys_in_prefix():
    layout = px.key_layout("t=!{partitionKeyFromQuery:type}/d=!{partitionKeyFromQuery:day}/",
                           "e/", dynamic_partitioning=True)
    assert layout.prefix.partition_keys == ("type", "day")
    assert layout.object_prefix(T0, {"type": "click", "day": "1"}) == "t=click/d=1/"


@pytest.mark.parametrize("prefix, error, dynamic, message", [
    ("a/!{firehose:error-output-type}/", "e/", False, "may only be used in ErrorOutputPrefix"),
    ("a/", "e/!{partitionKeyFromQuery:x}/", False, "not allowed in ErrorOutputPrefix"),
    ("a/!{timestamp:yyyy}/", None, False, "ErrorOutputPrefix is required"),
    ("a/!{partitionKeyFromQuery:x}/", "e/", False, "dynamic partitioning is not enabled"),
    ("a/", "e/", True, "has no partitionKeyFromQuery"),
    ("a/!{partitionKeyFromQuery:x}/", None, True, "ErrorOutputPrefix is required"),
    ("a/!{nope:x}/", "e/", False, "unknown expression namespace 'nope'"),
    ("a/!{firehose:uuid}/", "e/", False, "firehose:uuid"),
    ("a/!{timestamp:yyyy-qq}/", "e/", False, "not a valid timestamp pattern"),
    ("a/!{timestamp:yyyy/", "e/", False, "not closed"),
    ("x" * 1025, None, False, "longer than 1024"),
])
def test_prefix_rules(prefix, error, dynamic, message):
    with pytest.raises(InvalidArgumentException, match=re.escape(message)):
        px.key_layout(prefix, error, dynamic_partitioning=dynamic)


@settings(deadline=None)
@given(st.floats(0, 4_000_000_000))
def test_java_patterns_match_strftime(epoch):
    import datetime as dt

    t = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    assert compile_pattern("yyyy-MM-dd HH:mm:ss").format(epoch) == t.strftime("%Y-%m-%d %H:%M:%S")
    assert compile_pattern("yy/M/d H").format(epoch) == f"{t:%y}/{t.month}/{t.day} {t.hour}"


def test_unknown_pattern_letter_is_named():
    with pytest.raises(PatternError, match="'q'"):
        compile_pattern("yyyy-qq")


# -- states --------------------------------------------------------------------------------------
def test_delivery_stream_states():
    s = tracked("clicks", now=0.0)
    s.fire("CREATED", now=1.0)
    assert s.state is StreamStatus.ACTIVE
    with pytest.raises(InvalidStateTransition, match="clicks: cannot go from ACTIVE"):
        s.fire("CREATED")
    s.fire("DELETE")
    assert s.state is StreamStatus.DELETING
    assert [row[1] for row in DELIVERY_STREAM.rows()].count("DELETE") == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(1, 3), st.integers(0, 2),
                          st.integers(1, 2)), min_size=1, max_size=30))
def test_owed_agrees_with_a_dict_of_masks(steps):
    """``Owed`` (one byte per sequence number, a moving window) against a plain dict."""
    owed, model, seq = Owed(), {}, 0
    for n, mask, meet_every, bit in steps:
        owed.add(seq, n, mask)
        model.update(dict.fromkeys(range(seq, seq + n), mask))
        seq += n
        met = sorted(model)[::meet_every + 1]
        owed.meet(np.array(met, dtype=np.int64), bit)
        for s in met:
            model[s] &= ~bit
            if not model[s]:
                del model[s]
        assert len(owed) == len(model)
        assert owed.lowest() == (min(model) if model else None)
        assert all(owed.owes(s) == model.get(s, 0) for s in range(seq))
