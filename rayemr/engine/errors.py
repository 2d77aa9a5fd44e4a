"""The engine's errors: a job that failed for good, and a job that was killed.

Both are :class:`~rayemr.core.errors.ClusterError` s (they pickle, so they cross Ray) and
both mean the same for the job's output: nothing was committed.
"""
from __future__ import annotations

from rayemr.core.errors import ClusterError


class TaskFailedError(ClusterError):
    """A task failed on every attempt; nothing was committed."""


class JobKilledError(ClusterError):
    """The job was cancelled; nothing was committed."""


__all__ = ["JobKilledError", "TaskFailedError"]
