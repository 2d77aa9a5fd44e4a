"""Kinesis settings, built once at the edge (CLI, endpoint, cluster start) and passed down.

Every value comes from a built-in default, the ``kinesis-site`` classification (or another
properties mapping) or an explicit override; ``explain()`` says which. The storage location
defaults to ``$RAYEMR_HOME/kinesis`` (``~/.rayemr/kinesis``); an ``s3://`` location makes
every shard log and the catalog survive the loss of any node.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from rayemr.core.errors import ConfigError
from rayemr.kinesis.limits import PROFILES, ShardLimits

MIB = 1024 * 1024

#: property name -> settings field
PROPERTIES = {
    "rayemr.kinesis.location": "location",
    "rayemr.kinesis.limits": "limits",
    "rayemr.kinesis.shard-limit": "shard_limit",
    "rayemr.kinesis.account-id": "account",
    "rayemr.kinesis.region": "region",
    "rayemr.kinesis.fsync": "fsync",
    "rayemr.kinesis.group-commit.linger-ms": "linger_ms",
    "rayemr.kinesis.segment-bytes": "segment_bytes",
    "rayemr.kinesis.cache-bytes": "cache_bytes",
}


def default_location() -> str:
    home = os.environ.get("RAYEMR_HOME") or os.path.join(os.path.expanduser("~"), ".rayemr")
    return os.path.join(home, "kinesis")


@dataclass(frozen=True)
class KinesisSettings:
    """How the Kinesis service stores and limits streams (see the module docstring)."""

    location: str = field(default_factory=default_location)
    limits: str = "aws"  # the limits profile of streams created without the rayemr:limits tag
    shard_limit: int = 500
    account: str = "000000000000"
    region: str = "us-east-1"
    fsync: bool = True
    linger_ms: float | None = None  # group-commit wait; None: 0 on local disk, 20 on S3
    segment_bytes: int = 64 * MIB
    cache_bytes: int = 64 * MIB  # records kept in memory per shard (older ones are re-read)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.limits not in PROFILES:
            raise ConfigError(f"rayemr.kinesis.limits: {self.limits!r} is not one of "
                              f"{', '.join(PROFILES)}")
        if not (isinstance(self.account, str) and len(self.account) == 12
                and self.account.isdigit()):
            raise ConfigError(f"rayemr.kinesis.account-id: {self.account!r} is not 12 digits")
        for name, low in (("shard_limit", 1), ("segment_bytes", 1024), ("cache_bytes", 0)):
            if getattr(self, name) < low:
                raise ConfigError(f"{_prop(name)}: must be at least {low}, got "
                                  f"{getattr(self, name)}")
        if self.linger_ms is not None and not 0 <= self.linger_ms <= 10_000:
            raise ConfigError(f"rayemr.kinesis.group-commit.linger-ms: {self.linger_ms} is not "
                              "between 0 and 10000")

    @property
    def on_object_store(self) -> bool:
        from rayemr.fs.resolve import parse_url

        return parse_url(self.location).kind != "local"

    @property
    def effective_linger_ms(self) -> float:
        if self.linger_ms is not None:
            return self.linger_ms
        return 20.0 if self.on_object_store else 0.0

    def default_limits(self) -> ShardLimits:
        return ShardLimits.profile(self.limits)

    def arn(self, stream: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account}:stream/{stream}"

    @classmethod
    def from_properties(cls, props: Mapping[str, Any] | None = None, *,
                        source: str = "kinesis-site", **overrides: Any) -> KinesisSettings:
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for key, value in (props or {}).items():
            if not key.startswith("rayemr.kinesis."):
                continue
            name = PROPERTIES.get(key)
            if name is None:
                raise ConfigError(f"{source}: unknown property {key!r}; known: "
                                  f"{', '.join(sorted(PROPERTIES))}")
            values[name] = _convert(name, key, value)
            sources[name] = source
        for name, value in overrides.items():
            if value is not None:
                values[name] = _convert(name, _prop(name), value)
                sources[name] = "argument"
        return cls(**values, sources=sources)

    def explain(self) -> dict[str, tuple[Any, str]]:
        """Every setting with where it came from."""
        return {_prop(f.name): (getattr(self, f.name), self.sources.get(f.name, "default"))
                for f in fields(self) if f.name != "sources"}

    def with_(self, **changes: Any) -> KinesisSettings:
        return replace(self, **changes)


def _prop(name: str) -> str:
    return next((k for k, v in PROPERTIES.items() if v == name), name)


def _convert(name: str, key: str, value: Any) -> Any:
    if name in ("shard_limit", "segment_bytes", "cache_bytes"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: {value!r} is not an integer") from None
    if name == "linger_ms":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: {value!r} is not a number") from None
    if name == "fsync":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise ConfigError(f"{key}: {value!r} is not true or false")
        return text == "true"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return value.strip()
