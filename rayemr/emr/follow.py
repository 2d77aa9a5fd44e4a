"""Following a cluster's steps as they run: what ``create-cluster`` and the demo print.

``StepWatcher`` is the pure part: fed successive step lists (EMR's descriptions) and the
progress of running steps, it returns what changed as ``StepEvent``s. ``step_progress``
reads a running step's YARN applications (found by the step's tag) and says how far they
are; ``follow`` polls a cluster and hands every event to a callback until the steps end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

FINAL = ("COMPLETED", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class StepEvent:
    index: int  # 1-based, in submission order
    total: int
    step_id: str
    name: str
    state: str
    seconds: float | None = None  # for a step that ended
    progress: str = ""  # while it runs: its YARN applications' progress

    def line(self) -> str:
        head = f"step {self.index}/{self.total} {self.name} ({self.step_id})"
        if self.progress:
            return f"{head}: {self.progress}"
        if self.seconds is not None:
            return f"{head} {self.state} in {self.seconds:.1f}s"
        return f"{head} {self.state}"


class StepWatcher:
    """Turns successive step lists into events: state changes, then progress changes."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.progress: dict[str, str] = {}

    def update(self, steps: Iterable[dict[str, Any]], progress: dict[str, str] | None = None
               ) -> list[StepEvent]:
        ordered = sorted(steps, key=_submitted)
        events = []
        for i, step in enumerate(ordered, start=1):
            sid, state = step["Id"], step["Status"]["State"]
            before = self.states.get(sid)
            if before != state:
                self.states[sid] = state
                ran = "StartDateTime" in step["Status"].get("Timeline", {})
                if state in FINAL and before != "RUNNING" and ran:
                    # it started and ended between two looks: say both
                    events.append(StepEvent(i, len(ordered), sid, step["Name"], "RUNNING"))
                if state != "PENDING":
                    events.append(StepEvent(i, len(ordered), sid, step["Name"], state,
                                            _seconds(step) if state in FINAL else None))
            text = (progress or {}).get(sid, "")
            if state == "RUNNING" and text and self.progress.get(sid) != text:
                self.progress[sid] = text
                events.append(StepEvent(i, len(ordered), sid, step["Name"], state,
                                        progress=text))
        return events


def _submitted(step: dict[str, Any]) -> float:
    """Creation time; the sort is stable, so steps added together (one time) keep the
    order they were given in (``watch_steps`` gives submission order; ids are random)."""
    return step["Status"].get("Timeline", {}).get("CreationDateTime") or 0


def _seconds(step: dict[str, Any]) -> float | None:
    timeline = step["Status"].get("Timeline", {})
    if "StartDateTime" in timeline and "EndDateTime" in timeline:
        return float(timeline["EndDateTime"] - timeline["StartDateTime"])
    return None


def step_progress(step_id: str, client: Any = None) -> str:
    """``application_... map 60% reduce 0%`` for the running applications of a step ('' if
    none runs or YARN is not up)."""
    from rayemr.emr import services

    if not services._yarn_running():  # a YarnClient would start YARN
        return ""
    try:
        from rayemr.yarn import YarnClient

        client = client or YarnClient()
        reports = client.list(tags=[services.step_tag(step_id)])
    except Exception:  # noqa: BLE001 -- progress is informative only
        return ""
    parts = []
    for report in sorted(reports, key=lambda r: r.app_id):
        if report.state.final:
            continue
        posted = client.am_status(report)
        how = posted.line() if hasattr(posted, "line") else f"{report.progress * 100:.0f}%"
        parts.append(f"{report.app_id} {how}")
    return ", ".join(parts)


def follow(cluster: Any, on_event: Callable[[StepEvent], None], *, poll_s: float = 1.0,
           until: Callable[[], bool] = lambda: False, progress: bool = True) -> list:
    """Poll ``cluster``'s steps, calling ``on_event`` for each change, until every step
    ended and ``until()`` (or the cluster terminated); returns the last step list."""
    watcher = StepWatcher()
    known: dict[str, str] = {}
    while True:
        # returns as soon as a step changes; while one runs, soon enough to show progress
        steps = cluster.watch_steps(known, timeout=poll_s if known_running(known) else 30.0)
        known = {s["Id"]: s["Status"]["State"] for s in steps}
        running = [sid for sid, st in known.items() if st == "RUNNING"]
        texts = {sid: step_progress(sid) for sid in running} if progress else {}
        for event in watcher.update(steps, texts):
            on_event(event)
        ended = all(s["Status"]["State"] in FINAL for s in steps)
        if (ended and until()) or cluster.state in ("TERMINATED", "TERMINATED_WITH_ERRORS"):
            return cluster.list_steps()


def known_running(known: dict[str, str]) -> bool:
    return any(state == "RUNNING" for state in known.values())
