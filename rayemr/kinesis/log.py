"""A shard's durable log, written through EMRFS (the only storage layer).

Two layouts, chosen by the location's kind:

- **local disk** (a path or ``file://``): append-only segment files ``seg-<n>.klog``; each
  group of frames is one ``write`` followed by ``flush`` (and ``fsync`` unless turned off), so
  an acknowledged record survives the process (and, with fsync, the machine) going down.
  Segments roll over at ``segment_bytes``. A torn frame at the end of the last segment (a crash
  mid-write, never acknowledged) is cut off on recovery.
- **object store** (``s3://``, ``memory://``): objects cannot be appended to, so each group
  commit is one object ``grp-<n>.klog`` (one PUT for many records: the group commit). A lost
  node loses nothing acknowledged; the cost is one PUT per group and a listing on recovery.

Retention drops whole segments/objects whose newest record is older than the horizon.
A frame's *location* is ``(name, offset, length)``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterator, Sequence

from rayemr.fs import resolve, storage_errors
from rayemr.fs.resolve import parse_url
from rayemr.kinesis.records import Batch, CloseMarker, iter_frames

log = logging.getLogger(__name__)

Location = tuple[str, int, int]
_IOV_MAX = 1024  # pieces per writev (Linux's limit)


@dataclass
class _Segment:
    name: str
    size: int
    newest: float  # newest arrival in it (0 when it holds only markers)


def _writev(fd: int, pieces: list[bytes]) -> None:
    """Write every piece, in order, with as few system calls as the kernel allows."""
    views = [memoryview(p) for p in pieces if len(p)]
    while views:
        done = os.writev(fd, views[:_IOV_MAX])
        while views and done >= len(views[0]):
            done -= len(views.pop(0))
        if done:
            views[0] = views[0][done:]


class ShardLog:
    """The log of one shard at ``url`` (a folder)."""

    def __init__(self, url: str, *, fsync: bool = True, segment_bytes: int = 64 * 1024 * 1024,
                 secrets: tuple[str | None, ...] = ()) -> None:
        self.url = url.rstrip("/")
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self._secrets = secrets
        parsed = parse_url(self.url)
        self.appendable = parsed.kind == "local"
        self.fs, self.path = resolve(self.url)
        self._segments: list[_Segment] = []
        self._next = 0
        self._file = None

    def __repr__(self) -> str:
        return f"ShardLog({self.url!r})"

    def _errors(self):
        return storage_errors(self.url, self._secrets)

    def _name(self, n: int) -> str:
        return f"{'seg' if self.appendable else 'grp'}-{n:016d}.klog"

    # -- writing -------------------------------------------------------------------------------
    def append(self, frames: Sequence[Sequence[bytes]], newest: float) -> list[Location]:
        """Write ``frames`` (each as pieces written back to back) durably as one group; their
        locations, in order. On local disk the group is one ``writev`` (no copy)."""
        pieces = [piece for frame in frames for piece in frame]
        sizes = [sum(map(len, frame)) for frame in frames]
        with self._errors():
            if self.appendable:
                seg = self._writable()
                offset = seg.size
                self._file.flush()  # nothing buffered: the pieces go straight to the fd
                _writev(self._file.fileno(), pieces)
                if self.fsync:
                    os.fsync(self._file.fileno())
            else:
                seg = _Segment(self._name(self._next), 0, 0.0)
                self._next += 1
                offset = 0
                self.fs.pipe_file(f"{self.path}/{seg.name}", b"".join(pieces))
                self._segments.append(seg)
        seg.size += sum(sizes)
        seg.newest = max(seg.newest, newest)
        out, pos = [], offset
        for size in sizes:
            out.append((seg.name, pos, size))
            pos += size
        return out

    def _writable(self) -> _Segment:
        seg = self._segments[-1] if self._segments else None
        if seg is None or seg.size >= self.segment_bytes or self._file is None:
            if self._file is not None:
                self._file.close()
                self._file = None
            if seg is None or seg.size >= self.segment_bytes:
                seg = _Segment(self._name(self._next), 0, 0.0)
                self._next += 1
                self._segments.append(seg)
                self.fs.makedirs(self.path, exist_ok=True)
            self._file = self.fs.open(f"{self.path}/{seg.name}", "ab")
        return seg

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- reading -------------------------------------------------------------------------------
    def read(self, location: Location) -> bytes:
        name, offset, length = location
        with self._errors():
            return self.fs.cat_file(f"{self.path}/{name}", start=offset, end=offset + length)

    def recover(self) -> Iterator[tuple[Batch | CloseMarker, Location]]:
        """Every whole frame in write order; a torn tail of the last local segment is cut."""
        self.close()
        with self._errors():
            try:
                names = sorted(p.rsplit("/", 1)[-1] for p in self.fs.ls(self.path, detail=False))
            except FileNotFoundError:
                names = []
        names = [n for n in names if n.endswith(".klog") and n[:4] in ("seg-", "grp-")]
        self._segments = []
        for i, name in enumerate(names):
            with self._errors():
                buf = self.fs.cat_file(f"{self.path}/{name}")
            seg = _Segment(name, 0, 0.0)
            for frame, start, end in iter_frames(buf):
                seg.size = end
                if isinstance(frame, Batch):
                    seg.newest = max(seg.newest, frame.arrival)
                yield frame, (name, start, end - start)
            if seg.size < len(buf):
                self._cut(seg, len(buf), last=i == len(names) - 1)
            self._segments.append(seg)
            self._next = max(self._next, int(name[4:-5]) + 1)

    def _cut(self, seg: _Segment, size: int, last: bool) -> None:
        where = f"{self.url}/{seg.name}"
        if not last or not self.appendable:
            log.warning("%s: %d bytes after offset %d do not form a frame; ignored",
                        where, size - seg.size, seg.size)
            return
        log.warning("%s: cutting a torn frame (%d bytes) at offset %d", where,
                    size - seg.size, seg.size)
        with self._errors(), self.fs.open(f"{self.path}/{seg.name}", "r+b") as f:
            f.truncate(seg.size)

    # -- retention -------------------------------------------------------------------------------
    def trim(self, horizon: float) -> int:
        """Delete segments whose newest record arrived before ``horizon``; returns how many."""
        doomed = [s for s in self._segments[:-1] if 0 < s.newest < horizon]
        with self._errors():
            for seg in doomed:
                self.fs.rm(f"{self.path}/{seg.name}")
        self._segments = [s for s in self._segments if s not in doomed]
        return len(doomed)

    def delete(self) -> None:
        """Remove the whole log (the stream was deleted or the shard expired)."""
        self.close()
        with self._errors():
            try:
                self.fs.rm(self.path, recursive=True)
            except FileNotFoundError:
                pass
        self._segments = []
