"""rayemr.firehose: Firehose delivery streams on Ray -- records put directly or read from a
rayemr Kinesis stream (``source``), buffered, partitioned (JQ), transformed (Lambda contract),
converted to Parquet/ORC with a Hive table's schema and delivered whole into S3 or a Hive
table, with a write-ahead log behind every acknowledgement.

``client()`` gives a boto3-shaped client: ``backend="ray"`` (default) uses the cluster's
control-plane actor and one restartable actor per stream; ``backend="local"`` runs everything
in this process. The same API is served as ``Firehose_20150804.*`` on ``rayemr aws serve``.

Layers: pure core (``requests``, ``chunks``, ``buffers``, ``prefixes``, ``timefmt``,
``ndjson``, ``partitioning``, ``transform``, ``convert``, ``routing``, ``config``, ``states``)
-> ``wal``/``sink`` (EMRFS, metastore) ->
``delivery`` (one stream's work) -> ``source`` (a Kinesis stream read into it) ->
``host``/``pools``/``control`` -> ``api``/``pyclient``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["client", "service"]


def service(backend: str = "ray", settings: Any = None, *, address: str | None = None):
    """``(FirehoseService, close)`` for a backend; settings default from the environment.
    Kinesis-sourced streams read Kinesis on the same backend; ``address`` is the Ray cluster
    to join (default: ``RAY_ADDRESS`` or a local one)."""
    from dataclasses import replace

    from rayemr.firehose.api import FirehoseService
    from rayemr.firehose.settings import from_environment

    settings = settings or from_environment()
    if backend in ("ray", "local") and settings.kinesis_backend != backend:
        settings = replace(settings, kinesis_backend=backend)
    if backend == "local":
        from rayemr.firehose.control import ControlPlane
        from rayemr.firehose.pools import LocalPool

        pool = LocalPool()
        control = ControlPlane(settings, pool)
        return FirehoseService(control, pool), control.close
    if backend != "ray":
        from rayemr.core.errors import ConfigError

        raise ConfigError(f"unknown Firehose backend {backend!r}; use 'ray' or 'local'")
    import rayemr
    from rayemr.firehose.pools import RayPool, control_actor

    rayemr.init(address)  # the current connection if this process has one
    return FirehoseService(control_actor(settings), RayPool()), None


def client(backend: str = "ray", settings: Any = None):
    """A boto3-shaped Firehose client (see the package docstring)."""
    from rayemr.firehose.pyclient import FirehoseClient

    svc, close = service(backend, settings)
    return FirehoseClient(svc, close)
