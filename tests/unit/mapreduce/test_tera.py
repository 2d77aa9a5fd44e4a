"""TeraSort's vectorized pieces against plain Python: key order (with shared 8-byte
prefixes), range partitions (keys equal to and sharing prefixes with boundaries), reading
fixed-size records across split boundaries, and a clear error for input that is not
TeraGen's."""
from __future__ import annotations

import bisect
import random

import numpy as np
import pytest

from rayemr.core.errors import UserError
from rayemr.fs import compute_splits
from rayemr.mapreduce.tera import (KEY, RECORD, as_arrow, as_records, make_records,
                                   range_ids, read_records, record_hashes, sort_order,
                                   sorted_records)


def _records(keys: list[bytes]) -> np.ndarray:
    recs = np.frombuffer(make_records(0, len(keys)), dtype=np.uint8).reshape(-1, RECORD).copy()
    for i, k in enumerate(keys):
        recs[i, :KEY] = np.frombuffer(k, dtype=np.uint8)
    return recs


def _tricky_keys(n: int = 400) -> list[bytes]:
    rng = random.Random(7)
    base = [bytes(rng.randrange(0, 256) for _ in range(KEY)) for _ in range(n // 2)]
    # many keys sharing their first 8 bytes, differing only in the last 2
    shared = [base[i % 5][:8] + bytes([rng.randrange(256), rng.randrange(256)])
              for i in range(n // 2)]
    return base + shared + base[:10]  # and exact duplicates


def test_sort_order_is_byte_order():
    keys = _tricky_keys()
    recs = _records(keys)
    got = [recs[i, :KEY].tobytes() for i in sort_order(recs)]
    assert got == sorted(keys)
    assert [r[:KEY].tobytes() for r in sorted_records(recs)] == sorted(keys)


def test_range_ids_match_bisect():
    keys = _tricky_keys()
    bounds = sorted(keys)[50::70]
    bounds += [bounds[0][:8] + b"\x00\x00", bounds[1][:8] + b"\xff\xff"]
    bounds = sorted(set(bounds))
    recs = _records(keys)
    ids = range_ids(recs, tuple((b,) for b in bounds))
    assert ids.tolist() == [bisect.bisect_right(bounds, k) for k in keys]
    assert range_ids(recs, ()).tolist() == [0] * len(keys)


def test_arrow_round_trip_and_hashes():
    recs = _records(_tricky_keys(20))
    back = as_records(as_arrow(recs).slice(3, 5))
    assert (back == recs[3:8]).all()
    h = record_hashes(recs)
    assert len(set(h.tolist())) == len(h)  # distinct records, distinct hashes
    assert record_hashes(recs[::-1]).sum() == h.sum()  # order-independent sum


def test_read_records_every_record_in_exactly_one_split(tmp_path):
    path = tmp_path / "in" / "part-m-00000"
    path.parent.mkdir()
    data = make_records(0, 1000)
    path.write_bytes(data)
    splits = compute_splits([str(path.parent)], split_size=3333)
    assert len(splits) > 10
    got = np.concatenate([read_records(s) for s in splits])
    assert got.tobytes() == data
    assert len(read_records(splits[0], limit=7)) == 7


def test_not_teragen_input_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"x" * 250)
    split = compute_splits([str(path)])[0]
    with pytest.raises(UserError, match="not TeraGen output"):
        read_records(split)
