"""``rayemr hiveserver2`` as an operator runs it, attacked by a pyhive client.

The server is its own process, started by the CLI with AWS credentials in its environment
(as on a host with exported keys), stages on Ray, ``--allow-path`` for one folder and two
operator commands for TRANSFORM. A pyhive client sends every attack of this suite (file and
table functions, names that are paths, commands, settings and substitutions that would show
secrets, a script written into the warehouse, a sample of the generated corpus), asks the
metadata calls, then sends garbage. Afterwards every channel a credential could leave
through is searched for the canaries: rows, error messages, operation logs, metadata
answers, the server's own output, the command line of every process the test started while
the attacks ran, every file under the server's folders and the Ray logs written meanwhile.
The Ray workers' own secret (the test session's ``AWS_SECRET_ACCESS_KEY``, which every
worker has in its environment) is a canary too.
"""
from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyhive import hive
from TCLIService import ttypes

from rayemr.core.waiting import wait_for
from rayemr.runtime import _descendants
from tests.security.conftest import _attempt, fill_paths, write_canary_files
from tests.security.test_commands import COMMANDS
from tests.security.test_corpus import ATTACKS, corpus
from tests.security.test_file_functions import READS
from tests.security.test_identifiers import ESCAPES
from tests.security.test_secrets import ENVIRONMENT_READS, SETTING_READS
from tests.security.test_soak import _garbage, _threads, check_flat, soak_sessions

FILE_CANARY = "served-file-canary-3b8e41"
KEY_ID_CANARY = "AKIASERVEDCANARY7Q2Z"
ENV_CANARY = "served-env-canary-9d04c7"


def _canaries() -> tuple[bytes, ...]:
    worker_secret = os.environ["AWS_SECRET_ACCESS_KEY"]  # every Ray worker's environment
    return tuple(c.encode() for c in (FILE_CANARY, KEY_ID_CANARY, ENV_CANARY, worker_secret))


def _found(data: bytes | str) -> list[str]:
    raw = data.encode(errors="replace") if isinstance(data, str) else data
    return [c.decode() for c in _canaries() if c in raw]


class ArgvWatch(threading.Thread):
    """Reads the command line of every process this test started (the servers, Ray's
    processes, steps, TRANSFORM commands), over and over; keeps those holding a canary."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(name="argv-watch", daemon=True)
        self.interval = interval
        self.halt = threading.Event()
        self.scans = 0
        self.pids: set[int] = set()
        self.commands: set[bytes] = set()
        self.hits: list[tuple[int, bytes]] = []

    def run(self) -> None:
        canaries = _canaries()
        while not self.halt.is_set():
            for pid in [os.getpid(), *_descendants(os.getpid())]:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        argv = f.read()
                except OSError:
                    continue
                if argv:  # (a zombie has none)
                    self.pids.add(pid)
                    self.commands.add(argv)
                if any(c in argv for c in canaries):
                    self.hits.append((pid, argv))
            self.scans += 1
            self.halt.wait(self.interval)

    def stop(self) -> None:
        self.halt.set()
        self.join(10)


@dataclass
class Served:
    root: Path
    logs: Path
    proc: subprocess.Popen
    port: int
    watch: ArgvWatch
    started: float
    #: everything the server sent back: rows, errors, operation logs, metadata answers
    seen: list[str] = field(default_factory=list)
    refused: int = 0

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    def connect(self) -> hive.Connection:
        return hive.connect("127.0.0.1", port=self.port)

    def fill(self, sql: str) -> str:
        return (fill_paths(sql, self.outside).replace("{data}", str(self.root / "data"))
                .replace("{root}", str(self.root)).replace("{{", "{").replace("}}", "}"))

    def run(self, cur, sql: str) -> str:
        """Send one statement; keep (and return) all the client got: rows or error, logs."""
        outcome = _attempt(cur, self.fill(sql))
        self.refused += outcome.refused
        out = outcome.text()
        try:
            out += "\n".join(cur.fetch_logs())
        except Exception as exc:  # noqa: BLE001 -- no operation left to ask: say so
            out += f"(no logs: {type(exc).__name__})"
        self.seen.append(out)
        return out

    def stop(self) -> int:
        return stop_cli_server(self.proc)


def _snapshot(root: Path) -> list[tuple[str, int, float]]:
    out = []
    for base, dirs, files in os.walk(root / "outside"):
        for name in dirs + files:
            st = os.lstat(os.path.join(base, name))
            out.append((os.path.relpath(os.path.join(base, name), root), st.st_size,
                        st.st_mtime))
    return sorted(out + [(n, 0, 0.0) for n in os.listdir(root) if n.startswith("pwned")])


def start_cli_server(root: Path, logs: Path, env: dict[str, str],
                     *flags: str) -> tuple[subprocess.Popen, int]:
    """``rayemr hiveserver2`` on a free port, stages on Ray, over ``root``'s metastore and
    warehouse; its output goes to ``logs``. Returns the process and its port."""
    with open(logs / "stdout", "w") as out, open(logs / "stderr", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rayemr.cli", "hiveserver2", "--port", "0",
             "--runner", "ray", "--metastore", str(root / "metastore.db"),
             "--warehouse", str(root / "warehouse"), *flags],
            stdout=out, stderr=err, env=env, cwd=str(root))

    def listening() -> int | None:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", (logs / "stdout").read_text())
        assert proc.poll() is None, (logs / "stderr").read_text()[-3000:]
        return int(m.group(1)) if m else None

    try:
        return proc, wait_for(listening, 180, what="rayemr hiveserver2 to listen")
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise


def stop_cli_server(proc: subprocess.Popen) -> int:
    """Ctrl-C, as an operator stops it; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import rayemr

    info = rayemr.init(num_cpus=2, object_store_memory=512 * 1024**2)
    root = tmp_path_factory.mktemp("served")
    logs = tmp_path_factory.mktemp("served-logs")
    for name in ("warehouse", "data", "outside"):
        (root / name).mkdir()
    write_canary_files(root / "outside", FILE_CANARY)
    (root / "outside" / "victim").mkdir()
    (root / "outside" / "victim" / "keep.txt").write_text("keep\n")
    (root / "data" / "link").symlink_to(root / "outside")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID_CANARY,
           "AWS_SECRET_ACCESS_KEY": ENV_CANARY, "RAY_ADDRESS": info.address}
    watch = ArgvWatch()
    watch.start()
    started = time.time()
    proc, port = start_cli_server(root, logs, env, "--allow-path", str(root / "data"),
                                  "--transform-command", "cat", "--transform-command", "env")
    served = Served(root, logs, proc, port, watch, started)
    yield served
    served.stop()
    watch.stop()


