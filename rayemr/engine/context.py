"""What a task sees of the engine: its identity, configuration and counters."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskContext:
    """Passed to every stage function. Picklable; counters travel back with the result."""

    stage_id: str
    task_index: int
    attempt: int = 0
    conf: dict[str, str] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    status: str = ""
    #: The job's output committer (``rayemr.fs.OutputCommitter``) or None.
    committer: Any = None
    #: What this task reads, for error messages ("s3://b/in/a.txt:0+1048576").
    split: str = ""
    _outputs: list = field(default_factory=list, repr=False)

    @property
    def task_id(self) -> str:
        return f"{self.stage_id}-{self.task_index:05d}"

    @property
    def attempt_id(self) -> str:
        return f"{self.task_id}_{self.attempt}"

    def increment_counter(self, group: str, counter: str, amount: int = 1) -> None:
        self.counters[group][counter] += amount

    def set_status(self, message: str) -> None:
        self.status = message

    def open_output(self, name: str):
        """A binary file for this attempt's output ``name`` (``part-r-00003``).

        Written through the job's committer under the output's hidden ``_temporary/``; the
        engine commits the task when the attempt succeeds and publishes the part only when
        the whole job commits. Bytes written count as ``File System Counters``.
        """
        if self.committer is None:
            raise RuntimeError(f"task {self.task_id}: the job has no output committer")
        f = _CountingFile(self.committer.open_task_output(self.task_id, self.attempt, name),
                          self)
        self._outputs.append(name)
        return f

    @property
    def wrote_output(self) -> bool:
        return bool(self._outputs)

    def counters_dict(self) -> dict[str, dict[str, int]]:
        return {g: dict(c) for g, c in self.counters.items()}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["counters"] = self.counters_dict()
        state["_outputs"] = []
        return state

    def __setstate__(self, state):
        counters = defaultdict(lambda: defaultdict(int))
        for g, c in state.pop("counters").items():
            counters[g].update(c)
        self.__dict__.update(state)
        self.counters = counters


class _CountingFile:
    """Delegates to a binary file, counting bytes written into the task's counters."""

    def __init__(self, f, ctx: TaskContext) -> None:
        self._f = f
        self._ctx = ctx

    def write(self, data) -> int:
        n = self._f.write(data)
        self._ctx.increment_counter("File System Counters", "Bytes written", len(data))
        return n if n is not None else len(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


def merge_counters(into: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for group, counters in more.items():
        dest = into.setdefault(group, {})
        for name, value in counters.items():
            dest[name] = dest.get(name, 0) + value
