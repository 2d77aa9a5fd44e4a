"""One local segment of a write-ahead log: appended to, made durable with ``fdatasync``.

An append that grows a file changes its size and mtime, so each ``fsync`` (or ``fdatasync``)
after it also commits the file system's journal: two device flushes instead of one. As database
logs do (PostgreSQL's WAL segments), the file is instead grown ahead of the appends in steps of
zeros (1 MiB at first, doubling up to ``PREALLOC_MAX``); appends overwrite those zeros, and
``fdatasync`` then writes the data alone -- the size and the blocks were made durable by the
first sync after the step (``fdatasync`` still commits whatever metadata the data needs, so
durability never depends on the step). Closing the file cuts it back to what was appended.

A new segment of a synced log is prepared in full before its first frame (``prepare``: its
zeros written and synced under a temporary name, then renamed into place and the folder synced,
so the segment's name is on disk too): its appends then never grow it, and no put waits for a
growth step. The log prepares its first segment when it is opened and the next one ahead, off
the puts' path (``rayemr.firehose.wal``). The steps above remain for a frame bigger than what
is left.

A crash leaves zeros after the last frame: a reader stops at a frame header of zeros (no frame
has type 0; see ``is_padding``).
"""
from __future__ import annotations

import os

from rayemr.core.native import optional

_write_held = optional("rayemr.firehose._puts", "write_held")

PREALLOC_MIN = 1 << 20
PREALLOC_MAX = 16 << 20
_ZEROS = bytes(PREALLOC_MIN)
#: flushes the file's data (and the metadata needed to read it back), not its times
datasync = getattr(os, "fdatasync", os.fsync)


class LogFile:
    """An open local segment (see the module docstring); ``preallocate=False`` writes at the
    end only (a log that is never synced gains nothing from zeros)."""

    def __init__(self, path: str, *, preallocate: bool = True, prepared: bool = False) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        self.allocated = os.fstat(self.fd).st_size
        # appended so far: nothing in a prepared file (its bytes are the zeros of ``prepare``)
        self.size = 0 if prepared else self.allocated
        self.preallocate = preallocate

    def append(self, parts: tuple[bytes, ...], limit: int) -> None:
        """Write a frame given in ``parts`` after the last one (flushed to the OS, not yet
        to the disk); ``limit``: the segment's intended size (no zeros are added past it).
        Not thread-safe: the caller writes one frame at a time."""
        total = sum(map(len, parts))
        end = self.size + total
        if self.preallocate and end > self.allocated:
            self._grow(end, limit)
        if self.preallocate and len(parts) == 1 and _write_held is not None:
            # into zeros already on disk: a copy into the page cache, tens of microseconds,
            # so the GIL stays held (a producer that let go of it here could wait for the
            # flusher to hand it back); a growing file's write allocates and lets go of it.
            # Its writeback starts at once: the sync after the put's other work (its answer
            # built meanwhile) then finds the data on its way to the disk
            _write_held(self.fd, parts[0], self.size, True)
            self.size = end
            return
        written = os.pwritev(self.fd, parts, self.size)
        if written < total:  # a short write: the rest in one piece
            rest = b"".join(parts)[written:]
            while rest:
                n = os.pwrite(self.fd, rest, self.size + written)
                rest, written = rest[n:], written + n
        self.size = end

    def _grow(self, end: int, limit: int) -> None:
        step = min(max(self.allocated, PREALLOC_MIN), PREALLOC_MAX)
        target = max(end, min(self.allocated + step, limit))
        target = -(-target // 4096) * 4096
        pos = max(self.allocated, self.size)
        while pos < target:
            pos += os.pwrite(self.fd, _ZEROS[:min(len(_ZEROS), target - pos)], pos)
        self.allocated = target

    def close(self) -> None:
        """Cut the zeros after the last frame and close (the frames were synced by the
        caller; the cut need not be durable: a reader stops at zeros anyway)."""
        try:
            if self.allocated > self.size:
                os.ftruncate(self.fd, self.size)
        finally:
            os.close(self.fd)


def prepare(path: str, size: int) -> None:
    """Make ``path`` a file of ``size`` zeros on disk: written and synced, its size included
    (``fdatasync`` after a file grows commits the metadata needed to read it back). An existing
    file is overwritten. Not yet visible under a segment's name: see ``install``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        pos = 0
        while pos < size:
            pos += os.pwrite(fd, _ZEROS[:min(len(_ZEROS), size - pos)], pos)
        datasync(fd)
    finally:
        os.close(fd)


def install(prepared: str, path: str) -> None:
    """Rename a ``prepare``d file to ``path`` and sync the folder: the name is on disk before
    any frame in the file is acknowledged."""
    os.replace(prepared, path)
    sync_folder(os.path.dirname(path) or ".")


def sync_folder(path: str) -> None:
    """Make the folder's entries (a file created or renamed in it) durable; a no-op where a
    folder cannot be opened or synced (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_padding(length: int, crc: int, kind: int) -> bool:
    """Whether a frame header is a preallocated file's zeros (the end of what was logged)."""
    return length == 0 and crc == 0 and kind == 0