def test_attacks_from_a_pyhive_client_get_nothing(served):
    """Every attack of the suite, by a real client, against the real server process."""
    with served.connect() as conn:
        cur = conn.cursor()
        for sql in ("CREATE TABLE t (a string)", "INSERT OVERWRITE TABLE t SELECT 'x'",
                    "CREATE TABLE p (a string) PARTITIONED BY (k string)"):
            cur.execute(sql)
        before = _snapshot(served.root)
        statements = [*READS, *ESCAPES, *COMMANDS, *ATTACKS, *SETTING_READS,
                      *ENVIRONMENT_READS]
        for sql in statements:
            served.run(cur, sql)
        for sets, sql in corpus(200, seed=4242)[len(ATTACKS):]:  # disguised ones only
            for s in sets:
                served.run(cur, s)
            served.run(cur, sql)
        # the operator's commands run, with a clean environment
        assert "x" in served.run(cur, "SELECT TRANSFORM(a) USING 'cat' AS (b) FROM t")
        env_rows = served.run(cur, "SELECT TRANSFORM(a) USING 'env' AS (b) FROM t")
        assert "PATH=" in env_rows, env_rows
        # a script written into the warehouse is never a command
        cur.execute("CREATE TABLE pwn (line string)")
        cur.execute(f"INSERT OVERWRITE TABLE pwn SELECT \"import pathlib; "
                    f"pathlib.Path('{served.root}/pwned').touch()\"")
        scripts = [os.path.join(d, f) for d, _, fs in os.walk(served.root / "warehouse" / "pwn")
                   for f in fs]
        assert scripts
        for using in (f"python3 {scripts[0]}", f"sh {scripts[0]}", scripts[0]):
            served.run(cur, f"SELECT TRANSFORM(line) USING '{using}' FROM pwn")
        _metadata(conn, served)
        assert _snapshot(served.root) == before
        assert (served.outside / "victim" / "keep.txt").read_text() == "keep\n"
        cur.execute("SELECT a FROM t")
        assert cur.fetchall() == [("x",)], "the attacks changed the client's own table"
    leaks = [(s[:300], _found(s)) for s in served.seen if _found(s)]
    assert not leaks, leaks
    assert len(served.seen) >= len(statements) + 150 and served.refused > len(statements)
    # garbage, then a real login still works and the server is still the same process
    rng = random.Random(7)
    for data in _garbage(rng, 200):
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
    with served.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchall() == [(1,)]
    assert served.proc.poll() is None, "the server died"


