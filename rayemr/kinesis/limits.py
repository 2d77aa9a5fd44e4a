"""Per-shard limits (AWS's defaults) and the throttle that enforces the rate limits.

Sizes are checked on every request; rates per one-second window of the injected clock:

- in: 1,000 records/s and 1 MiB/s per shard (data plus partition key, as AWS counts);
- out: 5 GetRecords calls/s and 2 MiB/s per shard. One call may return up to 10 MiB; bytes
  read drain at 2 MiB/s, and while more than a second's worth is outstanding calls are
  refused (after a 10 MiB read, for about four seconds, as AWS does).

``ShardLimits.unlimited()`` keeps the size limits of the API but lifts every rate, for local
work. A stream picks its limits when created (tag ``rayemr:limits`` = ``aws`` or
``unlimited``, else the service's default).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

MIB = 1024 * 1024

#: The tag that chooses a stream's limits at CreateStream.
LIMITS_TAG = "rayemr:limits"
PROFILES = ("aws", "unlimited")


@dataclass(frozen=True)
class ShardLimits:
    """Sizes every request must respect, and rates per shard (None = unlimited)."""

    put_records_per_s: int | None = 1000
    put_bytes_per_s: int | None = MIB
    get_calls_per_s: int | None = 5
    get_bytes_per_s: int | None = 2 * MIB
    get_max_records: int = 10_000
    get_max_bytes: int = 10 * MIB
    record_max_bytes: int = MIB
    put_records_max: int = 500
    put_request_max_bytes: int = 5 * MIB

    @classmethod
    def aws(cls) -> ShardLimits:
        return cls()

    @classmethod
    def unlimited(cls) -> ShardLimits:
        return cls(put_records_per_s=None, put_bytes_per_s=None, get_calls_per_s=None,
                   get_bytes_per_s=None)

    @classmethod
    def profile(cls, name: str) -> ShardLimits:
        if name == "aws":
            return cls.aws()
        if name == "unlimited":
            return cls.unlimited()
        raise ValueError(f"unknown limits profile {name!r}; use one of {', '.join(PROFILES)}")

    @property
    def name(self) -> str:
        if self == ShardLimits.aws():
            return "aws"
        if self == ShardLimits.unlimited():
            return "unlimited"
        return "custom"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShardLimits:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return replace(cls(), **known)


class Throttle:
    """Rate accounting of one shard over one-second windows of the caller's clock."""

    __slots__ = ("limits", "_put_window", "_put_records", "_put_bytes", "_get_window",
                 "_get_calls", "_get_debt", "_get_debt_at")

    def __init__(self, limits: ShardLimits) -> None:
        self.limits = limits
        self._put_window = -1
        self._put_records = 0
        self._put_bytes = 0
        self._get_window = -1
        self._get_calls = 0
        self._get_debt = 0.0
        self._get_debt_at = 0.0

    @property
    def unlimited(self) -> bool:
        """No put rate to enforce (record sizes need not be looked at)."""
        return self.limits.put_records_per_s is None and self.limits.put_bytes_per_s is None

    def admit_puts(self, sizes: list[int], now: float) -> int:
        """How many of the records (sizes in order) fit this second; they are counted."""
        lim = self.limits
        if lim.put_records_per_s is None and lim.put_bytes_per_s is None:
            return len(sizes)
        window = int(now)
        if window != self._put_window:
            self._put_window, self._put_records, self._put_bytes = window, 0, 0
        max_records = lim.put_records_per_s if lim.put_records_per_s is not None else len(sizes)
        room = max(0, max_records - self._put_records)
        n = min(room, len(sizes))
        if lim.put_bytes_per_s is not None:
            budget = lim.put_bytes_per_s - self._put_bytes
            taken = 0
            for i in range(n):
                if taken + sizes[i] > budget:
                    n = i
                    break
                taken += sizes[i]
            self._put_bytes += taken
        self._put_records += n
        return n

    def admit_get(self, now: float) -> bool:
        """Whether a GetRecords call may run now (counted when it may)."""
        lim = self.limits
        self._pay_debt(now)
        if lim.get_bytes_per_s is not None and self._get_debt > lim.get_bytes_per_s:
            return False
        if lim.get_calls_per_s is None:
            return True
        window = int(now)
        if window != self._get_window:
            self._get_window, self._get_calls = window, 0
        if self._get_calls >= lim.get_calls_per_s:
            return False
        self._get_calls += 1
        return True

    def got(self, nbytes: int, now: float) -> None:
        """Account for the bytes a GetRecords call returned."""
        if self.limits.get_bytes_per_s is None:
            return
        self._pay_debt(now)
        self._get_debt += nbytes

    def _pay_debt(self, now: float) -> None:
        """Bytes read drain at the per-second rate; more than a second's worth is owed."""
        rate = self.limits.get_bytes_per_s
        if rate is None:
            return
        if now > self._get_debt_at:
            self._get_debt = max(self._get_debt - rate * (now - self._get_debt_at), 0.0)
        self._get_debt_at = max(self._get_debt_at, now)
