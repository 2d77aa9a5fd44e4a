"""Resources (vcores, memory) and the two ways YARN compares them.

``DefaultResourceCalculator`` (YARN's default) schedules on memory alone; vcores are carried
along but never refuse a grant. ``DominantResourceCalculator`` checks both. Shares are the
fraction of the cluster a set of containers holds, by memory or by the dominant resource.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rayemr.core.errors import ConfigError

DEFAULT_CALCULATOR = "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator"
DOMINANT_CALCULATOR = "org.apache.hadoop.yarn.util.resource.DominantResourceCalculator"
_CALCULATORS = {
    "default": DEFAULT_CALCULATOR, "defaultresourcecalculator": DEFAULT_CALCULATOR,
    DEFAULT_CALCULATOR.lower(): DEFAULT_CALCULATOR,
    "dominant": DOMINANT_CALCULATOR, "dominantresourcecalculator": DOMINANT_CALCULATOR,
    DOMINANT_CALCULATOR.lower(): DOMINANT_CALCULATOR,
}


@dataclass(frozen=True, order=True)
class Resource:
    """An amount of compute: ``vcores`` (Ray CPUs, may be fractional) and ``memory_mb``."""

    vcores: float = 1.0
    memory_mb: int = 1024

    def __post_init__(self) -> None:
        v, m = self.vcores, self.memory_mb
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"Resource vcores must be a number >= 0, got {v!r}")
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m < 0:
            raise ConfigError(f"Resource memory_mb must be a number >= 0, got {m!r}")
        object.__setattr__(self, "vcores", float(v))
        object.__setattr__(self, "memory_mb", int(m))

    def __add__(self, other: Resource) -> Resource:
        return Resource(self.vcores + other.vcores, self.memory_mb + other.memory_mb)

    def __sub__(self, other: Resource) -> Resource:
        return Resource(max(0.0, self.vcores - other.vcores),
                        max(0, self.memory_mb - other.memory_mb))

    def scale(self, factor: float) -> Resource:
        return Resource(self.vcores * factor, int(self.memory_mb * factor))

    def to_dict(self) -> dict:
        return {"vCores": self.vcores, "memory": self.memory_mb}

    def __str__(self) -> str:
        return f"<memory:{self.memory_mb}, vCores:{self.vcores:g}>"


ZERO = Resource(0.0, 0)


def calculator_name(value: str) -> str:
    """Canonical calculator class name for a ``resource-calculator`` property value."""
    name = _CALCULATORS.get(str(value).strip().lower())
    if name is None:
        raise ConfigError(
            f"yarn.scheduler.capacity.resource-calculator: unknown calculator {value!r}",
            hint="use DefaultResourceCalculator (memory only) or DominantResourceCalculator")
    return name


class Calculator:
    """Compares resources the way the configured YARN calculator does (no I/O, no Ray)."""

    __slots__ = ("dominant",)

    def __init__(self, name: str = DEFAULT_CALCULATOR) -> None:
        self.dominant = calculator_name(name) == DOMINANT_CALCULATOR

    def fits(self, need_vcores: float, need_mb: int, free_vcores: float, free_mb: int) -> bool:
        if need_mb > free_mb:
            return False
        return not self.dominant or need_vcores <= free_vcores + 1e-9

    def share(self, vcores: float, mb: int, total_vcores: float, total_mb: int) -> float:
        mem = mb / total_mb if total_mb > 0 else 0.0
        if not self.dominant:
            return mem
        cpu = vcores / total_vcores if total_vcores > 0 else 0.0
        return max(mem, cpu)
