"""Running a job: input splits, plan, engine, committer, output, counters, progress.

``JobRunner`` is mrjob's runner shape: a context manager with ``run()``, ``cat_output()``,
``counters()``; ``job.make_runner()`` makes one. ``run_job_cli`` is ``MyJob.run()``'s body.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Iterator, TextIO

from rayemr.core.errors import ConfigError, OutputExistsError, RayEmrError, UserError
from rayemr.engine import run_graph
from rayemr.engine.graph import StageGraph
from rayemr.engine.schedule import Progress
from rayemr.fs import OutputCommitter, compute_splits, list_inputs, resolve
from rayemr.fs.resolve import parse_url
from rayemr.mapreduce.arguments import (CONF_MAX_ATTEMPTS, CONF_REDUCES, CONF_SKIP_BAD,
                                        CONF_SPLIT_SIZE, CONF_YARN, check_count,
                                        check_numeric_conf, parse_conf)
from rayemr.mapreduce.chain import JobOptions
from rayemr.mapreduce.files import load_files
from rayemr.mapreduce.jobinfo import jobconf, sort_values
from rayemr.mapreduce.planner import plan_streaming_job
from rayemr.mapreduce.source import JobSource



def format_counters(counters: dict[str, dict[str, int]]) -> str:
    """Hadoop's end-of-job counter listing."""
    n = sum(len(c) for c in counters.values())
    lines = [f"Counters: {n}"]
    for group in sorted(counters):
        lines.append(f"\t{group}")
        for name in sorted(counters[group]):
            lines.append(f"\t\t{name}={counters[group][name]}")
    return "\n".join(lines)


def progress_printer(stream: TextIO, name: str) -> Callable[[Progress], None]:
    """Hadoop's progress lines with the stage counts of multi-stage jobs; on a terminal one
    line is rewritten in place (a new line once the job is complete)."""
    t0 = time.monotonic()
    live = bool(getattr(stream, "isatty", lambda: False)())
    width = [0]

    def show(p: Progress) -> None:
        counts = p.stage_counts()
        text = (f"  {time.monotonic() - t0:6.1f}s {name}: {p.line()}"
                + (f" ({counts})" if counts else ""))
        if live:
            end = "\n" if all(d >= t for _, d, t in p.stages) else ""
            stream.write("\r" + text.ljust(width[0]) + end)
            width[0] = 0 if end else len(text)
        else:
            stream.write(text + "\n")
        stream.flush()

    return show


