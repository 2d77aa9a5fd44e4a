"""Text splits and the LineRecordReader rule, on local files and memory:// -- with the C
newline finder and with its numpy fallback."""
from __future__ import annotations

import bz2
import gzip

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rayemr.core import native
from rayemr.core.errors import ConfigError, InputNotFoundError
from rayemr.fs import EmrfsConfig, compute_splits, plan_splits, read_text_batches
from rayemr.fs.listing import FileStatus
from rayemr.fs.splits import group_row_groups, text_ranges


@pytest.fixture(autouse=True, params=["c", "numpy"])
def newline_finder(request, monkeypatch):
    from rayemr.fs import text

    if request.param == "numpy":
        monkeypatch.setattr(text, "_NEWLINES", None)
    elif text._NEWLINES is None:
        if native.built("rayemr.fs._lines") is None:  # fails when not built
            pytest.skip(native.PURE_REASON)
    return request.param


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200) | st.text(alphabet="ab\r\n", max_size=300).map(str.encode))
def test_c_newline_finder_matches_numpy(data):
    import numpy as np

    from rayemr.fs import text

    if text._NEWLINES is None:
        return  # the fallback is the reference itself
    got = text.find_newlines(data)
    want = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    assert got.dtype == np.int64
    assert got.tolist() == want.tolist()


def read_all(url, split_size, config=None, batch_rows=1000, binary=False):
    rows = []
    for split in compute_splits(url, split_size=split_size, config=config):
        for batch in read_text_batches(split, config=config, batch_rows=batch_rows,
                                       binary=binary):
            assert batch.schema.names == ["offset", "line"]
            rows.extend(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))
    return rows


def expected_lines(data: bytes):
    """Reference: (offset, line) of every line, LF or CRLF terminated, last may lack LF."""
    out, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl
        line = data[pos:end]
        if nl >= 0 and line.endswith(b"\r"):
            line = line[:-1]
        out.append((pos, line))
        pos = len(data) if nl < 0 else nl + 1
    return out


def test_text_ranges_follow_hadoop_slop():
    assert text_ranges(100, 50) == [(0, 50), (50, 50)]
    assert text_ranges(105, 50) == [(0, 50), (50, 55)]  # 55/50 <= 1.1: one last split
    assert text_ranges(120, 50) == [(0, 50), (50, 50), (100, 20)]
    assert text_ranges(0, 50) == []
    with pytest.raises(ConfigError):
        text_ranges(10, 0)


def test_row_groups_follow_hadoop_slop():
    # the last split takes a tail of up to 10% rather than leaving it a split of its own
    assert group_row_groups([10] * 10, 50) == [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)]
    assert group_row_groups([10] * 10 + [4], 50) == [(0, 1, 2, 3, 4), tuple(range(5, 11))]
    assert group_row_groups([10] * 10 + [6], 50) == [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10,)]
    assert group_row_groups([100], 10) == [(0,)]


@given(st.lists(st.integers(1, 100), min_size=1, max_size=60), st.integers(1, 500))
def test_row_groups_are_each_in_one_split_in_order(sizes, split_size):
    groups = group_row_groups(sizes, split_size)
    assert [i for g in groups for i in g] == list(range(len(sizes)))
    for g in groups[:-1]:
        assert sum(sizes[i] for i in g) <= max(split_size, sizes[g[0]])
    assert sum(sizes[i] for i in groups[-1]) <= max(split_size * 1.1, sizes[groups[-1][0]]) \
        or len(groups[-1]) == 1


def test_plan_splits_formats():
    files = [FileStatus("/d/a.txt", 250), FileStatus("/d/b.gz", 300),
             FileStatus("/d/c.parquet", 1000), FileStatus("/d/empty.txt", 0)]
    splits = plan_splits(files, 100, {"/d/c.parquet": [40, 40, 40, 200]})
    text = [s for s in splits if s.format == "text"]
    assert [(s.start, s.length) for s in text] == [(0, 100), (100, 100), (200, 50)]
    comp = [s for s in splits if s.format == "compressed"]
    assert [(s.url, s.start, s.length) for s in comp] == [("/d/b.gz", 0, 300)]
    assert comp[0].codec == "gzip"
    pq = [s.row_groups for s in splits if s.format == "parquet"]
    assert pq == [(0, 1), (2,), (3,)]


