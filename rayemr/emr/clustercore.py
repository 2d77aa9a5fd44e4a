"""One EMR cluster's pure core: its state, its nodes' states, its steps, and EMR's rules.

Events come in as method calls (the cluster starts, a node finished its bootstrap actions,
the services started, a step ended with its YARN applications, the user cancelled a step or
terminated the cluster, time passed); instructions for the shell queue up and are taken with
:meth:`ClusterCore.take_instructions`. No Ray, no threads, no I/O; the clock is injected, so
unit tests drive a cluster's whole life without a cluster. ``ClusterController``
(``rayemr.emr.controller``) is the thin shell that carries instructions out and reports back.

Start: STARTING -> BOOTSTRAPPING (every node runs its bootstrap actions) -> the services start
-> nodes whose bootstrap failed are excluded from YARN -> WAITING. The start fails
(BOOTSTRAP_FAILURE) when the master's bootstrap fails, when every node able to run containers
fails, or when YARN refuses to exclude the last such node. Later nodes are held out of YARN
while their actions run. Steps run one at a time (:class:`~rayemr.emr.stepqueue.StepQueue`);
termination cancels pending steps, kills the running one and stops the services once it ended
(or after :data:`STOP_GRACE_S`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from rayemr.core.errors import UserError
from rayemr.core.statemachine import Tracked
from rayemr.emr.clusterstate import NODE_MACHINE, ClusterState, ClusterStatus, NodeState
from rayemr.emr.stepqueue import KillStep, RunStep, Step, StepQueue, TerminateCluster, new_id

#: Seconds a terminating cluster waits for its killed step to end before stopping services.
STOP_GRACE_S = 30.0

#: EMR's StateChangeReason code for each way a cluster ends.
REASON_CODES = {"terminate": "USER_REQUEST", "steps_done": "ALL_STEPS_COMPLETED",
                "step_failed": "STEP_FAILURE", "start_failed": "INTERNAL_ERROR",
                "bootstrap_failed": "INTERNAL_ERROR"}

_CS = ClusterState


# ------------------------------------------------------------------------------ inputs

@dataclass(frozen=True)
class NodeInfo:
    """A node of the Ray cluster as the cluster sees it."""

    node_id: str
    hostname: str = ""
    address: str = ""
    role: str = "CORE"  # MASTER | CORE | TASK
    vcores: float = 0.0


@dataclass(frozen=True)
class BootstrapReport:
    """What a node's bootstrap actions did: a failure (empty: all succeeded) and one
    describe entry per action (``Name``, ``ExitCode``, ``Seconds``, ``Stdout``...)."""

    failure: str = ""
    actions: tuple[dict[str, Any], ...] = ()


# ------------------------------------------------------------------------ instructions

@dataclass(frozen=True)
class Bootstrap:
    """Run the bootstrap actions on a node; ``hold``: keep it out of YARN meanwhile."""

    node_id: str
    hold: bool


@dataclass(frozen=True)
class StartServices:
    """Start YARN (and HiveServer2) with the cluster's configuration."""


@dataclass(frozen=True)
class ExcludeNode:
    """Keep a node out of YARN's scheduling; report with ``node_excluded``."""

    node_id: str
    reason: str


@dataclass(frozen=True)
class RecommissionNode:
    """Put a held node back into YARN's scheduling."""

    node_id: str


@dataclass(frozen=True)
class StopServices:
    """Stop the services; give back to a shared ResourceManager the nodes excluded."""

    recommission: tuple[str, ...]


@dataclass(frozen=True)
class Finished:
    """The cluster reached its final state: write its summary."""


Instruction = (Bootstrap | StartServices | ExcludeNode | RecommissionNode | RunStep | KillStep
               | StopServices | Finished)


# ----------------------------------------------------------------------------- records

