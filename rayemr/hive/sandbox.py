"""DuckDB connections that cannot reach the filesystem on their own (part of the executor).

Every connection the executor uses is made here and is confined before any SQL runs:

* external access is off (``enable_external_access=false``; DuckDB refuses to turn it back
  on while the database runs): no file, URL, ``COPY``, ``ATTACH``, replacement scan of a
  path, extension install or load;
* extensions are never auto-installed or auto-loaded;
* the one readable place is ``rayemrsplit://``, a filesystem (:class:`SplitFiles`) that
  serves exactly the files granted to the task running on the connection and nothing else
  (no listing, no globbing, no writing). A task grants its split files, runs, and the grants
  are dropped when the connection is handed back;
* DuckDB's temporary (spill) folder is private to this process;
* the macros of :mod:`rayemr.hive.macros` (Hive semantics the compiler's rewrites call) and
  ``hive_sleep`` (``reflect('java.lang.Thread', 'sleep', ms)``) are defined.

Connections are pooled (opening one costs tens of milliseconds, more than most small
fragments take). The pool is bounded: at most :data:`MAX_IDLE` idle connections stay open,
whatever the number of threads, sessions or client connections that used them; the rest are
closed when handed back, so a server that runs many sessions keeps a flat thread count.
"""
from __future__ import annotations

import atexit
import io
import os
import posixpath
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import duckdb
from fsspec import AbstractFileSystem

from rayemr.core.errors import AccessDeniedError
from rayemr.hive import macros

#: Protocol of the per-connection gate; the only directory DuckDB may read.
SPLIT_PROTOCOL = "rayemrsplit"
_PREFIX = SPLIT_PROTOCOL + "://"
#: Idle connections kept open for reuse (each DuckDB database holds a few native threads).
MAX_IDLE = max(2, min(8, os.cpu_count() or 2))

_SETTINGS_BEFORE_START = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}


class SplitFiles(AbstractFileSystem):
    """Read-only access to the files granted to one task, under opaque names.

    ``grant(fs, path)`` returns the name DuckDB reads (``rayemrsplit:///3/part-0.parquet``);
    any other name -- a sibling, a parent, ``..``, a pattern -- does not exist here.
    """

    protocol = SPLIT_PROTOCOL
    cachable = False  # one gate per connection; fsspec must not share instances
    root_marker = "/"

    def __init__(self) -> None:
        super().__init__()
        self._files: dict[str, tuple[Any, str]] = {}
        self._lock = threading.Lock()
        self._n = 0

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        if text.startswith(_PREFIX):
            text = text[len(_PREFIX):]
        return "/" + text.lstrip("/")

    def grant(self, fs: Any, path: str) -> str:
        with self._lock:
            self._n += 1
            key = f"/{self._n}/{posixpath.basename(path.rstrip('/')) or 'file'}"
            self._files[key] = (fs, path)
        return _PREFIX + key

    def revoke_all(self) -> None:
        with self._lock:
            self._files.clear()

    @property
    def granted(self) -> int:
        return len(self._files)

    def _real(self, path: Any) -> tuple[Any, str]:
        key = self._strip_protocol(path)
        with self._lock:
            found = self._files.get(key)
        if found is None:
            raise FileNotFoundError(f"{path}: not a file of this task")
        return found

    def _open(self, path, mode="rb", **kwargs):  # noqa: ANN001 - fsspec's signature
        if mode not in ("rb", "r"):
            raise PermissionError(f"{path}: the executor only reads its split files")
        fs, real = self._real(path)
        return _SharedReader(fs, real, int(fs.info(real).get("size") or 0))

    def info(self, path, **kwargs) -> dict:  # noqa: ANN001
        fs, real = self._real(path)
        out = dict(fs.info(real))
        out["name"] = self._strip_protocol(path)
        if out.get("type") != "file":
            raise FileNotFoundError(f"{path}: not a file")
        return out

    def modified(self, path):  # noqa: ANN001, ANN201
        fs, real = self._real(path)
        return fs.modified(real)

    def ls(self, path, detail=True, **kwargs):  # noqa: ANN001, ANN201
        entry = self.info(path)
        return [entry] if detail else [entry["name"]]

    def glob(self, path, **kwargs):  # noqa: ANN001, ANN201
        key = self._strip_protocol(path)
        with self._lock:
            return [key] if key in self._files else []

    def find(self, path, *args, **kwargs):  # noqa: ANN001, ANN201
        return self.glob(path)

    def exists(self, path, **kwargs) -> bool:  # noqa: ANN001
        return bool(self.glob(path))

    def isdir(self, path) -> bool:  # noqa: ANN001
        return False

    def _refuse(self, *args, **kwargs):  # noqa: ANN002, ANN003
        raise PermissionError("the executor only reads its split files")

    mkdir = makedirs = rm = rm_file = _rm = mv = cp_file = put_file = touch = _refuse


