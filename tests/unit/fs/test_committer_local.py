"""OutputCommitter on local files and memory:// (rename protocol)."""
from __future__ import annotations

import json
import os
import pickle

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rayemr.core.errors import OutputExistsError, UserError
from rayemr.fs import OutputCommitter, compute_splits, read_parquet_split


def visible(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames]
        for name in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def run_task(committer, task, attempt, payload, name=None):
    with committer.open_task_output(task, attempt, name or f"part-r-{task:05d}") as f:
        f.write(payload)
    return committer.commit_task(task, attempt)


def test_successful_job_shows_all_parts_and_success(tmp_path):
    out = tmp_path / "out"
    c = OutputCommitter(str(out))
    c.setup_job()
    commits = [run_task(c, t, 0, f"data {t}\n".encode()) for t in range(3)]
    # failed attempt of task 1 before the good one: discarded
    with c.open_task_output(1, 7, "part-r-00001") as f:
        f.write(b"garbage")
    c.abort_task(1, 7)
    assert not any(p.startswith("part-") for p in visible(out))  # nothing before job commit
    c.commit_job(commits)
    assert visible(out) == ["_SUCCESS", "part-r-00000", "part-r-00001", "part-r-00002"]
    assert (out / "part-r-00001").read_bytes() == b"data 1\n"
    assert json.loads((out / "_SUCCESS").read_text())["files"] == [
        "part-r-00000", "part-r-00001", "part-r-00002"]


def test_failed_job_after_some_commits_leaves_no_part(tmp_path):
    out = tmp_path / "out"
    c = OutputCommitter(f"file://{out}")
    c.setup_job()
    run_task(c, 0, 0, b"a")
    run_task(c, 1, 0, b"b")
    with c.open_task_output(2, 0, "part-r-00002") as f:
        f.write(b"half")  # task 2 fails before commit
    c.abort_job()
    assert visible(out) == []
    assert not (out / "_temporary").exists()


def test_existing_output_is_an_error_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old").write_text("old")
    with pytest.raises(OutputExistsError, match=str(out)):
        OutputCommitter(str(out)).setup_job()
    c = OutputCommitter(str(out), overwrite=True)
    c.setup_job()
    c.commit_job([run_task(c, 0, 0, b"new")])
    assert visible(out) == ["_SUCCESS", "part-r-00000"]


def test_empty_existing_directory_is_fine(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    c = OutputCommitter(str(out))
    c.setup_job()
    c.commit_job([])
    assert visible(out) == ["_SUCCESS"]


def test_nested_names_pickling_and_bad_names(tmp_path):
    out = tmp_path / "out"
    c = OutputCommitter(str(out))
    c.setup_job()
    c2 = pickle.loads(pickle.dumps(c))  # as a Ray task would get it
    commit = run_task(c2, 0, 0, b"x", name="dt=2024-01-01/part-00000")
    commit = pickle.loads(pickle.dumps(commit))
    c.commit_job([commit])
    assert visible(out) == ["_SUCCESS", "dt=2024-01-01/part-00000"]
    for bad in ("", "../x", "_temporary/x", "a/../../b"):
        with pytest.raises(UserError):
            c.open_task_output(0, 0, bad)


def test_memory_committer_and_parquet_split(tmp_path):
    c = OutputCommitter("memory://unit-commit/out")
    c.setup_job()
    table = pa.table({"x": list(range(1000)), "y": [str(i) for i in range(1000)]})
    with c.open_task_output(0, 0, "part-00000.parquet") as f:
        pq.write_table(table, f, row_group_size=100)
    c.commit_job([c.commit_task(0, 0)])
    splits = compute_splits("memory://unit-commit/out", split_size=1)
    assert len(splits) == 10 and all(s.format == "parquet" for s in splits)
    got = pa.concat_tables(read_parquet_split(s, columns=["x"]) for s in splits)
    assert got.column("x").to_pylist() == list(range(1000))
    import pyarrow.compute as pc

    filtered = pa.concat_tables(read_parquet_split(s, filter=pc.field("x") >= 950)
                                for s in splits)
    assert filtered.num_rows == 50
    with pytest.raises(UserError, match="no column"):
        read_parquet_split(splits[0], columns=["nope"])
    import fsspec

    fsspec.filesystem("memory").rm("/unit-commit", recursive=True)


def test_parquet_rewritten_file_is_read_fresh_and_bad_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), path)
    first = compute_splits(str(path))
    assert read_parquet_split(first[0]).column("x").to_pylist() == [1, 2, 3]
    os.utime(path, (1, 1))  # a different version of the file: new mtime
    pq.write_table(pa.table({"x": [7, 8, 9, 10]}), path)
    second = compute_splits(str(path))
    assert read_parquet_split(second[0]).column("x").to_pylist() == [7, 8, 9, 10]
    (tmp_path / "bad.parquet").write_bytes(b"this is not parquet at all")
    with pytest.raises(UserError, match="not a Parquet file"):
        compute_splits(str(tmp_path / "bad.parquet"))
