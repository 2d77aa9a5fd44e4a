"""ShardCore: admission, visibility after commit, limits, iterators, reads, close, retention."""
from __future__ import annotations

import pytest

from rayemr.core.errors import InvalidStateTransition
from rayemr.kinesis.errors import (
    InvalidArgumentException, ProvisionedThroughputExceededException,
)
from rayemr.kinesis.limits import MIB, ShardLimits
from rayemr.kinesis.records import Batch
from rayemr.kinesis.shard import SHARD, ShardClosed, ShardCore, ShardState

T0 = 1_700_000_000.0


def core(limits=None, **kw):
    return ShardCore("shardId-000000000004", starting_position=int(T0 * 1e6),
                     limits=limits or ShardLimits.unlimited(), retention_s=24 * 3600, now=T0,
                     **kw)


def put(c, keys, now, data=None, commit=True):
    data = data or [k.encode() for k in keys]
    adm = c.admit(keys, data, [len(k) + len(d) for k, d in zip(keys, data)], now)
    if commit:
        pending = c.take_pending()
        for b in pending:
            b.location = ("seg", 0, 0)
        c.commit(pending)
    return adm


def test_records_are_readable_only_once_committed():
    c = core()
    adm = put(c, ["a", "b"], T0 + 1, commit=False)
    assert adm.accepted == 2 and c.read(0, 100, T0 + 1).records == []
    pending = c.take_pending()
    pending[0].location = ("seg", 0, 0)
    c.commit(pending)
    got = c.read(0, 100, T0 + 1).records
    assert [k for _, _, k, _ in got] == ["a", "b"]
    assert got[1][0] == got[0][0] + 1


def test_failed_writes_are_dropped_and_never_visible():
    c = core()
    put(c, ["a"], T0 + 1, commit=False)
    c.fail(c.take_pending())
    put(c, ["b"], T0 + 2)
    assert [k for _, _, k, _ in c.read(0, 100, T0 + 2).records] == ["b"]


def test_positions_increase_even_when_the_clock_stands_still_or_goes_back():
    c = core()
    p1 = put(c, ["a", "b"], T0 + 5).batch.first
    p2 = put(c, ["c"], T0 + 5).batch.first
    p3 = put(c, ["d"], T0 + 1).batch.first
    assert p1 + 1 < p2 < p3


def test_sequence_number_for_ordering_is_honoured():
    c = core()
    big = int(T0 * 1e6) + 10**9
    adm = c.admit(["a"], [b"x"], [2], T0 + 1, ordering=big)
    assert adm.batch.first == big + 1


def test_put_limits_records_per_second():
    c = core(ShardLimits.aws())
    a = put(c, ["k"] * 600, T0 + 1)
    b = put(c, ["k"] * 600, T0 + 1.5)
    assert (a.accepted, b.accepted) == (600, 400)
    assert put(c, ["k"], T0 + 1.9).accepted == 0
    assert put(c, ["k"] * 5, T0 + 2.0).accepted == 5  # a new second


def test_put_limits_bytes_per_second():
    c = core(ShardLimits.aws())
    big = [b"x" * (300 * 1024)] * 4
    adm = c.admit(["k"] * 4, big, [len(d) + 1 for d in big], T0)
    assert adm.accepted == 3  # the 4th would pass 1 MiB in this second


def test_get_limits_calls_and_bytes_per_second():
    c = core(ShardLimits.aws())
    put(c, ["k"], T0)
    for _ in range(5):
        c.read(0, 10, T0 + 3.1)
    with pytest.raises(ProvisionedThroughputExceededException, match="Rate exceeded"):
        c.read(0, 10, T0 + 3.2)
    c.read(0, 10, T0 + 4.0)
    # a 10 MiB read is allowed, then calls wait until the bytes drain at 2 MiB/s
    d = core(ShardLimits.aws())
    data = [b"y" * MIB] * 10
    for i in range(10):
        adm = d.admit([f"k{i}"], [data[i]], [MIB], T0 + 10 + i)
        d.commit(_durable(d.take_pending()))
    assert len(d.read(0, 10_000, T0 + 30).records) == 9  # 10 MiB cap includes the keys
    with pytest.raises(ProvisionedThroughputExceededException):
        d.read(0, 10, T0 + 31)
    d.read(0, 10, T0 + 34)


def _durable(batches):
    for b in batches:
        b.location = ("seg", 0, 0)
    return batches


