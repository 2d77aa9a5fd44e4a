"""Kinesis on Ray: the control plane and every shard host as actors (thin shells).

One control actor per cluster (``rayemr-kinesis`` in the ``rayemr`` namespace, detached,
restarted by Ray if it dies) owns the catalog; each shard is a detached actor of its own,
spread over the cluster's nodes, restarted by Ray after a crash and recovering its records
from its log. Clients (the Python client, the AWS endpoint, the CLI) call the control actor
for metadata and the shard actors directly for puts and reads.

A put to a shard actor that dies is answered ``InternalFailure`` (the producer retries, as
with AWS); reads, iterators and control calls wait for the restarted actor.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Sequence

from rayemr.core.errors import ConfigError
from rayemr.kinesis.coalesce import Coalescer, Put
from rayemr.kinesis.config import KinesisSettings
from rayemr.kinesis.control import ControlPlane
from rayemr.kinesis.errors import InternalFailureException, KinesisError
from rayemr.kinesis.host import ShardHost, ShardSpec
from rayemr.kinesis.records import Columns
from rayemr.runtime import remote_errors

log = logging.getLogger(__name__)

NAMESPACE = "rayemr"
CONTROL_NAME = "rayemr-kinesis"
#: Methods safe to send again to a restarted actor (they change nothing or are idempotent).
_IDEMPOTENT = {"iterator", "get_records", "close", "set_retention", "maintain", "stats", "ping"}
#: Control-plane calls that change nothing: sent again to a restarted control actor.
_READS = {"settings_", "describe_stream", "describe_stream_summary", "list_streams",
          "list_shards", "describe_limits", "route", "list_tags", "describe_consumer",
          "list_consumers", "stats", "pid"}
#: How long a call waits for a restarting actor before giving up.
RESTART_WAIT_S = 60.0
MAINTAIN_EVERY_S = 60.0


class ShardActor:
    """One shard: a ``ShardHost`` in an actor."""

    def __init__(self, spec: ShardSpec) -> None:
        self.host = ShardHost(spec)

    def put_many(self, layout, *parts):
        """``ShardHost.put_many``: ``layout`` is ``(ordering, number of parts)`` per put, the
        parts each put's ``Columns.to_wire``, back to back; errors come back as messages."""
        puts, at = [], 0
        for ordering, n in layout:
            puts.append((Columns.from_wire(*parts[at:at + n]), ordering))
            at += n
        return [r.message if isinstance(r, KinesisError) else r
                for r in self.host.put_many(puts)]

    def close(self) -> int:
        return self.host.close()

    def iterator(self, kind, sequence=None, timestamp=None) -> str:
        return self.host.iterator(kind, sequence, timestamp)

    def get_records(self, token, limit):
        return self.host.get_records(token, limit)

    def set_retention(self, retention_s: float) -> None:
        self.host.set_retention(retention_s)

    def maintain(self) -> int:
        return self.host.maintain()

    def stats(self) -> dict:
        return self.host.stats()

    def stop(self, delete: bool) -> None:
        self.host.stop(delete)

    def ping(self) -> str:
        return self.host.ping()


class _Call:
    __slots__ = ("handle", "method", "args", "ref")

    def __init__(self, handle: Any, method: str, args: tuple) -> None:
        self.handle, self.method, self.args = handle, method, args
        self.ref = getattr(handle, method).remote(*args)


class _Queued:
    __slots__ = ("coalescer", "put")

    def __init__(self, coalescer: Coalescer, put: Put) -> None:
        self.coalescer, self.put = coalescer, put


