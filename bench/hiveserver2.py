"""HiveServer2 benchmark: statement latency and result fetch rate over pyhive, in one run.

1. Median latency of small statements over pyhive against a ``rayemr hiveserver2``
   subprocess (loopback, SASL PLAIN, auth NONE), next to the same statements run on an
   in-process Hive session: the difference is what the protocol and server add.
2. The rate at which pyhive fetches a 1,000,000-row result (``fetchmany`` pages after the
   statement has run), against the rate at which the same pyhive cursor decodes the very same
   FetchResults replies replayed from memory through its own SASL transport, without any
   server or socket (the client-bound
   limit: pyhive decodes Thrift in pure Python and builds rows one at a time). Target:
   fetching over the server takes at most 1.5x the client-bound time.

Usage: python bench/hiveserver2.py [--rows 1000000] [--repeat 30] [--page 1000,10000]
Prints a Markdown table; ``--write`` puts it under ``## hiveserver2`` in bench/README.md.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import thrift_sasl
from pyhive import hive
from TCLIService import TCLIService, ttypes
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TMessageType
from thrift.transport.TTransport import TMemoryBuffer, TTransportBase

from rayemr.hive.api import Column
from rayemr.hive.server import rowset
from rayemr.hive.server.fastproto import TCompatBinaryProtocol

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["SELECT 1", "SELECT 1 + 2 * 3", "SET mapreduce.job.reduces", "USE default"]


def make_data(folder: Path, rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    table = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "name": pa.array([f"customer-{i % 50_000:05d}" for i in range(rows)]),
        "score": pa.array(np.where(rng.random(rows) < 0.05, np.nan, rng.random(rows) * 100),
                          from_pandas=True),
    })
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet", row_group_size=250_000)
    return table


def start_server(tmp: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayemr.cli", "hiveserver2", "--port", "0", "--runner", "inline",
         "--metastore", str(tmp / "ms.db"), "--warehouse", str(tmp / "wh"),
         "--allow-path", str(tmp / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r":(\d+) ", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, int(m.group(1))


def interleaved_ms(a, b, repeat: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` timed alternately, so background load hits both alike."""
    a(), b()  # warm
    ta, tb = [], []
    for _ in range(repeat):
        for fn, times in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(ta) * 1000, statistics.median(tb) * 1000


def latency(port: int, tmp: Path, repeat: int) -> list[tuple[str, float, float]]:
    from rayemr.hive.metastore import open_metastore
    from rayemr.hive.session import HiveSession

    local = HiveSession(open_metastore(str(tmp / "ms.db"), str(tmp / "wh")), runner="inline")
    out = []
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()

        def remote(sql):
            cur.execute(sql)
            if cur.description:
                cur.fetchall()

        for sql in SMALL:
            out.append((sql, *interleaved_ms(lambda: remote(sql), lambda: local.execute(sql),
                                             repeat)))
    local.close()
    return out


def fetch_over_server(port: int, page: int) -> tuple[float, int]:
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()
        cur.arraysize = page
        cur.execute("SELECT id, name, score FROM bench_rows")
        cur.description  # noqa: B018 - metadata before the clock starts, as in the baseline
        t = time.perf_counter()
        n = 0
        while True:
            rows = cur.fetchmany(page)
            if not rows:
                break
            n += len(rows)
        return time.perf_counter() - t, n


def encoded_pages(table: pa.Table, page: int) -> list[bytes]:
    """The exact FetchResults replies the server sends for this table, page by page."""
    cols = (Column("id", "bigint"), Column("name", "string"), Column("score", "double"))
    pages = []
    for start in range(0, table.num_rows + 1, page):
        resp = ttypes.TFetchResultsResp(
            status=ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS),
            hasMoreRows=False, results=rowset.to_rowset(table, cols, start,
                                                        min(page, table.num_rows - start)))
        buf = TMemoryBuffer()
        prot = TCompatBinaryProtocol(buf)
        prot.writeMessageBegin("FetchResults", TMessageType.REPLY, 0)
        TCLIService.FetchResults_result(success=resp).write(prot)
        prot.writeMessageEnd()
        pages.append(buf.getvalue())
    return pages


class Replay(TTransportBase):
    """The socket under pyhive's SASL transport: each request is answered with the next
    recorded reply, framed as the server frames it."""

    def __init__(self, replies: list[bytes]) -> None:
        self._replies = iter(replies)
        self._buf = io.BytesIO()

    def isOpen(self) -> bool:
        return True

    def write(self, data: bytes) -> None:
        reply = next(self._replies)
        self._buf = io.BytesIO(struct.pack(">I", len(reply)) + reply)

    def flush(self) -> None:
        pass

    def read(self, sz: int) -> bytes:
        return self._buf.read(sz)


