"""Where stream hosts run: in this process (``LocalPool``) or as Ray actors (``RayPool``).

On Ray every delivery stream is a detached, restartable actor (``max_restarts=-1``) named
``firehose-<name>-<created ms>`` in rayemr's namespace, spread over the cluster's nodes and
taking no CPU slot; calls are retried by Ray across a restart (``max_task_retries=-1``), and a
put carries a token so a retried put is not logged twice. Puts skip the actor call: they go to
the host's put port (``DirectPuts``, ``rayemr.firehose.direct``), asked of the actor once. The
control plane itself is a detached actor (``rayemr-firehose-control``), so every process sees
the same streams.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from rayemr.firehose.direct import Endpoint, PutConnection, ProtocolError
from rayemr.firehose.errors import FirehoseError
from rayemr.firehose.host import StreamHost

CONTROL_ACTOR = "rayemr-firehose-control"
log = logging.getLogger(__name__)


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
    """Hosts as restartable Ray actors (see the module docstring); ``direct=False`` sends
    puts as actor calls too."""

    def __init__(self, direct: bool = True) -> None:
        self.direct = direct
        self._lines: dict[Any, DirectPuts] = {}
        self._lock = threading.Lock()

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

        with self._lock:
            line = self._lines.pop(handle._actor_id, None)
        if line is not None:
            line.close()
        try:
            _unwrap(lambda: ray.get(handle.stop.remote(delete)))
        finally:
            ray.kill(handle, no_restart=True)

    def call(self, handle: Any, method: str, *args: Any) -> Any:
        import ray

        if method == "put_deferred":  # settled by the host before it answers
            method = "put"
        if method == "put" and self.direct:
            return self._line(handle).put(*args)
        return _unwrap(lambda: ray.get(getattr(handle, method).remote(*args)))

    def _line(self, handle: Any) -> DirectPuts:
        key = handle._actor_id
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = DirectPuts(handle)
            return line

    def ref(self, handle: Any) -> Any:
        return handle


class DirectPuts:
    """Puts to one Ray-hosted stream over its host's put port (``rayemr.firehose.direct``):
    the endpoint asked of the actor once, a connection per concurrent caller kept open. A
    connection that breaks (the actor restarted, its node died) is dropped, the endpoint asked
    again -- Ray waits for the restarted actor -- and the put sent again with its token, so the
    stream logs it once; an actor that is gone for good raises Ray's error, as a call would.
    If the port cannot be reached at all (a firewall between the nodes), puts fall back to
    actor calls, with a warning."""

    ATTEMPTS = 5

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._endpoint: Endpoint | None = None
        self._idle: list[PutConnection] = []
        self._lock = threading.Lock()
        self.through_ray = False  # the port was out of reach: actor calls

    def put(self, datas: Any, token: bytes) -> Any:
        for attempt in range(self.ATTEMPTS if not self.through_ray else 0):
            if attempt:
                time.sleep(min(1.0, 0.05 * 2 ** attempt))
            try:
                conn = self._connection(fresh=attempt > 0)
            except (OSError, ProtocolError):  # not reachable now; maybe never
                continue
            try:
                result = conn.put(datas, token)
            except (OSError, ProtocolError, ValueError):
                conn.close()  # broken mid-put: sent again, with its token, on a new one
                continue
            except FirehoseError:  # the stream's answer, read whole: the connection goes on
                self._release(conn)
                raise
            except BaseException:
                conn.close()  # its answer may be unread: never reused
                raise
            self._release(conn)
            return result
        if not self.through_ray:
            self.through_ray = True
            log.warning("the put port of a delivery stream's host cannot be reached; its puts "
                        "go through Ray actor calls from now on")
        import ray

        return _unwrap(lambda: ray.get(self._handle.put.remote(datas, token)))

    def _release(self, conn: PutConnection) -> None:
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _connection(self, fresh: bool) -> PutConnection:
        import ray

        with self._lock:
            if not fresh and self._idle:
                return self._idle.pop()
            if fresh:  # the host may have moved: every kept connection is suspect
                for conn in self._idle:
                    conn.close()
                self._idle.clear()
                self._endpoint = None
            endpoint = self._endpoint
        if endpoint is None:
            endpoint = _unwrap(lambda: ray.get(self._handle.put_endpoint.remote()))
            with self._lock:
                self._endpoint = endpoint
        return PutConnection(endpoint)


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
