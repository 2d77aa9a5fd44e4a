"""rayemr's optional C extensions (built by ``pip install`` where a compiler is available).

Each has a pure-Python (or numpy) fallback that computes the same; ``RAYEMR_PURE_PYTHON=1``
in the environment forces the fallbacks (tests run both paths).
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

#: Why a test of a C extension is skipped: the extensions were turned off on purpose.
PURE_REASON = "RAYEMR_PURE_PYTHON is set: the C extensions are off (their fallbacks run)"


def optional(module: str, name: str) -> Any:
    """``module.name`` from a C extension, or None where it is not built or is turned off."""
    if os.environ.get("RAYEMR_PURE_PYTHON"):
        return None
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None


def built(module: str) -> ModuleType | None:
    """The C extension ``module``; None when ``RAYEMR_PURE_PYTHON`` turns the extensions off.

    Unlike :func:`optional`, a missing build is an ``ImportError`` that says how to build it
    (tests of the extensions fail rather than skip when the build was skipped silently).
    """
    if os.environ.get("RAYEMR_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module}: the C extension is not built ({exc}); build it with "
            "`python setup.py build_ext --inplace` or `pip install -e .` (needs a C "
            "compiler), or set RAYEMR_PURE_PYTHON=1 to run on the fallbacks") from None
