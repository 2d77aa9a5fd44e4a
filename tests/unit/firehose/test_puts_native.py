"""The C helpers of a Firehose put (``rayemr/firehose/_puts.c``) against their Python fallbacks,
and the write-ahead log reading back what either wrote."""
from __future__ import annotations

import struct
import threading
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rayemr.core import native
from rayemr.firehose import chunks, requests, wal
from rayemr.firehose.requests import MAX_RECORD_BYTES

_puts = native.built("rayemr.firehose._puts")  # fails when not built
if _puts is None:
    pytest.skip(native.PURE_REASON, allow_module_level=True)

records = st.lists(st.binary(max_size=300), min_size=1, max_size=40)


def python_plain(items):
    saved = requests._native_plain
    requests._native_plain = None
    try:
        return requests._plain_data(items)
    finally:
        requests._native_plain = saved


@settings(max_examples=200, deadline=None)
@given(records)
def test_plain_datas_equal_the_python_path(datas):
    batch = [{"Data": d} for d in datas]
    assert _puts.plain_datas(batch, MAX_RECORD_BYTES) == python_plain(batch)
    got, total = _puts.plain_datas(batch, MAX_RECORD_BYTES)
    assert all(a is b for a, b in zip(got, datas)) and total == sum(map(len, datas))


@pytest.mark.parametrize("batch", [
    [{"Data": b"x"}, {"Data": "text"}],  # a str: converted record by record
    [{"Data": b"x"}, {"data": b"y"}],  # no Data: AWS's error, record by record
    [{"Data": b"x"}, ("Data", b"y")],  # not a dict
    [{"Data": bytearray(b"x")}],
    [{"Data": b"x" * (MAX_RECORD_BYTES + 1)}],  # over the limit: refused record by record
])
def test_plain_datas_hand_anything_else_to_the_record_by_record_path(batch):
    assert _puts.plain_datas(batch, MAX_RECORD_BYTES) is None
    assert python_plain(batch) is None


def test_plain_datas_take_a_record_at_the_limit():
    batch = [{"Data": b"x" * MAX_RECORD_BYTES}]
    assert _puts.plain_datas(batch, MAX_RECORD_BYTES) == ([batch[0]["Data"]], MAX_RECORD_BYTES)


@settings(max_examples=200, deadline=None)
@given(records)
def test_sizes_are_the_records_lengths(datas):
    packed, total = _puts.sizes(datas)
    assert np.frombuffer(packed, "<u4").tolist() == [len(d) for d in datas]
    assert total == sum(map(len, datas))
    lens, n = chunks.sizes(datas)
    assert lens.dtype == np.int64 and lens.tolist() == [len(d) for d in datas] and n == total


def test_sizes_refuse_what_is_not_a_list_of_bytes():
    with pytest.raises(TypeError):
        _puts.sizes([b"x", "y"])
    lens, n = chunks.sizes([b"ab", bytearray(b"cde")])  # the fallback counts them
    assert lens.tolist() == [2, 3] and n == 5


@settings(max_examples=200, deadline=None)
@given(records, st.binary(max_size=40), st.sampled_from([wal.RECORDS, wal.SOURCED]))
def test_frame_is_header_crc_and_payload(datas, head, kind):
    lens = struct.pack(f"<{len(datas)}I", *map(len, datas))
    frame = _puts.frame(kind, head, lens, datas)
    payload = head + lens + b"".join(datas)
    assert frame == struct.pack("<IIB", len(payload), zlib.crc32(payload), kind) + payload


def test_frame_refuses_records_that_are_not_bytes():
    with pytest.raises(TypeError):
        _puts.frame(1, b"", b"", [b"x", memoryview(b"y")])


@pytest.mark.parametrize("epoch_ms,first,n", [
    (1_700_000_000_000, 0, 3), (1_700_000_000_123, 4094, 5), (0, 2**40 - 2, 4),
    (2**63, 2**62, 2), (1, 7, 0)])
def test_record_responses_equal_the_python_path(epoch_ms, first, n):
    expected = [{"RecordId": requests.record_id(epoch_ms, s)} for s in range(first, first + n)]
    assert _puts.record_responses(epoch_ms, first, n) == expected
    assert requests.record_responses(epoch_ms, first, n) == expected


