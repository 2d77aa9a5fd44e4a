"""Flushed buffers into objects, a batch at a time: bodies encoded on threads, then published
together.

Parquet, ORC and compression run in C without the GIL, and publishing an object is I/O (a PUT,
or a file written, synced and renamed), so a batch of buffers is worked on at once: every
body is encoded on the pool's threads (and the calling one), then -- in ``DeliveryStream``
-- every object's intent is logged and synced once, the objects are published on the threads
(each one whole or absent, through EMRFS), the new Hive partitions are registered in one
metastore call and each object's DONE is logged. A batch is published only once all its
bodies are encoded, so a failed encoding publishes nothing of it.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, TypeVar

import pyarrow as pa

from rayemr.firehose.buffers import Buffer
from rayemr.firehose.chunks import Chunk

#: Threads encoding and publishing a batch (besides the calling one).
FLUSH_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Buffers encoded, then published, together.
BATCH_BUFFERS = 8
T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass
class Outgoing:
    """An object about to be published: where, its body, the records it holds and which of
    their obligations it meets (``kind``); ``delivered``: data delivered (not errors or
    backup)."""

    url: str
    body: bytes
    chunk: Chunk
    kind: str
    delivered: bool


def run_all(jobs: list[Callable[[], T]], threads: int | None = None
            ) -> list[tuple[T | None, BaseException | None]]:
    """Each job's result or error, the first job on the calling thread and the rest on the
    pool; returns once every job has ended (none runs on after a failure)."""
    if not jobs:
        return []
    if len(jobs) == 1:
        return [_outcome(jobs[0])]
    futures = [_executor(threads).submit(_outcome, job) for job in jobs[1:]]
    try:
        first = _outcome(jobs[0])
    finally:
        wait(futures)
    return [first] + [f.result() for f in futures]


def results(outcomes: list[tuple[T | None, BaseException | None]]) -> list[T]:
    """The results of ``run_all``, or its first error raised."""
    for _, exc in outcomes:
        if exc is not None:
            raise exc
    return [r for r, _ in outcomes]  # type: ignore[misc]


def _outcome(job: Callable[[], T]) -> tuple[T | None, BaseException | None]:
    try:
        return job(), None
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, raised there
        return None, exc


def _executor(threads: int | None) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(threads or FLUSH_THREADS,
                                       thread_name_prefix="firehose-encode")
        return _pool


def encode_rows(buf: Buffer, write: Callable[[pa.Table], bytes]) -> bytes:
    """A converted buffer's object: the rest of its rows after those written ahead, or all of
    them if none were (or writing ahead gave up)."""
    ahead = buf.ahead
    if ahead is None or ahead.failed or ahead.chunks > len(buf.chunks):
        return write(buf.chunk.rows)
    rest = buf.chunks[ahead.chunks:]
    if rest and not ahead.write(pa.concat_tables([c.rows for c in rest]), len(buf.chunks)):
        return write(buf.chunk.rows)
    return ahead.finish()
