"""MapReduce on Ray: mrjob's job API, a vectorized Arrow API, and running jobs.

- :class:`MRJob`, :class:`MRStep` -- write jobs as in mrjob (generator methods, ``steps()``).
- :class:`BatchJob` -- vectorized jobs: ``map_batch`` over Arrow batches + declarative reduce.
- protocols (``JSONProtocol``, ``RawValueProtocol``, ``PickleProtocol``...) with mrjob's formats.
- :class:`JobRunner` -- ``job.make_runner()``: ``run()``, ``cat_output()``, ``counters()``.
"""
from __future__ import annotations

from rayemr.mapreduce.batch import BatchJob
from rayemr.mapreduce.job import MRJob
from rayemr.mapreduce.protocol import (BytesProtocol, BytesValueProtocol, JSONProtocol,
                                       JSONValueProtocol, PickleProtocol, PickleValueProtocol,
                                       RawProtocol, RawValueProtocol, StrictTextValueProtocol,
                                       TextProtocol, TextValueProtocol)
from rayemr.mapreduce.runner import JobRunner
from rayemr.mapreduce.step import MRStep
from rayemr.mapreduce.tasks import MalformedRecordError

__all__ = [
    "BatchJob", "BytesProtocol", "BytesValueProtocol", "JSONProtocol", "JSONValueProtocol",
    "JobRunner", "MRJob", "MRStep", "MalformedRecordError", "PickleProtocol",
    "PickleValueProtocol", "RawProtocol", "RawValueProtocol", "StrictTextValueProtocol",
    "TextProtocol", "TextValueProtocol",
]
