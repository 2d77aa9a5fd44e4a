"""Record streams between a task's parts: lines, or (key, value) pairs plus their protocol.

Inside one task, data flows mapper -> combiner -> shuffle encoder, or reducer -> next
step's mapper -> ... as Python pairs. Where mrjob would write lines with one protocol and read
them back with another, pairs take the same round trip here -- except values of types the
protocols give back unchanged (``ROUNDTRIP_TYPES``), which skip it. Shell steps see lines.
"""
from __future__ import annotations

import gc
import inspect
import itertools
import os
import subprocess
import sys
from dataclasses import dataclass
from itertools import chain, islice, repeat, starmap
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa

from rayemr.core.errors import ClusterError
from rayemr.core.native import optional
from rayemr.mapreduce.protocol import join_line, roundtrip_types, split_line


@dataclass
class Stream:
    """Either ``lines`` (bytes without newline) or ``pairs`` encoded later by ``proto``."""

    kind: str  # "lines" | "pairs"
    items: Iterable[Any]
    proto: Any = None
    #: Counter the consumer adds the number of items to (counted where they are iterated
    #: anyway, instead of through one more generator per record).
    count_name: str | None = None

    def lines(self) -> Iterator[bytes]:
        if self.kind == "lines":
            return iter(self.items)
        write = self.proto.write
        return (write(k, v) for k, v in self.items)

    def pairs(self, read_proto: Any) -> Iterator[tuple[Any, Any]]:
        """The items as pairs decoded by ``read_proto`` (round trip where needed)."""
        if self.kind == "lines":
            read = read_proto.read
            return (read(line) for line in self.items)
        rt = _shared_roundtrip(self.proto, read_proto)
        if object in rt:
            return iter(self.items)
        write, read = self.proto.write, read_proto.read
        return (kv if (type(kv[0]) in rt and type(kv[1]) in rt) else read(write(*kv))
                for kv in self.items)


def _shared_roundtrip(write_proto: Any, read_proto: Any) -> frozenset:
    if type(write_proto) is not type(read_proto):
        return frozenset()
    return frozenset(roundtrip_types(write_proto))


def roundtrip_pair(write_proto: Any, read_proto: Any) -> Callable[[Any, Any], tuple[Any, Any]]:
    write, read = write_proto.write, read_proto.read
    return lambda k, v: read(write(k, v))


# -- shell steps -------------------------------------------------------------------------
def run_command(cmd: str, lines: Iterable[bytes], cwd: str | None, what: str) -> list[bytes]:
    """Pipe lines through a shell command (mapper_cmd, *_pre_filter); its output lines."""
    data = b"".join(line + b"\n" for line in lines)
    env = dict(os.environ)
    proc = subprocess.run(cmd, shell=True, input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=cwd, env=env)
    # grep exits 1 when nothing matched: an empty result, not a failure
    if proc.returncode != 0 and not (proc.returncode == 1 and not proc.stdout
                                     and cmd.lstrip().startswith(("grep", "egrep", "fgrep"))):
        tail = proc.stderr.decode("utf-8", "replace").strip()[-500:]
        raise ClusterError(f"{what} command {cmd!r} exited with {proc.returncode}: {tail}")
    out = proc.stdout.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return [line.rstrip(b"\r") for line in out]


# -- combining ---------------------------------------------------------------------------
_GROUP_LIMIT = 8_000_000  # values held before a combiner pass (Hadoop's spill) ...
_SPILL_BYTES = 100 << 20  # ... or this much memory (mapreduce.task.io.sort.mb)


def _size(v: Any) -> int:
    if v is None or type(v) is bool or (type(v) is int and -5 <= v <= 256):
        return 0  # shared objects
    try:
        return sys.getsizeof(v)
    except TypeError:
        return 64


_END = object()  # closes a stream of pairs (never a user key)


def group_pairs(pairs: Iterable[tuple[Any, Any]], rt: frozenset, write_proto: Any,
                read_proto: Any, limit: int | None = None, spill_bytes: int = _SPILL_BYTES
                ) -> Iterator[list[tuple[Any, Iterable[Any], int]]]:
    """Batches of (key, values, number of values) grouped in memory, keys and values
    round-tripped as mrjob would.

    A batch (a spill, as Hadoop spills its sort buffer) comes every ``limit`` values or when
    the values held take about ``spill_bytes``; the caller runs the combiner once per key of
    each batch. Keys of different types that compare equal (1, 1.0, True) stay apart, as
    their encodings differ. Unhashable keys are grouped by their encoding. The order of a
    key's values is not defined (as in Hadoop); the C helper gives repeats of the first value
    first.
    """
    limit = _GROUP_LIMIT if limit is None else max(1, limit)
    grouping = _grouping_helper()
    gc_was = gc.isenabled()
    gc.disable()  # millions of short-lived pairs and lists: collections would only cost
    try:
        if grouping is None:
            yield from _group_pairs_py(pairs, rt, write_proto, read_proto, limit, spill_bytes,
                                       gc_was)
        else:
            yield from _group_pairs_c(grouping, pairs, rt, write_proto, read_proto, limit,
                                      spill_bytes, gc_was)
    finally:
        if gc_was:
            gc.enable()


