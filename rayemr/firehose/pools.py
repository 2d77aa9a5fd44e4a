"""Where stream hosts run: in this process (``LocalPool``) or as Ray actors (``RayPool``).

On Ray every delivery stream is a detached, restartable actor (``max_restarts=-1``) named
``firehose-<name>-<created ms>`` in rayemr's namespace, spread over the cluster's nodes and
taking no CPU slot; calls are retried by Ray across a restart (``max_task_retries=-1``), and a
put carries a token so a retried put is not logged twice. The control plane itself is a
detached actor (``rayemr-firehose-control``), so every process sees the same streams.
"""
from __future__ import annotations

from typing import Any

from rayemr.firehose.host import StreamHost

CONTROL_ACTOR = "rayemr-firehose-control"


class LocalPool:
    """Hosts as objects in this process."""

    def start(self, spec: tuple) -> StreamHost:
        return StreamHost(*spec)

    def stop(self, handle: StreamHost, delete: bool) -> None:
        handle.stop(delete)

    def call(self, handle: StreamHost, method: str, *args: Any) -> Any:
        return getattr(handle, method)(*args)

    def ref(self, handle: StreamHost) -> StreamHost:
        return handle


def _unwrap(fn, *args: Any) -> Any:
    """``fn(*args)``, with an actor's own error raised as itself (not Ray's wrapper)."""
    from rayemr.runtime import remote_errors

    with remote_errors():
        return fn(*args)


class RayPool:
    """Hosts as restartable Ray actors (see the module docstring)."""

    def start(self, spec: tuple) -> Any:
        import ray

        from rayemr.runtime import NAMESPACE

        config, version, created_ms, settings = spec
        actor = ray.remote(StreamHost).options(
            name=f"firehose-{config.name}-{created_ms}", namespace=NAMESPACE,
            lifetime="detached", get_if_exists=True, max_restarts=-1, max_task_retries=-1,
            num_cpus=0, scheduling_strategy="SPREAD", max_concurrency=4,
            resources=dict(settings.host_resources),
        ).remote(config, version, created_ms, settings)
        _unwrap(lambda: ray.get(actor.ping.remote()))
        return actor

    def stop(self, handle: Any, delete: bool) -> None:
        import ray

        try:
            _unwrap(lambda: ray.get(handle.stop.remote(delete)))
        finally:
            ray.kill(handle, no_restart=True)

    def call(self, handle: Any, method: str, *args: Any) -> Any:
        import ray

        return _unwrap(lambda: ray.get(getattr(handle, method).remote(*args)))

    def ref(self, handle: Any) -> Any:
        return handle


class ActorProxy:
    """Calls on a control-plane actor as if it were local (errors arrive as themselves)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def __getattr__(self, method: str):
        import ray

        remote = getattr(self._handle, method)
        return lambda *args: _unwrap(lambda: ray.get(remote.remote(*args)))


def control_actor(settings: Any) -> ActorProxy:
    """The cluster's Firehose control plane (started with ``settings`` if not running yet)."""
    import ray

    from rayemr.firehose.control import ControlPlane
    from rayemr.runtime import NAMESPACE

    class _Control(ControlPlane):
        def __init__(self, s: Any) -> None:
            super().__init__(s, RayPool())

    actor = ray.remote(_Control).options(
        name=CONTROL_ACTOR, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
        max_restarts=-1, max_task_retries=-1, num_cpus=0, max_concurrency=8,
    ).remote(settings)
    return ActorProxy(actor)
