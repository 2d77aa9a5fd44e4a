"""Files copied and moved across filesystems whole or not at all (local and memory)."""
from __future__ import annotations

import io

import fsspec
import pytest

from rayemr.fs import copy_file, move_file


@pytest.fixture
def local(tmp_path):
    return fsspec.filesystem("file"), str(tmp_path)


@pytest.fixture
def memory():
    fs = fsspec.filesystem("memory")
    fs.mkdir("/transfer-test")
    yield fs, "/transfer-test"
    fs.rm("/transfer-test", recursive=True)


def test_copy_across_filesystems_streams_in_chunks_and_keeps_the_source(local, memory):
    (lfs, ldir), (mfs, mdir) = local, memory
    data = bytes(range(256)) * 1000
    with lfs.open(f"{ldir}/a.txt", "wb") as f:
        f.write(data)
    copy_file(lfs, f"{ldir}/a.txt", mfs, f"{mdir}/a.txt", chunk_bytes=1000)
    assert mfs.cat(f"{mdir}/a.txt") == data and lfs.exists(f"{ldir}/a.txt")
    assert mfs.ls(mdir, detail=False) == [f"{mdir}/a.txt"]  # no temporary left


def test_move_across_filesystems_removes_the_source_after_the_copy(local, memory):
    (lfs, ldir), (mfs, mdir) = local, memory
    mfs.pipe(f"{mdir}/b.txt", b"hello\n")
    move_file(mfs, f"{mdir}/b.txt", lfs, f"{ldir}/b.txt")
    assert lfs.cat(f"{ldir}/b.txt") == b"hello\n" and not mfs.exists(f"{mdir}/b.txt")


def test_move_on_one_filesystem_is_a_rename(local):
    fs, d = local
    fs.pipe(f"{d}/c.txt", b"x")
    move_file(fs, f"{d}/c.txt", fs, f"{d}/d.txt")
    assert fs.cat(f"{d}/d.txt") == b"x" and not fs.exists(f"{d}/c.txt")


class _Broken:
    """A source filesystem whose file fails after its first chunk (a dropped connection)."""

    def open(self, path, mode):
        class Reader(io.BytesIO):
            calls = 0

            def read(self, n=-1):
                Reader.calls += 1
                if Reader.calls > 1:
                    raise OSError("connection reset")
                return b"x" * n

        return Reader()


def test_a_copy_that_fails_midway_leaves_neither_target_nor_temporary(memory):
    mfs, mdir = memory
    with pytest.raises(OSError, match="connection reset"):
        copy_file(_Broken(), "/src", mfs, f"{mdir}/e.txt", chunk_bytes=10)
    assert mfs.ls(mdir, detail=False) == []


def test_a_move_that_fails_midway_keeps_its_source(local, memory):
    (lfs, ldir), (mfs, mdir) = local, memory
    lfs.pipe(f"{ldir}/f.txt", b"y" * 100)

    class Full(type(mfs)):
        def mv(self, *a, **k):  # the rename into place fails (e.g. permissions)
            raise PermissionError("denied")

    with pytest.raises(PermissionError):
        move_file(lfs, f"{ldir}/f.txt", Full(), f"{mdir}/f.txt", chunk_bytes=10)
    assert lfs.cat(f"{ldir}/f.txt") == b"y" * 100
    assert mfs.ls(mdir, detail=False) == []
