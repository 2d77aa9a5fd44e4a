"""The cluster controller: a named Ray actor on the master node, a thin shell around
:class:`~rayemr.emr.clustercore.ClusterCore`.

Every RPC and every report from the shell's workers is one event into the core, under one
lock (:meth:`ClusterController._fire`); the core's instructions are carried out by the
handler registered for their type, each in its own thread so an RPC never waits for work:
bootstrapping a node (``rayemr.emr.nodes``), starting and stopping the services
(``rayemr.emr.services``), excluding nodes from YARN, running a step as a subprocess on the
master (``rayemr.emr.runner``) whose YARN applications carry the step's tag, killing one.
Waiting is on the lock's condition: callers wake when the core changes, and a timer thread
wakes at the core's next deadline (idle timeout, stop grace). The one poll is of Ray's node
table (Ray announces no node changes through a public API), every :data:`WATCH_EVERY_S`.
Every public method answers in EMR's JSON shapes.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from rayemr.core.errors import InputNotFoundError, RayEmrError, UserError
from rayemr.emr import nodes, services, storage
from rayemr.emr.bootstrap import TAIL_BYTES, BootstrapAction
from rayemr.emr.clustercore import (Bootstrap, ClusterCore, ExcludeNode, Finished,
                                    RecommissionNode, StartServices, StopServices)
from rayemr.emr.clusterstate import ClusterState
from rayemr.emr.configurations import ClusterConfig
from rayemr.emr.runner import StepProcess, run_step
from rayemr.emr.stepqueue import KillStep, RunStep, StepQueue
from rayemr.emr.steps import StepSpec
from rayemr.yarn.records import TAGS_ENV

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds between looks at Ray's node table (nodes that joined or were lost).
WATCH_EVERY_S = 1.0


def default_emr_home() -> str:
    """Where clusters keep their working folders: ``$RAYEMR_HOME/emr``, else ``~/.rayemr/emr``."""
    return os.path.join(os.environ.get("RAYEMR_HOME") or os.path.join(
        os.path.expanduser("~"), ".rayemr"), "emr")


@dataclass(frozen=True)
class ClusterSpec:
    """Everything a cluster is created with (picklable, validated by the client)."""

    name: str = "rayemr"
    config: ClusterConfig = field(default_factory=ClusterConfig)
    bootstrap_actions: tuple[BootstrapAction, ...] = ()
    log_uri: str | None = None
    #: Terminate after this many seconds without steps (EMR's auto-termination policy).
    idle_timeout_s: float | None = None
    #: False: terminate once the steps given at creation (and any added) are done.
    keep_alive: bool = True
    applications: tuple[str, ...] = ("Hadoop", "Hive")
    work_dir: str = ""
    emrfs: Any = None
    hiveserver2_port: int | None = None
    hiveserver2_host: str = "127.0.0.1"
    #: Node ids whose bootstrap failure is a cluster failure (the master).
    master_node_id: str = ""


class ClusterController:
    """The body of the controller actor (also usable in-process for tests)."""

    def __init__(self, cluster_id: str, spec: ClusterSpec) -> None:
        self.cluster_id = cluster_id
        self.spec = spec
        self.work_dir = spec.work_dir or os.path.join(default_emr_home(), cluster_id)
        os.makedirs(self.work_dir, exist_ok=True)
        self.master_host = socket.gethostname()
        self._clock = time.time
        self.core = ClusterCore(
            cluster_id, bootstrap_actions=bool(spec.bootstrap_actions),
            master_node_id=spec.master_node_id, keep_alive=spec.keep_alive,
            idle_timeout_s=spec.idle_timeout_s, bootstrap_logs=self._bootstrap_log_dir,
            step_logs=self._step_log_prefix, clock=self._clock)
        self._cv = threading.Condition()
        self._services: list[services.ServiceStatus] = []
        self._procs: dict[str, StepProcess] = {}
        self._summary_written = False
        self._done = threading.Event()
        self._handlers: dict[type, Callable[[Any], None]] = {
            Bootstrap: self._bootstrap, StartServices: self._start_services,
            ExcludeNode: self._exclude, RecommissionNode: self._recommission,
            RunStep: self._run_step, KillStep: self._kill_step,
            StopServices: self._stop_services, Finished: self._finished}
        for target in (self._start, self._watch_loop, self._timer_loop):
            threading.Thread(target=target, name=f"emr{target.__name__}", daemon=True).start()

    # ------------------------------------------------------------------ public (RPC) API
    def wait_started(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the cluster is ready (WAITING/RUNNING), or its failed start has ended
        in a final state; returns describe."""
        with self._cv:
            self._cv.wait_for(lambda: self.core.started and (
                self.core.status.state is not ClusterState.TERMINATING), timeout)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        with self._cv:
            spec = self.spec
            return {"Cluster": {
                "Id": self.cluster_id,
                "Name": spec.name,
                "Status": self.core.status.to_dict(),
                "ReleaseLabel": _release_label(),
                "Applications": [{"Name": a} for a in spec.applications],
                "Configurations": spec.config.to_emr_json(),
                "BootstrapActions": [b.to_dict() for b in spec.bootstrap_actions],
                "LogUri": spec.log_uri,
                "AutoTerminate": not spec.keep_alive,
                "AutoTerminationPolicy": (
                    {"IdleTimeout": spec.idle_timeout_s} if spec.idle_timeout_s else {}),
                "MasterPublicDnsName": self.master_host,
                "RayAddress": _gcs_address(),
                "Services": [dict(s) for s in self.core.services],
                "Nodes": self.core.node_records(),
                "StepCounts": _count_states(self.core.steps),
            }}

    def add_steps(self, steps: list[Any]) -> list[str]:
        return self._fire(lambda core: core.add_steps(steps))

    def list_steps(self, states: list[str] | None = None,
                   step_ids: list[str] | None = None) -> list[dict[str, Any]]:
        with self._cv:
            return [s.to_dict() for s in self.core.steps.list(states, step_ids)]

    def describe_step(self, step_id: str) -> dict[str, Any]:
        with self._cv:
            return {"Step": self.core.steps.get(step_id).to_dict()}

    def step_output(self, step_id: str) -> dict[str, str]:
        """The step's stdout and stderr as kept on the master (tail)."""
        with self._cv:
            self.core.steps.get(step_id)
        folder = os.path.join(self.work_dir, "steps", step_id)
        out = {}
        for name in ("stdout", "stderr", "controller"):
            try:
                with open(os.path.join(folder, name), "rb") as f:
                    out[name] = f.read()[-TAIL_BYTES:].decode("utf-8", "replace")
            except FileNotFoundError:
                out[name] = ""
        return out

    def cancel_steps(self, step_ids: list[str]) -> list[dict[str, str]]:
        return self._fire(lambda core: core.cancel_steps(step_ids))

    def wait_steps(self, step_ids: list[str] | None = None,
                   timeout: float | None = None) -> list[dict[str, Any]]:
        """Block until the steps (default: all) are final or the cluster ended.

        Returns them in the order of ``step_ids`` (default: submission order); unknown ids
        raise ``InputNotFoundError``.
        """
        with self._cv:
            self._cv.wait_for(lambda: self.core.steps_settled(step_ids) is not None, timeout)
            return [s.to_dict() for s in self.core.steps.in_order(step_ids)]

    def watch_steps(self, known: dict[str, str], timeout: float | None = None
                    ) -> list[dict[str, Any]]:
        """All steps (submission order) as soon as one is new or in another state than
        ``known`` (step id -> state), the cluster ended, or ``timeout`` passed."""
        def changed() -> bool:
            return self.core.status.state.final or any(
                known.get(s.id) != s.state.value for s in self.core.steps.in_order())
        with self._cv:
            self._cv.wait_for(changed, timeout)
            return [s.to_dict() for s in self.core.steps.in_order()]

    def terminate(self, reason: str = "Terminated by user request") -> dict[str, Any]:
        self._fire(lambda core: core.terminate(reason))
        return self.describe()

    def wait_terminated(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the cluster is TERMINATED(_WITH_ERRORS) and its summary written."""
        with self._cv:
            self._cv.wait_for(lambda: self._summary_written, timeout)
        return self.describe()

    def ping(self) -> str:
        return self.cluster_id

    # ------------------------------------------------------------------ events, instructions
    def _fire(self, event: Callable[[ClusterCore], T]) -> T:
        """Apply one event to the core; carry out the instructions it gave."""
        with self._cv:
            try:
                return event(self.core)
            finally:
                instructions = self.core.take_instructions()
                self._cv.notify_all()
                for ins in instructions:
                    threading.Thread(target=self._carry_out, args=(ins,), daemon=True,
                                     name=f"emr-{type(ins).__name__}").start()

    def _carry_out(self, ins: Any) -> None:
        try:
            self._handlers[type(ins)](ins)
        except Exception:  # noqa: BLE001 - a handler reports its own failures as events
            log.exception("cluster %s: carrying out %s failed", self.cluster_id, ins)

    def _start(self) -> None:
        try:
            found = nodes.alive_nodes(self.spec.master_node_id)
        except Exception as exc:  # noqa: BLE001 - any surprise fails the start, visibly
            self._fire(lambda core: core.start_failed(
                f"cluster start failed: {type(exc).__name__}: {exc}"))
            return
        self._fire(lambda core: core.start(found))

    def _watch_loop(self) -> None:
        while not self._done.wait(WATCH_EVERY_S):
            try:
                alive = nodes.alive_nodes(self.spec.master_node_id)
            except Exception as exc:  # noqa: BLE001 - keep watching
                log.warning("cluster watch: %s", exc)
                continue
            self._fire(lambda core: core.nodes_seen(alive))

    def _timer_loop(self) -> None:
        """Wake the core at its next deadline (idle timeout, stop grace); any change of the
        core wakes this thread to look again."""
        clock = self._clock
        while True:
            with self._cv:
                while True:
                    if self.core.status.state.final:
                        return
                    deadline = self.core.next_deadline()
                    if deadline is not None and deadline <= clock():
                        break
                    self._cv.wait(None if deadline is None else deadline - clock())
            self._fire(lambda core: core.tick())

    # ----------------------------------------------------------------- nodes and services
    def _bootstrap(self, ins: Bootstrap) -> None:
        held = ins.hold and services.hold_node(
            ins.node_id, f"bootstrap actions of EMR cluster {self.cluster_id} running or failed")
        env = {**self.spec.config.environment, "RAYEMR_CLUSTER_ID": self.cluster_id}
        log_prefix = (storage.join(self.spec.log_uri, self.cluster_id, "node", ins.node_id,
                                   "bootstrap-actions") if self.spec.log_uri else None)
        report = nodes.bootstrap_node(ins.node_id, self.spec.bootstrap_actions, env,
                                      emrfs=self.spec.emrfs, work_dir=self.work_dir,
                                      log_prefix=log_prefix)
        self._fire(lambda core: core.bootstrap_done(ins.node_id, report, held=held))

    def _bootstrap_log_dir(self, node_id: str) -> str:
        if self.spec.log_uri:
            return storage.join(self.spec.log_uri, self.cluster_id, "node", node_id,
                                "bootstrap-actions") + "/"
        return os.path.join(self.work_dir, "node", node_id, "bootstrap-actions") + "/"

    def _start_services(self, _: StartServices) -> None:
        spec = self.spec
        try:
            started = services.start_yarn(spec.config)
            with self._cv:
                self._services.append(started)
            if "Hive" in spec.applications and spec.hiveserver2_port is not None:
                hs2 = services.start_hiveserver2(
                    spec.config, host=spec.hiveserver2_host, port=spec.hiveserver2_port,
                    node_id=_node_id(), name=f"emr-hs2:{self.cluster_id}")
                with self._cv:
                    self._services.append(hs2)
            aws = services.start_aws_endpoint(spec.config, node_id=_node_id(),
                                              name=f"emr-aws:{self.cluster_id}")
            if aws is not None:
                with self._cv:
                    self._services.append(aws)
        except RayEmrError as exc:
            code = getattr(exc, "reason_code", "INTERNAL_ERROR")
            self._fire(lambda core: core.start_failed(str(exc), code))
            return
        except Exception as exc:  # noqa: BLE001 - any surprise fails the start, visibly
            self._fire(lambda core: core.start_failed(
                f"cluster start failed: {type(exc).__name__}: {exc}"))
            return
        ours = any(s.name == "YARN" and s.started_here for s in self._services)
        statuses = [s.to_dict() for s in self._services]
        self._fire(lambda core: core.services_started(statuses, yarn_ours=ours))

    def _exclude(self, ins: ExcludeNode) -> None:
        """Keep a node whose bootstrap failed out of YARN (``BOOTSTRAP_FAILED``)."""
        refused, why = False, ""
        try:
            services.decommission_node(ins.node_id, ins.reason)
        except InputNotFoundError as exc:  # neither Ray nor YARN knows it any more
            why = str(exc)
        except UserError as exc:  # the ResourceManager refuses: the last container node
            refused, why = True, str(exc)
        except RayEmrError as exc:  # YARN not running
            why = str(exc)
        if why:
            log.warning("node %s failed its bootstrap actions but stays in YARN: %s",
                        ins.node_id, why)
        self._fire(lambda core: core.node_excluded(ins.node_id, refused=refused, why=why))

    def _recommission(self, ins: RecommissionNode) -> None:
        services.recommission_node(ins.node_id)

    def _stop_services(self, ins: StopServices) -> None:
        for nid in ins.recommission:  # a shared ResourceManager gets its nodes back
            services.recommission_node(nid)
        with self._cv:
            running = list(self._services)
        for status in reversed(running):
            if status.name == "YARN":
                services.stop_yarn(status)
            else:
                services.stop_service(status)
        statuses = [s.to_dict() for s in running] or None
        self._fire(lambda core: core.services_stopped(statuses))

    def _finished(self, _: Finished) -> None:
        self._write_summary()
        with self._cv:
            self._summary_written = True
            self._cv.notify_all()
        self._done.set()

    def _write_summary(self) -> None:
        if not self.spec.log_uri:
            return
        summary = {**self.describe(), "Steps": self.list_steps()}
        try:
            storage.write_bytes(storage.join(self.spec.log_uri, self.cluster_id, "cluster.json"),
                                json.dumps(summary, indent=2, default=str).encode(),
                                self.spec.emrfs)
        except RayEmrError as exc:
            log.warning("cannot write the cluster summary: %s", exc)

    # --------------------------------------------------------------------------- steps
    def _step_log_prefix(self, step_id: str) -> str | None:
        if not self.spec.log_uri:
            return None
        return storage.join(self.spec.log_uri, self.cluster_id, "steps", step_id)

    def _run_step(self, ins: RunStep) -> None:
        """Run the step; report its end and the YARN applications tagged with it."""
        sid = ins.step_id
        with self._cv:
            spec = self.core.steps.get(sid).spec
        try:
            code, reason = self._execute(sid, spec)
        except Exception as exc:  # noqa: BLE001 - a broken runner fails the step, visibly
            code, reason = 1, f"the step could not run: {type(exc).__name__}: {exc}"
        apps = services.tagged_applications(services.step_tag(sid))
        self._fire(lambda core: core.step_finished(sid, code, reason, apps))

    def _execute(self, sid: str, spec: StepSpec) -> tuple[int, str]:
        def started(proc: StepProcess) -> None:
            with self._cv:
                self._procs[sid] = proc
                if self.core.steps.get(sid).cancel_requested:
                    proc.kill()
        try:
            return run_step(sid, spec, self.spec.config,
                            folder=os.path.join(self.work_dir, "steps", sid),
                            env=self._step_env(sid), log_prefix=self._step_log_prefix(sid),
                            emrfs=self.spec.emrfs, started=started)
        finally:
            with self._cv:
                self._procs.pop(sid, None)

    def _step_env(self, step_id: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.spec.config.environment)
        address = _gcs_address()
        if address:
            env["RAY_ADDRESS"] = address
        mode = _auth_mode()
        if mode:
            env["RAY_AUTH_MODE"] = mode
        env.update({"RAYEMR_CLUSTER_ID": self.cluster_id, "RAYEMR_STEP_ID": step_id,
                    TAGS_ENV: services.step_tag(step_id), "PYTHONUNBUFFERED": "1"})
        return env

    def _kill_step(self, ins: KillStep) -> None:
        """A cancelled step: its processes, then its YARN applications."""
        with self._cv:
            proc = self._procs.get(ins.step_id)
        if proc is not None:
            proc.kill()
        services.kill_applications(services.step_tag(ins.step_id))


def _count_states(queue: StepQueue) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in queue.list():
        counts[s.state.value] = counts.get(s.state.value, 0) + 1
    return counts


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def _gcs_address() -> str:
    try:
        import ray

        return ray.get_runtime_context().gcs_address
    except Exception:  # noqa: BLE001 - not in Ray
        return ""


def _auth_mode() -> str:
    """This cluster's authentication mode, for step processes joining it.

    A process that finds a token file switches token authentication on by itself; on a
    cluster running without it, its tasks could then not reach it. Say the mode explicitly.
    """
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode
    except ImportError:  # Ray without token authentication
        return ""
    try:
        return "token" if get_authentication_mode() == AuthenticationMode.TOKEN else "disabled"
    except Exception:  # noqa: BLE001
        return ""


def _release_label() -> str:
    from rayemr import __version__

    return f"rayemr-{__version__}"
