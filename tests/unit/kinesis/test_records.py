"""Frames of the shard log: round trips, torn and damaged frames."""
from __future__ import annotations

import pytest

from rayemr.kinesis.records import (
    Batch, CloseMarker, CorruptFrame, decode_frame, encode_batch, encode_close, iter_frames,
)


def batch(first=2**65 + 1, n=3):
    keys = [f"k{i}é" for i in range(n)]
    data = [bytes([i]) * (i * 10) for i in range(n)]
    return Batch(first, n, 1_700_000_000.123, keys, data,
                 sum(len(k.encode()) + len(d) for k, d in zip(keys, data)))


def test_batch_frame_round_trip():
    b = batch()
    got, end = decode_frame(encode_batch(b))
    assert isinstance(got, Batch) and end == len(encode_batch(b))
    assert (got.first, got.count, got.keys, got.data, got.nbytes) == (
        b.first, b.count, b.keys, b.data, b.nbytes)
    assert got.arrival == pytest.approx(b.arrival, abs=0.001)


def test_close_frame_round_trip():
    got, _ = decode_frame(encode_close(2**80, 12.5))
    assert got == CloseMarker(2**80, 12.5)


def test_torn_tail_stops_iteration_and_damage_is_detected():
    good = encode_batch(batch(1)) + encode_batch(batch(10))
    torn = good + encode_batch(batch(20))[:-3]
    assert [f.first for f, _, _ in iter_frames(torn)] == [1, 10]
    damaged = bytearray(good)
    damaged[-1] ^= 0xFF
    with pytest.raises(CorruptFrame):
        decode_frame(bytes(damaged), len(encode_batch(batch(1))))