class RayPool:
    """Shard hosts as detached, restartable actors spread over the cluster.

    Puts go through one ``Coalescer`` per shard: the puts this process has for a shard at
    once travel as one call, its records flat and in pieces small enough to be sent inline
    with the call (not through the object store).
    """

    def __init__(self) -> None:
        self._coalescers: dict[str, Coalescer] = {}

    def _coalescer(self, handle: Any) -> Coalescer:
        key = handle._actor_id.hex()
        found = self._coalescers.get(key)
        if found is None:
            def send(puts: Sequence[Put]) -> _Call:
                layout, parts = [], []
                for put in puts:
                    wire = put.cols.to_wire()
                    layout.append((put.ordering, len(wire)))
                    parts.extend(wire)
                return _Call(handle, "put_many", (layout, *parts))

            found = self._coalescers.setdefault(key, Coalescer(send, self._result))
        return found

    def start(self, spec: ShardSpec) -> Any:
        import ray

        name = f"kinesis:{spec.stream}:{spec.stream_created_ms}:{spec.shard_id}"
        handle = ray.remote(ShardActor).options(
            name=name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
            max_restarts=-1, max_task_retries=0, max_concurrency=64, num_cpus=0,
            scheduling_strategy="SPREAD").remote(spec)
        self.result(self.call_many([(handle, "ping", ())])[0])  # recovered and serving
        return handle

    def stop(self, handle: Any, delete: bool) -> None:
        import ray

        try:
            ray.get(handle.stop.remote(delete), timeout=RESTART_WAIT_S)
        except Exception as exc:  # noqa: BLE001 - the actor goes anyway
            log.warning("stopping a shard actor: %s", exc)
        ray.kill(handle, no_restart=True)
        self._coalescers.pop(handle._actor_id.hex(), None)

    def call_many(self, calls: Sequence[tuple[Any, str, tuple]]) -> list[_Call | _Queued]:
        out: list[_Call | _Queued] = []
        for handle, method, args in calls:
            if method == "put_columns":
                coalescer = self._coalescer(handle)
                out.append(_Queued(coalescer, coalescer.submit(*args)))
            else:
                out.append(_Call(handle, method, args))
        return out

    def result(self, call: _Call | _Queued) -> Any:
        if isinstance(call, _Queued):
            answer = call.coalescer.result(call.put)
            if isinstance(answer, str):
                raise InternalFailureException(answer)
            return answer
        return self._result(call)

    def _result(self, call: _Call) -> Any:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        deadline = time.monotonic() + RESTART_WAIT_S
        while True:
            try:
                with remote_errors(KinesisError, ConfigError):
                    return ray.get(call.ref, timeout=RESTART_WAIT_S)
            except RayTaskError as exc:
                cause = exc.cause
                raise InternalFailureException(
                    f"shard host failed in {call.method}: {type(cause).__name__}: "
                    f"{cause}") from None
            except (RayActorError, GetTimeoutError) as exc:
                if call.method not in _IDEMPOTENT or time.monotonic() > deadline:
                    raise InternalFailureException(
                        f"shard host unavailable ({type(exc).__name__}); retry") from None
                time.sleep(0.5)
                call.ref = getattr(call.handle, call.method).remote(*call.args)


class ControlActor:
    """The control plane in an actor, with a thread applying retention every minute."""

    def __init__(self, settings: KinesisSettings) -> None:
        self.plane = ControlPlane(settings, RayPool())
        self._thread = threading.Thread(target=self._upkeep, daemon=True,
                                        name="kinesis-maintain")
        self._thread.start()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if method == "pid":
            import os

            return os.getpid()
        return getattr(self.plane, method)(*args, **kwargs)

    def _upkeep(self) -> None:
        while True:
            time.sleep(MAINTAIN_EVERY_S)
            try:
                self.plane.maintain()
            except Exception as exc:  # noqa: BLE001 - try again next time
                log.warning("kinesis upkeep: %s", exc)

    def shutdown(self) -> None:
        self.plane.shutdown()


class ControlProxy:
    """The control actor, called like a local ``ControlPlane``."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor
        self._settings: KinesisSettings | None = None

    def settings_(self) -> KinesisSettings:
        if self._settings is None:
            self._settings = self._call("settings_")
        return self._settings

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        deadline = time.monotonic() + RESTART_WAIT_S
        while True:
            try:
                with remote_errors(KinesisError, ConfigError):
                    return ray.get(self._actor.call.remote(method, *args, **kwargs))
            except RayTaskError as exc:
                cause = exc.cause
                raise InternalFailureException(
                    f"the Kinesis control plane failed in {method}: {type(cause).__name__}: "
                    f"{cause}") from None
            except RayActorError:
                if method not in _READS:  # it may or may not have happened: say so
                    raise InternalFailureException(
                        f"the Kinesis control plane restarted during {method}; check the "
                        "stream and retry") from None
                if time.monotonic() > deadline:
                    raise InternalFailureException(
                        "the Kinesis control plane is unavailable; retry") from None
                time.sleep(0.5)

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self._call(method, *args, **kwargs)


def _control(settings: KinesisSettings | None, create: bool = True) -> Any:
    import ray

    try:
        return ray.get_actor(CONTROL_NAME, namespace=NAMESPACE)
    except ValueError:
        if not create:
            return None
    return ray.remote(ControlActor).options(
        name=CONTROL_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
        max_restarts=-1, max_task_retries=0, max_concurrency=32, num_cpus=0,
    ).remote(settings or KinesisSettings())


def connect(settings: KinesisSettings | None = None, *, address: str | None = None):
    """The cluster's Kinesis service (started with ``settings`` if it is not running)."""
    import ray

    import rayemr
    from rayemr.kinesis.api import KinesisService

    if not ray.is_initialized():
        rayemr.init(address)
    proxy = ControlProxy(_control(settings))
    running = proxy.settings_()
    if settings is not None and settings.location != running.location:
        raise ConfigError(
            f"the cluster's Kinesis service keeps its streams at {running.location}, not "
            f"{settings.location}; stop it first (rayemr kinesis stop) or drop the setting")
    return KinesisService(proxy, RayPool())


