"""Kinesis Data Streams on Ray: sharded, durable streams with Kinesis's own semantics.

- ``client()`` — a Python client with boto3's Kinesis methods and answers, on the Ray cluster
  (shards are actors spread over its nodes) or in this process (``backend="local"``).
- ``KinesisSettings`` — where logs and the catalog live, default limits, group commit.
- The pure core: ``hashkeys`` (MD5 routing over 0..2**128-1), ``seqnum`` (sequence numbers),
  ``iterators`` (opaque, signed, expiring), ``shard`` (``ShardCore``), ``stream``
  (``StreamCore``: lineage, resharding), ``limits`` (AWS's per-shard limits), ``validate``.
- The shells: ``host`` (a shard's log and group commit), ``control`` (catalog, resharding),
  ``api`` (``KinesisService``: every API operation), ``pyclient`` (the boto3-shaped client),
  ``local`` and ``actors`` (in-process or on Ray).
- The consumer library (KCL's model): ``consumer`` (workers, record processors) over
  ``leases`` (a lease table with checkpoints).

The HTTP endpoint speaking Kinesis's JSON protocol is ``rayemr aws serve`` (``rayemr.aws``).
"""
from __future__ import annotations

from typing import Any

from rayemr.kinesis.config import KinesisSettings
from rayemr.kinesis.errors import KinesisError

__all__ = ["KinesisError", "KinesisSettings", "client", "service"]


def service(backend: str = "ray", settings: KinesisSettings | None = None, *,
            address: str | None = None) -> Any:
    """The ``KinesisService`` of ``backend`` (``"ray"``: the cluster's; ``"local"``: this
    process's) for ``settings`` (default: ``KinesisSettings()``)."""
    if backend == "local":
        from rayemr.kinesis.local import LocalKinesis

        return LocalKinesis.open(settings or KinesisSettings()).service
    if backend == "ray":
        from rayemr.kinesis.actors import connect

        return connect(settings, address=address)
    from rayemr.core.errors import UserError

    raise UserError(f"unknown Kinesis backend {backend!r}; use 'ray' or 'local'")


def client(backend: str = "ray", settings: KinesisSettings | None = None, *,
           address: str | None = None, max_attempts: int = 5) -> Any:
    """A boto3-shaped Kinesis client (see ``rayemr.kinesis.pyclient.KinesisClient``).

    ``backend="ray"`` attaches to (or starts) the Ray runtime and the cluster's Kinesis
    service, starting it with ``settings`` if it is not running; ``"local"`` serves
    ``settings.location`` from this process.
    """
    from rayemr.kinesis.pyclient import KinesisClient

    return KinesisClient(service(backend, settings, address=address), max_attempts=max_attempts)
