"""S3 key prefixes with Firehose's expressions, and the names of delivered objects.

A prefix is literal text with ``!{namespace:value}`` expressions:

- ``!{timestamp:<Java DateTimeFormatter pattern>}`` -- the approximate arrival time of the
  oldest record in the object, in UTC (every use in one prefix is the same instant);
- ``!{firehose:random-string}`` -- 11 random letters and digits, one per object;
- ``!{firehose:error-output-type}`` -- why records failed (error prefixes only);
- ``!{partitionKeyFromQuery:<key>}`` / ``!{partitionKeyFromLambda:<key>}`` -- a dynamic
  partitioning key of the object's records (never in error prefixes).

A prefix without expressions gets Firehose's default time folders ``yyyy/MM/dd/HH/`` after it;
an error prefix without expressions gets ``<error-output-type>/yyyy/MM/dd/HH/``. An object is
named ``<prefix><stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>[<extension>]``.
"""
from __future__ import annotations

import random
import re
import string
import uuid
from dataclasses import dataclass
from typing import Mapping

from rayemr.firehose.errors import InvalidArgumentException
from rayemr.firehose.timefmt import Pattern, PatternError, compile_pattern

MAX_PREFIX = 1024
DEFAULT_TIME_FOLDERS = "yyyy/MM/dd/HH"
NAME_TIME = "yyyy-MM-dd-HH-mm-ss"
_EXPR = re.compile(r"!\{([^{}:]*):([^{}]*)\}")
_RANDOM_ALPHABET = string.ascii_letters + string.digits

#: Error output types (the value of ``!{firehose:error-output-type}``).
PROCESSING_FAILED = "processing-failed"
FORMAT_CONVERSION_FAILED = "format-conversion-failed"
PARTITIONING_FAILED = "partitioning-failed"
ACTIVE_PARTITION_EXCEEDED = "activePartitionExceeded"


@dataclass(frozen=True)
class Expr:
    namespace: str
    value: str
    pattern: Pattern | None = None


@dataclass(frozen=True)
class Prefix:
    """A parsed prefix: literal strings and expressions, in order."""

    text: str
    parts: tuple[str | Expr, ...]

    @property
    def has_expressions(self) -> bool:
        return any(isinstance(p, Expr) for p in self.parts)

    @property
    def partition_keys(self) -> tuple[str, ...]:
        """Names of the ``partitionKeyFrom*`` expressions, in order of first use."""
        out: list[str] = []
        for p in self.parts:
            if isinstance(p, Expr) and p.namespace.startswith("partitionKeyFrom"):
                if p.value not in out:
                    out.append(p.value)
        return tuple(out)

    def uses(self, namespace: str, value: str | None = None) -> bool:
        return any(isinstance(p, Expr) and p.namespace == namespace
                   and (value is None or p.value == value) for p in self.parts)

    def evaluate(self, oldest_arrival: float, keys: Mapping[str, str] | None = None,
                 error_type: str | None = None, rng: random.Random | None = None) -> str:
        out: list[str] = []
        token: str | None = None
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
            elif p.namespace == "timestamp":
                out.append(p.pattern.format(oldest_arrival))
            elif p.value == "random-string":
                if token is None:
                    token = "".join((rng or random).choice(_RANDOM_ALPHABET) for _ in range(11))
                out.append(token)
            elif p.value == "error-output-type":
                out.append(error_type or "")
            else:
                out.append(str((keys or {})[p.value]))
        return "".join(out)


def parse_prefix(text: str | None, *, field: str = "Prefix") -> Prefix:
    """Parse and check one prefix; ``InvalidArgumentException`` names the field and problem."""
    text = text or ""
    if len(text) > MAX_PREFIX:
        raise InvalidArgumentException(f"{field} is longer than {MAX_PREFIX} characters")
    parts: list[str | Expr] = []
    pos = 0
    for m in _EXPR.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        parts.append(_expr(m.group(1), m.group(2), field))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    for lit in parts:
        if isinstance(lit, str) and "!{" in lit:
            raise InvalidArgumentException(
                f"{field} {text!r}: an expression is not closed or has no namespace "
                "(expected !{namespace:value})")
    return Prefix(text, tuple(parts))