def shutdown() -> bool:
    """Stop the cluster's Kinesis service: every shard actor and the control actor (streams
    stay in their logs and come back on the next start). False if none was running."""
    import ray

    actor = _control(None, create=False)
    if actor is None:
        return False
    try:
        ray.get(actor.shutdown.remote(), timeout=RESTART_WAIT_S)
    finally:
        ray.kill(actor, no_restart=True)
    return True


# -- the consumer library on Ray ------------------------------------------------------------------
class LeaseTableActor:
    """One application's lease table, shared by its workers wherever they run."""

    def __init__(self, app: str, location: str | None) -> None:
        from rayemr.kinesis.consumer import LeaseService

        self.service = LeaseService(app, location)

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.service, method)(*args)


class LeaseTableProxy:
    """A ``LeaseTableActor`` called like a ``LeaseService``."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        import ray

        return lambda *args: ray.get(self._actor.call.remote(method, *args))


def lease_table(app: str, location: str | None = None) -> LeaseTableProxy:
    """The lease table of application ``app`` on the cluster (created if needed), persisted
    at ``location`` (default: the Kinesis service's)."""
    import ray

    import rayemr

    if not ray.is_initialized():
        rayemr.init()
    if location is None:
        location = ControlProxy(_control(None)).settings_().location
    actor = ray.remote(LeaseTableActor).options(
        name=f"kinesis-leases:{app}", namespace=NAMESPACE, lifetime="detached",
        get_if_exists=True, max_restarts=-1, max_concurrency=16, num_cpus=0,
    ).remote(app, location)
    return LeaseTableProxy(actor)


class ConsumerActor:
    """A ``Worker`` running on a thread of its own actor."""

    def __init__(self, app: str, stream: str, processor_factory: Any, options: dict) -> None:
        from rayemr.kinesis.consumer import Worker
        from rayemr.kinesis.pyclient import KinesisClient

        self.worker = Worker(app, stream, processor_factory, client=KinesisClient(connect()),
                             leases=lease_table(app), **options)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"consumer-{self.worker.worker_id}")
        self.error: str | None = None
        self._thread.start()

    def _run(self) -> None:
        try:
            self.worker.run()
        except Exception as exc:  # noqa: BLE001 - reported through status()
            log.exception("consumer %s failed", self.worker.worker_id)
            self.error = f"{type(exc).__name__}: {exc}"

    def status(self) -> dict:
        return {"worker": self.worker.worker_id, "shards": sorted(self.worker.held),
                "processed": self.worker.processed, "alive": self._thread.is_alive(),
                "error": self.error}

    def stop(self) -> dict:
        self.worker.stop()
        self._thread.join(timeout=RESTART_WAIT_S)
        return self.status()


def start_consumers(app: str, stream: str, processor_factory: Any, n: int = 1,
                    **options: Any) -> list[Any]:
    """``n`` consumer actors of application ``app`` (Worker options as keywords)."""
    import ray

    lease_table(app)  # created once, before the workers race for it
    return [ray.remote(ConsumerActor).options(num_cpus=0, max_restarts=-1,
                                              max_concurrency=4).remote(
        app, stream, processor_factory, {**options, "worker_id": f"{app}-worker-{i}"})
        for i in range(n)]
