"""Authentication modes with the real pyhive client: CUSTOM, NOSASL, NONE, LDAP."""
from __future__ import annotations

import logging
import socket

import pytest
from pyhive import hive
from thrift.transport.TTransport import TTransportException

from rayemr.hive.server.auth import LdapSettings, add_user


def _select_one(conn) -> list:
    cur = conn.cursor()
    cur.execute("SELECT 1")
    return cur.fetchall()


def test_custom_accepts_the_right_password_and_refuses_a_wrong_one(start_hs2, tmp_path,
                                                                    caplog):
    pwfile = tmp_path / "hs2-users"
    add_user(pwfile, "analyst", "s3cret-Pass")
    add_user(pwfile, "other", "another-pass")
    srv = start_hs2(auth="CUSTOM", password_file=str(pwfile))
    caplog.set_level(logging.DEBUG)
    with hive.connect("127.0.0.1", port=srv.port, username="analyst", password="s3cret-Pass",
                      auth="CUSTOM") as conn:
        assert _select_one(conn) == [(1,)]
    for user, password in (("analyst", "wrong"), ("nobody", "s3cret-Pass"), ("other", "")):
        with pytest.raises(TTransportException) as info:
            hive.connect("127.0.0.1", port=srv.port, username=user, password=password or "x",
                         auth="CUSTOM")
        assert "Bad status: 3" in str(info.value)
    assert "s3cret-Pass" not in caplog.text and "wrong" not in caplog.text.replace(
        "wrong credentials", "")
    assert "another-pass" not in caplog.text


def test_nosasl_plain_transport(start_hs2):
    srv = start_hs2(auth="NOSASL")
    with hive.connect("127.0.0.1", port=srv.port, auth="NOSASL") as conn:
        assert _select_one(conn) == [(1,)]
    # a SASL client cannot talk to a NOSASL server (and vice versa): refused, server survives
    with pytest.raises(Exception):
        hive.connect("127.0.0.1", port=srv.port, auth="NONE")
    with hive.connect("127.0.0.1", port=srv.port, auth="NOSASL") as conn:
        assert _select_one(conn) == [(1,)]


def test_none_mode_takes_any_user(hs2):
    with hive.connect("127.0.0.1", port=hs2.port, username="someone") as conn:
        assert _select_one(conn) == [(1,)]


def test_ldap_refuses_when_the_directory_cannot_confirm(start_hs2):
    # No LDAP server here: point at a closed loopback port. A bind that cannot succeed must
    # refuse the login (tests of a successful bind use ldap3's offline mock; see unit tests).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    srv = start_hs2(auth="LDAP", ldap=LdapSettings(f"ldap://127.0.0.1:{closed_port}",
                                                  base_dn="ou=people,dc=example,dc=com",
                                                  timeout=2))
    with pytest.raises(TTransportException):
        hive.connect("127.0.0.1", port=srv.port, username="alice", password="pw", auth="LDAP")