def _metadata(conn: hive.Connection, served: Served) -> None:
    """Hive's metadata calls, every pattern '%': their answers go to ``served.seen``."""
    client, session = conn._client, conn._sessionHandle
    calls = [
        client.GetSchemas(ttypes.TGetSchemasReq(sessionHandle=session, schemaName="%")),
        client.GetTables(ttypes.TGetTablesReq(sessionHandle=session, schemaName="%",
                                              tableName="%")),
        client.GetColumns(ttypes.TGetColumnsReq(sessionHandle=session, schemaName="%",
                                                tableName="%", columnName="%")),
        client.GetFunctions(ttypes.TGetFunctionsReq(sessionHandle=session,
                                                    functionName="%")),
    ]
    for info_type in (ttypes.TGetInfoType.CLI_SERVER_NAME, ttypes.TGetInfoType.CLI_DBMS_NAME,
                      ttypes.TGetInfoType.CLI_DBMS_VER):
        served.seen.append(repr(client.GetInfo(ttypes.TGetInfoReq(
            sessionHandle=session, infoType=info_type))))
    for resp in calls:
        assert resp.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS, resp.status
        fetched = client.FetchResults(ttypes.TFetchResultsReq(
            operationHandle=resp.operationHandle,
            orientation=ttypes.TFetchOrientation.FETCH_NEXT, maxRows=100_000))
        served.seen.append(repr(resp) + repr(fetched))
    assert any("'t'" in s or "b't'" in s for s in served.seen[-4:]), "GetTables saw no t"


def test_no_canary_in_output_argv_files_or_ray_logs(served):
    """Runs after the attacks: stops the server, then searches everything it left."""
    assert served.seen, "run with the attack test first (it fills what the server sent)"
    code = served.stop()
    served.watch.stop()
    assert code == 0, (served.logs / "stderr").read_text()[-3000:]
    assert served.watch.scans >= 10 and served.proc.pid in served.watch.pids
    assert not served.watch.hits, served.watch.hits
    out = (served.logs / "stdout").read_text() + (served.logs / "stderr").read_text()
    assert "listening on" in out and not _found(out), _found(out)
    for base, _, files in os.walk(served.root):
        for name in files:
            path = Path(base, name)
            if path.parent == served.outside and path.name.startswith("secret."):
                continue
            if path.is_symlink():
                continue
            assert not _found(path.read_bytes()), (path, _found(path.read_bytes()))
    logs = _ray_logs(served.started)
    assert logs, "no Ray log was written while the server ran"
    for path in logs:
        assert not _found(path.read_bytes()), (path, _found(path.read_bytes()))


def _ray_logs(since: float) -> list[Path]:
    import ray

    session_dir = Path(ray._private.worker._global_node.get_session_dir_path())
    return [p for p in (session_dir / "logs").rglob("*")
            if p.is_file() and p.stat().st_mtime >= since]


# -- the same server under load -----------------------------------------------------------

def _server_sockets(port: int) -> int:
    """Connections the server at ``port`` still holds (established or closed by the
    client but not yet by the server), from /proc/net/tcp."""
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in ("01", "08"):
                held += 1
    return held


def _table_session(port: int, n: int) -> None:
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT count(*), max(a), {n} FROM soak_t")
        assert cur.fetchall() == [(3, "c", n)]


@pytest.fixture
def cli_server(tmp_path):
    import rayemr

    info = rayemr.init(num_cpus=2, object_store_memory=512 * 1024**2)
    (tmp_path / "root").mkdir()
    proc, port = start_cli_server(tmp_path / "root", tmp_path,
                                  {**os.environ, "RAY_ADDRESS": info.address})
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE soak_t (a string)")
        cur.execute("INSERT OVERWRITE TABLE soak_t SELECT * FROM (SELECT 'a' UNION ALL "
                    "SELECT 'b' UNION ALL SELECT 'c') x")
    yield proc, port
    assert stop_cli_server(proc) == 0, (tmp_path / "stderr").read_text()[-3000:]


def _cli_soak(cli_server, count: int) -> dict[str, float]:
    proc, port = cli_server

    def quiet() -> None:
        wait_for(lambda: _server_sockets(port) == 0, 60,
                 what="the server to close the ended connections")

    figures = soak_sessions(port, count, quiet, pid=proc.pid, session=_table_session)
    assert proc.poll() is None, "the server died"
    return figures


def test_cli_server_sessions_keep_threads_and_memory_flat(cli_server):
    check_flat(_cli_soak(cli_server, 100), rss_slack=48)


@pytest.mark.slow
def test_cli_server_soak_2000_sessions(cli_server):
    check_flat(_cli_soak(cli_server, 2000), rss_slack=64)


@pytest.mark.slow
def test_cli_server_1000_garbage_payloads_and_600_idle_sockets(cli_server):
    proc, port = cli_server
    for data in _garbage(random.Random(13), 1000):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(600)]
    try:
        _table_session(port, 41)  # a real login gets through all of that
        held = _server_sockets(port)
    finally:
        for s in idle:
            s.close()
    wait_for(lambda: _server_sockets(port) == 0, 60, what="the server to close them all")
    print(f"\nflood (cli server): garbage 1000, idle 600, server sockets held during {held}, "
          f"threads {_threads(proc.pid)}")
    assert held <= 64 + 2 and proc.poll() is None
