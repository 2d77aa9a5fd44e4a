"""A delivery stream's put port (``rayemr.firehose.direct``) attacked as a remote peer would:
no put is taken from a connection that does not hold the stream's secret, a request that breaks
AWS's limits is refused before its body is read, broken framing drops the connection, and the
server keeps serving honest clients afterwards."""
from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from rayemr.core.waiting import wait_for
from rayemr.firehose import client, direct
from rayemr.firehose.direct import PutConnection, ProtocolError
from rayemr.firehose.errors import (InvalidArgumentException, SerializationException,
                                    ValidationException)
from rayemr.firehose.settings import FirehoseSettings

ROLE = "arn:aws:iam::123456789012:role/firehose"


@pytest.fixture
def stream(tmp_path):
    """(client, in-process host, its put endpoint, the bucket's folder) of a stream into a
    local bucket."""
    (tmp_path / "lake" / "b").mkdir(parents=True)
    settings = FirehoseSettings(location=str(tmp_path / "fh"), bucket_root=str(tmp_path / "lake"),
                                metastore_path=str(tmp_path / "ms.db"),
                                warehouse=str(tmp_path / "wh"))
    c = client("local", settings)
    c.create_delivery_stream(DeliveryStreamName="s", ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::b", "Prefix": "p/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}})
    _, _, host = c._service.control.route("s")
    yield c, host, host.put_endpoint(), tmp_path / "lake" / "b"
    c.close()


def incoming(c) -> int:
    return c.metrics("s")["s"]["IncomingRecords"]


def request(n: int, total: int, sizes: list[int], token: bytes = b"t" * 16) -> bytes:
    return (struct.pack("<4sII16s", b"PUT1", n, total, token)
            + struct.pack(f"<{len(sizes)}I", *sizes))


def answer(conn: PutConnection) -> dict:
    magic, size = struct.unpack("<4sI", direct._read(conn._sock, 8))
    assert magic == b"ANS1"
    return json.loads(direct._read(conn._sock, size))


