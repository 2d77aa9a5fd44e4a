"""Run a StageGraph as a YARN application: the driver loop inside the ApplicationMaster."""
from __future__ import annotations


def available() -> bool:
    """True when ``rayemr.yarn`` offers the client and ApplicationMaster API."""
    try:
        import rayemr.yarn as yarn
    except ImportError:
        return False
    return all(hasattr(yarn, n) for n in ("YarnClient", "ApplicationSpec", "start"))


def run_on_yarn(graph, **kwargs):  # pragma: no cover - replaced once rayemr.yarn lands
    raise NotImplementedError