def test_the_log_reads_back_frames_of_both_paths(tmp_path, monkeypatch):
    log = wal.WriteAheadLog(str(tmp_path / "log"), sync="flush")
    log.append_records(0, 1.5, [b'{"a":1}', b"", b"xyz"], token=b"t" * 16)
    log.append_records(3, 2.5, [b"sourced"], positions={"shard-1": 7})
    log.append_records(4, 3.5, [b"not", bytearray(b"bytes")])  # the native frame refuses it
    monkeypatch.setattr(wal, "_native_frame", None)
    log.append_records(6, 4.5, [b"python"], positions={"shard-1": 9})
    log.close()
    replay = wal.WriteAheadLog(str(tmp_path / "log")).replay()
    assert replay.records == {0: (1.5, b'{"a":1}'), 1: (1.5, b""), 2: (1.5, b"xyz"),
                              3: (2.5, b"sourced"), 4: (3.5, b"not"), 5: (3.5, b"bytes"),
                              6: (4.5, b"python")}
    assert replay.batches == {b"t" * 16: (0, 1.5, 3)} and replay.positions == {"shard-1": 9}
    assert replay.torn == 0


def python_join(items):
    from rayemr.firehose import ndjson

    return ndjson._plain(items)


texts = st.lists(st.text(alphabet="{}\n aé\"", max_size=8).map(str.encode), min_size=1,
                 max_size=8)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_join_plain_takes_what_the_python_check_takes_when_each_record_is_one_line(datas):
    got = _puts.join_plain(datas)
    want = python_join(datas)
    if got is not None:  # never more than the Python check takes, and the same text
        assert got == (want, want.isascii())
    strict = all(len(d) >= 2 and d.startswith(b"{") and d.endswith(b"}") and b"\n" not in d
                 for d in datas) or all(
        len(d) >= 3 and d.startswith(b"{") and d.endswith(b"}\n") and d.count(b"\n") == 1
        for d in datas)
    assert (got is not None) == strict


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5),
                                max_size=3), min_size=1, max_size=20), st.booleans())
def test_join_plain_joins_json_lines(docs, newline):
    import json

    datas = [(json.dumps(d) + ("\n" if newline else "")).encode() for d in docs]
    text, ascii_only = _puts.join_plain(datas)
    assert text == b"\n".join(datas) == python_join(datas)
    assert ascii_only == text.isascii()


def test_join_plain_refuses_other_records():
    assert _puts.join_plain([b"{}", b"[]"]) is None
    assert _puts.join_plain([b"{}", bytearray(b"{}")]) is None
    assert _puts.join_plain([]) is None


def test_write_held_writes_everything_at_the_offset(tmp_path):
    import os

    path = tmp_path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        _puts.write_held(fd, b"\0" * 16, 0)
        _puts.write_held(fd, memoryview(b"abc"), 5)
        _puts.write_held(fd, b"de", 8, True)  # its writeback started at once
        assert path.read_bytes() == b"\0" * 5 + b"abcde" + b"\0" * 6
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        _puts.write_held(fd, b"x", 0)  # closed


def test_plain_datas_survive_a_key_that_empties_the_batch_while_it_is_read():
    batch: list = []

    class Sly(str):
        def __hash__(self):
            return hash("Data")

        def __eq__(self, other):
            batch.clear()  # runs during the lookup of "Data"
            return False

    batch.extend([{Sly("x"): b"1", "Data": b"a"}, {"Data": b"b"}])
    assert _puts.plain_datas(batch, MAX_RECORD_BYTES) == ([b"a", b"b"], 2)


@settings(max_examples=200, deadline=None)
@given(records)
def test_split_gives_back_the_records_as_the_python_path_does(datas):
    from rayemr.firehose import direct

    body, lens = b"".join(datas), struct.pack(f"<{len(datas)}I", *map(len, datas))
    assert _puts.split(body, lens) == direct._split(body, lens) == datas
    for bad in (body + b"x", body[:-1] if body else b"x"):  # sizes that do not add up
        with pytest.raises(ValueError):
            _puts.split(bad, lens)
    with pytest.raises(ValueError):
        _puts.split(body, lens + b"\x01")  # not whole uint32 values


