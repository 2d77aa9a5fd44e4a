"""Protocols: how keys and values become lines and back, with mrjob's names and formats.

A protocol has ``read(line: bytes) -> (key, value)`` and ``write(key, value) -> bytes``
(a line without its newline). The formats are byte-for-byte mrjob's, so a rayemr job's output
reads like an mrjob job's and mrjob's own protocol classes work here too.

``ROUNDTRIP_TYPES`` tells the engine which value types come back unchanged from
``read(write(k, v))``; values of those types skip the encode/decode round trip when a
combiner runs in the same process (everything else takes the round trip, as in mrjob).
"""
from __future__ import annotations

import json
import pickle
from json.encoder import encode_basestring_ascii as _encode_json_str
from typing import Any

_JSON_SAFE = (str, int, float, bool, type(None))


class _KeyValueProtocol:
    """Key and value encoded separately, joined by a tab; the key is decoded once per run."""

    ROUNDTRIP_TYPES: tuple[type, ...] = ()
    _last_key_encoded = None
    _last_key_decoded = None

    def _loads(self, value: bytes) -> Any:
        raise NotImplementedError

    def _dumps(self, value: Any) -> bytes:
        raise NotImplementedError

    def read(self, line: bytes) -> tuple[Any, Any]:
        raw_key, raw_value = line.split(b"\t", 1)
        if raw_key != self._last_key_encoded:
            self._last_key_encoded = raw_key
            self._last_key_decoded = self._loads(raw_key)
        return self._last_key_decoded, self._loads(raw_value)

    def write(self, key: Any, value: Any) -> bytes:
        return self._dumps(key) + b"\t" + self._dumps(value)


_decode_json = json.JSONDecoder().decode


def _json_loads(raw: bytes) -> Any:
    """``json.loads(raw)``, without its encoding detection for the usual UTF-8 text."""
    try:
        return _decode_json(raw.decode("utf-8"))
    except ValueError:  # not UTF-8, a BOM, or bad JSON: json.loads decides (or explains)
        return json.loads(raw)


def _json_dumps(value: Any) -> bytes:
    """``json.dumps(value).encode()``; strings and integers without the encoder object."""
    t = type(value)
    if t is str:
        return _encode_json_str(value).encode("ascii")
    if t is int:
        return int.__repr__(value).encode("ascii")
    return json.dumps(value).encode("utf-8")


class JSONProtocol(_KeyValueProtocol):
    """``json(key) TAB json(value)`` -- mrjob's default internal and output protocol."""

    ROUNDTRIP_TYPES = _JSON_SAFE

    def _loads(self, value: bytes) -> Any:
        return _json_loads(value)

    def _dumps(self, value: Any) -> bytes:
        return _json_dumps(value)


class JSONValueProtocol:
    """The value as one JSON document per line; keys are read as None (JSON lines input)."""

    ROUNDTRIP_TYPES = _JSON_SAFE

    def read(self, line: bytes) -> tuple[Any, Any]:
        return None, json.loads(line)

    def write(self, key: Any, value: Any) -> bytes:
        return json.dumps(value).encode("utf-8")


class PickleProtocol(_KeyValueProtocol):
    """Escaped pickles of key and value (any Python object)."""

    ROUNDTRIP_TYPES = (object,)

    def _loads(self, value: bytes) -> Any:
        return pickle.loads(value.decode("unicode_escape").encode("latin_1"))

    def _dumps(self, value: Any) -> bytes:
        return pickle.dumps(value).decode("latin_1").encode("unicode_escape")


class PickleValueProtocol:
    ROUNDTRIP_TYPES = (object,)

    def read(self, line: bytes) -> tuple[Any, Any]:
        return None, pickle.loads(line.decode("unicode_escape").encode("latin_1"))

    def write(self, key: Any, value: Any) -> bytes:
        return pickle.dumps(value).decode("latin_1").encode("unicode_escape")


