"""What a task sees of the engine: its identity, configuration and counters."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


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

    def counters_dict(self) -> dict[str, dict[str, int]]:
        return {g: dict(c) for g, c in self.counters.items()}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["counters"] = self.counters_dict()
        return state

    def __setstate__(self, state):
        counters = defaultdict(lambda: defaultdict(int))
        for g, c in state.pop("counters").items():
            counters[g].update(c)
        self.__dict__.update(state)
        self.counters = counters


def merge_counters(into: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for group, counters in more.items():
        dest = into.setdefault(group, {})
        for name, value in counters.items():
            dest[name] = dest.get(name, 0) + value
