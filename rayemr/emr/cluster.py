"""``rayemr.emr.Cluster``: create, use and terminate an EMR-style cluster from Python.

::

    from rayemr.emr import Cluster

    with Cluster(name="etl", configurations="s3://conf/cluster.json",
                 bootstrap_actions=["s3://conf/setup.sh"], log_uri="s3://logs/") as c:
        ids = c.add_steps([{"Type": "HIVE", "Name": "load",
                            "Args": ["-f", "s3://scripts/load.q", "-d", "IN=s3://data/in"]},
                           {"Type": "MAPREDUCE", "Args": ["jobs/wordcount.py", "s3://in",
                                                          "-o", "s3://out"]}])
        print(c.wait(ids))

The cluster lives in a named, detached controller actor on the master node (this machine's
Ray node), so other processes (the ``rayemr emr`` CLI) reach it by id. Configurations,
bootstrap actions and steps are validated here, before anything starts.
"""
from __future__ import annotations

import os
import time
from typing import Any, Iterable, Sequence

from rayemr.core.errors import ClusterError, ConfigError, InputNotFoundError, UserError
from rayemr.core.secrets import check_url
from rayemr.emr.bootstrap import BootstrapAction
from rayemr.emr.clusterstate import parse_cluster_states
from rayemr.emr.configurations import ClusterConfig, load_configurations
from rayemr.emr.controller import ClusterController, ClusterSpec, default_emr_home
from rayemr.emr.stepqueue import new_id
from rayemr.emr.steps import StepSpec, parse_step_states, resolve_local_paths
from rayemr.runtime import remote_errors

ACTOR_PREFIX = "emr-cluster:"


def _namespace() -> str:
    from rayemr.runtime import NAMESPACE

    return NAMESPACE


