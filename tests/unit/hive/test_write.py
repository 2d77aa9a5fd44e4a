"""The task-side writer's pure parts: file names, partition folders, grouping, shaping."""
from __future__ import annotations

import pyarrow as pa
import pytest

from rayemr.core.errors import UserError
from rayemr.hive.metastore.models import StorageFormat
from rayemr.hive.write import (WriteSpec, file_name, partition_path, shape, split_dynamic,
                               summary)

PARQUET = StorageFormat("parquet")
TEXT = StorageFormat("text")


def test_file_names_follow_hive():
    assert file_name(3, PARQUET) == "000003_0.parquet"
    assert file_name(12, TEXT) == "000012_0"


def test_partition_path_escapes_values():
    assert partition_path(("k", "d"), ("a/b", "x y")) == "k=a%2Fb/d=x y"


def test_split_dynamic_groups_rows_and_names_null_partition():
    t = pa.table({"a": [1, 2, 3, 4], "k": ["x", None, "x", "y"],
                  "b": pa.array([True, False, True, True])})
    groups = {vals: part.column("a").to_pylist() for vals, part in split_dynamic(t, ("k", "b"))}
    assert groups == {("x", "true"): [1, 3], ("__HIVE_DEFAULT_PARTITION__", "false"): [2],
                      ("y", "true"): [4]}
    assert split_dynamic(t, ())[0][0] == ()


def test_shape_reorders_casts_and_fills_nulls():
    w = WriteSpec(PARQUET, "target table t", (("a", "int"), ("b", "string"), ("c", "double")),
                  source=(1, None, 0))
    assert w.query_arity == 2
    out = shape(pa.table({"x": [1.5], "y": ["7"]}), w)
    assert out.to_pylist() == [{"a": 7, "b": None, "c": 1.5}]
    with pytest.raises(UserError, match="returns 3 columns but the target has 2"):
        shape(pa.table({"x": [1], "y": [2], "z": [3]}), w)
    assert WriteSpec(TEXT, "directory d").query_arity is None


def test_summary_table():
    s = summary(("k",), [(("a",), 2), (("b",), 5)])
    assert s.to_pylist() == [{"k": "a", "__rows": 2}, {"k": "b", "__rows": 5}]
