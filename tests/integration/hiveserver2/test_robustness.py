"""Many concurrent sessions, and garbage on the port that must not take the server down."""
from __future__ import annotations

import random
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest
from pyhive import hive

from rayemr.core.waiting import wait_for

@pytest.mark.parametrize("sessions,queries", [
    (6, 4),
    # The full 20 x 20 run: each query costs the Hive session ~0.1-0.2 s of CPU here.
    pytest.param(20, 20, marks=pytest.mark.slow),
])
def test_concurrent_sessions_each_running_queries(hs2, parquet_table, sessions, queries):
    SESSIONS, QUERIES = sessions, queries
    parquet_table(hs2, "conc", pa.table({"k": np.arange(1000, dtype=np.int64)}), "k bigint",
                  files=2)
    errors: list[BaseException] = []
    barrier = threading.Barrier(SESSIONS)

    def client(n: int) -> int:
        done = 0
        with hive.connect("127.0.0.1", port=hs2.port) as conn:
            cur = conn.cursor()
            cur.execute(f"SET hivevar:who={n}")
            barrier.wait(timeout=60)
            for q in range(QUERIES):
                if q % 2:
                    cur.execute(f"SELECT count(*) FROM conc WHERE k < {n * 10 + q}")
                    assert cur.fetchall() == [(n * 10 + q,)]
                else:
                    cur.execute(f"SELECT ${{hivevar:who}} * 1000 + {q}")
                    assert cur.fetchall() == [(n * 1000 + q,)]
                done += 1
        return done

    with ThreadPoolExecutor(SESSIONS) as pool:
        futures = [pool.submit(client, n) for n in range(SESSIONS)]
        results = []
        for f in futures:
            try:
                results.append(f.result(timeout=300))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
    assert not errors, errors[:3]
    assert results == [QUERIES] * SESSIONS


def _payloads(rng: random.Random, count: int):
    """Random bytes, bad SASL headers, truncated and oversized frames, Thrift-looking junk."""
    for i in range(count):
        kind = i % 6
        if kind == 0:
            yield rng.randbytes(rng.randint(0, 600))
        elif kind == 1:  # SASL START announcing more than it sends, or a bad mechanism
            mech = rng.choice([b"PLAIN", b"GSSAPI", rng.randbytes(8)])
            yield struct.pack(">BI", 1, rng.choice([len(mech), 2**31, 70000])) + mech
        elif kind == 2:  # a good handshake, then a truncated or oversized frame
            yield (struct.pack(">BI", 1, 5) + b"PLAIN" + struct.pack(">BI", 2, 6) +
                   b"\x00u\x00pw" + struct.pack(">I", rng.choice([2**31, 50, 10 ** 9])) +
                   rng.randbytes(rng.randint(0, 40)))
        elif kind == 3:  # a good handshake, then a Thrift message with random fields
            body = struct.pack(">I", 0x80010001) + struct.pack(">I", 11) + b"OpenSession" + \
                struct.pack(">I", 1) + rng.randbytes(rng.randint(0, 200))
            yield (struct.pack(">BI", 1, 5) + b"PLAIN" + struct.pack(">BI", 2, 6) +
                   b"\x00u\x00pw" + struct.pack(">I", len(body)) + body)
        elif kind == 4:  # status bytes that do not exist, huge lengths
            yield bytes([rng.randint(6, 255)]) + rng.randbytes(rng.randint(0, 30))
        else:  # truncated headers
            yield struct.pack(">BI", rng.randint(1, 5), rng.randint(0, 2**32 - 1))[
                :rng.randint(0, 4)]


def _spray(port: int, payloads, *, read: bool) -> None:
    for data in payloads:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                s.sendall(data)
                if read:
                    s.shutdown(socket.SHUT_WR)
                    s.settimeout(2)
                    s.recv(4096)
            except OSError:
                pass  # the server may close first


@pytest.mark.parametrize("auth", ["NONE", "NOSASL"])
def test_1000_garbage_payloads_then_a_normal_query(start_hs2, auth):
    srv = start_hs2(auth=auth)
    rng = random.Random(20261125)
    payloads = list(_payloads(rng, 1000))
    _spray(srv.port, payloads[:900], read=False)
    _spray(srv.port, payloads[900:], read=True)  # also wait for the server's answer
    with hive.connect("127.0.0.1", port=srv.port, auth=auth) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 41 + 1")
        assert cur.fetchall() == [(42,)]
    # every garbage connection was closed and released
    wait_for(lambda: srv.server.connection_count() == 0, 30, what="no open client connections")