def test_crlf_no_trailing_newline_and_long_lines(tmp_path):
    data = b"short\r\n" + b"x" * 500 + b"\nmid\r\n\r\n\nend-without-newline"
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    want = [(o, l.decode()) for o, l in expected_lines(data)]
    for split_size in (1, 2, 3, 7, 50, 499, 501, 10_000):
        assert read_all(str(path), split_size) == want, split_size


def test_split_starting_exactly_at_a_line_start_owns_it(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"aaaa\nbbbb\ncccc\n")
    splits = compute_splits(str(path), split_size=5)
    per_split = [[r["line"] for b in read_text_batches(s) for r in b.to_pylist()]
                 for s in splits]
    assert per_split == [["aaaa"], ["bbbb"], ["cccc"]]


def test_small_read_blocks_and_batches(tmp_path):
    lines = [f"line {i} " + "z" * (i % 37) for i in range(5000)]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    config = EmrfsConfig(read_block_size=4096)
    rows = read_all(f"file://{path}", 20_000, config=config, batch_rows=333)
    assert [l for _, l in rows] == lines
    assert [o for o, _ in rows] == [o for o, _ in expected_lines(data)]


def test_binary_and_invalid_utf8(tmp_path):
    data = b"ok\n\xff\xfebad\n"
    path = tmp_path / "b.txt"
    path.write_bytes(data)
    assert [l for _, l in read_all(str(path), 100, binary=True)] == [b"ok", b"\xff\xfebad"]
    lines = [l for _, l in read_all(str(path), 100)]
    assert lines[0] == "ok" and lines[1].endswith("bad") and "\ufffd" in lines[1]


@pytest.mark.parametrize("suffix,compress", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                             (".zst", None)])
def test_compressed_files_are_one_split(tmp_path, suffix, compress):
    data = "".join(f"row {i}\r\n" for i in range(20000)).encode() + b"tail"
    if compress is None:
        import pyarrow as pa

        compress = lambda d: pa.compress(d, codec="zstd", asbytes=True)  # noqa: E731
        # pa.compress makes a raw frame; write a proper stream via CompressedOutputStream
        sink = pa.BufferOutputStream()
        with pa.CompressedOutputStream(sink, "zstd") as out:
            out.write(data)
        blob = sink.getvalue().to_pybytes()
    else:
        blob = compress(data)
    path = tmp_path / f"c{suffix}"
    path.write_bytes(blob)
    splits = compute_splits(str(path), split_size=1000)
    assert len(splits) == 1 and splits[0].format == "compressed"
    rows = read_all(str(path), 1000)
    assert [l for _, l in rows] == [f"row {i}" for i in range(20000)] + ["tail"]


def test_concatenated_gzip_members(tmp_path):
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(b"a\nb\n") + gzip.compress(b"c\nd\n"))
    assert [l for _, l in read_all(str(path), 10)] == ["a", "b", "c", "d"]


def test_memory_filesystem(tmp_path):
    import fsspec

    mem = fsspec.filesystem("memory")
    mem.pipe_file("/unit-text/x.txt", b"1\n2\n3")
    assert [l for _, l in read_all("memory://unit-text/x.txt", 2)] == ["1", "2", "3"]
    mem.rm("/unit-text", recursive=True)


def test_missing_input_names_the_url(tmp_path):
    with pytest.raises(InputNotFoundError) as err:
        compute_splits(str(tmp_path / "nope"))
    assert str(tmp_path / "nope") in str(err.value)


