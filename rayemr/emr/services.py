"""Starting and stopping the services a cluster runs: YARN, the metastore, HiveServer2.

Each configuration classification goes to the component that reads it: ``capacity-scheduler``
and ``yarn-site`` to the ResourceManager and NodeManagers, ``hive-site`` to the metastore and
HiveServer2. A service whose package is not installed is reported as not running rather than
failing the cluster; a service that fails to start fails the cluster start.
"""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from rayemr.core.errors import ClusterError, RayEmrError
from rayemr.emr.configurations import ClusterConfig

log = logging.getLogger(__name__)


@dataclass
class ServiceStatus:
    name: str
    state: str  # RUNNING | NOT_INSTALLED | STOPPED | FAILED
    detail: str = ""
    started_here: bool = False
    handle: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, str]:
        return {"Name": self.name, "State": self.state, "Detail": self.detail}


def _call_with_supported(fn, **kwargs):
    """Call ``fn`` with the keyword arguments it accepts."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return fn(**kwargs)
    return fn(**{k: v for k, v in kwargs.items() if k in params})


def yarn_config(config: ClusterConfig) -> Any:
    """The YARN layer's own configuration built from ``yarn-site`` + ``capacity-scheduler``."""
    try:
        from rayemr.yarn import YarnConfig
    except ImportError:
        return None
    props = {**config.classification("yarn-site"), **config.classification("capacity-scheduler")}
    return YarnConfig.from_properties(props)


def start_yarn(config: ClusterConfig) -> ServiceStatus:
    try:
        import rayemr.yarn as yarn

        start = getattr(yarn, "start", None)
    except ImportError:
        return ServiceStatus("YARN", "NOT_INSTALLED")
    if start is None:
        return ServiceStatus("YARN", "NOT_INSTALLED", "rayemr.yarn.start is not available")
    existed = _yarn_running()
    try:
        handle = _call_with_supported(
            start, config=yarn_config(config),
            yarn_site=config.classification("yarn-site"),
            capacity_scheduler=config.classification("capacity-scheduler"))
    except RayEmrError:
        raise
    except Exception as exc:  # noqa: BLE001 - report any start failure as the cluster's
        raise ClusterError(f"YARN did not start: {type(exc).__name__}: {exc}") from None
    rest = getattr(handle, "rest_url", "")
    return ServiceStatus("YARN", "RUNNING", "ResourceManager and NodeManagers"
                         + (f"; REST API {rest}" if rest else "")
                         + ("; already running, queues refreshed" if existed else ""),
                         started_here=not existed, handle=handle)


def _yarn_running() -> bool:
    """Whether a ResourceManager runs already (then the cluster must not stop it)."""
    try:
        import ray

        from rayemr.yarn.client import NAMESPACE, RM_NAME
    except ImportError:
        return False
    try:
        ray.get_actor(RM_NAME, namespace=NAMESPACE)
        return True
    except ValueError:
        return False


def stop_yarn(status: ServiceStatus) -> None:
    if not status.started_here:
        return
    try:
        import rayemr.yarn as yarn

        stop = getattr(yarn, "stop", None)
        if stop is not None:
            stop()
        status.state = "STOPPED"
    except Exception as exc:  # noqa: BLE001 - termination carries on
        log.warning("stopping YARN: %s", exc)


def exclude_node(node_id: str, reason: str) -> bool:
    """Tell the ResourceManager a node must take no work; False if YARN cannot be told."""
    try:
        import rayemr.yarn as yarn
    except ImportError:
        return False
    for name in ("exclude_node", "decommission_node", "mark_node_unusable"):
        fn = getattr(yarn, name, None)
        if fn is not None:
            try:
                _call_with_supported(fn, node_id=node_id, reason=reason)
                return True
            except Exception as exc:  # noqa: BLE001
                log.warning("excluding node %s: %s", node_id, exc)
                return False
    return False


def start_hiveserver2(config: ClusterConfig, *, host: str, port: int) -> ServiceStatus:
    try:
        from rayemr.hive import server
    except ImportError:
        return ServiceStatus("HiveServer2", "NOT_INSTALLED")
    start = getattr(server, "start", None) or getattr(server, "start_server", None)
    if start is None:
        return ServiceStatus("HiveServer2", "NOT_INSTALLED",
                             "rayemr.hive.server has no start function")
    try:
        handle = _call_with_supported(start, host=host, port=port,
                                      hive_site=config.classification("hive-site"),
                                      hiveconf=config.classification("hive-site"))
    except RayEmrError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ClusterError(f"HiveServer2 did not start: {type(exc).__name__}: {exc}") from None
    return ServiceStatus("HiveServer2", "RUNNING", f"{host}:{port}", started_here=True,
                         handle=handle)


def stop_service(status: ServiceStatus) -> None:
    if not status.started_here or status.handle is None:
        return
    for name in ("stop", "shutdown", "close"):
        fn = getattr(status.handle, name, None)
        if callable(fn):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001
                log.warning("stopping %s: %s", status.name, exc)
            break
    status.state = "STOPPED"