class Cluster:
    """An EMR-style cluster on the Ray cluster this process is (or gets) connected to."""

    def __init__(self, name: str = "rayemr", *, configurations: Any = None,
                 bootstrap_actions: Iterable[Any] = (), steps: Iterable[Any] = (),
                 log_uri: str | None = None, idle_timeout: float | None = None,
                 keep_alive: bool = True, applications: Sequence[str] = ("Hadoop", "Hive"),
                 hiveserver2_port: int | None = None, hiveserver2_host: str = "127.0.0.1",
                 address: str | None = None, num_cpus: int | None = None,
                 work_dir: str | None = None, emrfs: Any = None) -> None:
        # Validate at the edge: nothing starts if anything here is wrong.
        config = load_configurations(configurations, emrfs=emrfs)
        self._emrfs = emrfs if emrfs is not None else _emrfs_for(config)
        if idle_timeout is not None and idle_timeout <= 0:
            raise ConfigError(f"idle timeout must be positive seconds, got {idle_timeout}")
        apps = tuple(_application(a) for a in applications)
        self.spec = ClusterSpec(
            name=name, config=config,
            bootstrap_actions=tuple(BootstrapAction.from_any(b) for b in bootstrap_actions),
            log_uri=_log_uri(log_uri), idle_timeout_s=idle_timeout, keep_alive=keep_alive,
            applications=apps, work_dir=work_dir or "", emrfs=self._emrfs,
            hiveserver2_port=hiveserver2_port, hiveserver2_host=hiveserver2_host)
        self._initial_steps = [StepSpec.from_any(s) for s in steps]
        self._address = address
        self._num_cpus = num_cpus
        self.id: str | None = None
        self._actor = None
        self._final: dict[str, Any] | None = None

    # ------------------------------------------------------------------------- lifecycle
    def start(self, *, timeout: float | None = 600) -> Cluster:
        """Start the cluster; returns when it is WAITING/RUNNING (or raises if it failed)."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        import rayemr

        if self._actor is not None:
            return self
        rayemr.init(self._address, num_cpus=self._num_cpus)
        self.id = new_id("j-")
        node_id = ray.get_runtime_context().get_node_id()
        # The submitter's RAYEMR_HOME decides the default work dir (the controller runs on
        # this node, but its process may not share this environment).
        work_dir = self.spec.work_dir or os.path.join(default_emr_home(), self.id)
        spec = ClusterSpec(**{**self.spec.__dict__, "master_node_id": node_id,
                              "work_dir": work_dir})
        actor_cls = ray.remote(ClusterController)
        self._actor = actor_cls.options(
            name=ACTOR_PREFIX + self.id, namespace=_namespace(), lifetime="detached",
            num_cpus=0, max_concurrency=64, max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(self.id, spec)
        desc = ray.get(self._actor.wait_started.remote(timeout), timeout=(timeout or 3600) + 30)
        status = desc["Cluster"]["Status"]
        if status["State"] not in ("WAITING", "RUNNING"):
            why = status.get("StateChangeReason", {})
            code, reason = why.get("Code", ""), why.get("Message", "")
            raise ClusterError(f"cluster {self.id} did not start: {status['State']}"
                               + (f" ({code})" if code else "")
                               + (f": {reason}" if reason else ""))
        if self._initial_steps:
            self.add_steps(self._initial_steps)
        return self

    @classmethod
    def attach(cls, cluster_id: str, *, address: str | None = None) -> Cluster:
        """A handle on a running cluster, found by id (``j-...``) or by name."""
        import ray

        import rayemr

        rayemr.init(address or os.environ.get("RAY_ADDRESS") or "auto")
        actor_id = _find(cluster_id)
        self = cls.__new__(cls)
        self.id = actor_id
        self._actor = ray.get_actor(ACTOR_PREFIX + actor_id, namespace=_namespace())
        self.spec = None  # type: ignore[assignment]
        self._initial_steps = []
        self._address = address
        self._num_cpus = None
        self._emrfs = None
        self._final = None
        return self

    @staticmethod
    def list(*, address: str | None = None, states: Iterable[str] | None = None
             ) -> list[dict[str, Any]]:
        """Summaries of the clusters on this Ray cluster (EMR's ``list-clusters``)."""
        import ray

        import rayemr

        wanted = {s.value for s in parse_cluster_states(states)} if states else None
        rayemr.init(address or os.environ.get("RAY_ADDRESS") or "auto")
        out = []
        for cid in _cluster_ids():
            try:
                actor = ray.get_actor(ACTOR_PREFIX + cid, namespace=_namespace())
                c = ray.get(actor.describe.remote(), timeout=30)["Cluster"]
            except Exception:  # noqa: BLE001 - a cluster going away while we look
                continue
            if wanted and c["Status"]["State"] not in wanted:
                continue
            out.append({"Id": c["Id"], "Name": c["Name"], "Status": c["Status"]})
        return out

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Terminate (if still up) and remove the controller actor."""
        import ray

        if self._actor is None:
            return
        try:
            self._final = self.terminate(wait=True, timeout=120)
        finally:
            try:
                ray.kill(self._actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
            self._actor = None

    # --------------------------------------------------------------------------- calls
    def _call(self, method: str, *args: Any, timeout: float | None = 120) -> Any:
        import ray

        if self._actor is None:
            if self._final is not None:
                state = self._final["Cluster"]["Status"]["State"]
                raise UserError(f"cluster {self.id} has terminated ({state}) and was closed",
                                hint="describe() and state still give its final state")
            if self.id is not None:
                raise UserError(f"cluster {self.id} was closed")
            raise UserError("the cluster is not started; call start() first")
        try:
            # the actor's own error (e.g. InputNotFoundError), with its one-line message
            with remote_errors():
                return ray.get(getattr(self._actor, method).remote(*args), timeout=timeout)
        except ray.exceptions.RayActorError:
            raise ClusterError(f"cluster {self.id}: its controller is gone",
                               hint="it was terminated and removed, or its node died") from None

    def describe(self) -> dict[str, Any]:
        """EMR's ``describe-cluster``; after ``close()`` (or a ``with`` block) the final
        description, as EMR still describes a terminated cluster."""
        if self._actor is None and self._final is not None:
            return self._final
        return self._call("describe")

    @property
    def state(self) -> str:
        """The cluster's state; ``TERMINATED``/``TERMINATED_WITH_ERRORS`` once closed."""
        return self.describe()["Cluster"]["Status"]["State"]

    def add_steps(self, steps: Iterable[Any]) -> list[str]:
        """Submit steps; relative local paths in them are resolved against this process's
        working directory now (see ``steps.resolve_local_paths``)."""
        cwd = os.getcwd()
        # validate here, before sending
        specs = [resolve_local_paths(StepSpec.from_any(s), cwd) for s in steps]
        return self._call("add_steps", specs)

    def list_steps(self, states: Iterable[str] | None = None,
                   step_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        wanted = [s.value for s in parse_step_states(states)] if states else None
        return self._call("list_steps", wanted, list(step_ids) if step_ids else None)

    def describe_step(self, step_id: str) -> dict[str, Any]:
        return self._call("describe_step", step_id)

    def step_output(self, step_id: str) -> dict[str, str]:
        return self._call("step_output", step_id)

    def cancel_steps(self, step_ids: Iterable[str]) -> list[dict[str, str]]:
        return self._call("cancel_steps", list(step_ids))

    def wait(self, step_ids: Iterable[str] | None = None, timeout: float | None = None
             ) -> list[dict[str, Any]]:
        """Wait until the steps (default: all) are COMPLETED, CANCELLED or FAILED.

        Returns the steps in the order of ``step_ids`` (default: submission order). Unknown
        step ids raise ``InputNotFoundError`` naming them.
        """
        ids = list(step_ids) if step_ids is not None else None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            chunk = 30.0 if deadline is None else max(0.0, min(30.0, deadline - time.monotonic()))
            steps = self._call("wait_steps", ids, chunk, timeout=chunk + 60)
            done = all(s["Status"]["State"] in ("COMPLETED", "CANCELLED", "FAILED")
                       for s in steps)
            if done or (deadline is not None and time.monotonic() >= deadline):
                return steps
            if self.state in ("TERMINATED", "TERMINATED_WITH_ERRORS"):
                return steps

    def watch_steps(self, known: dict[str, str] | None = None, timeout: float = 30.0
                    ) -> list[dict[str, Any]]:
        """All steps in submission order, as soon as one is new or changed state since
        ``known`` (step id -> state; None: now), the cluster ended, or after ``timeout``."""
        return self._call("watch_steps", dict(known or {}), timeout, timeout=timeout + 60)

    def terminate(self, *, wait: bool = True, timeout: float | None = 120) -> dict[str, Any]:
        desc = self._call("terminate", "Terminated by user request")
        if wait:
            desc = self._call("wait_terminated", timeout,
                              timeout=None if timeout is None else timeout + 30)
        return desc

    def wait_terminated(self, timeout: float | None = None) -> dict[str, Any]:
        return self._call("wait_terminated", timeout,
                          timeout=None if timeout is None else timeout + 30)

    def __repr__(self) -> str:
        return f"Cluster(id={self.id!r}, name={getattr(self.spec, 'name', '?')!r})"


# ------------------------------------------------------------------------------- helpers

def _application(name: str) -> str:
    known = {"hadoop": "Hadoop", "hive": "Hive", "yarn": "Hadoop", "mapreduce": "Hadoop"}
    key = str(name).strip().lower()
    if key not in known:
        raise ConfigError(f"application {name!r} is not available on rayemr",
                          hint="choose from Hadoop, Hive")
    return known[key]


def _log_uri(uri: str | None) -> str | None:
    if not uri:
        return None
    check_url(uri, "log URI")
    if "://" not in uri:
        return os.path.abspath(os.path.expanduser(uri))
    return uri.rstrip("/")


def _emrfs_for(config: ClusterConfig) -> Any:
    props = config.classification("emrfs-site")
    try:
        from rayemr.fs import EmrfsConfig  # type: ignore[attr-defined]
    except ImportError:
        return None
    return EmrfsConfig.from_properties(props) if props else EmrfsConfig()


def _cluster_ids() -> list[str]:
    import ray

    names = ray.util.list_named_actors(all_namespaces=True)
    out = []
    for entry in names:
        name = entry["name"] if isinstance(entry, dict) else entry
        ns = entry.get("namespace") if isinstance(entry, dict) else _namespace()
        if ns == _namespace() and name.startswith(ACTOR_PREFIX):
            out.append(name[len(ACTOR_PREFIX):])
    return sorted(out)


def _find(id_or_name: str) -> str:
    import ray

    ids = _cluster_ids()
    if id_or_name in ids:
        return id_or_name
    matches = []
    for cid in ids:
        try:
            actor = ray.get_actor(ACTOR_PREFIX + cid, namespace=_namespace())
            desc = ray.get(actor.describe.remote(), timeout=30)["Cluster"]
        except Exception:  # noqa: BLE001
            continue
        if desc["Name"] == id_or_name and desc["Status"]["State"] not in (
                "TERMINATED", "TERMINATED_WITH_ERRORS"):
            matches.append(cid)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UserError(f"several clusters are named {id_or_name!r}: {', '.join(matches)}",
                        hint="give the cluster id")
    raise InputNotFoundError(f"cluster {id_or_name} not found on this Ray cluster",
                             hint="`rayemr emr list-clusters` shows the clusters")