@settings(max_examples=200, deadline=None)
@given(records)
def test_a_put_request_s_sizes_are_the_python_path_s(datas):
    from rayemr.firehose import direct

    expected = (struct.pack(f"<{len(datas)}I", *map(len, datas)), sum(map(len, datas)))
    assert direct.sizes(datas) == direct._sizes(datas) == expected
    assert direct.sizes(tuple(datas)) == expected  # not a list: the Python path
    lens, total = direct.sizes(datas)
    assert direct.split(b"".join(datas), lens) == datas and total == len(b"".join(datas))


def _both_readers(wire: bytes, close: bool = True):
    """What the C reader and the Python one make of the same bytes on a socket: results or
    the type of what they raised, for each request until the client is done."""
    import socket

    from rayemr.firehose import direct

    def run(reader):
        a, b = socket.socketpair()

        def send():  # from a thread: a big request does not fit in the socket's buffer
            try:
                b.sendall(wire)
                if close:
                    b.shutdown(socket.SHUT_WR)
            except OSError:  # the reader gave up first
                pass

        sender = threading.Thread(target=send)
        sender.start()
        try:
            direct.set_timeout(a, 1.0)
            out = []
            while True:
                try:
                    got = reader(a)
                except (direct.ProtocolError, OSError) as exc:
                    out.append(type(exc).__name__)
                    return out
                out.append(got)
                if not isinstance(got, direct.Request):
                    return out
        finally:
            a.close()
            sender.join(5)
            b.close()

    native_out = run(direct.read_request)
    saved, direct._native_recv = direct._native_recv, None
    try:
        python_out = run(direct.read_request)
    finally:
        direct._native_recv = saved
    return native_out, python_out


def _request(datas, token=b"t" * 16, magic=b"PUT1", n=None, total=None, sizes=None):
    sizes = sizes if sizes is not None else [len(d) for d in datas]
    return (struct.pack("<4sII16s", magic, len(datas) if n is None else n,
                        sum(map(len, datas)) if total is None else total, token)
            + struct.pack(f"<{len(sizes)}I", *sizes) + b"".join(datas))


@settings(max_examples=100, deadline=None)
@given(st.lists(records, min_size=1, max_size=3))
def test_a_put_port_request_is_read_by_c_as_by_python(batches):
    from rayemr.firehose import direct

    wire = b"".join(_request(d, token=bytes([i]) * 16) for i, d in enumerate(batches))
    native_out, python_out = _both_readers(wire)
    assert native_out == python_out
    assert native_out == [direct.Request(d, bytes([i]) * 16) for i, d in enumerate(batches)] + [None]


@pytest.mark.parametrize("wire, expected", [
    (_request([b"x"], magic=b"GET1"), ["ProtocolError"]),
    (_request([b"x"], n=0, sizes=[]), [("ValidationException", None)]),
    (_request([b"x"] * 501), [("ValidationException", None)]),
    (_request([b"x"], total=5 << 20), [("InvalidArgumentException", None)]),
    (_request([b"x" * (MAX_RECORD_BYTES + 1)]), [("ValidationException", None)]),
    (_request([b"abc"], sizes=[2]), [("SerializationException", None)]),
    (_request([b"abc"])[:-1], ["ProtocolError"]),  # closed within the body
    (_request([b"abc"])[:30], ["ProtocolError"]),  # closed within the sizes
    (_request([b"abc"])[:10], [None]),  # closed within a head: done
    (b"", [None]),
])
def test_bad_put_port_requests_are_refused_by_c_as_by_python(wire, expected):
    native_out, python_out = _both_readers(wire)
    assert native_out == python_out
    assert [(o[0], None) if isinstance(o, tuple) else o for o in native_out] == expected


def test_a_put_port_read_times_out_in_c_as_in_python():
    native_out, python_out = _both_readers(_request([b"abc"])[:-1], close=False)
    assert native_out == python_out == ["BlockingIOError"]