def _grouping_helper():
    """The C grouping type, or None where the extension was not built (no compiler)."""
    return optional("rayemr.mapreduce._grouping", "Groups")


def _spill(gc_was: bool, batch):
    """A batch for the combiner, run with the collector on as the caller had it."""
    if gc_was:
        gc.enable()
    return batch


def _group_pairs_c(Groups, pairs, rt, write_proto, read_proto, limit, spill_bytes, gc_was):
    rtrip = roundtrip_pair(write_proto, read_proto)
    all_ok = object in rt
    groups = Groups(set(rt))
    pairs = iter(pairs)
    chunk = min(limit, 1 << 16)
    held = 0
    while True:
        taken, last, status, item = groups.add(pairs, min(chunk, limit - held))
        held += taken
        if status == 2:  # not a 2-tuple, or an unhashable key
            k, v = item
            held += 1
            try:
                hash(k)
            except TypeError:
                gk = ("__encoded__", split_line(write_proto.write(k, v))[0])
                k, v = rtrip(k, v)
            else:
                gk = k if type(k) is str else (type(k), k)
            groups.add_pair(gk, k, v)
        # memory: a list slot per value kept in a list, plus the value unless it is a shared
        # small object (sampled: the last value), plus each key's slot and index entry
        nbytes = groups.held * (8 + _size(last)) + 160 * groups.keys
        if status == 1:
            break
        if held >= limit or nbytes >= spill_bytes:
            yield _spill(gc_was, _finish_c(groups, rt, all_ok, rtrip))
            gc.disable()
            held = 0
    if groups.keys:
        yield _finish_c(groups, rt, all_ok, rtrip)


def _finish_c(groups, rt, all_ok, rtrip) -> list[tuple[Any, Iterable[Any], int]]:
    """(key, values, n) of one spill from the C groups, round-tripped where needed."""
    exact = all_ok or groups.types_ok
    out = []
    for key, first, count, rest in groups.items():
        if not exact:
            if type(key) not in rt:
                key = rtrip(key, None)[0]
            if type(first) not in rt:
                first = rtrip(None, first)[1]
            if rest is not None and not rt.issuperset(map(type, rest)):
                rest = [rtrip(None, v)[1] for v in rest]
        if rest is None:
            out.append((key, repeat(first, count), count))
        else:
            out.append((key, chain(repeat(first, count), rest), count + len(rest)))
    return out


def _group_pairs_py(pairs, rt, write_proto, read_proto, limit, spill_bytes, gc_was):
    """group_pairs' loop in Python, where the C helper is not built."""
    groups: dict[Any, list[Any]] = {}
    keys: dict[Any, Any] = {}
    rtrip = roundtrip_pair(write_proto, read_proto)
    all_ok = object in rt
    pairs = chain(pairs, ((_END, None),))
    chunk = min(limit, 1 << 16)
    _str = str
    held, nbytes, nkeys, done, v = 0, 0, 0, False, None
    while not done:
        for k, v in islice(pairs, chunk):
            if type(k) is _str:
                try:
                    groups[k].append(v)
                except KeyError:
                    groups[k] = [v]
                continue
            if k is _END:
                done = True
                break
            gk = (type(k), k)  # 1, 1.0 and True are different keys (their encodings)
            try:
                groups[gk].append(v)
            except KeyError:
                groups[gk] = [v]
                keys[gk] = k
            except TypeError:  # unhashable key: group by its encoding
                gk = ("__encoded__", split_line(write_proto.write(k, v))[0])
                k, v = rtrip(k, v)
                groups.setdefault(gk, []).append(v)
                keys.setdefault(gk, k)
        held += chunk
        # memory: a list slot per value, plus the value unless it is a shared small
        # object (sampled: the chunk's last value), plus each key's list
        nbytes += chunk * (8 + _size(v)) + 64 * (len(groups) - nkeys)
        nkeys = len(groups)
        if (held >= limit or nbytes >= spill_bytes) and not done:
            yield _spill(gc_was, _finish_groups(groups, keys, rt, all_ok, rtrip))
            gc.disable()
            groups, keys, held, nbytes, nkeys = {}, {}, 0, 0, 0
    if groups:
        yield _finish_groups(groups, keys, rt, all_ok, rtrip)


