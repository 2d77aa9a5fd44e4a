"""Hash keys, sequence numbers and iterators: the small pure pieces."""
from __future__ import annotations

import base64
import hashlib

import pytest

from rayemr.kinesis import iterators, seqnum
from rayemr.kinesis.errors import ExpiredIteratorException, InvalidArgumentException
from rayemr.kinesis.hashkeys import (
    MAX_HASH_KEY, HashRange, Router, check_cover, even_ranges, hash_key, parse_hash_key,
)


def test_hash_key_is_md5_of_the_partition_key_as_a_big_endian_integer():
    assert hash_key("a") == int(hashlib.md5(b"a").hexdigest(), 16)
    assert hash_key("ü") == int(hashlib.md5("ü".encode()).hexdigest(), 16)


@pytest.mark.parametrize("text,value", [("0", 0), ("7", 7), (str(MAX_HASH_KEY), MAX_HASH_KEY),
                                        (str(MAX_HASH_KEY + 1), None), ("-1", None),
                                        ("01", None), ("1.5", None), ("", None), ("١", None),
                                        (5, None)])
def test_parse_hash_key(text, value):
    assert parse_hash_key(text) == value


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_even_ranges_cover_the_space_once(n):
    ranges = even_ranges(n)
    check_cover(ranges)
    sizes = {r.end - r.start + 1 for r in ranges}
    assert max(sizes) - min(sizes) <= 1
    assert ranges[0].start == 0 and ranges[-1].end == MAX_HASH_KEY


def test_router_picks_the_range_owner():
    ranges = even_ranges(4)
    router = Router([(r, f"s{i}") for i, r in enumerate(ranges)])
    for i, r in enumerate(ranges):
        assert router.shard_for(r.start) == router.shard_for(r.end) == f"s{i}"
    with pytest.raises(ValueError):
        Router([(ranges[0], "a"), (ranges[2], "b")])


def test_ranges_union_only_when_adjacent():
    a, b, c = even_ranges(3)
    assert a.union(b) == HashRange(a.start, b.end) and b.union(a) == HashRange(a.start, b.end)
    with pytest.raises(ValueError):
        a.union(c)


def test_sequence_numbers_round_trip_and_sort_by_position():
    s1, s2 = seqnum.encode(5, 3), seqnum.encode(6, 0)
    assert len(s1) == 56 and s1.isdigit() and int(s1) < int(s2)
    assert seqnum.decode(s1) == (5, 3)
    assert seqnum.decode("123") is None and seqnum.decode(s1.replace("49", "48", 1)) is None
    with pytest.raises(InvalidArgumentException, match="not a sequence number"):
        seqnum.parse("9" * 56)


KEY = b"k" * 32
STATE = iterators.IteratorState("clicks", 1_700_000_000_000, 3, 2**70 + 5, 1_700_000_000_000)


def test_iterator_round_trips_and_is_opaque():
    token = iterators.mint(STATE, KEY)
    assert len(token) <= 512 and "clicks" not in token
    assert iterators.peek(token) == STATE
    assert iterators.verify(token, KEY, 1_700_000_000.0 + 299) == STATE


def test_iterator_expires_after_five_minutes():
    token = iterators.mint(STATE, KEY)
    with pytest.raises(ExpiredIteratorException, match="Iterator expired"):
        iterators.verify(token, KEY, 1_700_000_000.0 + 301)


@pytest.mark.parametrize("tamper", ["flip", "other-key", "garbage", "truncate", "empty"])
def test_forged_iterators_are_refused(tamper):
    token = iterators.mint(STATE, KEY)
    raw = bytearray(base64.b64decode(token))
    key = KEY
    if tamper == "flip":  # move the position: the MAC no longer matches
        raw[20] ^= 1
        token = base64.b64encode(bytes(raw)).decode()
    elif tamper == "other-key":
        key = b"x" * 32
    elif tamper == "garbage":
        token = "not base64 at all!"
    elif tamper == "truncate":
        token = base64.b64encode(bytes(raw[:10])).decode()
    else:
        token = ""
    with pytest.raises(InvalidArgumentException, match="Invalid ShardIterator"):
        iterators.verify(token, key, 1_700_000_000.0)
