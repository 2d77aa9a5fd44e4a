"""Hash keys: the 128-bit key space shards divide, and which shard a record goes to.

A record's hash key is the MD5 of its partition key (UTF-8) read as a big-endian unsigned
128-bit integer, or its ``ExplicitHashKey`` when given. A shard owns an inclusive range
``[start, end]``; the open shards of a stream cover ``0 .. 2**128 - 1`` with no gap and no
overlap. ``even_ranges(n)`` divides the space as ``CreateStream`` does.
"""
from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Sequence

MAX_HASH_KEY = 2**128 - 1
_SPACE = 2**128
#: Partition keys are 1 to 256 Unicode characters.
PARTITION_KEY_MAX = 256


def hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis derives from a partition key."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def parse_hash_key(text: object) -> int | None:
    """A decimal hash key in ``0 .. 2**128-1``, or None when ``text`` is not one."""
    if not isinstance(text, str) or not text.isdigit() or not text.isascii():
        return None
    if len(text) > 39 or (len(text) > 1 and text[0] == "0"):
        return None
    value = int(text)
    return value if value <= MAX_HASH_KEY else None


@dataclass(frozen=True, order=True)
class HashRange:
    """An inclusive range of hash keys."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end <= MAX_HASH_KEY:
            raise ValueError(f"bad hash key range [{self.start}, {self.end}]")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self.start <= key <= self.end

    def adjacent(self, other: HashRange) -> bool:
        return self.end + 1 == other.start or other.end + 1 == self.start

    def union(self, other: HashRange) -> HashRange:
        if not self.adjacent(other):
            raise ValueError(f"{self} and {other} are not adjacent")
        return HashRange(min(self.start, other.start), max(self.end, other.end))

    def to_wire(self) -> dict[str, str]:
        return {"StartingHashKey": str(self.start), "EndingHashKey": str(self.end)}

    @classmethod
    def from_wire(cls, data: dict[str, str]) -> HashRange:
        return cls(int(data["StartingHashKey"]), int(data["EndingHashKey"]))


def even_ranges(n: int, span: HashRange = HashRange(0, MAX_HASH_KEY)) -> list[HashRange]:
    """``span`` cut into ``n`` contiguous ranges of (nearly) equal size."""
    if n < 1:
        raise ValueError("n must be positive")
    size = span.end - span.start + 1
    starts = [span.start + size * i // n for i in range(n)]
    ends = [s - 1 for s in starts[1:]] + [span.end]
    return [HashRange(s, e) for s, e in zip(starts, ends)]


class Router:
    """Maps hash keys to the open shard owning them (ranges sorted by start, covering all)."""

    __slots__ = ("_starts", "_ids")

    def __init__(self, ranges: Sequence[tuple[HashRange, str]]) -> None:
        ordered = sorted(ranges)
        check_cover([r for r, _ in ordered])
        self._starts = [r.start for r, _ in ordered]
        self._ids = [sid for _, sid in ordered]

    def shard_for(self, key: int) -> str:
        return self._ids[bisect.bisect_right(self._starts, key) - 1]

    def route(self, partition_key: str, explicit: int | None = None) -> str:
        return self.shard_for(hash_key(partition_key) if explicit is None else explicit)


def check_cover(ranges: Sequence[HashRange]) -> None:
    """Raise ``ValueError`` unless sorted ``ranges`` cover the key space exactly once."""
    expected = 0
    for r in ranges:
        if r.start != expected:
            raise ValueError(f"hash key ranges leave a gap or overlap at {expected}")
        expected = r.end + 1
    if expected != _SPACE:
        raise ValueError("hash key ranges do not reach 2**128 - 1")
