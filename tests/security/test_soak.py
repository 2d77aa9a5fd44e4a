"""Soak: many sessions keep threads and memory flat; garbage and idle sockets lock nobody out.

The full runs (2,000 sessions; 1,000 garbage payloads with 600 idle sockets) are marked slow;
smaller ones run in the default selection. Figures are printed (``pytest -s``).
"""
from __future__ import annotations

import gc
import random
import socket
import struct

import pytest
from pyhive import hive

from rayemr.core.waiting import wait_for


def _status(field: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


def _threads(pid: int | str = "self") -> int:
    return _status("Threads", pid)


def _rss_mib(pid: int | str = "self") -> float:
    return _status("VmRSS", pid) / 1024


def _one_session(port: int, n: int) -> None:
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT {n} + 1, upper('x')")
        assert cur.fetchall() == [(n + 1, "X")]


def _quiet(target) -> None:
    wait_for(lambda: target.server.connection_count() == 0, 30,
             what="the server to close the ended connections")
    gc.collect()


def soak_sessions(port: int, count: int, quiet, pid: int | str = "self",
                  session=_one_session) -> dict[str, float]:
    """``count`` sessions one after another (each opens, queries, closes); the threads and
    resident memory of process ``pid`` (the server's) before, after and every tenth."""
    for n in range(20):  # warm up: pools, caches, first-use imports
        session(port, n)
    quiet()
    threads0, rss0 = _threads(pid), _rss_mib(pid)
    samples = []
    for n in range(count):
        session(port, n)
        if (n + 1) % max(1, count // 10) == 0:
            samples.append((n + 1, _threads(pid), round(_rss_mib(pid), 1)))
    quiet()
    figures = {"sessions": count, "threads_before": threads0, "threads_after": _threads(pid),
               "rss_mib_before": round(rss0, 1), "rss_mib_after": round(_rss_mib(pid), 1),
               "threads_max": max(t for _, t, _ in samples),
               "rss_mib_max": max(r for _, _, r in samples)}
    print(f"\nsoak: {figures}; samples (sessions, threads, rss MiB): {samples}")
    return figures


def _soak_sessions(target, count: int) -> dict[str, float]:
    return soak_sessions(target.port, count, lambda: _quiet(target))


def _garbage(rng: random.Random, count: int):
    """Random bytes, broken SASL headers, huge lengths, a good login then a bad frame."""
    good_login = struct.pack(">BI", 1, 5) + b"PLAIN" + struct.pack(">BI", 2, 6) + b"\x00u\x00pw"
    for i in range(count):
        kind = i % 4
        if kind == 0:
            yield rng.randbytes(rng.randint(1, 400))
        elif kind == 1:
            yield struct.pack(">BI", rng.randint(0, 255), rng.randint(0, 2**32 - 1))
        elif kind == 2:
            yield good_login + struct.pack(">I", rng.randint(0, 2**32 - 1)) + rng.randbytes(9)
        else:
            yield good_login + struct.pack(">I", 40) + b"\x80\x01\x00\x01" + rng.randbytes(36)


def _flood_then_login(target, garbage: int, idle: int) -> dict[str, int]:
    rng = random.Random(13)
    for data in _garbage(rng, garbage):
        with socket.create_connection(("127.0.0.1", target.port), timeout=5) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
    sockets = [socket.create_connection(("127.0.0.1", target.port), timeout=10)
               for _ in range(idle)]
    try:
        _one_session(target.port, 41)  # a real login gets through all of that
        open_now = target.server.connection_count()
    finally:
        for s in sockets:
            s.close()
    _quiet(target)
    figures = {"garbage": garbage, "idle": idle, "connections_during": open_now,
               "connections_after": target.server.connection_count()}
    print(f"\nflood: {figures}")
    return figures


def check_flat(f: dict[str, float], rss_slack: float) -> None:
    assert f["threads_after"] - f["threads_before"] <= 8, f
    assert f["rss_mib_after"] - f["rss_mib_before"] <= rss_slack, f


def test_sessions_keep_threads_and_memory_flat(start):
    check_flat(_soak_sessions(start(), 200), rss_slack=48)


def test_garbage_and_idle_sockets_do_not_stop_a_login(start):
    f = _flood_then_login(start(), garbage=200, idle=200)
    assert f["connections_during"] <= 64 + 2 and f["connections_after"] == 0, f


@pytest.mark.slow
def test_soak_2000_sessions(start):
    check_flat(_soak_sessions(start(), 2000), rss_slack=64)


@pytest.mark.slow
def test_soak_1000_garbage_payloads_and_600_idle_sockets(start):
    f = _flood_then_login(start(), garbage=1000, idle=600)
    assert f["connections_during"] <= 64 + 2 and f["connections_after"] == 0, f