def _expr(namespace: str, value: str, field: str) -> Expr:
    if namespace == "timestamp":
        try:
            return Expr(namespace, value, compile_pattern(value))
        except PatternError as exc:
            raise InvalidArgumentException(
                f"{field}: !{{timestamp:{value}}} is not a valid timestamp pattern: {exc}"
            ) from None
    if namespace == "firehose":
        if value not in ("random-string", "error-output-type"):
            raise InvalidArgumentException(
                f"{field}: !{{firehose:{value}}} is unknown; use random-string or "
                "error-output-type")
        return Expr(namespace, value)
    if namespace in ("partitionKeyFromQuery", "partitionKeyFromLambda"):
        if not value:
            raise InvalidArgumentException(f"{field}: !{{{namespace}:}} names no key")
        return Expr(namespace, value)
    raise InvalidArgumentException(
        f"{field}: unknown expression namespace {namespace!r}; use timestamp, firehose, "
        "partitionKeyFromQuery or partitionKeyFromLambda")


@dataclass(frozen=True)
class KeyLayout:
    """Where a stream's objects and error objects go (validated together, as AWS does)."""

    prefix: Prefix
    error_prefix: Prefix

    def object_prefix(self, oldest_arrival: float, keys: Mapping[str, str] | None = None,
                      rng: random.Random | None = None) -> str:
        if not self.prefix.has_expressions:
            return self.prefix.text + compile_pattern(DEFAULT_TIME_FOLDERS).format(
                oldest_arrival) + "/"
        return self.prefix.evaluate(oldest_arrival, keys, rng=rng)

    def error_object_prefix(self, oldest_arrival: float, error_type: str,
                            rng: random.Random | None = None) -> str:
        if not self.error_prefix.has_expressions:
            return (self.error_prefix.text + error_type + "/"
                    + compile_pattern(DEFAULT_TIME_FOLDERS).format(oldest_arrival) + "/")
        return self.error_prefix.evaluate(oldest_arrival, error_type=error_type, rng=rng)


def key_layout(prefix: str | None, error_prefix: str | None, *,
               dynamic_partitioning: bool) -> KeyLayout:
    """Parse both prefixes and apply Firehose's rules between them."""
    p = parse_prefix(prefix, field="Prefix")
    e = parse_prefix(error_prefix, field="ErrorOutputPrefix")
    if p.uses("firehose", "error-output-type"):
        raise InvalidArgumentException(
            "Prefix: !{firehose:error-output-type} may only be used in ErrorOutputPrefix")
    if e.partition_keys:
        raise InvalidArgumentException(
            "ErrorOutputPrefix: partitionKeyFromQuery/partitionKeyFromLambda expressions "
            "are not allowed in ErrorOutputPrefix")
    if p.has_expressions and not (error_prefix or ""):
        raise InvalidArgumentException(
            "ErrorOutputPrefix is required when Prefix contains expressions")
    if p.partition_keys and not dynamic_partitioning:
        raise InvalidArgumentException(
            "Prefix uses partitionKeyFromQuery/partitionKeyFromLambda but dynamic "
            "partitioning is not enabled")
    if dynamic_partitioning:
        if not p.partition_keys:
            raise InvalidArgumentException(
                "dynamic partitioning is enabled but Prefix has no partitionKeyFromQuery or "
                "partitionKeyFromLambda expression")
        if not (error_prefix or ""):
            raise InvalidArgumentException(
                "ErrorOutputPrefix is required when dynamic partitioning is enabled")
    return KeyLayout(p, e)


def object_name(stream: str, version: int, oldest_arrival: float, extension: str = "",
                unique: str | None = None) -> str:
    """``<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid><extension>``."""
    when = compile_pattern(NAME_TIME).format(oldest_arrival)
    return f"{stream}-{version}-{when}-{unique or uuid.uuid4()}{extension}"