class _SharedReader(io.RawIOBase):
    """A read-only file DuckDB's threads may share: each thread has its own position and
    its own underlying handle (DuckDB seeks and reads a shared handle from several threads,
    which a plain Python file object does not survive)."""

    def __init__(self, fs: Any, path: str, size: int) -> None:
        super().__init__()
        self._fs, self._path, self.size = fs, path, size
        self._local = threading.local()
        self._handles: list[Any] = []
        self._lock = threading.Lock()

    def _handle(self) -> Any:
        h = getattr(self._local, "handle", None)
        if h is None:
            h = self._fs.open(self._path, "rb")
            self._local.handle = h
            with self._lock:
                self._handles.append(h)
        return h

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return getattr(self._local, "pos", 0)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self.size}[whence]
        self._local.pos = max(0, base + int(offset))
        return self._local.pos

    def read(self, size: int = -1) -> bytes:
        pos = self.tell()
        h = self._handle()
        h.seek(pos)
        data = h.read() if size is None or size < 0 else h.read(size)
        self._local.pos = pos + len(data)
        return data

    def readinto(self, buffer) -> int:  # noqa: ANN001
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        with self._lock:
            handles, self._handles = self._handles, []
        for h in handles:
            try:
                h.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        super().close()


@dataclass(eq=False)
class Connection:
    """A pooled DuckDB connection and its gate."""

    con: duckdb.DuckDBPyConnection
    gate: SplitFiles
    threads: int
    views: set[str] = field(default_factory=set)
    #: the memory_limit set on it (None: DuckDB's default, 80% of the machine's memory)
    memory: Optional[int] = None


#: The memory a task's DuckDB work may hold (bytes), set for the task's duration by
#: :func:`task_memory`; beyond it DuckDB's joins, aggregates and sorts spill to the
#: connection's temp_directory instead of growing.
_TASK_MEMORY: ContextVar[Optional[int]] = ContextVar("rayemr_task_memory", default=None)


@contextmanager
def task_memory(limit: Optional[int]) -> Iterator[None]:
    """Connections acquired in the block get ``memory_limit`` = ``limit`` bytes (None or 0:
    DuckDB's default)."""
    token = _TASK_MEMORY.set(limit or None)
    try:
        yield
    finally:
        _TASK_MEMORY.reset(token)


_private_tmp: str | None = None
_tmp_lock = threading.Lock()


def _temp_directory() -> str:
    """A 0700 folder of this process for DuckDB's spill files, removed at exit."""
    global _private_tmp
    with _tmp_lock:
        if _private_tmp is None or not os.path.isdir(_private_tmp):
            _private_tmp = tempfile.mkdtemp(prefix="rayemr-duckdb-")
            atexit.register(shutil.rmtree, _private_tmp, True)
        return _private_tmp


def open_connection(threads: int = 1) -> Connection:
    """A new confined connection (not pooled; :func:`acquire` is what tasks use)."""
    n = max(1, int(threads))
    con = duckdb.connect(config={"threads": n, **_SETTINGS_BEFORE_START})
    try:
        gate = SplitFiles()
        con.register_filesystem(gate)
        con.execute(f"SET temp_directory = '{_temp_directory()}'")
        con.execute(f"SET allowed_directories = ['{_PREFIX}']")
        con.execute("SET enable_external_access = false")
        for statement in macros.statements():
            con.execute(statement)
        con.create_function("hive_sleep", _sleep, ["BIGINT"], "VARCHAR", side_effects=True,
                            null_handling="special")
    except BaseException:
        con.close()
        raise
    return Connection(con, gate, n)


