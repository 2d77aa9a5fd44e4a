"""Shuffle hashing: deterministic across processes, equal across Arrow types."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa

from rayemr.engine.graph import ShuffleSpec
from rayemr.engine.shuffle import hash_array, partition_ids, split_table

KEYS = ["", "a", "word", "ünï", "x" * 300, None]


def test_same_hash_in_another_process_with_another_hash_seed():
    here = hash_array(pa.array(KEYS)).tolist()
    code = ("import pyarrow as pa; from rayemr.engine.shuffle import hash_array; "
            f"print(hash_array(pa.array({KEYS!r})).tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}, check=True).stdout
    assert eval(out) == here


def test_equal_values_hash_equal_across_types():
    assert (hash_array(pa.array(["ab", None])) == hash_array(pa.array([b"ab", None]))).all()
    assert (hash_array(pa.array(["ab"], pa.large_string())) ==
            hash_array(pa.array(["ab"]))).all()
    ints = hash_array(pa.array([1, -7, 2**40], pa.int64()))
    assert (hash_array(pa.array([1, -7, 2**40], pa.float64())) == ints).all()
    assert (hash_array(pa.array([1, -7], pa.int16())) == ints[:2]).all()
    sliced = pa.array(["q", "ab", "cd"]).slice(1)
    assert (hash_array(sliced) == hash_array(pa.array(["ab", "cd"]))).all()


def test_distinct_keys_spread_over_partitions():
    keys = pa.array([f"k{i}" for i in range(10000)])
    ids = partition_ids(pa.table({"k": keys}), ShuffleSpec(8, ("k",)))
    counts = np.bincount(ids, minlength=8)
    assert counts.min() > 1000


def test_range_partition_fixed_width_keys():
    keys = pa.array([b"bbbb", b"aaaa", b"zzzz", b"mmmm", b"bbbb"], pa.binary(4))
    parts = split_table(pa.table({"k": keys}), ShuffleSpec(
        3, ("k",), kind="range", boundaries=((b"bbbb",), (b"nnnn",))))
    assert [sorted(p["k"].to_pylist()) for p in parts] == [
        [b"aaaa"], [b"bbbb", b"bbbb", b"mmmm"], [b"zzzz"]]
