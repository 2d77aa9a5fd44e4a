"""StageGraph: immutable plans of map / shuffle / reduce stages.

A stage runs ``num_tasks`` tasks. Task ``i`` calls ``stage.fn(ctx, inputs)`` where ``inputs``
maps each input's name to what that task receives:

- :class:`SplitInput` -- ``splits[i]`` (one input split per task; it fixes ``num_tasks``);
- :class:`ShuffleInput` -- partition ``i`` of the upstream stage's output: the upstream
  tasks' blocks for that partition concatenated into one ``pyarrow.Table`` (sorted when the
  upstream :class:`ShuffleSpec` asks for it);
- :class:`BroadcastInput` -- the upstream stage's whole output as one table (map joins).

``fn`` returns a ``pyarrow.Table`` (or ``None`` when it wrote its output itself). When the
stage has a :class:`ShuffleSpec` the table is cut into partitions for downstream stages;
when ``collect`` is set, the tables come back to the driver in task order.

Stages are listed in dependency order; ids are given in plan order so EXPLAIN is stable.
Plans are values: frozen dataclasses, validated at construction, never mutated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Union

from rayemr.core.errors import UserError

SortOrder = Literal["ascending", "descending"]


@dataclass(frozen=True)
class ShuffleSpec:
    """How a stage's output is cut into partitions for the next stage.

    kind ``hash``: rows go to ``hash(keys) % num_partitions`` (same key, same partition, in
    every process). ``range``: ``boundaries`` (``num_partitions - 1`` sorted key tuples) give
    a total order across partitions. ``column``: the int column ``keys[0]`` already holds the
    partition number (a job's own partitioner). ``single``: everything to partition 0.
    ``sort_by`` sorts each partition (column, order) after it is assembled.
    """

    num_partitions: int
    keys: tuple[str, ...] = ()
    kind: Literal["hash", "range", "column", "single"] = "hash"
    boundaries: tuple[tuple[Any, ...], ...] = ()
    sort_by: tuple[tuple[str, SortOrder], ...] = ()

    def __post_init__(self) -> None:
        if self.num_partitions < 1:
            raise UserError(f"a shuffle needs at least 1 partition, got {self.num_partitions}")
        if self.kind in ("hash", "range", "column") and not self.keys:
            raise UserError(f"a {self.kind} shuffle needs key columns")
        if self.kind == "single" and self.num_partitions != 1:
            raise UserError("a single-partition shuffle has num_partitions=1")
        if self.kind == "range" and len(self.boundaries) != self.num_partitions - 1:
            raise UserError(
                f"a range shuffle into {self.num_partitions} partitions needs "
                f"{self.num_partitions - 1} boundaries, got {len(self.boundaries)}")


@dataclass(frozen=True)
class SplitInput:
    name: str
    splits: tuple[Any, ...]


@dataclass(frozen=True)
class ShuffleInput:
    name: str
    stage: str


@dataclass(frozen=True)
class BroadcastInput:
    name: str
    stage: str


StageInput = Union[SplitInput, ShuffleInput, BroadcastInput]


@dataclass(frozen=True)
class Stage:
    id: str
    fn: Callable[..., Any] = field(compare=False)
    inputs: tuple[StageInput, ...] = ()
    num_tasks: int | None = None
    output: ShuffleSpec | None = None
    collect: bool = False
    kind: Literal["map", "reduce"] = "map"
    description: str = ""

    def __post_init__(self) -> None:
        split_inputs = [i for i in self.inputs if isinstance(i, SplitInput)]
        if len(split_inputs) > 1:
            raise UserError(f"stage {self.id}: at most one split input, got {len(split_inputs)}")
        if split_inputs:
            n = len(split_inputs[0].splits)
            if self.num_tasks is not None and self.num_tasks != n:
                raise UserError(f"stage {self.id}: num_tasks={self.num_tasks} but {n} splits")
            object.__setattr__(self, "num_tasks", n)
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise UserError(f"stage {self.id}: input names repeat: {names}")

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(i.stage for i in self.inputs if not isinstance(i, SplitInput))


@dataclass(frozen=True)
class StageGraph:
    """A validated DAG of stages in dependency order."""

    stages: tuple[Stage, ...]
    name: str = "rayemr"
    conf: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, Stage] = {}
        for stage in self.stages:
            if stage.id in seen:
                raise UserError(f"graph {self.name}: stage id {stage.id} repeats")
            for inp in stage.inputs:
                if isinstance(inp, SplitInput):
                    continue
                up = seen.get(inp.stage)
                if up is None:
                    raise UserError(
                        f"graph {self.name}: stage {stage.id} reads {inp.stage}, "
                        "which is not an earlier stage")
                if isinstance(inp, ShuffleInput):
                    if up.output is None:
                        raise UserError(f"stage {up.id} has no shuffle output for {stage.id}")
                    if stage.num_tasks is None:
                        object.__setattr__(stage, "num_tasks", up.output.num_partitions)
                    elif stage.num_tasks != up.output.num_partitions:
                        raise UserError(
                            f"stage {stage.id} has {stage.num_tasks} tasks but {up.id} "
                            f"shuffles into {up.output.num_partitions} partitions")
            if stage.num_tasks is None:
                object.__setattr__(stage, "num_tasks", 1)
            seen[stage.id] = stage

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def consumers(self, stage_id: str) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if stage_id in s.upstream)
