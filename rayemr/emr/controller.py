"""The cluster controller: a named Ray actor on the master node, a thin shell over the pure
step queue and cluster state table.

It bootstraps nodes (a Ray task pinned to each, before the node takes work, and on nodes that
join later), starts the services, runs steps one at a time in a runner thread as subprocesses
on the master, uploads their logs, applies ActionOnFailure, and terminates the cluster on
request, on a TERMINATE_CLUSTER failure, when steps are done (if not kept alive) or after an
idle timeout. Every public method answers in EMR's JSON shapes.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rayemr.core.errors import ClusterError, InputNotFoundError, RayEmrError, UserError
from rayemr.emr import services, storage
from rayemr.emr.bootstrap import TAIL_BYTES, BootstrapAction, NodeBootstrap, run_on_node
from rayemr.core.statemachine import Tracked
from rayemr.emr.clusterstate import NODE_MACHINE, ClusterState, ClusterStatus, NodeState
from rayemr.emr.configurations import ClusterConfig
from rayemr.emr.runner import StepInputs, StepProcess, step_command
from rayemr.emr.stepqueue import KillStep, StepQueue, TerminateCluster
from rayemr.emr.steps import StepType

log = logging.getLogger(__name__)

#: Seconds between checks for new or lost nodes and for the idle timeout.
WATCH_EVERY_S = 1.0
#: Longest wait for the ResourceManager to register a joining node before bootstrapping it.
HOLD_WAIT_S = 3.0
#: EMR's StateChangeReason code for each way a cluster ends.
_REASON_CODES = {"terminate": "USER_REQUEST", "steps_done": "ALL_STEPS_COMPLETED",
                 "step_failed": "STEP_FAILURE", "start_failed": "INTERNAL_ERROR",
                 "bootstrap_failed": "INTERNAL_ERROR"}


class _BootstrapFailure(ClusterError):
    """Bootstrap actions failed where the cluster cannot do without them (EMR's
    BOOTSTRAP_FAILURE)."""

    reason_code = "BOOTSTRAP_FAILURE"


def default_emr_home() -> str:
    """Where clusters keep their working folders: ``$RAYEMR_HOME/emr``, else ``~/.rayemr/emr``."""
    return os.path.join(os.environ.get("RAYEMR_HOME") or os.path.join(
        os.path.expanduser("~"), ".rayemr"), "emr")


def _role(node_id: str, node: dict[str, Any], master_node_id: str) -> str:
    """EMR's instance role: MASTER, TASK (cluster.yaml's ``rayemr_task`` nodes) or CORE."""
    if node_id == master_node_id:
        return "MASTER"
    return "TASK" if node.get("Resources", {}).get("rayemr_task") else "CORE"


def _short_id(node_id: str) -> str:
    return node_id[:12]


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


def _bootstrap_task(node_id: str, actions: tuple[BootstrapAction, ...], env: dict,
                    emrfs: Any) -> NodeBootstrap:
    return run_on_node(node_id, actions, env, emrfs)


class ClusterController:
    """The body of the controller actor (also usable in-process for tests)."""

    def __init__(self, cluster_id: str, spec: ClusterSpec) -> None:
        self.cluster_id = cluster_id
        self.spec = spec
        self.status = ClusterStatus(cluster_id)
        self.queue = StepQueue()
        self._cv = threading.Condition()
        self._nodes: dict[str, dict[str, Any]] = {}
        self._node_states: dict[str, Tracked[NodeState]] = {}
        self._bootstrapping: set[str] = set()
        #: Nodes this cluster took out of YARN (bootstrap running or failed).
        self._excluded: set[str] = set()
        self._services: list[services.ServiceStatus] = []
        self._running: dict[str, StepProcess] = {}
        self._stop = threading.Event()
        self._terminated = threading.Event()
        self._started = threading.Event()
        self._start_error: str = ""
        self.work_dir = spec.work_dir or os.path.join(default_emr_home(), cluster_id)
        os.makedirs(self.work_dir, exist_ok=True)
        self.master_host = socket.gethostname()
        self._threads = [threading.Thread(target=self._run_start, name="emr-start", daemon=True)]
        self._threads[0].start()

    # ------------------------------------------------------------------ public (RPC) API
    def wait_started(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the cluster is ready (WAITING/RUNNING) or failed; returns describe."""
        self._started.wait(timeout)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        with self._cv:
            spec = self.spec
            return {"Cluster": {
                "Id": self.cluster_id,
                "Name": spec.name,
                "Status": self.status.to_dict(),
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
                "Services": [s.to_dict() for s in self._services],
                "Nodes": [dict(n) for n in self._nodes.values()],
                "StepCounts": _count_states(self.queue),
            }}

    def add_steps(self, steps: list[Any]) -> list[str]:
        with self._cv:
            if not self.status.state.live:
                raise UserError(f"cluster {self.cluster_id} is {self.status.state.value}; "
                                f"it takes no more steps")
            ids = self.queue.add(steps)
            for sid in ids:
                self.queue.get(sid).log_uri = self._step_log_prefix(sid)
            self._cv.notify_all()
            return ids

    def list_steps(self, states: list[str] | None = None,
                   step_ids: list[str] | None = None) -> list[dict[str, Any]]:
        with self._cv:
            return [s.to_dict() for s in self.queue.list(states, step_ids)]

    def describe_step(self, step_id: str) -> dict[str, Any]:
        with self._cv:
            return {"Step": self.queue.get(step_id).to_dict()}

    def step_output(self, step_id: str) -> dict[str, str]:
        """The step's stdout and stderr as kept on the master (tail)."""
        with self._cv:
            self.queue.get(step_id)
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
        with self._cv:
            results, instructions = self.queue.cancel(step_ids)
            self._apply(instructions)
            self._cv.notify_all()
            return results

    def wait_steps(self, step_ids: list[str] | None = None,
                   timeout: float | None = None) -> list[dict[str, Any]]:
        """Block until the steps (default: all) are final or the cluster ended.

        Returns them in the order of ``step_ids`` (default: submission order); unknown ids
        raise ``InputNotFoundError``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while True:
                steps = self.queue.in_order(step_ids)
                if all(s.state.final for s in steps) and (
                        step_ids is not None or self.queue.idle()) or self.status.state.final:
                    return [s.to_dict() for s in steps]
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return [s.to_dict() for s in steps]
                self._cv.wait(timeout=min(left, 1.0) if left is not None else 1.0)

    def terminate(self, reason: str = "Terminated by user request") -> dict[str, Any]:
        self._begin_termination(reason, with_errors=False)
        return self.describe()

    def wait_terminated(self, timeout: float | None = None) -> dict[str, Any]:
        self._terminated.wait(timeout)
        return self.describe()

    def ping(self) -> str:
        return self.cluster_id

    # ------------------------------------------------------------------------ startup
    def _run_start(self) -> None:
        try:
            self._move(ClusterState.BOOTSTRAPPING, "provisioned")
            failures = self._bootstrap_nodes(self._alive_nodes())
            self._check_bootstrap(failures)
            self._start_services()
            for nid, failure in failures.items():
                self._exclude(nid, failure, at_start=True)
            self._move(ClusterState.WAITING, "services_started")
        except RayEmrError as exc:
            self._start_failed(str(exc), getattr(exc, "reason_code", "INTERNAL_ERROR"))
            return
        except Exception as exc:  # noqa: BLE001 - any surprise fails the start, visibly
            self._start_failed(f"cluster start failed: {type(exc).__name__}: {exc}",
                               "INTERNAL_ERROR")
            return
        self._started.set()
        for target, name in ((self._step_loop, "emr-steps"), (self._watch_loop, "emr-watch")):
            t = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(t)
            t.start()

    def _start_failed(self, message: str, code: str) -> None:
        self._start_error = message
        self._started.set()
        self._begin_termination(message, with_errors=True,
                                event="start_failed" if self.status.state
                                is ClusterState.STARTING else "bootstrap_failed", code=code)

    def _check_bootstrap(self, failures: dict[str, str]) -> None:
        """EMR's BOOTSTRAP_FAILURE: the master failed, or every node able to run containers."""
        if not failures:
            return
        master = self.spec.master_node_id
        if master in failures:
            raise _BootstrapFailure(
                f"On the master node ({_short_id(master)}), {failures[master]}; output under "
                f"{self._bootstrap_log_dir(master)}")
        with self._cv:
            workers = [nid for nid, rec in self._nodes.items() if rec.get("Vcores", 0) > 0]
        if workers and all(nid in failures for nid in workers):
            nid = workers[0]
            raise _BootstrapFailure(
                f"On every node that can run containers ({len(workers)}, including "
                f"{_short_id(nid)}), bootstrap actions failed: {failures[nid]}; output under "
                f"{self._bootstrap_log_dir(nid)}")

    def _bootstrap_log_dir(self, nid: str) -> str:
        if self.spec.log_uri:
            return storage.join(self.spec.log_uri, self.cluster_id, "node", nid,
                                "bootstrap-actions") + "/"
        return os.path.join(self.work_dir, "node", nid, "bootstrap-actions") + "/"

    def _exclude(self, nid: str, failure: str, *, at_start: bool) -> None:
        """Keep a node whose bootstrap failed out of YARN (``BOOTSTRAP_FAILED``, no containers).

        At start, the ResourceManager refusing (the node is the last one able to run
        containers) fails the cluster with ``BOOTSTRAP_FAILURE``.
        """
        refused = False
        why = ""
        deadline = time.monotonic() + HOLD_WAIT_S
        while True:
            try:
                services.decommission_node(nid, f"bootstrap failed: {failure}"[:500])
                break
            except InputNotFoundError as exc:  # not registered yet: wait a little
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                why = str(exc)
            except UserError as exc:  # the ResourceManager refuses: the last container node
                refused, why = True, str(exc)
            except RayEmrError as exc:  # YARN not running
                why = str(exc)
            break
        with self._cv:
            rec = self._nodes.get(nid)
            if rec is not None:
                rec["ExcludedFromYarn"] = not why
                if why:
                    rec["StateChangeReason"] = f"{rec.get('StateChangeReason', '')} " \
                        f"(YARN could not exclude it: {why})".lstrip()
            if not why:
                self._excluded.add(nid)
        if refused and at_start:
            raise _BootstrapFailure(
                f"On node {_short_id(nid)}, {failure}; no other node can run containers "
                f"({why}); output under {self._bootstrap_log_dir(nid)}")
        if why:
            log.warning("node %s failed its bootstrap actions but stays in YARN: %s", nid, why)

    def _start_services(self) -> None:
        started = [services.start_yarn(self.spec.config)]
        with self._cv:
            self._services = list(started)
        if "Hive" in self.spec.applications and self.spec.hiveserver2_port is not None:
            hs2 = services.start_hiveserver2(
                self.spec.config, host=self.spec.hiveserver2_host,
                port=self.spec.hiveserver2_port, node_id=self._node_id(),
                name=f"emr-hs2:{self.cluster_id}")
            with self._cv:
                self._services.append(hs2)

    def _node_id(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    # ----------------------------------------------------------------------- bootstrap
    def _alive_nodes(self) -> list[dict[str, Any]]:
        import ray

        return [n for n in ray.nodes() if n.get("Alive")]

    def _bootstrap_nodes(self, nodes: list[dict[str, Any]], *, hold: bool = False
                         ) -> dict[str, str]:
        """Bootstrap ``nodes`` in parallel; returns node id -> failure for those that failed.

        ``hold``: YARN runs already (nodes joining later), so each node is kept out of
        scheduling while its actions run, put back when they succeed, kept out if they fail.
        """
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        todo = []
        with self._cv:
            for n in nodes:
                nid = n["NodeID"]
                if nid in self._nodes or nid in self._bootstrapping:
                    continue
                self._bootstrapping.add(nid)
                todo.append(n)
        if not todo:
            return {}
        env = dict(self.spec.config.environment)
        env.update(RAYEMR_CLUSTER_ID=self.cluster_id)
        held = {n["NodeID"] for n in todo if hold and self.spec.bootstrap_actions
                and self._hold(n["NodeID"])}
        task = ray.remote(_bootstrap_task)
        refs = {}
        for n in todo:
            nid = n["NodeID"]
            if not self.spec.bootstrap_actions:
                continue
            refs[nid] = task.options(
                num_cpus=0, max_retries=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(nid, soft=False),
            ).remote(nid, self.spec.bootstrap_actions, env, self.spec.emrfs)
        failures: dict[str, str] = {}
        for n in todo:
            nid = n["NodeID"]
            node = Tracked(NODE_MACHINE, nid, NodeState.BOOTSTRAPPING)
            record = {"NodeId": nid, "Hostname": n.get("NodeManagerHostname", ""),
                      "Address": n.get("NodeManagerAddress", ""),
                      "Role": _role(nid, n, self.spec.master_node_id),
                      "Vcores": float(n.get("Resources", {}).get("CPU", 0.0)),
                      "BootstrapActions": []}
            if nid in refs:
                try:
                    result: NodeBootstrap = ray.get(refs[nid])
                except Exception as exc:  # noqa: BLE001 - node died or task could not run
                    result = NodeBootstrap(node_id=nid, hostname=record["Hostname"])
                    failures[nid] = f"bootstrap could not run: {type(exc).__name__}: {exc}"
                self._keep_bootstrap_output(nid, result, record)
                if not result.ok:
                    failures[nid] = result.failure
            if nid in failures:
                node.fire("bootstrap_failed")
                record["StateChangeReason"] = failures[nid]
                record["BootstrapLogs"] = self._bootstrap_log_dir(nid)
            else:
                node.fire("bootstrapped")
            record["State"] = node.state.value
            with self._cv:
                self._node_states[nid] = node
                self._nodes[nid] = record
                self._bootstrapping.discard(nid)
                if nid in held:
                    self._excluded.add(nid)
                    record["ExcludedFromYarn"] = True
            if nid in held and nid not in failures:
                services.recommission_node(nid)
                with self._cv:
                    self._excluded.discard(nid)
                    record.pop("ExcludedFromYarn", None)
            elif hold and nid in failures and nid not in held:
                self._exclude(nid, failures[nid], at_start=False)
        return failures

    def _hold(self, nid: str) -> bool:
        """Keep a joining node out of YARN until its bootstrap actions succeed."""
        deadline = time.monotonic() + HOLD_WAIT_S
        while True:
            try:
                services.decommission_node(
                    nid, f"bootstrap actions of EMR cluster {self.cluster_id} running or failed")
                return True
            except InputNotFoundError:  # the ResourceManager has not registered it yet
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.1)
            except RayEmrError as exc:  # the last node able to run containers, or no YARN
                log.info("node %s not held out of YARN during bootstrap: %s", nid, exc)
                return False

    def _keep_bootstrap_output(self, nid: str, result: NodeBootstrap,
                               record: dict[str, Any]) -> None:
        """Keep each action's output in the node record (tail) and under the log URI."""
        for i, a in enumerate(result.actions, start=1):
            entry = {"Name": a.name, "ExitCode": a.exit_code, "Seconds": round(a.seconds, 3),
                     "Error": a.error,
                     "Stdout": a.stdout[-TAIL_BYTES:].decode("utf-8", "replace"),
                     "Stderr": a.stderr[-TAIL_BYTES:].decode("utf-8", "replace")}
            folder = os.path.join(self.work_dir, "node", nid, "bootstrap-actions", str(i))
            os.makedirs(folder, exist_ok=True)
            for name, data in (("stdout", a.stdout), ("stderr", a.stderr)):
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(data)
                if self.spec.log_uri:
                    try:
                        storage.write_bytes(storage.join(
                            self.spec.log_uri, self.cluster_id, "node", nid,
                            "bootstrap-actions", str(i), name), data, self.spec.emrfs)
                    except RayEmrError as exc:
                        entry["Error"] = (entry["Error"] + f"; log upload failed: {exc}").lstrip("; ")
            record["BootstrapActions"].append(entry)

    # --------------------------------------------------------------------------- steps
    def _step_log_prefix(self, step_id: str) -> str | None:
        if not self.spec.log_uri:
            return None
        return storage.join(self.spec.log_uri, self.cluster_id, "steps", step_id)

    def _step_loop(self) -> None:
        while not self._stop.is_set():
            with self._cv:
                ins = self.queue.start_next() if self.status.state.live else None
                if ins is None:
                    self._cv.wait(timeout=1.0)
                    continue
                step = self.queue.get(ins.step_id)
                if self.status.state is ClusterState.WAITING:
                    self.status.move(ClusterState.RUNNING, "step_started")
                self._cv.notify_all()
            began = time.time()
            code, reason = self._run_step(step)
            reports = _application_reports()
            apps = _applications_between(reports, began, time.time())
            with self._cv:
                proc = self._running.pop(step.id, None)
                if proc is not None:
                    apps = proc.application_ids() + [a for a in apps
                                                     if a not in proc.application_ids()]
                for app in apps:
                    queue = getattr(reports.get(app), "queue", "") or ""
                    self.queue.record_application(step.id, app, queue.removeprefix("root."))
                instructions = self.queue.finished(step.id, ok=code == 0, exit_code=code,
                                                   reason=reason)
                self._cv.notify_all()
            self._apply(instructions)
            with self._cv:
                if self.queue.idle() and self.status.state is ClusterState.RUNNING:
                    if self.spec.keep_alive:
                        self.status.move(ClusterState.WAITING, "steps_done")
                    else:
                        self._cv.notify_all()
                        threading.Thread(target=self._begin_termination, args=(
                            "Steps completed", False, "steps_done"), daemon=True).start()
                self._cv.notify_all()

    def _run_step(self, step) -> tuple[int, str]:
        folder = os.path.join(self.work_dir, "steps", step.id)
        try:
            inputs = self._fetch_inputs(step.spec, folder)
            cmd = step_command(step.spec, self.spec.config, inputs)
        except RayEmrError as exc:
            os.makedirs(folder, exist_ok=True)
            proc = StepProcess(step.id, ["(not started)"], folder, {},
                               log_prefix=self._step_log_prefix(step.id), emrfs=self.spec.emrfs)
            with open(proc.paths["stderr"], "w") as f:
                f.write(f"{exc}\n")
            proc.note(f"ERROR {exc}")
            proc.upload()
            return 1, str(exc)
        proc = StepProcess(step.id, cmd, folder, self._step_env(step.id),
                           log_prefix=self._step_log_prefix(step.id), emrfs=self.spec.emrfs)
        with self._cv:
            self._running[step.id] = proc
            if step.cancel_requested:
                proc.kill()
        code = proc.run()
        reason = ""
        if code != 0 and not proc.killed:
            tail = proc.output()[1][-400:].decode("utf-8", "replace").strip().splitlines()
            reason = f"exit code {code}" + (f": {tail[-1]}" if tail else "")
        return code, reason

    def _fetch_inputs(self, spec, folder: str) -> StepInputs:
        if spec.type is StepType.HIVE:
            return StepInputs(hive_script=storage.fetch(
                spec.hive_script, os.path.join(folder, "input"), self.spec.emrfs,
                what="Hive script"))
        if spec.type is StepType.MAPREDUCE and storage.is_remote(spec.args[0]):
            return StepInputs(job_file=storage.fetch(
                spec.args[0], os.path.join(folder, "input"), self.spec.emrfs, what="job file"))
        return StepInputs()

    def _step_env(self, step_id: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.spec.config.environment)
        address = _gcs_address()
        if address:
            env["RAY_ADDRESS"] = address
        mode = _auth_mode()
        if mode:
            env["RAY_AUTH_MODE"] = mode
        env.update(RAYEMR_CLUSTER_ID=self.cluster_id, RAYEMR_STEP_ID=step_id,
                   PYTHONUNBUFFERED="1")
        return env

    def _apply(self, instructions) -> None:
        for ins in instructions:
            if isinstance(ins, KillStep):
                proc = self._running.get(ins.step_id)
                if proc is not None:
                    proc.kill()
                    self._kill_applications(proc)
            elif isinstance(ins, TerminateCluster):
                threading.Thread(target=self._begin_termination,
                                 args=(ins.reason, ins.with_errors, "step_failed"),
                                 daemon=True).start()

    def _kill_applications(self, proc: StepProcess) -> None:
        """A cancelled step's YARN applications are killed too."""
        try:
            from rayemr.yarn import YarnClient  # type: ignore[attr-defined]
        except ImportError:
            return
        for app in proc.application_ids():
            try:
                YarnClient().kill(app)
            except Exception:  # noqa: BLE001 - finished or unknown applications
                pass

    # --------------------------------------------------------------------- watch, idle
    def _watch_loop(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            try:
                alive = self._alive_nodes()
                alive_ids = {n["NodeID"] for n in alive}
                with self._cv:
                    for nid, node in self._node_states.items():
                        if nid not in alive_ids and node.can("lost"):
                            node.fire("lost")
                            self._nodes[nid]["State"] = node.state.value
                new = [n for n in alive if n["NodeID"] not in self._nodes]
                if new:
                    self._bootstrap_nodes(new, hold=True)
                timeout = self.spec.idle_timeout_s
                with self._cv:
                    idle = (timeout is not None and self.status.state is ClusterState.WAITING
                            and self.queue.idle_for() >= timeout)
                if idle:
                    self._begin_termination(
                        f"Cluster was idle for {timeout:g} seconds (auto-termination)",
                        with_errors=False, event="idle_timeout")
            except Exception as exc:  # noqa: BLE001 - keep watching
                log.warning("cluster watch: %s", exc)

    # --------------------------------------------------------------------- termination
    def _begin_termination(self, reason: str, with_errors: bool,
                           event: str = "terminate", code: str = "") -> None:
        with self._cv:
            if not self.status.state.live:
                return
            self.status.move(ClusterState.TERMINATING, event, reason,
                             code or _REASON_CODES.get(event, ""))
            self.status.with_errors = with_errors
            instructions = self.queue.close("cluster terminating: " + reason)
            self._cv.notify_all()
        self._apply(instructions)
        for proc in list(self._running.values()):
            proc.kill()
        deadline = time.monotonic() + 30
        while self._running and time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()
        yarn_ours = any(st.name == "YARN" and st.started_here for st in self._services)
        if not yarn_ours:  # a shared ResourceManager gets back the nodes this cluster excluded
            for nid in sorted(self._excluded):
                services.recommission_node(nid)
            self._excluded.clear()
        for status in reversed(self._services):
            if status.name == "YARN":
                services.stop_yarn(status)
            else:
                services.stop_service(status)
        with self._cv:
            final = (ClusterState.TERMINATED_WITH_ERRORS if with_errors
                     else ClusterState.TERMINATED)
            self.status.move(final, "terminated")
            self._cv.notify_all()
        self._write_summary()
        self._terminated.set()

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

    def _move(self, state: ClusterState, event: str, reason: str = "") -> None:
        with self._cv:
            self.status.move(state, event, reason)
            self._cv.notify_all()


def _application_reports() -> dict[str, Any]:
    """The ResourceManager's application reports by id (none when YARN is not running)."""
    try:
        from rayemr.yarn import YarnClient

        return {r.app_id: r for r in YarnClient().list()}
    except Exception:  # noqa: BLE001 - no YARN: no application ids
        return {}


def _applications_between(reports: dict[str, Any], start: float, end: float) -> list[str]:
    """YARN applications submitted while a step ran (steps run one at a time)."""
    found = [r for r in reports.values() if start <= (r.submit_time or 0) <= end]
    return [r.app_id for r in sorted(found, key=lambda r: r.submit_time)]


def _count_states(queue: StepQueue) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in queue.list():
        counts[s.state.value] = counts.get(s.state.value, 0) + 1
    return counts


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


def spec_replace(spec: ClusterSpec, **changes: Any) -> ClusterSpec:
    return dataclasses.replace(spec, **changes)