class JobRunner:
    """Runs one job (rayemr ``MRJob``, ``BatchJob`` or ``mrjob.job.MRJob``)."""

    def __init__(self, job: Any, *, runner: str | None = None, inputs: list[str] | None = None,
                 output_dir: str | None = None, num_reducers: int | None = None,
                 queue: str | None = None, conf: dict[str, str] | None = None,
                 max_attempts: int | None = None, skip_bad_records: bool | None = None,
                 overwrite: bool | None = None, progress: Callable[[Progress], None] | None
                 = None, fs_config: Any = None, cancel: Callable[[], bool] | None = None
                 ) -> None:
        opts = getattr(job, "options", None)
        self.job = job
        self.runner = runner or _opt(opts, "runner", "inline")
        if self.runner not in ("inline", "local", "ray"):
            raise ConfigError(f"-r {self.runner}: use inline, local or ray")
        self.inputs = list(inputs if inputs is not None else _opt(opts, "args", []))
        out = output_dir if output_dir is not None else _opt(opts, "output_dir", None)
        self._tmp_output = None
        if out is None:
            self._tmp_output = tempfile.mkdtemp(prefix="rayemr-output-")
            out = os.path.join(self._tmp_output, "output")
        self.output_dir = out
        self.conf = jobconf(job) | parse_conf(_opt(opts, "conf", [])) | dict(conf or {})
        check_numeric_conf(self.conf)
        reducers = num_reducers if num_reducers is not None else _opt(opts, "num_reducers",
                                                                      None)
        self.num_reducers = (None if reducers is None
                             else check_count("--num-reducers", reducers))
        self.queue = queue or _opt(opts, "queue", "default")
        attempts = max_attempts if max_attempts is not None else _opt(opts, "max_attempts",
                                                                      None)
        self.max_attempts = (check_count("--max-attempts", attempts) if attempts is not None
                             else int(self.conf.get(CONF_MAX_ATTEMPTS) or 4))
        skip = skip_bad_records if skip_bad_records is not None else (
            _opt(opts, "skip_bad_records", False)
            or self.conf.get(CONF_SKIP_BAD, "").lower() == "true"
            or bool(getattr(job, "SKIP_BAD_RECORDS", False)))
        self.skip_bad_records = bool(skip)
        self.overwrite = bool(overwrite if overwrite is not None
                              else _opt(opts, "overwrite", False))
        self.progress = progress
        self.fs_config = fs_config
        self.cancel = cancel  # polled while the job runs: True kills it
        self.result = None
        self.error: BaseException | None = None
        self._counters: dict[str, dict[str, int]] = {}
        self._split_list: list[Any] | None = None
        self._stdin_dir: str | None = None

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> "JobRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        for tmp in (self._tmp_output, self._stdin_dir):
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
        self._tmp_output = self._stdin_dir = None

    # -- planning ----------------------------------------------------------------------
    def _splits(self) -> list[Any]:
        if self._split_list is not None:
            return self._split_list
        if not self.inputs:
            raise UserError("no input: name one or more input paths or URLs "
                            "(- reads standard input)")
        size = self.conf.get(CONF_SPLIT_SIZE)
        self._split_list = compute_splits(self._stdin_inputs(),
                                          split_size=int(size) if size else None,
                                          config=self.fs_config)
        return self._split_list

    def _stdin_inputs(self) -> list[str]:
        """The inputs, with ``-`` (mrjob's standard input) saved to a local file first."""
        if "-" not in self.inputs:
            return self.inputs
        if self._stdin_dir is None:
            self._stdin_dir = tempfile.mkdtemp(prefix="rayemr-stdin-")
        path = os.path.join(self._stdin_dir, "stdin")
        with open(path, "wb") as f:
            shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
        return [path if url == "-" else url for url in self.inputs]

    def check(self) -> None:
        """What can be checked before any cluster starts: the inputs exist (listed into
        splits, kept for the run), the output's bucket exists and the output is free."""
        self._splits()
        try:
            OutputCommitter(self.output_dir, config=self.fs_config,
                            overwrite=self.overwrite).check_output()
        except OutputExistsError as exc:
            raise OutputExistsError(exc.message, hint="choose a new location, or pass "
                                    "--overwrite to replace it") from None

    def _default_reducers(self) -> int:
        if CONF_REDUCES in self.conf:
            return int(self.conf[CONF_REDUCES])
        if self.runner == "inline":
            return 1
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1
        return max(1, min(8, cpus))

    def plan(self) -> tuple[StageGraph, OutputCommitter]:
        """(StageGraph, committer) of this run."""
        splits = self._splits()
        committer = OutputCommitter(self.output_dir, config=self.fs_config,
                                    overwrite=self.overwrite)
        reducers = self.num_reducers or self._default_reducers()
        plan_graph = getattr(self.job, "plan_graph", None)
        if plan_graph is not None:  # a job that plans itself (BatchJob)
            graph = plan_graph(splits, num_reducers=reducers, fs_config=self.fs_config,
                               conf=self.conf)
        else:  # mrjob-style steps: rayemr's MRJob and mrjob's alike
            graph = self._plan_steps(splits, reducers)
        return graph, committer

    def _plan_steps(self, splits: list[Any], reducers: int) -> StageGraph:
        source = JobSource.of(self.job)
        options = JobOptions(skip_bad_records=self.skip_bad_records,
                             output_format=getattr(self.job, "OUTPUT_FORMAT", "text"),
                             files=load_files(self.job.files()), fs_config=self.fs_config)
        partitioner = bool(getattr(self.job, "has_partitioner", lambda: False)())
        return plan_streaming_job(type(self.job).__name__, source, self.job._steps_desc(),
                                  splits, num_reducers=reducers,
                                  sort_values=sort_values(self.job),
                                  partitioner=partitioner, options=options, conf=self.conf)

    # -- running -----------------------------------------------------------------------
    def run(self) -> "JobRunner":
        self.check()  # before Ray starts: a wrong input or output fails in a second
        if self.runner in ("local", "ray"):
            import rayemr

            address = _opt(getattr(self.job, "options", None), "address", None)
            if self.runner == "local" and not address:
                rayemr.init(address=os.environ.get("RAY_ADDRESS") or None)
            else:
                rayemr.init(address=address)
        graph, committer = self.plan()
        made = _missing_local_dirs(self.output_dir)
        try:
            self.result = run_graph(
                graph, runner="inline" if self.runner == "inline" else "ray",
                conf=self.conf, queue=self.queue, app_name=graph.name,
                progress=self.progress, max_attempts=self.max_attempts, committer=committer,
                cancel=self.cancel,
                yarn=False if self.conf.get(CONF_YARN, "").lower() == "false" else None)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                _abort_after_interrupt(committer)
            _remove_empty_dirs(made)  # a failed job leaves no folder of its own behind
            if isinstance(exc, RayEmrError):
                self._counters = getattr(exc, "counters", {}) or {}
                self.error = exc
            raise
        self._counters = self.result.counters
        return self

    def counters(self) -> list[dict[str, dict[str, int]]]:
        """The job's counters (mrjob returns one dict per step; here one for the job)."""
        return [self._counters]

    def output_files(self) -> list[str]:
        return [s.url for s in list_inputs([self.output_dir], config=self.fs_config)]

    def cat_output(self) -> Iterator[bytes]:
        """The output's bytes, part by part (feed to ``job.parse_output``)."""
        for url in self.output_files():
            fs, path = resolve(url, self.fs_config)
            with fs.open(path, "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    yield chunk


def _abort_after_interrupt(committer: Any) -> None:
    """Ctrl-C: tasks still running may write attempt files after the driver's abort, so
    stop a Ray this process started, then abort the output again."""
    import rayemr.runtime as runtime

    if runtime.started_here():
        runtime.shutdown()
    try:
        committer.abort_job()
    except Exception:  # noqa: BLE001 -- the interrupt is what the user sees
        pass


def _missing_local_dirs(url: str) -> list[str]:
    """The local folders, innermost first, that writing to ``url`` would create."""
    try:
        parsed = parse_url(url)
    except RayEmrError:
        return []
    if parsed.kind != "local":
        return []
    path, missing = os.path.abspath(parsed.path), []
    while path and not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _remove_empty_dirs(paths: list[str]) -> None:
    """Remove the folders a failed job created, innermost first, only while they are empty."""
    for path in paths:
        try:
            os.rmdir(path)  # never removes a folder that holds anything
        except FileNotFoundError:
            continue
        except OSError:
            return


def _opt(opts: Any, name: str, default: Any) -> Any:
    value = getattr(opts, name, None) if opts is not None else None
    return default if value is None else value


def run_job_cli(job: Any, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``MyJob.run()``: run, show progress and counters, print output when no -o was given."""
    out = out or sys.stdout
    err = err or sys.stderr
    quiet = bool(_opt(getattr(job, "options", None), "quiet", False))
    name = type(job).__name__
    try:
        runner = JobRunner(job, progress=None if quiet else progress_printer(err, name))
    except RayEmrError as exc:
        err.write(f"{name}: {exc}\n")
        return exc.exit_code
    with runner:
        try:
            runner.run()
        except RayEmrError as exc:
            if not quiet and runner._counters:
                err.write(format_counters(runner._counters) + "\n")
            err.write(f"{name}: job failed: {exc}\n")
            tb = getattr(exc, "user_traceback", "")
            if tb:
                err.write(tb if tb.endswith("\n") else tb + "\n")
            return exc.exit_code
        if not quiet:
            err.write(format_counters(runner._counters) + "\n")
        cat = _opt(getattr(job, "options", None), "cat_output", None)
        if cat or (cat is None and runner._tmp_output):
            buf = getattr(out, "buffer", None)
            for chunk in runner.cat_output():
                if buf is not None:
                    buf.write(chunk)
                else:
                    out.write(chunk.decode("utf-8", "replace"))
            out.flush()
        elif not quiet:
            err.write(f"{name}: output in {runner.output_dir}\n")
    return 0