def _client_stack(replies: list[bytes]) -> TCLIService.Client:
    trans = thrift_sasl.TSaslClientTransport(None, "PLAIN", Replay(replies))
    trans.encode = False  # what PLAIN settles on after its first write
    return TCLIService.Client(TBinaryProtocol(trans))


def client_decode(replies: list[bytes], page: int) -> tuple[float, int]:
    """pyhive's own Cursor fetching the recorded replies from memory: no server, no socket."""
    conn = types.SimpleNamespace(client=_client_stack(replies), sessionHandle=None)
    cur = hive.Cursor(conn, arraysize=page)
    cur._operationHandle = ttypes.TOperationHandle(
        ttypes.THandleIdentifier(b"0" * 16, b"0" * 16), 0, True)
    cur._description = [("id", "BIGINT_TYPE") + (None,) * 4 + (True,),
                        ("name", "STRING_TYPE") + (None,) * 4 + (True,),
                        ("score", "DOUBLE_TYPE") + (None,) * 4 + (True,)]
    cur._state = cur._STATE_RUNNING
    t = time.perf_counter()
    n = 0
    while True:
        rows = cur.fetchmany(page)
        if not rows:
            break
        n += len(rows)
    elapsed = time.perf_counter() - t
    cur._operationHandle = None  # nothing to close: there is no server
    return elapsed, n


def server_encode(table: pa.Table, page: int) -> float:
    t = time.perf_counter()
    encoded_pages(table, page)
    return time.perf_counter() - t


def run(rows: int, repeat: int, page_sizes: list[int], rounds: int = 3) -> str:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        table = make_data(tmp / "data" / "bench_rows", rows)
        proc, port = start_server(tmp)
        try:
            with hive.connect("127.0.0.1", port=port) as conn:
                conn.cursor().execute(
                    "CREATE EXTERNAL TABLE bench_rows (id bigint, name string, score double) "
                    f"STORED AS PARQUET LOCATION '{tmp / 'data' / 'bench_rows'}'")
            lat = latency(port, tmp, repeat)
            fetch = []
            for page in page_sizes:
                replies = encoded_pages(table, page)
                overs, limits = [], []
                for _ in range(rounds):  # alternate, so background load hits both alike
                    over, n1 = fetch_over_server(port, page)
                    limit, n2 = client_decode(replies, page)
                    assert n1 == n2 == rows, (n1, n2, rows)
                    overs.append(over)
                    limits.append(limit)
                fetch.append((page, statistics.median(overs), statistics.median(limits),
                              server_encode(table, page)))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    lines = [f"Machine: {os.cpu_count()} cores (shared), Python {sys.version.split()[0]}; "
             "server in its own process (`rayemr hiveserver2 --runner inline`), SASL PLAIN "
             "auth NONE on loopback; client pyhive 0.7.", "",
             "| statement | median over pyhive (ms) | median in-process session (ms) | "
             "server + protocol (ms) |", "|---|---:|---:|---:|"]
    for sql, remote, local in lat:
        lines.append(f"| `{sql}` | {remote:.1f} | {local:.1f} | {remote - local:.1f} |")
    lines += ["", f"Fetching {rows:,} rows (bigint, string, double with 5% NULLs) after the "
              f"statement ran; medians of {rounds} alternating rounds:", "",
              "| page (rows) | over the server (s) | rows/s | pyhive decode alone, no server "
              "(s) | rows/s | ratio (target ≤ 1.5) | server convert+encode (s) |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for page, over, limit, enc in fetch:
        lines.append(f"| {page:,} | {over:.2f} | {rows / over:,.0f} | {limit:.2f} | "
                     f"{rows / limit:,.0f} | {over / limit:.2f} | {enc:.2f} |")
    lines += ["", "The baseline is pyhive's own cursor fetching the same FetchResults replies, "
              "recorded from the server's encoder, through its SASL transport from memory. "
              "A ratio at or below 1 means the server adds no time that shows beyond pyhive's "
              "own decoding (the server's page conversion and encoding, last column, runs "
              "while the client decodes the previous page); the replay transport is not faster "
              "than a loopback socket for pyhive, so the baseline is not a tight bound."]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = ROOT / "bench" / "README.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"## hiveserver2\n\n`python bench/hiveserver2.py --write` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n{text}\n"
    pattern = re.compile(r"^## hiveserver2\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        current = pattern.sub(lambda m: section + "\n", current)
    else:
        current = current.rstrip("\n") + "\n\n" + section
    path.write_text(current)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--page", default="1000,10000", help="fetch page sizes, comma-separated")
    ap.add_argument("--rounds", type=int, default=3, help="alternating fetch rounds")
    ap.add_argument("--write", action="store_true", help="update bench/README.md")
    args = ap.parse_args()
    text = run(args.rows, args.repeat, [int(p) for p in args.page.split(",")], args.rounds)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