def test_batches_are_arrow_string(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(b"a\nb\n")
    split = compute_splits(str(path))[0]
    batch = next(read_text_batches(split))
    assert batch.schema.field("line").type == pa.string()
    assert batch.schema.field("offset").type == pa.int64()


lines_strategy = st.lists(
    st.text(alphabet=st.sampled_from("ab \r\té"), max_size=30), max_size=40)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, trailing=st.booleans(), crlf=st.booleans(),
       split_size=st.integers(min_value=1, max_value=200),
       block=st.integers(min_value=1, max_value=64))
def test_property_every_line_exactly_once_in_order(tmp_path_factory, lines, trailing, crlf,
                                                   split_size, block):
    sep = "\r\n" if crlf else "\n"
    text = sep.join(lines) + (sep if trailing and lines else "")
    data = text.encode()
    path = tmp_path_factory.mktemp("prop") / "f.txt"
    path.write_bytes(data)
    config = EmrfsConfig(read_block_size=block)
    got = read_all(str(path), split_size, config=config, binary=True)
    assert got == expected_lines(data)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
       split_size=st.integers(min_value=1, max_value=120),
       block=st.integers(min_value=1, max_value=50))
def test_property_ranged_reads_through_fsspec(data, split_size, block):
    """The same rule over fsspec ranged reads (memory://), with arbitrary bytes."""
    import fsspec

    mem = fsspec.filesystem("memory")
    mem.pipe_file("/prop-mem/f.txt", data)
    try:
        config = EmrfsConfig(read_block_size=block)
        got = read_all("memory://prop-mem/f.txt", split_size, config=config, binary=True) \
            if data else []
        assert got == expected_lines(data)
    finally:
        mem.rm("/prop-mem", recursive=True)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.text(alphabet=st.sampled_from("ab\ré"), max_size=40), max_size=30),
       trailing=st.booleans(), split_size=st.integers(min_value=1, max_value=150),
       block=st.integers(min_value=1, max_value=40),
       batch_rows=st.integers(min_value=1, max_value=5))
def test_property_string_lines_batches_and_straddling_lines(tmp_path_factory, lines, trailing,
                                                            split_size, block, batch_rows):
    """Lines spanning several read blocks (ASCII and non-ASCII blocks mixed), decoded to
    strings, in batches of at most batch_rows rows."""
    data = ("\n".join(lines) + ("\n" if trailing and lines else "")).encode()
    path = tmp_path_factory.mktemp("strs") / "f.txt"
    path.write_bytes(data)
    config = EmrfsConfig(read_block_size=block)
    got = []
    for split in compute_splits(str(path), split_size=split_size, config=config) if data else []:
        for batch in read_text_batches(split, config=config, batch_rows=batch_rows):
            assert 0 < batch.num_rows <= batch_rows
            assert batch.schema.field("line").type == pa.string()
            got.extend(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))
    assert got == [(o, l.decode()) for o, l in expected_lines(data)]


def test_line_longer_than_many_blocks_and_splits(tmp_path):
    """A line carried across many read blocks is read once, by the split it starts in."""
    data = b"a\n" + b"x" * 10_000 + b"\r\nb\n" + "é".encode() * 3000 + b"\nend"
    path = tmp_path / "long.txt"
    path.write_bytes(data)
    want = [(o, l.decode()) for o, l in expected_lines(data)]
    for split_size, block in ((1000, 64), (3, 4096), (9_999, 333), (100_000, 7)):
        config = EmrfsConfig(read_block_size=block)
        assert read_all(str(path), split_size, config=config, batch_rows=2) == want


def _read_in_child(path: str, want: int) -> None:
    import os

    rows = sum(len(b) for b in read_text_batches(compute_splits(path)[0],
                                                 config=EmrfsConfig(read_block_size=64)))
    os._exit(0 if rows == want else 3)


def test_reads_in_a_forked_child_after_the_parent_read(tmp_path):
    """The read-ahead pool is per process: a forked child does not wait on dead threads."""
    import multiprocessing

    path = tmp_path / "f.txt"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(200)))
    assert read_all(str(path), 10_000, config=EmrfsConfig(read_block_size=64))  # parent pool
    child = multiprocessing.get_context("fork").Process(target=_read_in_child,
                                                         args=(str(path), 200))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
