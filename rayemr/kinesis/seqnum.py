"""Sequence numbers: unique per shard, increasing, comparable across a stream's shards.

A sequence number is a decimal string of 56 digits, as AWS's are: ``49``, a 36-digit
*position* and the 18-digit index of the shard that assigned it. Positions come from one
counter per shard that never goes back: the next position is the largest of the previous one
plus one, the current time in microseconds, and (when asked) the position of a caller's
``SequenceNumberForOrdering`` plus one. A child shard starts above its parents' last
positions, so along a shard lineage, and for one partition key, later records always have
larger numbers. The shard index lets a shard refuse a number minted by another shard.
"""
from __future__ import annotations

from rayemr.kinesis.errors import InvalidArgumentException

_PREFIX = "49"
_POS_DIGITS = 36
_SHARD_DIGITS = 18
LENGTH = len(_PREFIX) + _POS_DIGITS + _SHARD_DIGITS


def encode(position: int, shard_index: int) -> str:
    return f"{_PREFIX}{position:0{_POS_DIGITS}d}{shard_index:0{_SHARD_DIGITS}d}"


def parts(shard_index: int) -> tuple[str, str]:
    """The fixed text around a shard's positions: ``prefix + f"{pos:036d}" + suffix``."""
    return _PREFIX, f"{shard_index:0{_SHARD_DIGITS}d}"


def encode_range(first: int, count: int, shard_index: int) -> list[str]:
    """``encode(p, shard_index)`` for ``p`` in ``first .. first+count-1``, in C-level passes."""
    last = first + count - 1
    digits = len(str(first))
    if count <= 0 or len(str(last)) != digits or digits > _POS_DIGITS:
        return [encode(p, shard_index) for p in range(first, first + max(count, 0))]
    template = f"{_PREFIX}{'0' * (_POS_DIGITS - digits)}{{}}{shard_index:0{_SHARD_DIGITS}d}"
    return list(map(template.format, range(first, last + 1)))


def decode(text: object) -> tuple[int, int] | None:
    """``(position, shard_index)`` of a sequence number, or None when it is not one of ours."""
    if (not isinstance(text, str) or len(text) != LENGTH or not text.isdigit()
            or not text.isascii() or not text.startswith(_PREFIX)):
        return None
    body = text[len(_PREFIX):]
    return int(body[:_POS_DIGITS]), int(body[_POS_DIGITS:])


def parse(text: object, *, what: str = "StartingSequenceNumber", stream: str = "",
          shard_id: str = "") -> tuple[int, int]:
    """Like :func:`decode` but raising AWS's ``InvalidArgumentException`` on a bad number."""
    decoded = decode(text)
    if decoded is None:
        where = f" for shard {shard_id} in stream {stream}" if shard_id else ""
        raise InvalidArgumentException(
            f"Invalid {what}{where}: {str(text)[:128]!r} is not a sequence number of this "
            "service")
    return decoded


def shard_index(shard_id: str) -> int:
    """``shardId-000000000007`` -> 7."""
    return int(shard_id.rsplit("-", 1)[1])


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"
