"""Map-side grouping for the combiner: the C helper (``rayemr.mapreduce._grouping``) and
the Python loop it replaces group the same pairs into the same groups."""
from __future__ import annotations

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rayemr.core import native
from rayemr.mapreduce import streams
from rayemr.mapreduce.protocol import JSONProtocol, PickleProtocol, roundtrip_types

_grouping = native.built("rayemr.mapreduce._grouping")  # fails when not built
if _grouping is None:
    pytest.skip(native.PURE_REASON, allow_module_level=True)
Groups = _grouping.Groups


def test_groups_counts_repeats_of_the_first_value():
    g = Groups({str, int})
    one, big = 1, 10 ** 20
    taken, last, status, item = g.add(iter([("a", one), ("b", one), ("a", one), ("a", big),
                                            ("a", one)]), 100)
    assert (taken, last, status, item) == (5, 1, 1, None)
    assert (g.keys, g.held, g.total, g.types_ok) == (2, 1, 5, True)
    assert g.items() == [("a", 1, 3, [big]), ("b", 1, 1, None)]
    assert (g.keys, g.held, g.total) == (0, 0, 0)  # items() empties the groups


def test_groups_keep_equal_keys_of_different_types_apart():
    g = Groups({str, int, float, bool})
    g.add(iter([(1, "x"), (1.0, "y"), (True, "z"), (1, "w")]), 100)
    items = g.items()
    assert [(type(k), k) for k, *_ in items] == [(int, 1), (float, 1.0), (bool, True)]
    assert items[0][1:] == ("x", 1, ["w"])


def test_groups_stop_at_the_limit_and_hand_back_what_they_cannot_group():
    g = Groups({str, int})
    it = iter([("a", 1), ("b", 2), (["unhashable"], 3), "not a pair", ("c", 4)])
    assert g.add(it, 1) == (1, 1, 0, None)
    assert g.add(it, 10) == (1, 2, 2, (["unhashable"], 3))
    g.add_pair(("enc", b'["unhashable"]'), ["unhashable"], 3)
    assert g.add(it, 10) == (0, None, 2, "not a pair")
    assert g.add(it, 10) == (1, 4, 1, None)
    assert g.types_ok is False  # the list key
    assert [k for k, *_ in g.items()] == ["a", "b", ["unhashable"], "c"]


def test_groups_take_pairs_as_namedtuples_and_lists():
    import collections as c

    Pair = c.namedtuple("Pair", "key value")
    g = Groups({str, int})
    it = iter([Pair("a", 1), ["a", 1], ["b", 2], ("c", 3, "three"), [["x"], 1]])
    assert g.add(it, 10) == (3, 2, 2, ("c", 3, "three"))  # not a pair: handed back
    assert g.add(it, 10) == (0, None, 2, (["x"], 1))  # unhashable key: handed back
    assert g.items() == [("a", 1, 2, None), ("b", 2, 1, None)]


def test_groups_report_types_outside_the_round_trip_set():
    g = Groups({str, int})
    g.add(iter([("a", 1), ("a", 2)]), 10)
    assert g.types_ok
    g.add(iter([("a", (1, 2))]), 10)
    assert not g.types_ok


def test_the_mappers_exception_propagates():
    def mapper():
        yield "a", 1
        raise KeyError("bad record")

    g = Groups({str})
    with pytest.raises(KeyError, match="bad record"):
        g.add(mapper(), 10)


def _grouped(pairs, proto, limit, helper):
    rt = frozenset(roundtrip_types(proto))
    old = streams._grouping_helper
    streams._grouping_helper = (lambda: helper)
    try:
        batches = list(streams.group_pairs(iter(pairs), rt, proto, proto, limit=limit))
    finally:
        streams._grouping_helper = old
    out = collections.Counter()
    for batch in batches:
        for key, values, n in batch:
            values = list(values)
            assert len(values) == n
            out[(repr(key), tuple(sorted(map(repr, values))))] += 1
    return out, len(batches)


_keys = st.one_of(st.text(max_size=3), st.integers(-3, 3), st.booleans(),
                  st.floats(allow_nan=False), st.none(),
                  st.lists(st.integers(0, 2), max_size=2),
                  st.tuples(st.text(max_size=1), st.integers(0, 2)))
_values = st.one_of(st.integers(-2, 300), st.booleans(), st.text(max_size=2),
                    st.lists(st.integers(0, 2), max_size=2), st.tuples(st.integers(0, 2)))


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(_keys, _values) | st.tuples(_keys, _values).map(list),
                     max_size=60),
       limit=st.integers(1, 100), pickle=st.booleans())
def test_c_and_python_grouping_agree(pairs, limit, pickle):
    proto = PickleProtocol() if pickle else JSONProtocol()
    c, c_batches = _grouped(pairs, proto, limit, Groups)
    py, py_batches = _grouped(pairs, proto, limit, None)
    assert c == py
    assert c_batches == py_batches or not pairs
