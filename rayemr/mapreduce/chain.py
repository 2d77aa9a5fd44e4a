"""What one stage of an mrjob-style job does (:class:`Chain`) and with which options.

Plain frozen values: the planner (:mod:`rayemr.mapreduce.planner`) makes them, the stage
functions (:mod:`rayemr.mapreduce.tasks`) run them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Chain:
    """What one stage's tasks do, in order."""

    start: str  # "split" (map side of step `first`) | "shuffle" (reduce side of `first`)
    first: int
    maps: tuple[int, ...]  # steps whose map side runs after the start, in order
    end: str  # "shuffle" | "write"
    end_step: int  # the step whose reducer receives the shuffle (end == "shuffle")
    num_partitions: int = 1
    output_kind: str = "r"  # part-r (after a reducer) or part-m (map-only job)


@dataclass(frozen=True)
class JobOptions:
    """Job-wide options every task of a job sees."""

    skip_bad_records: bool = False
    output_format: str = "text"
    files: tuple[tuple[str, bytes], ...] = ()
    fs_config: Any = None
    batch_rows: int = 65536


__all__ = ["Chain", "JobOptions"]
