"""``run_graph``: the engine's entry point, and the table of runners it picks from.

MapReduce jobs and Hive queries both end here. A runner takes a validated graph and the
driver's keyword arguments and returns the :class:`~rayemr.engine.driver.GraphResult`:
``inline`` runs every task in this process; ``ray`` runs on the Ray cluster this process is
connected to, as a YARN application when ``rayemr.yarn`` is there (or as plain Ray tasks).
"""
from __future__ import annotations

from typing import Any, Callable

from rayemr.core.errors import ConfigError
from rayemr.engine.driver import GraphResult, drive
from rayemr.engine.graph import StageGraph
from rayemr.engine.schedule import Progress


def _run_inline(graph: StageGraph, *, queue: str, app_name: str | None, yarn: bool | None,
                **kwargs: Any) -> GraphResult:
    from rayemr.engine.launchers import InlineLauncher

    return drive(graph, InlineLauncher(kwargs.get("cancel")), **kwargs)


def _run_on_ray(graph: StageGraph, *, queue: str, app_name: str | None, yarn: bool | None,
                **kwargs: Any) -> GraphResult:
    import rayemr
    from rayemr.engine import yarn_runner

    rayemr.init()
    if yarn is True or (yarn is None and yarn_runner.enabled()):
        return yarn_runner.run_on_yarn(graph, queue=queue, app_name=app_name or graph.name,
                                       **kwargs)
    if yarn:
        raise ConfigError("rayemr.yarn is not available; run with yarn=False")
    from rayemr.engine.launchers import RayLauncher

    return drive(graph, RayLauncher(), **kwargs)


#: Runner name -> function(graph, *, queue, app_name, yarn, **driver keyword arguments).
RUNNERS: dict[str, Callable[..., GraphResult]] = {"inline": _run_inline, "ray": _run_on_ray}


def run_graph(graph: StageGraph, *, runner: str = "ray", conf: dict[str, str] | None = None,
              queue: str = "default", app_name: str | None = None,
              progress: Callable[[Progress], None] | None = None, max_attempts: int = 4,
              committer: Any = None, cancel: Callable[[], bool] | None = None,
              yarn: bool | None = None) -> GraphResult:
    """Run a StageGraph and return the tables of its ``collect`` stages and its counters.

    ``runner="inline"`` runs every task in this process, one after another (tests,
    debugging). ``runner="ray"`` runs on the Ray cluster this process is connected to
    (starting a local one if none): as a YARN application in queue ``queue`` with one
    container per task attempt when ``rayemr.yarn`` is available (``yarn=None``: when it is
    importable; ``True``: required; ``False``: plain Ray tasks).

    A failed attempt is retried up to ``max_attempts`` attempts in all; a task failing for
    good raises :class:`~rayemr.engine.errors.TaskFailedError` naming stage, task, attempt
    and split (or the input's own :class:`UserError`, e.g. a malformed record), with
    ``.counters`` attached. ``committer`` (a ``rayemr.fs.OutputCommitter``) is set up first,
    committed only when every stage succeeded, aborted otherwise. ``cancel()`` is polled;
    returning True kills the job.
    """
    run = RUNNERS.get(runner)
    if run is None:
        raise ConfigError(f"unknown runner {runner!r}; use one of {', '.join(RUNNERS)}")
    if max_attempts < 1:
        raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
    return run(graph, queue=queue, app_name=app_name, yarn=yarn, conf=conf,
               committer=committer, max_attempts=max_attempts, progress=progress,
               cancel=cancel)


__all__ = ["RUNNERS", "run_graph"]
