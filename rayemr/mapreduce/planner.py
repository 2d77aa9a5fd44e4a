"""Plan an mrjob-style job into a StageGraph (pure: splits and job description in).

The job's steps unroll into ``M0 [R0] M1 [R1] ...`` (M = map side, R = reduce side, present
when the step has a reducer). The plan cuts that sequence before every reducer: each cut is a
shuffle, each piece a stage. So a two-step job with reducers is three stages:
``map(0) | reduce(0)+map(1) | reduce(1)``; map-only steps fold into the stage before them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rayemr.core.errors import ConfigError, UserError
from rayemr.engine.graph import ShuffleInput, ShuffleSpec, SplitInput, Stage, StageGraph
from rayemr.mapreduce.chain import Chain, JobOptions
from rayemr.mapreduce.tasks import StreamingStage


@dataclass(frozen=True)
class Segment:
    start: str  # "split" | "shuffle"
    first: int
    maps: tuple[int, ...]


def segments(steps_desc: Sequence[dict[str, Any]]) -> list[Segment]:
    """Cut the unrolled steps before every reducer."""
    if not steps_desc:
        raise UserError("the job has no steps")
    for i, st in enumerate(steps_desc):
        if st.get("type", "streaming") != "streaming":
            raise UserError(f"step {i + 1} is a {st.get('type')} step; rayemr runs streaming "
                            "(mapper/combiner/reducer) steps only")
    out: list[Segment] = []
    start, first, maps = "split", 0, []
    for i, st in enumerate(steps_desc):
        if i > 0 or start != "split":
            maps.append(i)
        if "reducer" in st:
            out.append(Segment(start, first, tuple(maps)))
            start, first, maps = "shuffle", i, []
    out.append(Segment(start, first, tuple(maps)))
    return out


def num_reducers_of(step_conf: dict[str, str], default: int) -> int:
    raw = step_conf.get("mapreduce.job.reduces") or step_conf.get("mapred.reduce.tasks")
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise ConfigError(f"mapreduce.job.reduces={raw!r}: not a number") from None
    if n < 1:
        raise ConfigError(f"mapreduce.job.reduces={n}: rayemr needs at least 1 reducer",
                          hint="for a map-only job, give the step a mapper and no reducer")
    return n


def plan_streaming_job(name: str, source: Any, steps_desc: Sequence[dict[str, Any]],
                       splits: Sequence[Any], *, num_reducers: int, sort_values: bool,
                       partitioner: bool, options: JobOptions,
                       conf: dict[str, str] | None = None) -> StageGraph:
    """The StageGraph of a job whose steps are described as mrjob describes them."""
    if num_reducers < 1:
        raise ConfigError(f"--num-reducers {num_reducers}: must be at least 1")
    segs = segments(steps_desc)
    stages: list[Stage] = []
    sort_by = (("key", "ascending"),) + ((("value", "ascending"),) if sort_values else ())
    for n, seg in enumerate(segs):
        last = n == len(segs) - 1
        if last:
            end, end_step, parts, spec = "write", -1, 1, None
        else:
            end, end_step = "shuffle", segs[n + 1].first
            step_conf = {str(k): str(v) for k, v in
                         (steps_desc[end_step].get("jobconf") or {}).items()}
            parts = num_reducers_of(step_conf, num_reducers)
            spec = (ShuffleSpec(parts, ("__partition__",), kind="column", sort_by=sort_by)
                    if partitioner else ShuffleSpec(parts, ("key",), sort_by=sort_by))
        kind = "r" if seg.start == "shuffle" else "m"
        chain = Chain(seg.start, seg.first, seg.maps, end, end_step, parts, kind)
        fn = StreamingStage(source, chain, options)
        sid = f"Stage-{n + 1}"
        what = _describe(seg, end, end_step)
        if seg.start == "split":
            if not splits:
                raise UserError(f"{name}: the input has no files")
            stages.append(Stage(sid, fn, (SplitInput("split", tuple(splits)),), output=spec,
                                kind="map", description=what))
        else:
            stages.append(Stage(sid, fn, (ShuffleInput("shuffle", stages[-1].id),),
                                output=spec, kind="reduce", description=what))
    return StageGraph(tuple(stages), name=name, conf=tuple(sorted((conf or {}).items())))


def _describe(seg: Segment, end: str, end_step: int) -> str:
    parts = [f"map {seg.first + 1}" if seg.start == "split" else f"reduce {seg.first + 1}"]
    parts += [f"map {m + 1}" for m in seg.maps]
    if end == "shuffle":
        parts.append(f"combine+shuffle {end_step + 1}")
    else:
        parts.append("write")
    return " -> ".join(parts)
