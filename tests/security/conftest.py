"""A real HiveServer2 on a free loopback port, attacked the way a remote client would.

Each server gets its own folder: ``warehouse/`` (managed tables), ``data/`` (the one
``--allow-path``), and ``outside/``, a sibling holding a canary file no client may read,
write, list or delete. Sessions run stages inline, in the server's process, so whatever a
statement could reach, the server could.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyhive import exc as pyhive_exc
from pyhive import hive

from rayemr.hive.server import HiveServer2, default_session_factory

CANARY = "canary-7f3a9c-do-not-leak"


@dataclass
class Target:
    server: HiveServer2
    port: int
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    def connect(self, **kwargs) -> hive.Connection:
        return hive.connect("127.0.0.1", port=self.port, **kwargs)

    def outside_state(self) -> list[tuple[str, int]]:
        """Every path under ``outside/`` and the root folder's entries, with sizes."""
        out = []
        for base, dirs, files in os.walk(self.root):
            rel = os.path.relpath(base, self.root)
            if rel.split(os.sep)[0] in ("warehouse", "data") and rel != ".":
                continue
            for name in dirs + files:
                p = os.path.join(base, name)
                if rel == "." and name in ("warehouse", "data", "metastore.db"):
                    continue
                out.append((os.path.relpath(p, self.root),
                            os.path.getsize(p) if os.path.isfile(p) else -1))
        return sorted(out)


def write_canary_files(folder: Path, canary: str) -> None:
    """``secret.txt``, ``secret.json`` and ``secret.parquet`` in ``folder``, each holding
    ``canary`` in a form its reader would return."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "secret.txt").write_text(canary + "\n")
    (folder / "secret.json").write_text('{"secret": "%s"}\n' % canary)
    pq.write_table(pa.table({"secret": [canary]}), folder / "secret.parquet")


def fill_paths(sql: str, outside: Path) -> str:
    """An attack's ``{secret}``, ``{secret_json}``, ``{secret_parquet}`` and ``{outside}``."""
    return (sql.replace("{secret_json}", str(outside / "secret.json"))
            .replace("{secret_parquet}", str(outside / "secret.parquet"))
            .replace("{secret}", str(outside / "secret.txt"))
            .replace("{outside}", str(outside)))


def start_target(root: Path, **settings) -> Target:
    for name in ("warehouse", "data", "outside"):
        (root / name).mkdir(parents=True, exist_ok=True)
    write_canary_files(root / "outside", CANARY)
    (root / "outside" / "victim").mkdir(exist_ok=True)
    (root / "outside" / "victim" / "keep.txt").write_text("keep\n")
    options = {"metastore_path": str(root / "metastore.db"),
               "warehouse": str(root / "warehouse"), "runner": "inline"}
    settings.setdefault("allow_paths", (str(root / "data"),))
    factory = settings.pop("session_factory", None) or default_session_factory(options)
    server = HiveServer2(host="127.0.0.1", port=0, session_factory=factory, **settings)
    return Target(server, server.start(), root)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    t = start_target(tmp_path_factory.mktemp("target"))
    with t.connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS t (a string)")
        cur.execute("INSERT OVERWRITE TABLE t SELECT 'x'")
    yield t
    t.server.stop()


@pytest.fixture
def start(tmp_path):
    """``start(**settings)``: another server (own folders), stopped after the test."""
    started: list[Target] = []

    def make(**settings) -> Target:
        t = start_target(tmp_path / f"srv{len(started)}", **settings)
        started.append(t)
        return t

    yield make
    for t in started:
        t.server.stop()


@dataclass
class Outcome:
    """What a statement did: its rows, or the server's error message and SQL state."""

    rows: list | None = None
    error: str | None = None
    state: str | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None

    def text(self) -> str:
        return repr(self.rows) + (self.error or "")


def _attempt(cur, sql: str) -> Outcome:
    try:
        cur.execute(sql)
        return Outcome(rows=cur.fetchall() if cur.description else [])
    except (pyhive_exc.OperationalError, pyhive_exc.ProgrammingError) as exc:
        status = getattr(exc.args[0], "status", None) if exc.args else None
        return Outcome(error=getattr(status, "errorMessage", None) or str(exc),
                       state=getattr(status, "sqlState", None))


@pytest.fixture
def attempt():
    """``attempt(cursor, sql) -> Outcome``: run a statement, never raising for a refusal."""
    return _attempt


@pytest.fixture
def canary():
    return CANARY
