"""``YarnConfig``: the ResourceManager's settings (``yarn-site``) plus its queues.

Built once at the edge from defaults, a dict of ``yarn-site``/``capacity-scheduler``
properties, or a file, and passed to the ResourceManager actor unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from rayemr.core.errors import ConfigError
from rayemr.yarn.config import PREFIX as CAPACITY_PREFIX
from rayemr.yarn.config import CapacitySchedulerConfig

DEFAULT_WEBAPP_PORT = 8088


@dataclass(frozen=True)
class YarnConfig:
    scheduler: CapacitySchedulerConfig = field(default_factory=CapacitySchedulerConfig.default)
    #: REST API bind address; loopback unless configured (``yarn.resourcemanager.webapp.address``).
    webapp_host: str = "127.0.0.1"
    #: 0 picks a free port; if the port is taken the RM falls back to a free one and says so.
    webapp_port: int = DEFAULT_WEBAPP_PORT
    webapp_enabled: bool = True
    #: Persist applications so a restarted ResourceManager recovers them.
    recovery_enabled: bool = True
    #: Directory of the state store; default: ``<ray session dir>/rayemr-yarn``.
    state_dir: str | None = None
    #: Where container logs are aggregated (``yarn.nodemanager.remote-app-log-dir``);
    #: default ``<state dir>/logs``.
    log_dir: str | None = None
    #: How often the RM looks for joined or lost Ray nodes and dead ApplicationMasters.
    monitor_interval_s: float = 0.5
    #: After a kill, how long the AM may clean up before it is stopped forcibly.
    am_kill_grace_s: float = 5.0
    #: How long a finished AM keeps its result for ``YarnClient.result``.
    result_retention_s: float = 600.0
    #: An unmanaged AM (one running in its client) silent this long fails its application
    #: (``yarn.am.liveness-monitor.expiry-interval-ms``; shorter than YARN's 10 minutes
    #: because rayemr's AMs heartbeat several times a second).
    am_expiry_s: float = 60.0
    #: ApplicationMaster attempts per application (``yarn.resourcemanager.am.max-attempts``):
    #: an AM that dies or whose node is lost is started again, its job from the start.
    am_max_attempts: int = 2
    #: Idle ApplicationMaster processes kept per node for reuse (``rayemr.yarn.am.pool-size``);
    #: 0: every application gets a new process that exits after it.
    am_pool_size: int = 2
    #: Applications one AM process runs before it retires (``rayemr.yarn.am.max-applications``),
    #: so whatever an ``am_main`` leaves behind in its process is bounded.
    am_max_applications: int = 100
    #: Finished applications remembered (``yarn.resourcemanager.max-completed-applications``).
    max_completed_apps: int = 1000

    @classmethod
    def from_properties(cls, props: Mapping[str, object] | None) -> YarnConfig:
        """``yarn-site`` keys plus ``yarn.scheduler.capacity.*`` keys in one mapping."""
        props = dict(props or {})
        cap = {k: v for k, v in props.items() if str(k).startswith(CAPACITY_PREFIX)}
        cfg = cls(scheduler=CapacitySchedulerConfig.from_properties(cap))
        changes: dict = {}
        addr = props.get("yarn.resourcemanager.webapp.address")
        if addr is not None:
            host, _, port = str(addr).rpartition(":")
            if not host or not port.isdigit() or not 0 <= int(port) < 65536:
                raise ConfigError(f"yarn.resourcemanager.webapp.address: {addr!r} is not host:port")
            changes.update(webapp_host=host, webapp_port=int(port))
        for key, attr in (("yarn.resourcemanager.recovery.enabled", "recovery_enabled"),
                          ("yarn.webapp.ui2.enable", None)):
            if key in props and attr:
                changes[attr] = _bool(key, props[key])
        if "yarn.resourcemanager.fs.state-store.uri" in props:
            changes["state_dir"] = str(props["yarn.resourcemanager.fs.state-store.uri"]).removeprefix("file://")
        if props.get("yarn.nodemanager.remote-app-log-dir"):
            changes["log_dir"] = str(props["yarn.nodemanager.remote-app-log-dir"]
                                     ).removeprefix("file://")
        key = "yarn.am.liveness-monitor.expiry-interval-ms"
        if key in props:
            try:
                changes["am_expiry_s"] = int(props[key]) / 1000.0
            except (TypeError, ValueError):
                raise ConfigError(f"{key}: {props[key]!r} is not an integer") from None
            if changes["am_expiry_s"] <= 0:
                raise ConfigError(f"{key}: {props[key]!r} must be positive")
        for key, attr in (("yarn.resourcemanager.max-completed-applications", "max_completed_apps"),
                          ("rayemr.yarn.am.pool-size", "am_pool_size"),
                          ("rayemr.yarn.am.max-applications", "am_max_applications"),
                          ("yarn.resourcemanager.am.max-attempts", "am_max_attempts")):
            if key in props:
                try:
                    changes[attr] = int(props[key])
                except (TypeError, ValueError):
                    raise ConfigError(f"{key}: {props[key]!r} is not an integer") from None
                if changes[attr] < (1 if attr in ("am_max_applications", "am_max_attempts")
                                    else 0):
                    raise ConfigError(f"{key}: {props[key]!r} is too small")
        return replace(cfg, **changes)

    @classmethod
    def load(cls, value: object) -> YarnConfig:
        """A ``YarnConfig``, a ``CapacitySchedulerConfig``, a dict of properties, a file path."""
        if value is None:
            return cls()
        if isinstance(value, YarnConfig):
            return value
        if isinstance(value, CapacitySchedulerConfig):
            return cls(scheduler=value)
        if isinstance(value, Mapping):
            return cls.from_properties(value)
        if isinstance(value, (str, Path)):
            return cls(scheduler=CapacitySchedulerConfig.from_file(value))
        raise ConfigError(f"cannot build a YARN configuration from {type(value).__name__}")


def _bool(key: str, value: object) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{key}: {value!r} is not true or false")
