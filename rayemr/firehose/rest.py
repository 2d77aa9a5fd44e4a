"""Firehose's metrics on the YARN-style REST API: ``/ws/v1/cluster/firehose`` (every stream)
and ``/ws/v1/cluster/firehose/<name>``, read from the cluster's Firehose control plane."""
from __future__ import annotations

from typing import Any

from rayemr.core.errors import InputNotFoundError


def route(parts: list[str], query: dict[str, list[str]]) -> dict[str, Any]:
    """Answer ``GET /ws/v1/cluster/firehose[/<name>]``."""
    import ray

    from rayemr.firehose.config import check_name
    from rayemr.firehose.pools import CONTROL_ACTOR, ActorProxy
    from rayemr.runtime import NAMESPACE

    if len(parts) > 1:
        raise InputNotFoundError(f"no such resource firehose/{'/'.join(parts)}")
    name = check_name(parts[0]) if parts else None
    try:
        control = ActorProxy(ray.get_actor(CONTROL_ACTOR, namespace=NAMESPACE))
    except ValueError:
        if name:
            raise InputNotFoundError(f"delivery stream {name!r} not found") from None
        return {"deliveryStreams": None}
    metrics = control.metrics(name)
    streams = [{"name": n, **m} for n, m in sorted(metrics.items())]
    if name:
        return {"deliveryStream": streams[0]}
    return {"deliveryStreams": {"deliveryStream": streams} if streams else None}
