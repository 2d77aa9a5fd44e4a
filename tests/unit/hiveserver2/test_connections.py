"""The connection table's rules, with a fake clock and plain objects for sockets."""
from __future__ import annotations

from rayemr.hive.server.connections import Connections


def _table(now, **limits):
    kw = dict(max_handshakes=3, max_established=2, max_per_address=4, handshake_timeout=10.0)
    kw.update(limits)
    return Connections(clock=lambda: now[0], **kw)


def test_new_connections_push_out_the_oldest_handshake():
    now = [0.0]
    t = _table(now)
    socks = [object() for _ in range(5)]
    conns = []
    for i, s in enumerate(socks[:3]):
        now[0] = i
        adm = t.admit(s, f"10.0.0.{i}")
        assert adm.conn is not None and adm.drop == []
        conns.append(adm.conn)
    adm = t.admit(socks[3], "10.0.0.9")
    assert adm.drop == [conns[0]] and conns[0].dropped
    assert t.establish(adm.conn)  # the newcomer logs in
    assert not t.establish(conns[0])  # a dropped one cannot


def test_an_address_over_its_limit_makes_room_from_its_own_handshakes():
    now = [0.0]
    t = _table(now, max_handshakes=100, max_per_address=2)
    a1 = t.admit(object(), "10.0.0.1").conn
    a2 = t.admit(object(), "10.0.0.1").conn
    b = t.admit(object(), "10.0.0.2").conn
    adm = t.admit(object(), "10.0.0.1")
    assert adm.drop == [a1] and not b.dropped
    assert t.establish(a2) and t.establish(adm.conn)
    # every connection of the address is established: a new one is refused
    assert t.admit(object(), "10.0.0.1").conn is None


def test_established_connections_are_bounded_and_release_frees_a_slot():
    now = [0.0]
    t = _table(now, max_established=1)
    a = t.admit(object(), "10.0.0.1").conn
    b = t.admit(object(), "10.0.0.2").conn
    assert t.establish(a) and not t.establish(b)
    t.release(a)
    assert len(t) == 1
    assert t.establish(b)


def test_handshakes_have_an_absolute_deadline():
    now = [0.0]
    t = _table(now)
    a = t.admit(object(), "10.0.0.1").conn
    now[0] = 5.0
    b = t.admit(object(), "10.0.0.2").conn
    now[0] = 10.5
    assert t.expired() == [a]  # b has half a second left
    assert t.expired() == []  # dropped once
    now[0] = 16.0
    assert t.expired() == [b]
