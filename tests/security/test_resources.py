"""A client cannot exhaust the server: sessions release what they hold, handshakes have a
deadline, unauthenticated sockets never starve a real login, passwords cannot be guessed
fast or told apart by timing."""
from __future__ import annotations

import hashlib
import socket
import struct

import pytest
from pyhive import hive

from rayemr.core.waiting import wait_for


def native_threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def _session(port: int, sql: str = "SELECT 1 + 1") -> None:
    with hive.connect("127.0.0.1", port=port) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        assert cur.fetchall()


def _settle(srv, timeout: float = 30.0) -> None:
    """Wait until the server has closed every connection the clients ended."""
    wait_for(lambda: srv.server.connection_count() == 0, timeout,
             what="the server to close the ended connections")


def test_closed_sessions_release_their_threads(start):
    target = start()
    for _ in range(10):  # warm up: pools, caches, first connections
        _session(target.port)
    _settle(target)
    before = native_threads()
    for _ in range(60):
        _session(target.port)
    _settle(target)
    grown = native_threads() - before
    assert grown <= 8, f"{grown} native threads more after 60 closed sessions"


def _idle_sockets(port: int, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        out.append(s)
    return out


def test_600_idle_unauthenticated_sockets_do_not_lock_out_a_login(start):
    target = start()
    idle = _idle_sockets(target.port, 600)
    try:
        _session(target.port, "SELECT 42")
    finally:
        for s in idle:
            s.close()


def test_a_trickling_handshake_is_cut_at_its_deadline(start):
    """A SASL START that announces a long mechanism name, then sends it a byte at a time:
    every byte arrives well within the per-read timeout, but the handshake as a whole has a
    deadline."""
    target = start(handshake_timeout=1.0)
    s = socket.create_connection(("127.0.0.1", target.port), timeout=30)
    closed = False
    try:
        s.sendall(struct.pack(">BI", 1, 60_000))
        for _ in range(120):  # one byte every 0.25 s: 30 s if nobody stops it
            try:
                s.sendall(b"P")
                s.settimeout(0.25)
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
    finally:
        s.close()
    assert closed, "the server kept a trickling handshake open"


def _password_file(tmp_path, user="alice", password="right"):
    from rayemr.hive.server.auth import add_user

    path = tmp_path / "passwords"
    add_user(path, user, password)
    return path


def test_unknown_users_cost_what_known_users_cost(tmp_path, monkeypatch):
    from rayemr.hive.server.auth import PasswordFileAuthenticator

    auth = PasswordFileAuthenticator(_password_file(tmp_path))
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(name, password, salt, iterations, *args):
        calls.append(iterations)
        return real(name, password, salt, iterations, *args)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    assert not auth("alice", "wrong")
    known = list(calls)
    calls.clear()
    assert not auth("mallory", "wrong")
    assert calls == known and sum(known) >= 100_000


def test_password_guessing_backs_off_per_address(start, tmp_path):
    from pyhive import exc as pyhive_exc
    from thrift.transport.TTransport import TTransportException

    target = start(auth="CUSTOM", password_file=str(_password_file(tmp_path)))
    failures = 0
    for _ in range(6):
        try:
            hive.connect("127.0.0.1", port=target.port, username="alice", password="wrong",
                         auth="CUSTOM").close()
        except (TTransportException, pyhive_exc.Error, OSError):
            failures += 1
    assert failures == 6
    # the right password, right after: refused while the address backs off
    with pytest.raises((TTransportException, pyhive_exc.Error, OSError)):
        hive.connect("127.0.0.1", port=target.port, username="alice", password="right",
                     auth="CUSTOM").close()


def test_backoff_schedule():
    from rayemr.hive.server.auth import LoginThrottle

    now = [1000.0]
    t = LoginThrottle(free_failures=3, base_delay=1.0, max_delay=60.0, clock=lambda: now[0])
    for _ in range(3):
        assert t.wait_time("10.0.0.1") == 0
        t.failed("10.0.0.1")
    assert t.wait_time("10.0.0.1") == 0  # the third failure is still free
    t.failed("10.0.0.1")
    assert t.wait_time("10.0.0.1") == pytest.approx(1.0)
    assert t.wait_time("10.0.0.2") == 0  # other addresses are not affected
    now[0] += 1.0
    assert t.wait_time("10.0.0.1") == 0
    t.failed("10.0.0.1")
    assert t.wait_time("10.0.0.1") == pytest.approx(2.0)
    for _ in range(20):
        t.failed("10.0.0.1")
    assert t.wait_time("10.0.0.1") == pytest.approx(60.0)
    t.succeeded("10.0.0.1")
    assert t.wait_time("10.0.0.1") == 0


def test_handshaking_connections_are_bounded_and_the_oldest_make_room(start):
    target = start(max_handshakes=10)
    idle = _idle_sockets(target.port, 40)
    try:
        wait_for(lambda: target.server.connection_count() <= 10, 10,
                 what="at most 10 handshaking connections")
        _session(target.port, "SELECT 7")  # a real client still gets in
    finally:
        for s in idle:
            s.close()
