"""A delivery stream's write-ahead log, through EMRFS: records are acknowledged only once here.

Entries are framed (``length, crc32, type, payload``) so a torn tail from a crash is detected
and ignored. Three kinds of entry:

- ``RECORDS`` -- a put's records: first sequence number, arrival time, their bytes;
- ``INTENT`` -- an object about to be published: its URL, its kind and the records it holds;
- ``DONE`` -- records whose obligation of one kind (``data``/``backup``) is met: the object is
  visible (``url``), or nothing is owed (a record the transformation dropped).

A stream reading a Kinesis stream logs its records with the shard and the last sequence number
they reach (``SOURCED``, in the same frame, so records and position are logged together), and
before old segments are deleted it logs every shard's position again (``POSITIONS``) in the
newest segment, which is never deleted: the log always knows how far each shard was logged.

An intent or done entry is a small JSON header and the records' sequence numbers as a bitmap
from the lowest (a partition's buffer holds every n-th record, which ranges would not shrink).

On a local disk the log is a series of segment files appended to and synced before a put is
acknowledged (``sync="fsync"``: ``fdatasync`` of a segment prepared in zeros, see
``rayemr.firehose.logfile``; ``"flush"`` trusts the OS cache: survives the process, not the
machine). A synced log prepares the segment it appends to when it is opened (``open``, which
also deletes the segments a replay found without a frame), and the next one ahead
(``prepare_ahead``, from the stream's flusher thread): when the open segment is half full and
the log was idle since the last look, or once it is nine-tenths full, so a segment's zeros are
written while no put waits for them. The sync is a group commit: a put appends under the
stream's lock, then waits outside it in ``durable`` while one waiter fsyncs for every frame
appended so far, so concurrent puts share one fsync. An intent is on disk before its object is published. On S3 every append is its own object (one PUT each, atomic), so a lost node loses
nothing. Segments are deleted oldest first once every record in them is done.
"""
from __future__ import annotations

import json
import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from rayemr import fs as emrfs
from rayemr.core.errors import RayEmrError
from rayemr.core.native import optional
from rayemr.firehose import logfile

log = logging.getLogger(__name__)

RECORDS, INTENT, DONE, SOURCED, POSITIONS = 1, 4, 5, 6, 7
_JSON_INTENT, _JSON_DONE = 2, 3  # earlier logs: sequence numbers as JSON ranges
_FRAME = struct.Struct("<IIB")
_REC_HEAD = struct.Struct("<QdI16s")
_SEQ_HEAD = struct.Struct("<IQI")  # header length, lowest seq, bits
SEGMENT_BYTES = 64 * 1024 * 1024
#: How full the open segment is when the next one is prepared: if the log was idle since the
#: last look, or in any case.
AHEAD_IDLE, AHEAD_ALWAYS = 0.5, 0.9
#: One frame built (copied and checksummed without the GIL) by ``rayemr/firehose/_puts.c``.
_native_frame = optional("rayemr.firehose._puts", "frame")


@dataclass
class Replay:
    """What a log holds: records by sequence number, intents and completed obligations."""

    records: dict[int, tuple[float, bytes]] = field(default_factory=dict)
    intents: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    done_urls: set[str] = field(default_factory=set)
    done: dict[str, set[int]] = field(default_factory=dict)  # kind -> seqs
    batches: dict[bytes, tuple[int, float, int]] = field(default_factory=dict)  # token -> put
    positions: dict[str, int] = field(default_factory=dict)  # source shard -> last logged seq
    next_seq: int = 0
    torn: int = 0


