"""Starting and stopping the services a cluster runs: YARN, the metastore, HiveServer2.

Each configuration classification goes to the component that reads it: ``capacity-scheduler``
and ``yarn-site`` to the ResourceManager and NodeManagers, ``hive-site`` to the metastore and
HiveServer2. A service whose package is not installed is reported as not running rather than
failing the cluster; a service that fails to start fails the cluster start.
"""
from __future__ import annotations

import inspect
import logging
import os
import threading
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
        from rayemr.yarn import is_running
    except ImportError:
        return False
    return is_running()


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


def decommission_node(node_id: str, reason: str) -> None:
    """Take a node out of YARN's scheduling (no new containers there); a node that joined a
    moment ago is registered and excluded at once.

    Raises ``UserError`` when it is the last node able to run containers (the ResourceManager
    refuses), ``InputNotFoundError`` when neither Ray nor the ResourceManager knows the node
    and ``ClusterError`` when YARN is not running.
    """
    from rayemr.yarn import decommission_node as decommission

    decommission(node_id, reason)


def hold_node(node_id: str, reason: str) -> bool:
    """Keep a joining node out of YARN while its bootstrap actions run; False when YARN
    will not (the last node able to run containers, or YARN not running)."""
    try:
        decommission_node(node_id, reason)
        return True
    except RayEmrError as exc:
        log.info("node %s not held out of YARN during bootstrap: %s", node_id, exc)
        return False


def step_tag(step_id: str) -> str:
    """The tag every YARN application of a step carries (see ``yarn.client.TAGS_ENV``)."""
    return f"emr-step:{step_id}"


def tagged_applications(tag: str) -> list[tuple[str, str]]:
    """``(application id, leaf queue)`` of the YARN applications carrying ``tag``, in
    submission order (none when YARN is not running)."""
    if not _yarn_running():  # a YarnClient would start YARN
        return []
    try:
        from rayemr.yarn import YarnClient

        reports = YarnClient().list(tags=[tag])
    except Exception as exc:  # noqa: BLE001 - no YARN: no applications
        log.info("cannot list the applications tagged %s: %s", tag, exc)
        return []
    return [(r.app_id, (r.queue or "").removeprefix("root."))
            for r in sorted(reports, key=lambda r: (r.submit_time or 0, r.app_id))]


def kill_applications(tag: str) -> None:
    """Kill the unfinished YARN applications carrying ``tag`` (best effort)."""
    if not _yarn_running():
        return
    try:
        from rayemr.yarn import YarnClient

        client = YarnClient()
        reports = client.list(tags=[tag])
    except Exception:  # noqa: BLE001 - no YARN: nothing to kill
        return
    for r in reports:
        if not r.state.final:
            try:
                client.kill(r.app_id)
            except Exception:  # noqa: BLE001 - finished meanwhile
                pass


def recommission_node(node_id: str) -> None:
    """Put a node back into YARN's scheduling (best effort: logs what fails)."""
    try:
        from rayemr.yarn import recommission_node as recommission

        recommission(node_id)
    except Exception as exc:  # noqa: BLE001 - YARN gone or node lost: nothing to undo
        log.warning("recommissioning node %s: %s", node_id, exc)


#: Settings no client session of the cluster's HiveServer2 gets: credentials and where they
#: come from, endpoints and the metastore's connection (the server itself uses them).
_SERVER_ONLY = ("fs.", "hadoop.security.", "javax.jdo.", "datanucleus.", "hive.metastore.",
                "hive.server2.", "rayemr.hiveserver2.")


def session_settings(props: dict[str, str], hidden) -> dict[str, str]:
    """What of the cluster's configuration a client session gets as defaults: neither a
    hidden value (``hive.conf.hidden.list``, anything naming a secret) nor a server-only
    setting -- not core-site wholesale."""
    return {k: v for k, v in props.items()
            if not hidden(k) and not k.startswith(_SERVER_ONLY)}


class HiveServer2Service:
    """Body of the actor that serves HiveServer2 on the master node."""

    def __init__(self, hive_site: dict[str, str], host: str, port: int,
                 metastore_path: str | None, warehouse: str | None,
                 session_defaults: dict[str, str]) -> None:
        from rayemr.hive.server import HiveServer2, ServerConfig, default_session_factory

        options = tuple((k, v) for k, v in (("metastore_path", metastore_path),
                                            ("warehouse", warehouse)) if v)
        config = ServerConfig.from_properties(hive_site, host=host, port=port,
                                              session_options=options)
        base = default_session_factory(dict(options))
        defaults = session_settings(session_defaults, config.settings().hidden)

        def factory(req):
            # the cluster's settings sessions need are their defaults; the client's own win
            session = base(req)
            for key, value in defaults.items():
                if key not in req.hiveconf:
                    session.hiveconf[key] = value
            return session

        self.server = HiveServer2(config, session_factory=factory)
        self.host = config.host
        self.port = self.server.start()

    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.stop()


