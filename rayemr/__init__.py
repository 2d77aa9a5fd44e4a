"""rayemr: Amazon EMR's programming model -- YARN, MapReduce, Hive over S3 -- on Ray.

``rayemr.init()`` starts (or joins) the Ray runtime everything else runs on.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "init", "shutdown"]


def init(*args, **kwargs):
    """Start a local Ray instance or join a running cluster; see :func:`rayemr.runtime.init`."""
    from rayemr.runtime import init as _init

    return _init(*args, **kwargs)


def shutdown() -> None:
    """Disconnect from (and, if rayemr started it, stop) the Ray runtime."""
    from rayemr.runtime import shutdown as _shutdown

    _shutdown()