def _calls(fn, inputs):
    """``fn(k, v)`` for every input pair, driven from C (``starmap``) when ``fn`` is a
    generator function; otherwise a None result counts as no output, as in mrjob."""
    if inspect.isgeneratorfunction(fn):
        return starmap(fn, inputs)
    return ((fn(k, v) or ()) for k, v in inputs)


def _output_of(fn) -> Iterator[tuple[Any, Any]]:
    """``fn()``'s pairs (a ``*_init`` or ``*_final``), called when the stream reaches it."""
    if fn:
        yield from fn() or ()


def mapped_pairs(mapper, init, final, pairs: Iterable[tuple[Any, Any]]
                 ) -> Iterator[tuple[Any, Any]]:
    """mapper_init's output, ``mapper`` over every pair, mapper_final's output (mrjob's
    ``map_pairs``), driven from C: the only Python frame per record is the mapper's own."""
    if mapper is None:
        body: Iterable[tuple[Any, Any]] = pairs
    else:
        body = chain.from_iterable(_calls(mapper, pairs))
    return chain(_output_of(init), body, _output_of(final))


def _finish_groups(groups, keys, rt, all_ok, rtrip) -> list[tuple[Any, list[Any], int]]:
    """(key, values) of one spill, keys and values of types the protocol would not give back
    unchanged taken through its round trip (as mrjob's combiner would read them)."""
    _str = str
    if all_ok:
        return [(gk if type(gk) is _str else keys[gk], values, len(values))
                for gk, values in groups.items()]
    # one pass over every key and value (C loops); the per-group path only when needed
    keys_ok = rt.issuperset(map(type, keys.values()))
    str_ok = str in rt
    values_ok = rt.issuperset(map(type, chain.from_iterable(groups.values())))
    out = []
    for gk, values in groups.items():
        if type(gk) is _str:
            key = gk if str_ok else rtrip(gk, None)[0]
        else:
            key = keys[gk]
            if not keys_ok and type(key) not in rt:
                key = rtrip(key, None)[0]
        if not values_ok and not rt.issuperset(map(type, values)):
            values = [rtrip(None, v)[1] for v in values]
        out.append((key, values, len(values)))
    return out