def _sleep(millis: int | None) -> None:
    """``reflect('java.lang.Thread', 'sleep', ms)``: sleep, in short slices so that killing
    the task's worker (a cancelled query) is not held up; returns NULL (void)."""
    if millis is None:
        return None
    if millis < 0:
        raise ValueError(f"Thread.sleep: timeout value is negative: {millis}")
    end = time.monotonic() + millis / 1000
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))


class Pool:
    """Confined connections for reuse; at most ``max_idle`` stay open between uses."""

    def __init__(self, max_idle: int = MAX_IDLE) -> None:
        self.max_idle = max_idle
        self._idle: list[Connection] = []
        self._busy: dict[int, Connection] = {}
        self._lock = threading.Lock()
        self.opened = 0

    def acquire(self, threads: int = 1) -> duckdb.DuckDBPyConnection:
        n = max(1, int(threads))
        with self._lock:
            entry = next((c for c in reversed(self._idle) if c.threads == n), None)
            if entry is None and self._idle:
                entry = self._idle[-1]
            if entry is not None:
                self._idle.remove(entry)
        if entry is None:
            entry = open_connection(n)
            with self._lock:
                self.opened += 1
        elif entry.threads != n:
            entry.con.execute(f"SET threads = {n}")
            entry.threads = n
        memory = _TASK_MEMORY.get()
        if entry.memory != memory:
            entry.con.execute(f"SET memory_limit = '{int(memory)}B'" if memory
                              else "RESET memory_limit")
            entry.memory = memory
        with self._lock:
            self._busy[id(entry.con)] = entry
        return entry.con

    def entry(self, con: duckdb.DuckDBPyConnection) -> Connection:
        with self._lock:
            found = self._busy.get(id(con))
        if found is None:
            raise AccessDeniedError("this DuckDB connection was not handed out by the executor")
        return found

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        """Hand back: grants dropped, registered data and temporary objects removed; the
        connection is kept for reuse if the pool has room, else closed."""
        with self._lock:
            entry = self._busy.pop(id(con), None)
        if entry is None:
            return
        entry.gate.revoke_all()
        keep = _reset(entry)
        with self._lock:
            if keep and len(self._idle) < self.max_idle:
                self._idle.append(entry)
                return
        _close(entry)

    def close_idle(self) -> int:
        with self._lock:
            idle, self._idle = self._idle, []
        for entry in idle:
            _close(entry)
        return len(idle)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"idle": len(self._idle), "busy": len(self._busy), "opened": self.opened}


def _reset(entry: Connection) -> bool:
    con = entry.con
    try:
        for (name,) in con.sql("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT "
                               "internal").fetchall():
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
            con.execute(f"DROP VIEW IF EXISTS {_ident(name)}")
        for (name,) in con.sql("SELECT table_name FROM duckdb_tables() WHERE "
                               "temporary").fetchall():
            con.execute(f"DROP TABLE IF EXISTS {_ident(name)}")
        return True
    except Exception:  # noqa: BLE001 - a connection that cannot be reset is not reused
        return False


def _close(entry: Connection) -> None:
    try:
        entry.con.close()
    except Exception:  # noqa: BLE001 - closing anyway
        pass


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


POOL = Pool()


@atexit.register
def _close_pool() -> None:
    # a connection still open when a daemon thread is torn down at exit aborts the process
    POOL.close_idle()
    with POOL._lock:
        busy = list(POOL._busy.values())
        POOL._busy.clear()
    for entry in busy:
        _close(entry)


def grant(con: duckdb.DuckDBPyConnection, fs: Any, path: str) -> str:
    """Let the task on ``con`` read the file ``path`` of ``fs``; returns the name to read."""
    return POOL.entry(con).gate.grant(fs, path)