class Node(Tracked[NodeState]):
    """One node of the cluster: its state, bootstrap outcome and standing in YARN."""

    def __init__(self, info: NodeInfo, clock: Callable[[], float]) -> None:
        super().__init__(NODE_MACHINE, info.node_id, NodeState.BOOTSTRAPPING, clock=clock)
        self.info = info
        self.actions: tuple[dict[str, Any], ...] = ()
        self.failure = ""
        self.held = False       # out of YARN while its bootstrap actions run
        self.excluded = False   # out of YARN because they failed
        self.note = ""          # why YARN could not exclude it

    def to_dict(self, logs: str) -> dict[str, Any]:
        i = self.info
        out: dict[str, Any] = {"NodeId": i.node_id, "Hostname": i.hostname,
                               "Address": i.address, "Role": i.role, "Vcores": i.vcores,
                               "State": self.state.value, "BootstrapActions": list(self.actions)}
        if self.failure:
            out["StateChangeReason"] = f"{self.failure} {self.note}".strip()
            out["BootstrapLogs"] = logs
        if self.held or self.excluded:
            out["ExcludedFromYarn"] = True
        elif self.note:
            out["ExcludedFromYarn"] = False
        return out


def short_id(node_id: str) -> str:
    return node_id[:12]


# ------------------------------------------------------------------------------- core

