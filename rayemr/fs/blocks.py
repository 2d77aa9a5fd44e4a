"""Large sequential reads: byte ranges with read-ahead, and decompressed whole-file streams.

A text split is read as a few big ranged reads (``read_block_size``, 16 MiB by default),
fetched ahead on a small thread pool so the network and line splitting overlap. Past the
split's end only the tail of the last line is needed, so reads there start small and grow.
"""
from __future__ import annotations

import bz2
import gzip
import io
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator

from rayemr.core.errors import UnsupportedError
from rayemr.fs.s3 import native_call

#: Blocks fetched ahead of the one being split into lines.
READ_AHEAD = 3
_TAIL_FIRST = 64 * 1024
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():  # a forked child has no pool threads
        _pool = ThreadPoolExecutor(max_workers=READ_AHEAD + 1,
                                   thread_name_prefix="rayemr-fs-read")
        _pool_pid = os.getpid()
    return _pool


class RangeReader:
    """``read(offset, n)`` on one file: a local handle, pyarrow's native S3 file, or fsspec."""

    def __init__(self, fs, path: str, arrow_file=None, owns_arrow_file: bool = True,
                 max_attempts: int = 1, url: str = "") -> None:
        self.fs = fs
        self.path = path
        self._local = None
        self._arrow = arrow_file  # a pyarrow RandomAccessFile; read_at releases the GIL
        self._owns_arrow = owns_arrow_file
        self._max_attempts = max_attempts  # for the native file: retried and counted here
        self._url = url
        if arrow_file is None and type(fs).__name__ == "LocalFileSystem":
            self._local = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()

    def read(self, offset: int, n: int) -> bytes:
        if n <= 0:
            return b""
        if self._local is not None:
            return _pread(self._local, offset, n)
        if self._arrow is not None:
            arrow = self._arrow
            return native_call(lambda: arrow.read_at(n, offset), "GetObject",
                               f"{self._url} bytes {offset}-{offset + n - 1}",
                               self._max_attempts)
        return self.fs.cat_file(self.path, start=offset, end=offset + n)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None
        if self._arrow is not None:
            if self._owns_arrow:
                self._arrow.close()
            self._arrow = None


#: Open native (pyarrow) input files, shared by the splits of one file version, so a split
#: does not pay a HEAD request to open it again: key -> RandomAccessFile (read_at is
#: thread-safe). Small and bounded; keys carry the file's size and mtime as listed.
_OPEN: OrderedDict[tuple, Any] = OrderedDict()
_OPEN_MAX = 32
_open_lock = threading.Lock()


def shared_native_file(arrow_fs, path: str, key: tuple | None, max_attempts: int = 1,
                       url: str = "") -> tuple[Any, bool]:
    """(pyarrow input file, whether the caller owns it) for one file version.

    Opening costs a HEAD request (retried and counted like reads).
    """
    def open_file():
        return native_call(lambda: arrow_fs.open_input_file(path), "HeadObject", url,
                           max_attempts)

    if key is None:
        return open_file(), True
    key = (os.getpid(), *key)
    with _open_lock:
        f = _OPEN.get(key)
        if f is not None:
            _OPEN.move_to_end(key)
            return f, False
    f = open_file()
    with _open_lock:
        f = _OPEN.setdefault(key, f)
        while len(_OPEN) > _OPEN_MAX:
            _OPEN.popitem(last=False)  # not closed: a reader may still use it; GC closes it
    return f, False


def clear_open_files() -> None:
    with _open_lock:
        _OPEN.clear()


def _pread(f, offset: int, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = os.pread(f.fileno(), n, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        n -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _fetch(reader: RangeReader, offset: int, n: int, scan: Callable[[bytes], Any] | None
           ) -> tuple[int, bytes, Any]:
    data = reader.read(offset, n)
    return offset, data, (scan(data) if scan is not None and data else None)


def iter_ranges(reader: RangeReader, begin: int, end: int, file_size: int, block: int,
                scan: Callable[[bytes], Any] | None = None
                ) -> Iterator[tuple[int, bytes, Any]]:
    """(offset, bytes, scan(bytes)) blocks from begin to a little past end, then tail reads.

    Blocks are fetched ahead on the pool, and ``scan`` (e.g. finding newlines) runs there
    too, right after each read, so it overlaps with the consumer's work on earlier blocks.
    The consumer stops iterating once it has what it needs; blocks further past end are read
    only on demand, smallest first, because usually only a line's tail lies there.
    """
    pool = _executor()
    pending: list[tuple[int, Future]] = []
    next_off = begin
    # The last ranged read also covers the first bytes past the split, where the last owned
    # line usually ends: one request instead of a separate small one for the tail.
    stop = min(end + _TAIL_FIRST, file_size)
    try:
        while True:
            while len(pending) < READ_AHEAD and next_off < stop:
                n = min(block, stop - next_off)
                if stop - next_off - n <= min(_TAIL_FIRST, block // 4):
                    n = stop - next_off  # no tiny last request
                pending.append((next_off, pool.submit(_fetch, reader, next_off, n, scan)))
                next_off += n
            if not pending:
                break
            yield pending.pop(0)[1].result()
        tail = _TAIL_FIRST
        while next_off < file_size:
            n = min(tail, file_size - next_off)
            item = _fetch(reader, next_off, n, scan)
            if not item[1]:
                break
            yield item
            next_off += len(item[1])
            tail = min(tail * 4, block)
    finally:
        for _, fut in pending:
            fut.cancel()


def iter_decompressed(fs, path: str, codec: str, block: int, arrow_fs=None
                      ) -> Iterator[tuple[int, bytes]]:
    """(offset in the decompressed stream, bytes) blocks of a whole compressed file.

    With ``arrow_fs`` (pyarrow's native S3) the file is streamed and decompressed in C++.
    """
    native = arrow_fs is not None and _arrow_codec(codec)
    raw = (arrow_fs.open_input_stream(path, compression=None, buffer_size=block) if native
           else fs.open(path, "rb", block_size=block))
    try:
        stream = _decompressor(raw, codec, native)
        offset = 0
        while True:
            data = stream.read(block)
            if not data:
                break
            yield offset, data
            offset += len(data)
    finally:
        raw.close()


def _arrow_codec(codec: str) -> bool:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return False
    return pa.Codec.is_available(codec)


def _decompressor(raw, codec: str, native: bool = False):
    if _arrow_codec(codec):
        import pyarrow as pa

        return pa.CompressedInputStream(raw if native else pa.PythonFile(raw, mode="r"), codec)
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if codec == "bz2":
        return bz2.BZ2File(raw)
    if codec == "zstd":
        try:
            import zstandard
        except ImportError:
            raise UnsupportedError("zstd input needs pyarrow with zstd or the zstandard "
                                   "package (pip install zstandard)") from None
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw))
    raise UnsupportedError(f"compression codec {codec!r} is not supported")
