"""rayemr's optional C extensions (built by ``pip install`` where a compiler is available).

Each has a pure-Python (or numpy) fallback that computes the same; ``RAYEMR_PURE_PYTHON=1``
in the environment forces the fallbacks (tests run both paths).
"""
from __future__ import annotations

import importlib
import os
from typing import Any


def optional(module: str, name: str) -> Any:
    """``module.name`` from a C extension, or None where it is not built or is turned off."""
    if os.environ.get("RAYEMR_PURE_PYTHON"):
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None