class BytesProtocol:
    """``key TAB value`` as raw bytes; a line without a tab reads as (line, None)."""

    ROUNDTRIP_TYPES = (bytes,)

    def read(self, line: bytes) -> tuple[Any, Any]:
        kv = line.split(b"\t", 1)
        return (kv[0], kv[1]) if len(kv) == 2 else (kv[0], None)

    def write(self, key: Any, value: Any) -> bytes:
        return b"\t".join(x for x in (key, value) if x is not None)


class BytesValueProtocol:
    ROUNDTRIP_TYPES = (bytes,)

    def read(self, line: bytes) -> tuple[Any, Any]:
        return None, line

    def write(self, key: Any, value: Any) -> bytes:
        return value


def _decode_text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin_1")


class TextProtocol:
    """UTF-8 ``key TAB value`` (key/value text as Hadoop streaming writes it); a line that
    is not UTF-8 falls back to latin-1, as mrjob does."""

    ROUNDTRIP_TYPES = (str,)

    def read(self, line: bytes) -> tuple[Any, Any]:
        kv = _decode_text(line).split("\t", 1)
        return (kv[0], kv[1]) if len(kv) == 2 else (kv[0], None)

    def write(self, key: Any, value: Any) -> bytes:
        return b"\t".join(x.encode("utf-8") for x in (key, value) if x is not None)


class TextValueProtocol:
    """The line as a str value (key None): mrjob's default input protocol. Lines that are not
    UTF-8 fall back to latin-1; use :class:`StrictTextValueProtocol` to reject them."""

    ROUNDTRIP_TYPES = (str,)

    def read(self, line: bytes) -> tuple[Any, Any]:
        return None, _decode_text(line)

    def write(self, key: Any, value: Any) -> bytes:
        return value.encode("utf-8")


class StrictTextValueProtocol(TextValueProtocol):
    """Like TextValueProtocol, but a line that is not valid UTF-8 is a malformed record."""

    def read(self, line: bytes) -> tuple[Any, Any]:
        return None, line.decode("utf-8")


# mrjob's aliases (Python 3)
RawProtocol = TextProtocol
RawValueProtocol = TextValueProtocol
StandardJSONProtocol = JSONProtocol
StandardJSONValueProtocol = JSONValueProtocol

_MRJOB_ROUNDTRIP = {
    "JSONProtocol": _JSON_SAFE, "StandardJSONProtocol": _JSON_SAFE,
    "SimpleJSONProtocol": _JSON_SAFE, "UltraJSONProtocol": (str, int, bool, type(None)),
    "RapidJSONProtocol": _JSON_SAFE, "JSONValueProtocol": _JSON_SAFE,
    "StandardJSONValueProtocol": _JSON_SAFE, "PickleProtocol": (object,),
    "PickleValueProtocol": (object,), "TextProtocol": (str,), "RawProtocol": (str,),
    "TextValueProtocol": (str,), "RawValueProtocol": (str,), "BytesProtocol": (bytes,),
    "BytesValueProtocol": (bytes,),
}


def roundtrip_types(protocol: Any) -> tuple[type, ...]:
    """Value types ``protocol`` gives back unchanged (empty: always round-trip)."""
    types = getattr(protocol, "ROUNDTRIP_TYPES", None)
    if types is not None:
        return tuple(types)
    mod = type(protocol).__module__ or ""
    if mod.startswith("mrjob."):
        return _MRJOB_ROUNDTRIP.get(type(protocol).__name__, ())
    return ()


def split_line(line: bytes) -> tuple[bytes, bytes | None]:
    """A line's sort/group key (bytes before the first tab) and the rest, as mrjob sorts."""
    i = line.find(b"\t")
    if i < 0:
        return line, None
    return line[:i], line[i + 1:]


def join_line(key: bytes, rest: bytes | None) -> bytes:
    return key if rest is None else key + b"\t" + rest
