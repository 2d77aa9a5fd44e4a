"""Jobs unroll into stages cut before every reducer."""
from __future__ import annotations

import pytest

from rayemr.core.errors import UserError
from rayemr.mapreduce import MRJob, MRStep
from rayemr.mapreduce.planner import Segment, segments


def S(*parts):
    return {"type": "streaming", **{p: {"type": "script"} for p in parts}}


def test_single_step():
    assert segments([S("mapper", "reducer")]) == [Segment("split", 0, ()),
                                                  Segment("shuffle", 0, ())]


def test_map_only_steps_fold_into_previous_stage():
    steps = [S("mapper"), S("mapper", "reducer"), S("mapper"), S("reducer")]
    assert segments(steps) == [Segment("split", 0, (1,)), Segment("shuffle", 1, (2, 3)),
                               Segment("shuffle", 3, ())]


def test_map_only_job_is_one_stage():
    assert segments([S("mapper")]) == [Segment("split", 0, ())]


def test_rejects_bad_steps():
    with pytest.raises(UserError, match="no steps"):
        segments([])
    with pytest.raises(ValueError, match="no mappers and no reducers"):
        MRStep(combiner=lambda k, v: v)
    with pytest.raises(ValueError, match="both mapper_cmd and mapper"):
        MRStep(mapper=lambda k, v: v, mapper_cmd="cat")
    with pytest.raises(TypeError, match="unexpected keyword"):
        MRStep(mapperr=print)


def test_default_steps_from_methods():
    class J(MRJob):
        def mapper(self, k, v):
            yield v, 1

        def reducer(self, k, vs):
            yield k, sum(vs)

    desc = J(args=[])._steps_desc()
    assert desc == [{"type": "streaming", "mapper": {"type": "script"},
                     "reducer": {"type": "script"}}]
