"""Local mode and attaching: the one place rayemr starts or joins Ray.

``init()`` joins the cluster named by ``address`` (or Ray's ``RAY_ADDRESS``), else the cluster
``rayemr start`` runs for this ``$RAYEMR_HOME`` (saying so in one line), or else starts a
local Ray instance with the CPUs and memory asked for. Every command and job runner calls it,
so all of them attach to a running cluster instead of starting their own when one is named.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from rayemr.core.errors import ClusterError, ConfigError

log = logging.getLogger(__name__)

#: Ray namespace holding rayemr's named actors (ResourceManager, metastore, ...).
NAMESPACE = "rayemr"
#: Seconds to wait for the cluster's address to accept a TCP connection before joining.
CONNECT_TIMEOUT_S = 5.0
#: Ray's setting of its worker processes' niceness (Ray's default: 15).
WORKER_NICENESS = "RAY_worker_niceness"

_started_here = False


@contextmanager
def remote_errors(*types: type[BaseException]) -> Iterator[None]:
    """Raise a remote call's own error instead of Ray's wrapper around it.

    An actor method or task that raised, say, ``InputNotFoundError`` reaches the caller as a
    ``RayTaskError``; inside this block that error is raised as itself (its one-line
    message, no remote traceback) when it is one of ``types`` (by default any ``Exception``
    that is not itself a Ray error). Anything else passes through unchanged.
    """
    import ray

    try:
        yield
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, types or (Exception,)) and not isinstance(
                cause, ray.exceptions.RayError):
            raise cause from None
        raise


@dataclass(frozen=True)
class RuntimeInfo:
    """What ``init()`` connected to."""

    address: str
    started_locally: bool
    namespace: str = NAMESPACE

    @property
    def num_cpus(self) -> float:
        """The cluster's CPUs now (asked of Ray when read: ``init()`` is called once per job
        and query, and most callers only want Ray up)."""
        import ray

        return float(ray.cluster_resources().get("CPU", 0.0))


#: Ray loggers whose start-up notices (e.g. "Token authentication is enabled") are not
#: errors; rayemr shows only their errors unless logging is at INFO (the CLI's -v).
RAY_NOTICE_LOGGERS = ("ray._private.authentication.authentication_token_setup",)


def quiet_ray_notices() -> None:
    """Keep Ray's start-up notices off stderr (errors still show)."""
    for name in RAY_NOTICE_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _tidy_output() -> None:
    """Before Ray starts: no notices unless asked for (-v), and no colour codes around the
    ``(ActorName pid=...)`` prefix of forwarded output when stderr is not a terminal."""
    if not logging.getLogger().isEnabledFor(logging.INFO):
        quiet_ray_notices()
    stream = sys.stderr
    if not (stream is not None and hasattr(stream, "isatty") and stream.isatty()):
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")


def _prepare_token_auth() -> None:
    """Let this process attach to a token-authenticated cluster named by address.

    Ray >= 2.60 turns token authentication on for clusters ``ray.init()``/``ray start`` create
    and keeps the token in ``~/.ray/auth_token``, but only switches it on for a process that
    joins with ``address="auto"``; one naming an explicit address (as ``RAY_ADDRESS`` does)
    must set ``RAY_AUTH_MODE=token`` itself, and before Ray reads its configuration. Do it
    when a token is there and the user chose no mode.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:  # Ray's own check: token file, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # older Ray: no token authentication
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of an address like ``HOST:PORT``/``ray://HOST:PORT``, else None.

    ``"auto"`` resolves as Ray resolves it ($RAY_ADDRESS, then the cluster ``ray start`` runs
    on this machine); None when no explicit host and port are known.
    """
    text = address.strip()
    if text == "auto":
        env = os.environ.get("RAY_ADDRESS", "").strip()
        if env and env != "auto":
            return host_port(env)
        try:
            from ray._private.services import find_bootstrap_address

            found = find_bootstrap_address(None)
        except Exception:  # noqa: BLE001 -- Ray's own lookup will report the problem
            return None
        return host_port(found) if found and found != "auto" else None
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        return None
    return host, int(port)


#: How the CLI was given the address it put in RAY_ADDRESS (for hints), else None.
_cli_origin: str | None = None

#: What to do about an unreachable address, by where the address came from.
_UNREACHABLE_HINTS = {
    "--address": "drop --address to run locally",
    "RAY_ADDRESS": "unset RAY_ADDRESS to run locally",
    "argument": "pass the address of a running cluster",
    "rayemr start": "see 'rayemr status', or 'rayemr stop' and start it again",
}


def _started_cluster():
    """The cluster ``rayemr start`` runs for this ``$RAYEMR_HOME`` (said once), or None."""
    from rayemr.client import state

    cluster = state.running()
    if cluster is not None:
        state.announce(cluster)
    return cluster


def use_address(address: str, origin: str = "--address") -> None:
    """The CLI's ``--address``: every runner of this process (and its children) joins it."""
    global _cli_origin
    os.environ["RAY_ADDRESS"] = address
    _cli_origin = origin