def start_hiveserver2(config: ClusterConfig, *, host: str, port: int, node_id: str,
                      name: str) -> ServiceStatus:
    """HiveServer2 in its own actor on the master, over the cluster's metastore."""
    try:
        import rayemr.hive.server  # noqa: F401
    except ImportError:
        return ServiceStatus("HiveServer2", "NOT_INSTALLED")
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from rayemr.emr.configurations import hive_metastore_options

    from rayemr.emr.configurations import METASTORE_URL, WAREHOUSE_DIR

    metastore, warehouse = hive_metastore_options(config)
    defaults = {**config.classification("core-site"), **config.classification("mapred-site"),
                **{k: v for k, v in config.classification("hive-site").items()
                   if k not in (METASTORE_URL, WAREHOUSE_DIR)}}
    actor = ray.remote(HiveServer2Service).options(
        name=name, namespace=_namespace(), lifetime="detached", num_cpus=0, max_restarts=0,
        max_concurrency=4,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
    ).remote(config.classification("hive-site"), host, port, metastore, warehouse, defaults)
    try:
        address = ray.get(actor.address.remote(), timeout=120)
    except ray.exceptions.RayActorError as exc:
        cause = getattr(exc, "cause", None) or exc
        raise ClusterError(f"HiveServer2 did not start: {_short(cause)}") from None
    except Exception as exc:  # noqa: BLE001
        ray.kill(actor)
        raise ClusterError(f"HiveServer2 did not start: {_short(exc)}") from None
    return ServiceStatus("HiveServer2", "RUNNING", address, started_here=True, handle=actor)


class AwsEndpointService:
    """Body of the actor that runs ``rayemr aws serve`` on the master, in its own process
    (the endpoint is an interface above EMR: the cluster runs it as a daemon, as EMR does)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "rayemr.cli", *argv],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, **env})
        self.url = ""
        lines = []
        for line in self.proc.stdout:  # the first line names the URL, or says what failed
            lines.append(line.strip())
            if " at http://" in line:
                self.url = line.split(" at ", 1)[1].split()[0]
                break
        if not self.url:
            self.proc.wait(timeout=30)
            raise ClusterError(f"the AWS endpoint did not start: {' '.join(lines)[-300:]}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def address(self) -> str:
        return self.url

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - it goes anyway
            self.proc.kill()


def start_aws_endpoint(config: ClusterConfig, *, node_id: str, name: str
                       ) -> ServiceStatus | None:
    """The AWS endpoint on the master when ``aws-endpoint`` enables it (Kinesis streams of
    ``kinesis-site``'s ``rayemr.kinesis.create-streams`` are created first); None if not asked."""
    from rayemr.emr.configurations import kinesis_streams

    site = config.classification("kinesis-site")
    endpoint = config.classification("aws-endpoint")
    streams = kinesis_streams(site)
    enabled = endpoint.get("rayemr.aws.endpoint.enabled", "false").strip().lower() == "true"
    if not streams and not enabled:
        return None
    props = {k: v for k, v in site.items() if k != "rayemr.kinesis.create-streams"}
    _create_streams(props, streams)
    if not enabled:
        return ServiceStatus("Kinesis", "RUNNING", f"streams {', '.join(n for n, _ in streams)}")
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    argv = ["aws", "serve", "--backend", "ray",
            "--host", endpoint.get("rayemr.aws.endpoint.host", "127.0.0.1"),
            "--port", endpoint.get("rayemr.aws.endpoint.port", "4566"),
            "--services", endpoint.get("rayemr.aws.endpoint.services", "kinesis")]
    if endpoint.get("rayemr.aws.endpoint.credentials"):
        argv += ["--credentials", endpoint["rayemr.aws.endpoint.credentials"]]
    for key, value in props.items():
        argv += ["--conf", f"{key}={value}"]
    env = {"RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    actor = ray.remote(AwsEndpointService).options(
        name=name, namespace=_namespace(), lifetime="detached", num_cpus=0, max_restarts=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
    ).remote(argv, env)
    try:
        url = ray.get(actor.address.remote(), timeout=180)
    except Exception as exc:  # noqa: BLE001
        ray.kill(actor)
        cause = getattr(exc, "cause", None) or exc
        raise ClusterError(f"the AWS endpoint did not start: {_short(cause)}") from None
    return ServiceStatus("AWS endpoint", "RUNNING", url, started_here=True, handle=actor)


def _create_streams(props: dict[str, str], streams: list[tuple[str, int]]) -> None:
    """Create the configured streams on the cluster's Kinesis service (kept if they exist)."""
    if not streams:
        return
    import rayemr.kinesis as kinesis
    from rayemr.kinesis.errors import ResourceInUseException

    client = kinesis.client("ray", kinesis.KinesisSettings.from_properties(props)
                            if props else None)
    for stream, shards in streams:
        try:
            client.create_stream(StreamName=stream, ShardCount=shards)
        except ResourceInUseException:
            pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _namespace() -> str:
    from rayemr.runtime import NAMESPACE

    return NAMESPACE


def stop_service(status: ServiceStatus) -> None:
    if not status.started_here or status.handle is None:
        return
    import ray

    try:
        ray.get(status.handle.stop.remote(), timeout=30)
    except Exception as exc:  # noqa: BLE001 - termination carries on
        log.warning("stopping %s: %s", status.name, exc)
    try:
        ray.kill(status.handle)
    except Exception:  # noqa: BLE001 - already gone
        pass
    status.state = "STOPPED"
