"""Puts column by column: the wire form, frames, shard routing by digest, sequence number
ranges, and puts of many threads coalesced into few calls."""
from __future__ import annotations

import threading

import pytest

from rayemr.kinesis import seqnum
from rayemr.kinesis.api import KinesisService
from rayemr.kinesis.coalesce import Coalescer
from rayemr.kinesis.control import Route
from rayemr.kinesis.hashkeys import Router, even_ranges
from rayemr.kinesis.limits import ShardLimits
from rayemr.kinesis.records import Batch, Columns, decode_frame, encode_batch


def cols(n: int = 5, size: int = 3) -> Columns:
    keys = [f"k{i}" + ("é" if i % 2 else "") for i in range(n)]
    return Columns.of(keys, [bytes([i % 256]) * (size + i) for i in range(n)])


def test_wire_round_trip_in_pieces():
    c = cols(40, 1000)
    wire = c.to_wire(chunk=4096)
    assert len(wire) > 3 and all(len(p) <= 4096 for p in wire[1:])
    back = Columns.from_wire(*wire)
    assert back.lists() == c.lists()
    assert back.sizes() == c.sizes() and back.nbytes == c.nbytes


def test_head_keeps_the_first_records():
    c = cols(6)
    keys, data = c.lists()
    assert c.head(4).lists() == (keys[:4], data[:4])
    assert c.head(6) is c


def test_a_batch_of_columns_frames_like_one_of_lists():
    c = cols(7)
    keys, data = c.lists()
    by_lists = Batch(10**16, 7, 1_700_000_000.5, keys, data, c.nbytes)
    by_columns = Batch(10**16, 7, 1_700_000_000.5, nbytes=c.nbytes, columns=cols(7))
    frame = encode_batch(by_columns)
    assert frame == encode_batch(by_lists)
    got, _ = decode_frame(frame)
    assert (got.keys, got.data, got.nbytes) == (keys, data, c.nbytes)


@pytest.mark.parametrize("first,count", [(0, 1), (10**15, 500), (10**16 - 3, 6), (7, 0)])
def test_sequence_number_ranges(first, count):
    assert seqnum.encode_range(first, count, 12) == [
        seqnum.encode(p, 12) for p in range(first, first + count)]


@pytest.mark.parametrize("shards", [2, 3, 4])
def test_records_go_where_their_hash_key_falls(shards):
    ranges = even_ranges(shards)
    ids = [seqnum.shard_id(i) for i in range(shards)]
    route = Route("s", 1, "arn", ShardLimits(), tuple((r.start, i) for r, i in zip(ranges, ids)),
                  {}, {})
    keys = [f"user-{i}" for i in range(300)] + ["ü-1", "ü-2"]
    explicit = {3: 0, 4: ranges[-1].start}
    groups = KinesisService._groups(route, list(range(len(keys))), keys, explicit)
    router = Router(list(zip(ranges, ids)))
    expected: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        expected.setdefault(router.route(k, explicit.get(i)), []).append(i)
    assert groups == expected and len(groups) == shards


class FakeShard:
    """A transport whose calls finish when the test says so."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list] = []
        self.release = threading.Event()
        self.fail = fail

    def send(self, puts):
        self.calls.append([p.cols.lists()[0] for p in puts])
        return list(puts)

    def wait(self, puts):
        self.release.wait(10)
        if self.fail:
            raise RuntimeError("shard gone")
        return [(len(p.cols.lists()[0]), i) for i, p in enumerate(puts)]


def test_puts_waiting_for_a_slot_travel_together():
    shard = FakeShard()
    co = Coalescer(shard.send, shard.wait, max_in_flight=1)
    first = co.submit(Columns.of(["a"], [b"1"]))  # takes the only slot
    later = [co.submit(Columns.of([f"b{i}"] * (i + 1), [b"x"] * (i + 1))) for i in range(3)]
    answers: dict[int, object] = {}

    def wait(i, put):
        answers[i] = co.result(put)

    threads = [threading.Thread(target=wait, args=(i, p)) for i, p in enumerate([first, *later])]
    for t in threads:
        t.start()
    shard.release.set()
    for t in threads:
        t.join(10)
    assert co.calls == 2 and shard.calls == [[["a"]], [["b0"], ["b1"] * 2, ["b2"] * 3]]
    assert answers == {0: (1, 0), 1: (1, 0), 2: (2, 1), 3: (3, 2)}


def test_a_failed_call_fails_every_put_it_carried():
    shard = FakeShard(fail=True)
    co = Coalescer(shard.send, shard.wait, max_in_flight=1)
    puts = [co.submit(Columns.of([f"k{i}"], [b"x"])) for i in range(3)]
    shard.release.set()
    for p in puts:
        with pytest.raises(RuntimeError, match="shard gone"):
            co.result(p)
    assert co.calls == 2


def test_a_send_that_raises_is_reported_to_its_puts():
    def send(puts):
        raise ValueError("cannot send")

    co = Coalescer(send, lambda call: [])
    put = co.submit(Columns.of(["k"], [b"x"]))
    with pytest.raises(ValueError, match="cannot send"):
        co.result(put)
    assert co.submit(Columns.of(["k"], [b"y"])).flight is not None  # the slot was freed
