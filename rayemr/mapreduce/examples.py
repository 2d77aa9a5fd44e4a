"""The example jobs ``rayemr demo`` runs, and where their bundled input lives.

The jobs are the ready-to-copy scripts ``jobs/wordcount.py`` and ``jobs/loganalysis.py`` (one
source of truth): this module loads their classes from those files, shipped with the package
as ``rayemr/data/mapreduce/jobs/`` (links to ``jobs/`` in a source checkout).
"""
from __future__ import annotations

import os

from rayemr.mapreduce.loading import load_job_file

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                        "mapreduce")
TEXT_DIR = os.path.join(DATA_DIR, "text")
ACCESS_LOG = os.path.join(DATA_DIR, "access.log")
JOBS_DIR = os.path.join(DATA_DIR, "jobs")


def job_path(name: str) -> str:
    """The file of the bundled example job ``name`` (``wordcount``, ``loganalysis``)."""
    return os.path.realpath(os.path.join(JOBS_DIR, f"{name}.py"))


#: Count words (lower-cased) in text -- ``jobs/wordcount.py``.
MRWordCount = load_job_file(job_path("wordcount"), "MRWordCount")
#: Apache access logs: hits and bytes per status code and per hour -- ``jobs/loganalysis.py``.
MRLogAnalysis = load_job_file(job_path("loganalysis"), "MRLogAnalysis")

__all__ = ["ACCESS_LOG", "DATA_DIR", "JOBS_DIR", "MRLogAnalysis", "MRWordCount", "TEXT_DIR",
           "job_path"]
