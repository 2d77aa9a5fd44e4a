"""rayemr's protocols write and read exactly what mrjob's do."""
from __future__ import annotations

import mrjob.protocol as mrjob_protocol  # the test extra installs mrjob
import pytest

from rayemr.mapreduce import protocol as ours

VALUES = [None, 0, -3, 2.5, "word", "tab\tinside", "ünïcode", [1, "a"], {"k": [1, 2]}, True]
PAIRS = [(k, v) for k in VALUES for v in VALUES[:4]]


@pytest.mark.parametrize("name", ["JSONProtocol", "JSONValueProtocol", "PickleProtocol",
                                  "PickleValueProtocol"])
def test_same_bytes_as_mrjob(name):
    a, b = getattr(ours, name)(), getattr(mrjob_protocol, name)()
    for k, v in PAIRS:
        line = a.write(k, v)
        assert line == b.write(k, v)
        assert a.read(line) == b.read(line)


@pytest.mark.parametrize("name", ["RawProtocol", "TextProtocol", "RawValueProtocol",
                                  "TextValueProtocol"])
def test_text_protocols_match_mrjob(name):
    a, b = getattr(ours, name)(), getattr(mrjob_protocol, name)()
    for line in [b"k\tv", b"no tab", b"a\tb\tc", "caf\xe9".encode("latin-1"), b""]:
        assert a.read(line) == b.read(line)
    assert a.write("k", "v") == b.write("k", "v")


def test_strict_text_rejects_bad_utf8():
    with pytest.raises(UnicodeDecodeError):
        ours.StrictTextValueProtocol().read(b"\xff\xfe")


def test_split_line_is_mrjob_sort_key():
    assert ours.split_line(b'"a"\t1') == (b'"a"', b"1")
    assert ours.split_line(b"nokey") == (b"nokey", None)
    assert ours.join_line(b"a", None) == b"a"