class WriteAheadLog:
    """The log of one delivery stream at ``url`` (a local folder or an S3 prefix)."""

    def __init__(self, url: str, *, sync: str = "fsync",
                 segment_bytes: int = SEGMENT_BYTES) -> None:
        self.url = url.rstrip("/")
        self.fs, self.root = emrfs.resolve(self.url)
        self.local = emrfs.parse_url(self.url).kind == "local"
        self.mode = sync
        self.segment_bytes = segment_bytes
        self._segments: list[tuple[int, int]] = []  # (number, highest record seq in it)
        self._file: logfile.LogFile | None = None
        self._size = 0
        # group commit (local disk, fsync): frames appended / known to be on disk
        self._cond = threading.Condition()
        self._writing = threading.Lock()
        self._appended = self._synced = 0
        self._syncing = False
        # the next segment, prepared ahead (a path outside the segments' names) or None
        self._ahead: str | None = None
        self._ahead_lock = threading.Lock()
        self._ahead_seen = -1  # frames appended at the last look (idle if unchanged)
        self._empty: list[int] = []  # segments replay found without a frame

    def __repr__(self) -> str:
        return f"WriteAheadLog({self.url!r})"

    def _name(self, number: int) -> str:
        return f"{self.root}/wal-{number:012d}.log"

    def _list(self) -> list[int]:
        try:
            names = self.fs.ls(self.root, detail=False)
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            base = n.rstrip("/").rsplit("/", 1)[-1]
            if base.startswith("wal-") and base.endswith(".log"):
                out.append(int(base[4:-4]))
        return sorted(out)

    # -- appending ----------------------------------------------------------------------------
    def append_records(self, first_seq: int, arrival: float, datas: Sequence[bytes],
                       token: bytes = b"", positions: Mapping[str, int] | None = None, *,
                       lens: np.ndarray | None = None) -> int:
        """Log one put; ``token`` (16 bytes) identifies it, so a retried put is recognised;
        ``positions`` (source shard -> last sequence number) are logged with the records;
        ``lens``: their sizes, if known. Returns the ticket ``durable`` waits for."""
        head = _REC_HEAD.pack(first_seq, arrival, len(datas), token)
        lengths = (struct.pack(f"<{len(datas)}I", *map(len, datas)) if lens is None
                   else lens.astype("<u4").tobytes())
        kind = RECORDS
        if positions:
            doc = _positions_doc(positions)
            head, kind = struct.pack("<I", len(doc)) + doc + head, SOURCED
        max_seq = first_seq + len(datas) - 1
        if _native_frame is not None and type(datas) is list:
            try:
                frame = _native_frame(kind, head, lengths, datas)
            except TypeError:  # a record that is not bytes: joined below
                pass
            else:
                return self._write((frame,), max_seq)
        return self._append(kind, b"".join((head, lengths, *datas)), max_seq)

    def append_positions(self, positions: Mapping[str, int]) -> None:
        """Log how far each source shard was logged (before old segments go)."""
        self._append(POSITIONS, _positions_doc(positions))

    def append_intent(self, url: str, kind: str, seqs: Sequence[int] | np.ndarray, *,
                      sync: bool = True) -> None:
        """Log that ``url`` is about to be published with ``seqs``; on disk on return (a lost
        intent would let the records be published again after a crash), or with
        ``sync=False`` once the caller's next ``sync`` returns (intents of a batch share it)."""
        ticket = self._append(INTENT, _seq_entry(url, kind, seqs))
        if sync:
            self.sync(ticket)

    def append_done(self, url: str, kind: str, seqs: Sequence[int] | np.ndarray) -> None:
        self._append(DONE, _seq_entry(url, kind, seqs))

    def _append(self, kind: int, payload: bytes, max_seq: int = -1) -> int:
        """Write one frame (flushed to the OS; on disk once ``durable``); returns its ticket."""
        head = _FRAME.pack(len(payload), zlib.crc32(payload), kind)
        return self._write((head, payload), max_seq)

    def _write(self, parts: tuple[bytes, ...], max_seq: int = -1) -> int:
        """Write one frame given in ``parts`` (its header first); see ``_append``."""
        size = sum(map(len, parts))
        with emrfs.storage_errors(self.url):
            if not self.local:  # one object per frame: durable on return
                number = (self._segments[-1][0] + 1) if self._segments else 1
                self.fs.pipe_file(self._name(number), b"".join(parts))
                self._segments.append((number, max_seq))
                return 0
            with self._writing:  # frames go one after the other, whatever the thread
                if self._file is None or self._size >= self.segment_bytes:
                    self._roll()
                self._file.append(parts, self.segment_bytes)
                self._size += size
                number, high = self._segments[-1]
                self._segments[-1] = (number, max(high, max_seq))
                with self._cond:
                    self._appended += 1
                    return self._appended if self.fsyncs else 0

    @property
    def fsyncs(self) -> bool:
        """Whether acknowledged frames wait for an fsync (a local log with ``sync="fsync"``)."""
        return self.local and self.mode == "fsync"

    def durable(self, ticket: int) -> None:
        """Return once every frame up to ``ticket`` is on disk (group commit: one caller
        fsyncs for every frame appended so far while the others wait; callable without the
        stream's lock, so puts arriving meanwhile share the next fsync)."""
        if not ticket:
            return
        with self._cond:
            while self._synced < ticket:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                target = self._appended
                fd = self._file.fd if self._file is not None else None  # open until synced
                self._cond.release()
                try:
                    if fd is not None:
                        with emrfs.storage_errors(self.url):
                            logfile.datasync(fd)
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                self._synced = max(self._synced, target)

    def sync(self, ticket: int | None = None) -> None:
        """Everything appended (up to ``ticket``) on disk now (the caller holds the lock)."""
        with self._cond:
            ticket = self._appended if ticket is None else ticket
        if self.fsyncs:
            self.durable(ticket)

    def _roll(self) -> None:
        if self._file is not None:
            self.sync()  # the old segment's frames are on disk before it is closed
        number = (self._segments[-1][0] + 1) if self._segments else 1
        self.fs.makedirs(self.root, exist_ok=True)
        path = self._name(number)
        if self.fsyncs:
            self._install(path)
        self._swap(logfile.LogFile(path, preallocate=self.fsyncs, prepared=self.fsyncs))
        self._size = 0
        self._segments.append((number, -1))

    # -- segments prepared ahead (a synced local log) ------------------------------------------
    def open(self) -> None:
        """Ready the segment the next appends go to (prepared, on a synced local log), so the
        first put does not wait for it; after ``replay``, before the first append. A failure
        (a full disk) is logged, not raised: the stream starts and delivers what it holds, and
        the first append tries again, where the error reaches the put."""
        if not self.local:
            return
        with self._writing:
            if self._file is None:
                self._drop_empty()
                try:
                    self._roll()
                except (OSError, RayEmrError) as exc:
                    log.warning("%r: could not open a segment: %s", self, exc)

    def _drop_empty(self) -> None:
        """Delete the segments ``replay`` found without a frame (a host that stopped or died
        before its first put leaves one, its zeros included): they hold nothing."""
        empty, self._empty = set(self._empty), []
        for number in sorted(empty):
            try:
                self.fs.rm(self._name(number))
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("%r: could not delete an empty segment: %s", self, exc)
                continue
            self._segments = [s for s in self._segments if s[0] != number]

    def prepare_ahead(self) -> bool:
        """Prepare the next segment if it will be wanted soon (see the module docstring);
        called off the puts' path (the flusher thread), any lock but the log's own not held.
        Returns whether it prepared one; a failure (a full disk) is logged, and the segment is
        then prepared when it is wanted, where the error reaches the put that wants it."""
        if not self.fsyncs or self._ahead is not None or self._file is None:
            return False
        appended = self._appended
        idle, self._ahead_seen = appended == self._ahead_seen, appended
        used = self._size / self.segment_bytes
        if used < AHEAD_ALWAYS and not (idle and used >= AHEAD_IDLE):
            return False
        with self._ahead_lock:
            if self._ahead is not None:
                return False
            path = self._ahead_path()
            try:
                logfile.prepare(path, self.segment_bytes)
            except OSError as exc:
                _remove(path)
                log.warning("%r: could not prepare the next segment: %s", self, exc)
                return False
            self._ahead = path
        return True

    def _ahead_path(self) -> str:
        return f"{self.root}/next-segment.prep"

    def _install(self, path: str) -> None:
        """Make ``path`` a prepared segment: the one prepared ahead (waiting for it if it is
        being prepared), else one prepared now."""
        with self._ahead_lock:
            ahead, self._ahead = self._ahead, None
            with emrfs.storage_errors(self.url):
                if ahead is None:
                    ahead = self._ahead_path()
                    try:
                        logfile.prepare(ahead, self.segment_bytes)
                    except BaseException:
                        _remove(ahead)
                        raise
                logfile.install(ahead, path)

    def _drop_ahead(self) -> None:
        with self._ahead_lock:
            if self._ahead is not None:
                _remove(self._ahead)
                self._ahead = None

    def _swap(self, new: logfile.LogFile | None) -> None:
        """Replace (and close) the open segment; ``durable`` never sees a closed one (a
        segment is swapped out only while no sync runs)."""
        with self._cond:
            while self._syncing:
                self._cond.wait()
            old, self._file = self._file, new
        if old is not None:
            old.close()

    # -- reading -------------------------------------------------------------------------------
    def replay(self) -> Replay:
        """Read every segment (in order); remembers them for later truncation."""
        out = Replay()
        self._segments = []
        with emrfs.storage_errors(self.url):
            self._empty = []
            for number in self._list():
                high, frames = -1, 0
                for kind, payload in self._frames(self.fs.cat_file(self._name(number)), out):
                    high = max(high, _apply(kind, payload, out))
                    frames += 1
                self._segments.append((number, high))
                if not frames:
                    self._empty.append(number)
        out.next_seq = max(out.records, default=-1) + 1
        for number, high in self._segments:
            out.next_seq = max(out.next_seq, high + 1)
        return out  # the next local append opens a new segment: old ones are never appended to

    @staticmethod
    def _frames(data: bytes, out: Replay) -> Iterator[tuple[int, bytes]]:
        pos = 0
        while pos + _FRAME.size <= len(data):
            length, crc, kind = _FRAME.unpack_from(data, pos)
            if logfile.is_padding(length, crc, kind):  # zeros grown ahead: nothing after
                if data.count(0, pos) != len(data) - pos:
                    out.torn += 1
                return
            payload = data[pos + _FRAME.size:pos + _FRAME.size + length]
            if len(payload) < length or zlib.crc32(payload) != crc:
                out.torn += 1
                return
            yield kind, payload
            pos += _FRAME.size + length
        if pos < len(data):
            out.torn += 1

    # -- truncation ----------------------------------------------------------------------------
    def truncate(self, lowest_undone: int | None, keep_newest: bool = False) -> int:
        """Delete the oldest segments whose records are all done (never the newest with
        ``keep_newest``; on a local disk never the one being appended to); returns how many."""
        removed = 0
        keep = 1 if keep_newest or self.local else 0
        with emrfs.storage_errors(self.url):
            while len(self._segments) > keep:
                number, high = self._segments[0]
                if lowest_undone is not None and high >= lowest_undone:
                    break
                if self.local and self._file is not None and number == self._segments[-1][0]:
                    break
                try:
                    self.fs.rm(self._name(number))
                except FileNotFoundError:
                    pass
                self._segments.pop(0)
                removed += 1
        return removed

    def close(self) -> None:
        if self._file is not None:
            self.sync()
            self._swap(None)
        if self.local:
            self._drop_ahead()

    def destroy(self) -> None:
        """Delete the whole log (the stream was deleted)."""
        self.close()
        with emrfs.storage_errors(self.url):
            if self.fs.exists(self.root):
                self.fs.rm(self.root, recursive=True)
        self._segments = []


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _apply(kind: int, payload: bytes, out: Replay) -> int:
    if kind in (SOURCED, POSITIONS):
        size = struct.unpack_from("<I", payload)[0] if kind == SOURCED else len(payload)
        doc = payload[4:4 + size] if kind == SOURCED else payload
        for shard, seq in json.loads(doc).items():
            out.positions[shard] = max(int(seq), out.positions.get(shard, -1))
        if kind == POSITIONS:
            return -1
        kind, payload = RECORDS, payload[4 + size:]
    if kind == RECORDS:
        first, arrival, n, token = _REC_HEAD.unpack_from(payload)
        if token.strip(b"\0"):
            out.batches[token] = (first, arrival, n)
        lengths = struct.unpack_from(f"<{n}I", payload, _REC_HEAD.size)
        pos = _REC_HEAD.size + 4 * n
        for i, size in enumerate(lengths):
            out.records[first + i] = (arrival, payload[pos:pos + size])
            pos += size
        return first + n - 1
    if kind in (INTENT, DONE):
        doc, seqs = _read_seq_entry(payload)
    else:
        doc = json.loads(payload)
        seqs = list(from_ranges(doc["seqs"]))
    if kind in (INTENT, _JSON_INTENT):
        out.intents[doc["url"]] = (doc["kind"], tuple(seqs))
    elif kind in (DONE, _JSON_DONE):
        if doc["url"]:
            out.done_urls.add(doc["url"])
        out.done.setdefault(doc["kind"], set()).update(seqs)
    return -1


