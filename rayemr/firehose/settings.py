"""The operator's Firehose settings (not the API's: a remote client cannot change these).

Built once at the edge (CLI, endpoint, Python) and passed down. ``location`` holds the
catalog and every stream's write-ahead log (``$RAYEMR_HOME/firehose`` by default; an
``s3://`` prefix keeps them safe from the loss of a node). ``bucket_root`` maps a BucketARN's
bucket to storage: ``s3://`` (default) writes to S3, a local folder makes ``arn:aws:s3:::b``
the folder ``<root>/b`` (a data lake on one machine). ``lambdas`` are the transformation
functions a LambdaArn may name. ``from_properties`` builds them from the ``firehose-site``
classification (``rayemr.firehose.location=...``), as ``rayemr aws serve --conf`` gives it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from rayemr.core.errors import ConfigError
from rayemr.fs.config import EmrfsConfig
from rayemr.hive.metastore import default_home


#: Bounds of ``wal_segment_bytes`` (a frame bigger than what is left of a segment grows it, so
#: a put of 4 MiB fits any; a segment is prepared and replayed whole).
MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES = 1 << 20, 1 << 30


@dataclass(frozen=True)
class FirehoseSettings:
    location: str = ""
    bucket_root: str = "s3://"
    metastore_path: str | None = None
    warehouse: str | None = None
    lambdas: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    region: str = "us-east-1"
    account: str = "123456789012"
    wal_sync: str = "fsync"
    #: Size of a write-ahead log segment; a synced log keeps its open one prepared in full
    #: (zeros on disk), so this is also the disk each stream holds at least.
    wal_segment_bytes: int = 64 * 1024 * 1024
    active_partition_limit: int = 500
    #: Bytes a stream may hold in buffers before puts fail per record ("Slow down.").
    max_buffered_bytes: int = 512 * 1024 * 1024
    emrfs: EmrfsConfig | None = None
    #: Ray custom resources each stream's actor asks for (e.g. ``(("firehose", 0.01),)``), to
    #: keep delivery on the nodes that offer them; none by default (any node).
    host_resources: tuple[tuple[str, float], ...] = ()
    #: Where KinesisStreamAsSource streams find Kinesis: its backend ("ray": the cluster's
    #: service; "local": the one serving ``kinesis_location`` in the host's process).
    kinesis_backend: str = "ray"
    kinesis_location: str | None = None

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", str(default_home() / "firehose"))
        if self.wal_sync not in ("fsync", "flush"):
            raise ConfigError(f"wal_sync {self.wal_sync!r}: expected fsync or flush")
        if self.kinesis_backend not in ("ray", "local"):
            raise ConfigError(f"kinesis_backend {self.kinesis_backend!r}: expected ray or local")
        if not MIN_SEGMENT_BYTES <= self.wal_segment_bytes <= MAX_SEGMENT_BYTES:
            raise ConfigError(f"wal_segment_bytes {self.wal_segment_bytes}: expected "
                              f"{MIN_SEGMENT_BYTES} (1 MiB) to {MAX_SEGMENT_BYTES} (1 GiB)")
        if self.active_partition_limit < 1:
            raise ConfigError("active_partition_limit must be at least 1")
        object.__setattr__(self, "lambdas", tuple(
            sorted(dict(self.lambdas).items(), key=lambda kv: kv[0])))

    @classmethod
    def of(cls, lambdas: Mapping[str, Any] | None = None, **kw: Any) -> "FirehoseSettings":
        return cls(lambdas=tuple((lambdas or {}).items()), **kw)

    def bucket_url(self, bucket: str) -> str:
        root = self.bucket_root
        if root in ("s3://", "s3a://", "s3n://"):
            return f"{root}{bucket}"
        return f"{root.rstrip('/')}/{bucket}"

    def wal_url(self, stream: str, created_ms: int) -> str:
        return f"{self.location.rstrip('/')}/wal/stream-{stream}/{created_ms}"

    def stream_arn(self, name: str) -> str:
        return f"arn:aws:firehose:{self.region}:{self.account}:deliverystream/{name}"


def from_environment(**overrides: Any) -> FirehoseSettings:
    """Settings from ``RAYEMR_FIREHOSE_LOCATION`` / ``RAYEMR_FIREHOSE_BUCKET_ROOT``."""
    kw: dict[str, Any] = {}
    if os.environ.get("RAYEMR_FIREHOSE_LOCATION"):
        kw["location"] = os.environ["RAYEMR_FIREHOSE_LOCATION"]
    if os.environ.get("RAYEMR_FIREHOSE_BUCKET_ROOT"):
        kw["bucket_root"] = os.environ["RAYEMR_FIREHOSE_BUCKET_ROOT"]
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return FirehoseSettings(**kw)


#: ``firehose-site`` property -> settings field (``rayemr.firehose.lambda.<name>`` registers a
#: transformation function as ``module:function``).
PROPERTIES = {
    "rayemr.firehose.location": "location",
    "rayemr.firehose.bucket-root": "bucket_root",
    "rayemr.firehose.metastore": "metastore_path",
    "rayemr.firehose.warehouse": "warehouse",
    "rayemr.firehose.region": "region",
    "rayemr.firehose.account-id": "account",
    "rayemr.firehose.wal-sync": "wal_sync",
    "rayemr.firehose.wal-segment-bytes": "wal_segment_bytes",
    "rayemr.firehose.active-partition-limit": "active_partition_limit",
    "rayemr.firehose.max-buffered-bytes": "max_buffered_bytes",
}
_LAMBDA = "rayemr.firehose.lambda."
_INTEGERS = ("active_partition_limit", "max_buffered_bytes", "wal_segment_bytes")


def from_properties(props: Mapping[str, str] | None = None, *, source: str = "firehose-site",
                    **overrides: Any) -> FirehoseSettings:
    """Settings from ``rayemr.firehose.*`` properties (others are ignored), then
    ``overrides``; environment defaults as ``from_environment``. One-line errors."""
    kw: dict[str, Any] = {}
    lambdas: dict[str, str] = {}
    for key, value in (props or {}).items():
        if not key.startswith("rayemr.firehose."):
            continue
        if key.startswith(_LAMBDA) and len(key) > len(_LAMBDA):
            if ":" not in str(value):
                raise ConfigError(f"{source}: {key}={value!r}: expected module:function")
            lambdas[key[len(_LAMBDA):]] = str(value)
            continue
        name = PROPERTIES.get(key)
        if name is None:
            raise ConfigError(f"{source}: unknown property {key!r}; known: "
                              f"{', '.join(sorted(PROPERTIES))}, {_LAMBDA}<name>")
        if name in _INTEGERS:
            try:
                kw[name] = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{source}: {key}={value!r} is not an integer") from None
        else:
            kw[name] = str(value).strip()
    if lambdas:
        kw["lambdas"] = tuple(lambdas.items())
    return from_environment(**{**kw, **overrides})