# -- encoding for the shuffle ------------------------------------------------------------
class PairEncoder:
    """Encodes pairs into ``key``/``value`` binary columns (the bytes mrjob sorts by)."""

    _CACHE_LIMIT = 200_000

    def __init__(self, proto: Any, partitioner: Callable[[Any], int] | None = None) -> None:
        self.proto = proto
        self.dumps = getattr(proto, "_dumps", None) if _separable(proto) else None
        self.partitioner = partitioner
        self.keys: list[bytes] = []
        self.values: list[bytes | None] = []
        self.parts: list[int] = []
        self.batches: list[pa.RecordBatch] = []
        self._kcache: dict[Any, bytes] = {}
        self._vcache: dict[Any, bytes] = {}
        self.count = 0

    def add_pairs(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        keys, values, parts = self.keys, self.values, self.parts
        part_of = self.partitioner
        if self.dumps is not None:
            dumps, kc, vc = self.dumps, self._kcache, self._vcache
            for k, v in pairs:
                tk = type(k)
                ck = k if tk is str else (tk, k)
                try:
                    kb = kc[ck]
                except KeyError:
                    kb = kc[ck] = dumps(k)
                except TypeError:
                    kb = dumps(k)
                tv = type(v)
                if tv is int or tv is str or v is None or tv is bool:
                    cv = (tv, v)
                    try:
                        vb = vc[cv]
                    except KeyError:
                        vb = vc[cv] = dumps(v)
                else:
                    vb = dumps(v)
                keys.append(kb)
                values.append(vb)
                if part_of is not None:
                    parts.append(part_of(k))
            if len(kc) > self._CACHE_LIMIT:
                kc.clear()
            if len(vc) > self._CACHE_LIMIT:
                vc.clear()
        else:
            write = self.proto.write
            for k, v in pairs:
                kb, vb = split_line(write(k, v))
                keys.append(kb)
                values.append(vb)
                if part_of is not None:
                    parts.append(part_of(k))
        if len(keys) >= 1_000_000:
            self._flush()

    def add_lines(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            kb, vb = split_line(line)
            self.keys.append(kb)
            self.values.append(vb)
            if self.partitioner is not None:
                self.parts.append(self.partitioner(kb))

    def _flush(self) -> None:
        if not self.keys:
            return
        cols = [pa.array(self.keys, pa.binary()), pa.array(self.values, pa.binary())]
        names = ["key", "value"]
        if self.partitioner is not None:
            cols.append(pa.array(self.parts, pa.int32()))
            names.append("__partition__")
        self.count += len(self.keys)
        self.batches.append(pa.RecordBatch.from_arrays(cols, names))
        self.keys, self.values, self.parts = [], [], []

    def table(self) -> pa.Table:
        self._flush()
        schema = [("key", pa.binary()), ("value", pa.binary())]
        if self.partitioner is not None:
            schema.append(("__partition__", pa.int32()))
        return pa.Table.from_batches(self.batches, schema=pa.schema(schema))


def _separable(proto: Any) -> bool:
    """Whether ``write(k, v) == _dumps(k) + TAB + _dumps(v)`` (mrjob's key-caching kind)."""
    from rayemr.mapreduce.protocol import _KeyValueProtocol

    if isinstance(proto, _KeyValueProtocol):
        return True
    return any(c.__name__ == "_KeyCachingProtocol" and c.__module__ == "mrjob.protocol"
               for c in type(proto).__mro__) and type(proto).write is _mrjob_write()


def _mrjob_write():
    try:
        from mrjob.protocol import _KeyCachingProtocol
    except ImportError:  # pragma: no cover
        return None
    return _KeyCachingProtocol.write


# -- reading the shuffle -----------------------------------------------------------------
def grouped_lines(table: pa.Table) -> Iterator[tuple[bytes, list[bytes | None]]]:
    """(key bytes, [rest bytes...]) runs of a sorted shuffle partition."""
    n = table.num_rows
    if n == 0:
        return
    import numpy as np
    import pyarrow.compute as pc

    kcol = table.column("key")
    kcol = kcol.combine_chunks() if isinstance(kcol, pa.ChunkedArray) else kcol
    if n > 1:
        change = pc.not_equal(kcol.slice(1), kcol.slice(0, n - 1))
        starts = np.concatenate([[0], np.flatnonzero(
            change.to_numpy(zero_copy_only=False)) + 1, [n]])
    else:
        starts = np.array([0, 1])
    keys = kcol.take(pa.array(starts[:-1])).to_pylist()
    values = table.column("value").to_pylist()
    bounds = starts.tolist()
    for i, kb in enumerate(keys):
        yield kb, values[bounds[i]:bounds[i + 1]]


def decoded_groups(groups: Iterable[tuple[bytes, list[bytes | None]]], proto: Any,
                   on_group: Callable[[int], None] | None = None
                   ) -> Iterator[tuple[Any, Iterator[Any]]]:
    """(key, values) of sorted groups decoded by ``proto``: the key once per group, values
    lazily, repeated small values (counts, flags) decoded once per task. Adjacent groups
    whose keys decode equal (``1`` and ``1.0``) are joined, as mrjob's reducer groups
    decoded pairs."""
    loads = getattr(proto, "_loads", None) if _separable(proto) else None
    read = proto.read
    cache: dict[bytes, Any] = {}
    scalar = (int, float, str, bool, type(None))

    def value(vb: bytes) -> Any:
        try:
            return cache[vb]
        except KeyError:
            v = loads(vb)
            if len(vb) <= 24 and type(v) in scalar and len(cache) < 65536:
                cache[vb] = v
            return v

    prev_key: Any = _END
    prev_values: Any = None
    for kb, vals in groups:
        if on_group is not None:
            on_group(len(vals))
        if loads is not None:
            key = loads(kb)
            values: Any = map(value, vals)
        else:
            key = read(join_line(kb, vals[0]))[0]
            values = (read(join_line(kb, vb))[1] for vb in vals)
        if prev_key is not _END:
            try:
                same = bool(prev_key == key)
            except Exception:  # noqa: BLE001 -- keys that cannot compare are different
                same = False
            if same:
                prev_values = chain(prev_values, values)
                continue
            yield prev_key, prev_values
        prev_key, prev_values = key, values
    if prev_key is not _END:
        yield prev_key, prev_values


def run_groups(fn, init, final, groups: Iterable[tuple[Any, Iterator[Any]]]
               ) -> Iterator[tuple[Any, Any]]:
    """``init``, ``fn(key, values)`` once per group, ``final`` (a reducer or combiner with
    its ``*_init``/``*_final``); no ``fn``: the pairs pass through."""
    if init:
        yield from init() or ()
    if fn is None:
        for key, values in groups:
            for v in values:
                yield key, v
    else:
        yield from chain.from_iterable(_calls(fn, groups))
    if final:
        yield from final() or ()


def lines_of_groups(groups: Iterable[tuple[bytes, list[bytes | None]]]) -> Iterator[bytes]:
    for kb, vals in groups:
        for vb in vals:
            yield join_line(kb, vb)


def regroup_lines(lines: Iterable[bytes]) -> Iterator[tuple[bytes, list[bytes | None]]]:
    """Group consecutive lines by key bytes (after a reducer pre-filter)."""
    split = (split_line(line) for line in lines)
    for kb, run in itertools.groupby(split, key=lambda kv: kv[0]):
        yield kb, [vb for _, vb in run]