def address_origin(explicit: str | None = None) -> str:
    """Where the address ``init`` would use comes from: argument, --address or RAY_ADDRESS."""
    if explicit:
        return "argument"
    return _cli_origin or "RAY_ADDRESS"


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S,
                    origin: str = "--address") -> None:
    """Fail fast with a ClusterError when nothing listens at the cluster's address.

    Ray itself retries a wrong address for a very long time, printing a warning each time.
    """
    target = host_port(address)
    if target is None:
        return
    host, port = target
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or (str(exc) or type(exc).__name__)
        if isinstance(exc, socket.timeout):
            reason = f"no answer within {timeout:g}s"
        what = _UNREACHABLE_HINTS.get(origin, _UNREACHABLE_HINTS["argument"])
        raise ClusterError(
            f"cannot reach the Ray cluster at {host}:{port} (from {origin}): {reason}; "
            f"start one with 'ray start --head' or {what}") from None


def init(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    memory: int | None = None,
    object_store_memory: int | None = None,
    quiet: bool = True,
    log_to_driver: bool = True,
) -> RuntimeInfo:
    """Start a local Ray instance, or join the running cluster at ``address``.

    ``address`` falls back to ``RAY_ADDRESS``; ``"auto"`` joins the cluster started on this
    machine with ``ray start``. Without an address a new local instance is started with
    ``num_cpus`` CPUs (default: all) and ``memory`` bytes of task memory. Calling ``init``
    when Ray is already initialized in this process returns the current connection.
    ``log_to_driver=False`` keeps the output of Ray's workers and actors off this process's
    terminal (they still go to Ray's log files).
    """
    import ray

    global _started_here
    if ray.is_initialized():
        return _info(started=_started_here)
    origin = address_origin(address)
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        cluster = _started_cluster()
        if cluster is not None:
            address, origin = cluster.ray_address, "rayemr start"
    _tidy_output()
    kwargs: dict = {
        "namespace": NAMESPACE,
        "logging_level": logging.WARNING if quiet else logging.INFO,
        "log_to_driver": log_to_driver,
    }
    if address:
        if num_cpus is not None or memory is not None:
            log.info("joining %s: num_cpus/memory are the cluster's own, ignoring", address)
        check_reachable(address, origin=origin)
        _prepare_token_auth()
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            what = _UNREACHABLE_HINTS.get(origin, _UNREACHABLE_HINTS["argument"])
            raise ClusterError(
                f"cannot join the Ray cluster at {address!r} (from {origin}): {exc}",
                hint=f"is 'ray start --head' running there? {what}") from None
        _started_here = False
        return _info(started=False)
    if num_cpus is not None and num_cpus <= 0:
        raise ConfigError(f"num_cpus must be positive, got {num_cpus}")
    kwargs.update(include_dashboard=False, num_cpus=num_cpus)
    if WORKER_NICENESS not in os.environ:
        # Ray starts its workers at niceness 15; they run the job's tasks (YARN's containers,
        # which run at the NodeManager's priority), so on a machine shared with other work a
        # niced task gets a small share of a core against any process at normal priority.
        kwargs["_system_config"] = {"worker_niceness": 0}
    if memory is not None:
        kwargs["_memory"] = int(memory)
    if object_store_memory is not None:
        kwargs["object_store_memory"] = int(object_store_memory)
    # "local" forces a fresh instance even if RAY_ADDRESS was set to "" or a stale file exists.
    _start_local(kwargs)
    _started_here = True
    return _info(started=True)


def _start_local(kwargs: dict) -> None:
    """``ray.init`` of a new local instance; if it fails or is interrupted, stop whatever it
    had started (GCS, raylet, agents), so nothing is left running."""
    import ray

    before = set(_descendants(os.getpid()))
    try:
        ray.init(address="local", **kwargs)
    except BaseException as exc:
        try:
            ray.shutdown()
        except Exception:  # noqa: BLE001 -- a half-started node; its processes go below
            pass
        _stop_processes([p for p in _descendants(os.getpid()) if p not in before])
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ClusterError(f"Ray did not start on this machine: {first}",
                           hint="the machine may be overloaded; try again") from None


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first), from /proc; empty where there is none."""
    parents: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(stat[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _stop_processes(pids: list[int], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL what is still there after ``grace`` seconds."""
    import signal
    import time

    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except OSError:
                continue
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if _running(p)]
            time.sleep(0.05)
        pids = alive
        if not pids:
            return


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _info(started: bool) -> RuntimeInfo:
    import ray

    ctx = ray.get_runtime_context()
    return RuntimeInfo(address=ctx.gcs_address, started_locally=started,
                       namespace=ctx.namespace or NAMESPACE)


def started_here() -> bool:
    """True when this process started the Ray instance it is connected to."""
    ray = sys.modules.get("ray")
    return bool(_started_here and ray is not None and ray.is_initialized())


def shutdown() -> None:
    """Disconnect from Ray (stopping it when this process started it)."""
    import ray

    global _started_here
    if ray.is_initialized():
        ray.shutdown()
    _started_here = False