def test_iterator_positions_of_every_type():
    c = core()
    positions = [put(c, [k], T0 + i).batch.first for i, k in enumerate("abcde")]
    from rayemr.kinesis.seqnum import encode
    seq = encode(positions[2], c.index)
    keys = lambda pos, ms=0: [k for _, _, k, _ in c.read(pos, 100, T0 + 10,  # noqa: E731
                                                         min_arrival_ms=ms).records]
    assert keys(c.iterator_position("TRIM_HORIZON", now=T0)[0]) == list("abcde")
    assert keys(c.iterator_position("AT_SEQUENCE_NUMBER", sequence=seq, now=T0)[0]) == list("cde")
    assert keys(c.iterator_position("AFTER_SEQUENCE_NUMBER", sequence=seq, now=T0)[0]) == list("de")
    latest = c.iterator_position("LATEST", now=T0)[0]
    assert keys(latest) == []
    assert keys(c.iterator_position("AT_TIMESTAMP", timestamp=T0 + 3, now=T0 + 9)[0]) == list("de")
    assert keys(c.iterator_position("AT_TIMESTAMP", timestamp=T0 + 2.5, now=T0 + 9)[0]) == list("de")
    put(c, ["f"], T0 + 6)
    assert keys(latest) == ["f"]
    future = c.iterator_position("AT_TIMESTAMP", timestamp=T0 + 100, now=T0 + 9)
    put(c, ["g"], T0 + 50)
    put(c, ["h"], T0 + 150)
    assert keys(*future) == ["h"]


def test_sequence_numbers_of_another_shard_are_refused():
    c = core()
    from rayemr.kinesis.seqnum import encode
    with pytest.raises(InvalidArgumentException, match="shardId-000000000001"):
        c.iterator_position("AT_SEQUENCE_NUMBER", sequence=encode(5, 1), now=T0)


def test_reads_respect_limit_and_report_how_far_behind():
    c = core()
    for i in range(10):
        put(c, [f"k{i}"], T0 + i)
    res = c.read(0, 4, T0 + 20)
    assert len(res.records) == 4 and res.millis_behind == 16_000 and not res.at_end
    rest = c.read(res.next_position, 100, T0 + 20)
    assert len(rest.records) == 6 and rest.millis_behind == 0


def test_closed_shard_refuses_puts_and_ends_once_read():
    c = core()
    put(c, ["a", "b"], T0)
    c.close(T0 + 1)
    with pytest.raises(ShardClosed):
        c.admit(["c"], [b"c"], [2], T0 + 2)
    assert c.ending == c.read(0, 100, T0).records[-1][0]
    res = c.read(0, 1, T0 + 2)
    assert not res.at_end
    assert c.read(res.next_position, 100, T0 + 2).at_end
    with pytest.raises(InvalidStateTransition, match="CLOSED"):
        c.close(T0 + 3)


def test_shard_state_table_is_open_closed_expired():
    assert {(s.value, e, d.value) for s, e, d in SHARD.rows()} == {
        ("OPEN", "CLOSE", "CLOSED"), ("CLOSED", "EXPIRE", "EXPIRED")}


def test_retention_trims_old_records_and_expires_closed_shards():
    c = core()
    put(c, ["old"], T0)
    put(c, ["new"], T0 + 10 * 3600)
    dropped = c.trim(T0 + 24 * 3600 + 1)
    assert [b.keys for b in dropped] == [None] and len(dropped) == 1
    assert [k for _, _, k, _ in c.read(0, 10, T0 + 25 * 3600).records] == ["new"]
    assert not c.expire_due(T0 + 100 * 3600)
    c.close(T0 + 30 * 3600)
    assert not c.expire_due(T0 + 53 * 3600)
    assert c.expire_due(T0 + 54 * 3600)


def test_evicted_batches_are_read_through_the_loader():
    c = core(cache_bytes=100)
    stored = {}
    for i in range(5):
        adm = c.admit([f"k{i}"], [bytes(60)], [62], T0 + i)
        for b in c.take_pending():
            b.location = ("seg", i, 0)
            stored[b.location] = Batch(b.first, b.count, b.arrival, list(b.keys), list(b.data),
                                       b.nbytes)
        c.commit(c.take_pending())
    assert c.stats()["CachedBytes"] <= 124
    with pytest.raises(RuntimeError, match="no loader"):
        c.read(0, 10, T0 + 10)
    got = c.read(0, 10, T0 + 10, loader=lambda b: stored[b.location]).records
    assert [k for _, _, k, _ in got] == [f"k{i}" for i in range(5)]