def _positions_doc(positions: Mapping[str, int]) -> bytes:
    return json.dumps({k: str(v) for k, v in positions.items()}, sort_keys=True).encode()


def _seq_entry(url: str, kind: str, seqs: Sequence[int] | np.ndarray) -> bytes:
    head = json.dumps({"url": url, "kind": kind}).encode()
    a = (seqs.astype(np.int64, copy=False) if isinstance(seqs, np.ndarray)
         else np.fromiter(seqs, dtype=np.int64))
    if not len(a):
        return _SEQ_HEAD.pack(len(head), 0, 0) + head
    low = int(a.min())
    bits = np.zeros(int(a.max()) - low + 1, dtype=np.uint8)
    bits[a - low] = 1
    return (_SEQ_HEAD.pack(len(head), low, len(bits)) + head
            + np.packbits(bits, bitorder="little").tobytes())


def _read_seq_entry(payload: bytes) -> tuple[dict, list[int]]:
    size, low, n = _SEQ_HEAD.unpack_from(payload)
    start = _SEQ_HEAD.size
    doc = json.loads(payload[start:start + size])
    packed = np.frombuffer(payload, dtype=np.uint8, offset=start + size)
    bits = np.unpackbits(packed, count=n, bitorder="little")
    return doc, (np.flatnonzero(bits) + low).tolist()


def to_ranges(seqs: Iterable[int]) -> list[list[int]]:
    """Sequence numbers as inclusive ``[first, last]`` runs (buffers hold long runs)."""
    a = np.unique(np.fromiter(seqs, dtype=np.int64))
    if not len(a):
        return []
    breaks = np.flatnonzero(np.diff(a) != 1)
    starts = np.concatenate((a[:1], a[breaks + 1])).tolist()
    ends = np.concatenate((a[breaks], a[-1:])).tolist()
    return [[s, e] for s, e in zip(starts, ends)]


def from_ranges(ranges: Sequence[Sequence[int]]) -> Iterator[int]:
    for first, last in ranges:
        yield from range(first, last + 1)