class ClusterCore:
    """One cluster's states and rules; see the module docstring."""

    def __init__(self, cluster_id: str, *, bootstrap_actions: bool = False,
                 master_node_id: str = "", keep_alive: bool = True,
                 idle_timeout_s: float | None = None,
                 bootstrap_logs: Callable[[str], str] = lambda node_id: "",
                 step_logs: Callable[[str], str | None] = lambda step_id: None,
                 clock: Callable[[], float] = time.time,
                 make_step_id: Callable[[], str] = lambda: new_id("s-")) -> None:
        self.cluster_id = cluster_id
        self.status = ClusterStatus(cluster_id, clock)
        self.steps = StepQueue(clock=clock, make_id=make_step_id)
        self.nodes: dict[str, Node] = {}
        self.services: tuple[dict[str, str], ...] = ()
        self.yarn_ours = False
        self._actions = bootstrap_actions
        self._master = master_node_id
        self._keep_alive = keep_alive
        self._idle_timeout = idle_timeout_s
        self._bootstrap_logs = bootstrap_logs
        self._step_logs = step_logs
        self._clock = clock
        self._out: list[Instruction] = []
        self._services = "none"      # none | starting | started
        self._excluding: set[str] = set()
        self._stop_by: float | None = None
        self._stopping = False

    def take_instructions(self) -> list[Instruction]:
        out, self._out = self._out, []
        return out

    # ---------------------------------------------------------------------- queries
    @property
    def started(self) -> bool:
        """Ready (WAITING/RUNNING), or past its start because it failed or was terminated."""
        return self.status.state not in (_CS.STARTING, _CS.BOOTSTRAPPING)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has something to decide (idle timeout, stop grace), if ever."""
        state = self.status.state
        if state is _CS.WAITING and self._idle_timeout is not None and self.steps.idle():
            return self.steps.last_activity + self._idle_timeout
        if state is _CS.TERMINATING and not self._stopping and self._stop_by is not None:
            return self._stop_by
        return None

    def steps_settled(self, step_ids: Sequence[str] | None) -> list[Step] | None:
        """The steps asked for once they are final (all steps: and nothing else queued), or
        once the cluster ended; None while they are not. Unknown ids raise."""
        steps = self.steps.in_order(step_ids)
        done = all(s.state.final for s in steps) and (step_ids is not None or self.steps.idle())
        return steps if done or self.status.state.final else None

    def node_records(self) -> list[dict[str, Any]]:
        return [n.to_dict(self._bootstrap_logs(nid)) for nid, n in self.nodes.items()]

    def excluded_nodes(self) -> list[str]:
        return sorted(nid for nid, n in self.nodes.items() if n.held or n.excluded)

    # ------------------------------------------------------------------------ start
    def start(self, nodes: Iterable[NodeInfo]) -> None:
        """The cluster was provisioned on ``nodes``: bootstrap them all."""
        if self.status.state is not _CS.STARTING:
            return  # terminated before it started
        self.status.move(_CS.BOOTSTRAPPING, "provisioned")
        for info in nodes:
            self._join(info, hold=False)
        self._advance_start()

    def bootstrap_done(self, node_id: str, report: BootstrapReport, *, held: bool = False
                       ) -> None:
        """A node's bootstrap actions ended; ``held``: it was kept out of YARN meanwhile."""
        node = self.nodes.get(node_id)
        if node is None or node.state is not NodeState.BOOTSTRAPPING:
            return  # lost meanwhile
        node.actions, node.held = tuple(report.actions), held
        if report.failure:
            node.failure = report.failure
            node.fire("bootstrap_failed")
        else:
            node.fire("bootstrapped")
        state = self.status.state
        if state is _CS.BOOTSTRAPPING:
            self._advance_start()
        elif state in (_CS.WAITING, _CS.RUNNING):  # a node that joined later
            if held and not report.failure:
                node.held = False
                self._out.append(RecommissionNode(node_id))
            elif report.failure and held:
                node.held, node.excluded = False, True
            elif report.failure:
                self._out.append(ExcludeNode(node_id, _exclusion_reason(node)))

    def services_started(self, services: Sequence[dict[str, str]], *, yarn_ours: bool) -> None:
        self._services = "started"
        self.services, self.yarn_ours = tuple(services), yarn_ours
        if self.status.state is not _CS.BOOTSTRAPPING:  # terminated meanwhile
            self._maybe_stop()
            return
        for nid, node in self.nodes.items():
            if node.state is NodeState.BOOTSTRAP_FAILED:
                self._excluding.add(nid)
                self._out.append(ExcludeNode(nid, _exclusion_reason(node)))
        self._maybe_ready()

    def node_excluded(self, node_id: str, *, refused: bool = False, why: str = "") -> None:
        """YARN excluded the node (``why`` empty), or could not: it ``refused`` (the last
        node able to run containers) or was not reachable."""
        node = self.nodes[node_id]
        node.excluded = not why
        if why:
            node.note = f"(YARN could not exclude it: {why})"
        at_start = node_id in self._excluding
        self._excluding.discard(node_id)
        if at_start and refused and self.status.state is _CS.BOOTSTRAPPING:
            self._fail_start(
                f"On node {short_id(node_id)}, {node.failure}; no other node can run "
                f"containers ({why}); output under {self._bootstrap_logs(node_id)}",
                "BOOTSTRAP_FAILURE")
            return
        self._maybe_ready()

    def start_failed(self, message: str, code: str = "INTERNAL_ERROR") -> None:
        """Starting the services (or anything else of the start) failed."""
        if self._services == "starting":
            self._services = "none"
        self._fail_start(message, code)

    def nodes_seen(self, alive: Iterable[NodeInfo]) -> None:
        """Ray's current nodes: new ones join (held out of YARN while bootstrapping), missing
        ones are LOST. Joins wait until the cluster is ready."""
        alive = list(alive)
        ids = {n.node_id for n in alive}
        for nid, node in self.nodes.items():
            if nid not in ids and node.can("lost"):
                node.fire("lost")
        if self.status.state is _CS.BOOTSTRAPPING:
            self._advance_start()  # a lost node's bootstrap is no longer awaited
        elif self.status.state in (_CS.WAITING, _CS.RUNNING):
            for info in alive:
                if info.node_id not in self.nodes:
                    self._join(info, hold=True)

    # ------------------------------------------------------------------------ steps
    def add_steps(self, specs: Iterable[Any]) -> list[str]:
        if not self.status.state.live:
            raise UserError(f"cluster {self.cluster_id} is {self.status.state.value}; "
                            f"it takes no more steps")
        ids = self.steps.add(specs)
        for sid in ids:
            self.steps.get(sid).log_uri = self._step_logs(sid)
        self._dispatch()
        return ids

    def step_finished(self, step_id: str, exit_code: int, reason: str = "",
                      applications: Iterable[tuple[str, str]] = ()) -> None:
        """The step's runner reports its end and the YARN applications it submitted."""
        for app_id, queue in applications:
            self.steps.record_application(step_id, app_id, queue)
        for ins in self.steps.finished(step_id, ok=exit_code == 0, exit_code=exit_code,
                                       reason=reason):
            if isinstance(ins, TerminateCluster):
                self._terminate(ins.reason, ins.with_errors, "step_failed")
            else:
                self._out.append(ins)
        if self.status.state is _CS.TERMINATING:
            self._maybe_stop()
            return
        if self.steps.idle() and self.status.state is _CS.RUNNING:
            if self._keep_alive:
                self.status.move(_CS.WAITING, "steps_done")
            else:
                self._terminate("Steps completed", False, "steps_done")
            return
        self._dispatch()

    def cancel_steps(self, step_ids: Iterable[str]) -> list[dict[str, str]]:
        results, instructions = self.steps.cancel(step_ids)
        self._out.extend(instructions)
        return results

    # ------------------------------------------------------------------ termination
    def terminate(self, reason: str = "Terminated by user request") -> None:
        self._terminate(reason, False, "terminate")

    def tick(self, now: float | None = None) -> None:
        """Time passed: the idle timeout, and the grace a killed step has to end."""
        now = self._clock() if now is None else now
        timeout = self._idle_timeout
        if (timeout is not None and self.status.state is _CS.WAITING
                and self.steps.idle_for(now) >= timeout):
            self._terminate(f"Cluster was idle for {timeout:g} seconds (auto-termination)",
                            False, "idle_timeout")
        if self.status.state is _CS.TERMINATING:
            self._maybe_stop(now)

    def services_stopped(self, services: Sequence[dict[str, str]] | None = None) -> None:
        if services is not None:
            self.services = tuple(services)
        final = (_CS.TERMINATED_WITH_ERRORS if self.status.with_errors else _CS.TERMINATED)
        self.status.move(final, "terminated")
        self._out.append(Finished())

    # -------------------------------------------------------------------- internals
    def _join(self, info: NodeInfo, *, hold: bool) -> None:
        node = self.nodes[info.node_id] = Node(info, self._clock)
        if self._actions:
            self._out.append(Bootstrap(info.node_id, hold))
        else:
            node.fire("bootstrapped")

    def _advance_start(self) -> None:
        if (self.status.state is not _CS.BOOTSTRAPPING or self._services != "none"
                or any(n.state is NodeState.BOOTSTRAPPING for n in self.nodes.values())):
            return
        fatal = self._fatal_bootstrap_failure()
        if fatal:
            self._fail_start(fatal, "BOOTSTRAP_FAILURE")
            return
        self._services = "starting"
        self._out.append(StartServices())

    def _fatal_bootstrap_failure(self) -> str:
        """EMR's BOOTSTRAP_FAILURE: the master failed, or every node able to run containers."""
        failed = {nid: n.failure for nid, n in self.nodes.items()
                  if n.state is NodeState.BOOTSTRAP_FAILED}
        if not failed:
            return ""
        if self._master in failed:
            return (f"On the master node ({short_id(self._master)}), {failed[self._master]}; "
                    f"output under {self._bootstrap_logs(self._master)}")
        workers = [nid for nid, n in self.nodes.items() if n.info.vcores > 0]
        if workers and all(nid in failed for nid in workers):
            nid = workers[0]
            return (f"On every node that can run containers ({len(workers)}, including "
                    f"{short_id(nid)}), bootstrap actions failed: {failed[nid]}; output under "
                    f"{self._bootstrap_logs(nid)}")
        return ""

    def _maybe_ready(self) -> None:
        if (self.status.state is _CS.BOOTSTRAPPING and self._services == "started"
                and not self._excluding):
            self.status.move(_CS.WAITING, "services_started")
            self.steps.last_activity = self._clock()  # idle from now on, not from creation
            self._dispatch()

    def _fail_start(self, message: str, code: str) -> None:
        event = "start_failed" if self.status.state is _CS.STARTING else "bootstrap_failed"
        self._terminate(message, True, event, code)

    def _dispatch(self) -> None:
        if self.status.state not in (_CS.WAITING, _CS.RUNNING):
            return
        ins = self.steps.start_next()
        if ins is None:
            return
        if self.status.state is _CS.WAITING:
            self.status.move(_CS.RUNNING, "step_started")
        self._out.append(ins)

    def _terminate(self, reason: str, with_errors: bool, event: str, code: str = "") -> None:
        if not self.status.state.live:
            return
        self.status.move(_CS.TERMINATING, event, reason, code or REASON_CODES.get(event, ""))
        self.status.with_errors = with_errors
        self._out.extend(self.steps.close("cluster terminating: " + reason))
        self._stop_by = self._clock() + STOP_GRACE_S
        self._maybe_stop()

    def _maybe_stop(self, now: float | None = None) -> None:
        """Stop the services once no step runs and no service is starting (or the grace
        for a killed step is over)."""
        if self.status.state is not _CS.TERMINATING or self._stopping:
            return
        if self._services == "starting":
            return
        now = self._clock() if now is None else now
        if self.steps.running is not None and (self._stop_by is None or now < self._stop_by):
            return
        self._stopping = True
        self._out.append(StopServices(() if self.yarn_ours else tuple(self.excluded_nodes())))


def _exclusion_reason(node: Node) -> str:
    return f"bootstrap failed: {node.failure}"[:500]
