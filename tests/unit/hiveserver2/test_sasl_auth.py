"""SASL framing and negotiation over an in-memory duplex transport; password files; LDAP."""
from __future__ import annotations

import io
import struct

import pytest
from thrift.transport.TTransport import TTransportException

from rayemr.core.errors import ConfigError
from rayemr.hive.server import sasl
from rayemr.hive.server.auth import (LdapAuthenticator, LdapSettings, PasswordFileAuthenticator,
                                     add_user, hash_password, read_password_file,
                                     verify_password)


class Duplex:
    """What the client sent is readable; what the server writes is collected."""

    def __init__(self, incoming: bytes) -> None:
        self.inp, self.out = io.BytesIO(incoming), bytearray()

    def readAll(self, n: int) -> bytes:
        data = self.inp.read(n)
        if len(data) < n:
            raise TTransportException(TTransportException.END_OF_FILE, "eof")
        return data

    def write(self, data: bytes) -> None:
        self.out += data

    def flush(self) -> None:
        pass

    def isOpen(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _client_hello(user="bob", password="pw", mech=b"PLAIN", status=sasl.OK) -> bytes:
    plain = b"\x00" + user.encode() + b"\x00" + password.encode()
    return sasl.encode_message(sasl.START, mech) + sasl.encode_message(status, plain)


def test_message_framing():
    assert sasl.encode_message(sasl.COMPLETE) == b"\x05\x00\x00\x00\x00"
    assert sasl.decode_header(b"\x02\x00\x00\x00\x07") == (sasl.OK, 7)
    for bad in (b"\x09\x00\x00\x00\x00", b"\x01\x00\x00", b"\x01\xff\xff\xff\xff"):
        with pytest.raises(sasl.SaslError):
            sasl.decode_header(bad)
    creds = sasl.parse_plain(b"authz\x00alice\x00secret")
    assert (creds.authzid, creds.username, creds.password) == ("authz", "alice", "secret")
    assert "secret" not in repr(creds)
    for bad in (b"alice\x00secret", b"\x00\x00pw", b"\x00\xff\x00pw"):
        with pytest.raises(sasl.SaslError):
            sasl.parse_plain(bad)


@pytest.mark.parametrize("status", [sasl.OK, sasl.COMPLETE])
def test_negotiation_accepts_good_credentials_then_frames_data(status):
    frame = struct.pack(">I", 3) + b"abc"
    wire = Duplex(_client_hello(status=status) + frame)
    t = sasl.TSaslServerTransport(wire, lambda u, p: (u, p) == ("bob", "pw"))
    assert t.negotiate() == "bob"
    assert bytes(wire.out) == sasl.encode_message(sasl.COMPLETE)
    assert t.read(3) == b"abc"
    t.write(b"xy")
    t.write(b"z")
    t.flush()
    assert bytes(wire.out).endswith(struct.pack(">I", 3) + b"xyz")


def test_negotiation_refuses_bad_credentials_and_bad_protocol():
    wire = Duplex(_client_hello(password="nope"))
    with pytest.raises(sasl.SaslError):
        sasl.TSaslServerTransport(wire, lambda u, p: p == "pw").negotiate()
    assert wire.out[0] == sasl.BAD and b"nope" not in wire.out
    for hello in (_client_hello(mech=b"GSSAPI"), sasl.encode_message(sasl.OK, b"x"),
                  _client_hello(status=sasl.BAD), b"\x01\x00"):
        wire = Duplex(hello)
        with pytest.raises((sasl.SaslError, TTransportException)):
            sasl.TSaslServerTransport(wire, lambda u, p: True).negotiate()


def test_oversized_frame_is_refused():
    wire = Duplex(_client_hello() + struct.pack(">I", 2**31))
    t = sasl.TSaslServerTransport(wire, lambda u, p: True, max_frame=1024)
    t.negotiate()
    with pytest.raises(TTransportException):
        t.read(4)


def test_password_hashes_and_file(tmp_path):
    encoded = hash_password("pässword", iterations=1000)
    assert verify_password("pässword", encoded) and not verify_password("password", encoded)
    assert "pässword" not in encoded
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$a$b")
    path = tmp_path / "users"
    add_user(path, "ann", "one", iterations=1000)
    add_user(path, "bob", "two", iterations=1000)
    add_user(path, "ann", "three", iterations=1000)  # replaces
    assert (path.stat().st_mode & 0o777) == 0o600
    assert set(read_password_file(path)) == {"ann", "bob"}
    check = PasswordFileAuthenticator(path)
    assert check("ann", "three") and not check("ann", "one") and check("bob", "two")
    assert not check("carl", "two")
    with pytest.raises(ConfigError):
        add_user(path, "bad user", "x")
    with pytest.raises(ConfigError):
        add_user(path, "dan", "")
    path.write_text("ann:plaintext\n")
    with pytest.raises(ConfigError, match="line 1"):
        read_password_file(path)
    assert not check("ann", "three")  # a broken file refuses everyone


def test_ldap_simple_bind_with_ldap3_offline_mock():
    ldap3 = pytest.importorskip("ldap3")
    settings = LdapSettings("ldap://directory.example", base_dn="ou=people,dc=example,dc=com")
    seen = []

    def mock_bind(s: LdapSettings, dn: str, password: str) -> bool:
        server = ldap3.Server("directory.example")
        admin = ldap3.Connection(server, user="cn=admin", password="a",
                                 client_strategy=ldap3.MOCK_SYNC)
        admin.strategy.add_entry("uid=alice,ou=people,dc=example,dc=com",
                                 {"userPassword": "wonderland", "objectClass": "person"})
        conn = ldap3.Connection(server, user=dn, password=password,
                                client_strategy=ldap3.MOCK_SYNC)
        conn.strategy.connection.server.dit = admin.strategy.connection.server.dit
        seen.append(dn)
        return conn.bind()

    check = LdapAuthenticator(settings, connect=mock_bind)
    assert check("alice", "wonderland")
    assert not check("alice", "wrong")
    assert not check("alice", "")  # never an anonymous bind
    assert not check("bob", "wonderland")
    assert seen[0] == "uid=alice,ou=people,dc=example,dc=com"
    pattern = LdapSettings("ldap://x", user_dn_pattern="cn=%s,dc=corp")
    assert pattern.user_dn("a,b=c") == "cn=a\\,b\\=c,dc=corp"
