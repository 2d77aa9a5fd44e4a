"""MapReduce on Ray: mrjob's job API, a vectorized Arrow API, and running jobs.

- :class:`MRJob`, :class:`MRStep` -- write jobs as in mrjob (generator methods, ``steps()``).
- :class:`BatchJob` -- vectorized jobs: ``map_batch`` over Arrow batches + declarative reduce.
- protocols (``JSONProtocol``, ``RawValueProtocol``, ``PickleProtocol``...) with mrjob's formats.
- :class:`JobRunner` -- ``job.make_runner()``: ``run()``, ``cat_output()``, ``counters()``.
"""
from __future__ import annotations

from typing import Any

from rayemr.mapreduce.job import MRJob
from rayemr.mapreduce.protocol import (BytesProtocol, BytesValueProtocol, JSONProtocol,
                                       JSONValueProtocol, PickleProtocol, PickleValueProtocol,
                                       RawProtocol, RawValueProtocol, StrictTextValueProtocol,
                                       TextProtocol, TextValueProtocol)
from rayemr.mapreduce.step import MRStep

#: Imported on first use: they bring pyarrow and the engine, which writing (and submitting)
#: an mrjob-style job does not need.
_LAZY = {"BatchJob": "rayemr.mapreduce.batch", "JobRunner": "rayemr.mapreduce.runner",
         "MalformedRecordError": "rayemr.mapreduce.tasks"}

__all__ = [
    "BatchJob", "BytesProtocol", "BytesValueProtocol", "JSONProtocol", "JSONValueProtocol",
    "JobRunner", "MRJob", "MRStep", "MalformedRecordError", "PickleProtocol",
    "PickleValueProtocol", "RawProtocol", "RawValueProtocol", "StrictTextValueProtocol",
    "TextProtocol", "TextValueProtocol",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rayemr.mapreduce' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