def closed(sock: socket.socket, within: float = 5.0) -> bool:
    """Whether the server closes the connection (within ``within`` seconds)."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_an_honest_put_is_taken_once_even_when_retried(stream):
    c, host, ep, _ = stream
    conn = PutConnection(ep)
    first = conn.put([b"a\n", b"b\n"], b"k" * 16)
    again = conn.put([b"a\n", b"b\n"], b"k" * 16)  # its answer lost: sent again
    assert (again.first, again.epoch_ms) == (first.first, first.epoch_ms)
    assert incoming(c) == 2
    conn.close()


def test_the_secret_never_shows(stream):
    _, host, ep, _ = stream
    assert ep.secret.hex() not in repr(ep) and str(ep.secret) not in repr(ep)
    assert ep.secret.hex() not in repr(host._puts) and "secret" not in repr(ep)


def test_a_wrong_secret_is_refused_and_puts_nothing(stream):
    c, _, ep, _ = stream
    with pytest.raises((ProtocolError, ConnectionError)):
        PutConnection(direct.Endpoint(ep.host, ep.port, b"x" * 32))
    assert incoming(c) == 0


def test_a_replayed_handshake_is_refused(stream):
    """The MAC answers one nonce: copied from another connection it opens nothing."""
    c, _, ep, _ = stream
    honest = socket.create_connection((ep.host, ep.port))
    hello = direct._read(honest, 36)
    nonce = b"n" * 32
    mac = direct._mac(ep.secret, b"client", hello[4:], nonce)
    honest.close()
    thief = socket.create_connection((ep.host, ep.port))
    direct._read(thief, 36)  # a new server nonce
    thief.sendall(mac + nonce + request(1, 2, [2]) + b"x\n")
    assert closed(thief)
    assert incoming(c) == 0


def test_garbage_and_silence_are_dropped(stream, monkeypatch):
    c, _, ep, _ = stream
    junk = socket.create_connection((ep.host, ep.port))
    junk.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 64)
    assert closed(junk)
    monkeypatch.setattr(direct, "HANDSHAKE_S", 0.3)
    quiet = socket.create_connection((ep.host, ep.port))
    start = time.monotonic()
    assert closed(quiet, within=10) and time.monotonic() - start < 5
    assert incoming(c) == 0


@pytest.mark.parametrize("head, error", [
    (request(501, 501, [1] * 501), ValidationException),
    (request(0, 0, []), ValidationException),
    (request(1, 5 << 20, [5 << 20]), InvalidArgumentException),
    (request(2, 1100 * 1024, [1024, 1099 * 1024]), ValidationException),  # a record > 1000 KiB
    (request(2, 10, [3, 3]), SerializationException),  # sizes that do not add up
], ids=["501 records", "no records", "5 MiB", "a record over 1000 KiB", "sizes not adding up"])
def test_requests_over_aws_limits_are_refused_before_their_body(stream, head, error):
    c, _, ep, _ = stream
    conn = PutConnection(ep)
    conn._sock.sendall(head)  # the body is never sent: the server must not wait for it
    doc = answer(conn)
    assert doc["error"] == error.aws_code and doc["message"]
    assert closed(conn._sock)
    with pytest.raises(error):
        direct.decode_result(doc)
    assert incoming(c) == 0 and c.metrics("s")["s"]["DirectPutRequestsRefused"] == 1


def test_a_truncated_or_misframed_request_puts_nothing(stream):
    c, _, ep, _ = stream
    conn = PutConnection(ep)
    conn._sock.sendall(request(2, 10, [5, 5]) + b"hello")  # half the body, then gone
    conn.close()
    bad = PutConnection(ep)
    bad._sock.sendall(b"POST" + b"\0" * 24)
    assert closed(bad._sock)
    time.sleep(0.2)
    assert incoming(c) == 0
    ok = PutConnection(ep)  # the server goes on
    assert ok.put([b"fine\n"], b"f" * 16).first == 0 and incoming(c) == 1
    ok.close()


def test_connections_are_bounded(stream, monkeypatch):
    c, host, ep, _ = stream
    monkeypatch.setattr(direct, "MAX_CONNECTIONS", 2)
    held = [PutConnection(ep), PutConnection(ep)]
    extra = socket.create_connection((ep.host, ep.port))
    assert closed(extra)
    assert host._puts.counts["refused"] >= 1
    for conn in held:
        conn.close()
    wait_for(lambda: len(host._puts._open) == 0, 5, interval=0.05)
    again = PutConnection(ep)
    assert again.put([b"x\n"], b"z" * 16).failed == 0
    again.close()


def test_puts_over_the_port_are_delivered(stream):
    c, _, ep, bucket = stream
    conns = [PutConnection(ep) for _ in range(3)]
    sent = []
    for i in range(30):
        batch = [f"{i}-{j}\n".encode() for j in range(20)]
        assert conns[i % 3].put(batch, bytes([i]) * 16).failed == 0
        sent.extend(batch)
    c.flush("s")
    got = b"".join(p.read_bytes() for p in sorted(bucket.rglob("*")) if p.is_file())
    assert sorted(got.splitlines(keepends=True)) == sorted(sent)
    assert c.metrics("s")["s"]["DirectPuts"] == 30
    for conn in conns:
        conn.close()


def test_a_client_on_this_machine_uses_the_unix_socket_open_to_its_owner_only(stream):
    import os
    import stat

    c, _, ep, _ = stream
    assert ep.unix_path and ep.machine == direct.machine_id()
    assert stat.S_IMODE(os.stat(ep.unix_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(ep.unix_path)).st_mode) == 0o700
    conn = PutConnection(ep)
    assert conn._sock.family == socket.AF_UNIX
    assert conn.put([b"u\n"], b"u" * 16).failed == 0
    assert incoming(c) == 1
    conn.close()


@pytest.mark.parametrize("change", [{"machine": "elsewhere/0"},
                                    {"unix_path": "/nonexistent/rayemr-fh/puts.sock"}],
                         ids=["another machine", "a path out of reach"])
def test_a_client_that_cannot_use_the_unix_socket_uses_tcp(stream, change):
    import dataclasses

    c, _, ep, _ = stream
    conn = PutConnection(dataclasses.replace(ep, **change))
    assert conn._sock.family in (socket.AF_INET, socket.AF_INET6)
    assert conn.put([b"t\n"], b"t" * 16).failed == 0
    assert incoming(c) == 1
    conn.close()


def test_the_unix_socket_asks_for_the_secret_too(stream):
    c, _, ep, _ = stream
    with pytest.raises((ProtocolError, ConnectionError)):
        PutConnection(direct.Endpoint(ep.host, ep.port, b"x" * 32, ep.unix_path, ep.machine))
    junk = socket.socket(socket.AF_UNIX)
    junk.connect(ep.unix_path)
    junk.sendall(b"PUT1" + b"\0" * 200)
    assert closed(junk)
    assert incoming(c) == 0


def test_a_closed_server_leaves_no_socket_behind():
    import os

    server = direct.PutServer(lambda datas, token: None, "127.0.0.1", "x")
    path = server.endpoint.unix_path
    assert os.path.exists(path)
    server.close()
    assert not os.path.exists(os.path.dirname(path))
