"""SELECT TRANSFORM (...) USING 'script' AS (...): streaming rows through a user script."""
from __future__ import annotations

from rayemr.core.errors import UnsupportedError
from rayemr.hive.plan import QueryPlan


def plan_transform_or_none(text: str, lookup, database: str) -> QueryPlan | None:
    if "TRANSFORM" not in text.upper():
        return None
    import re
    if not re.search(r"\bTRANSFORM\s*\(", text, re.I):
        return None
    raise UnsupportedError("SELECT TRANSFORM is not supported")
