"""Map-side partial aggregation (Hive's hive.map.aggr) for single-table aggregate queries."""
from __future__ import annotations

from rayemr.hive.plan import QueryPlan


def plan_partial_aggregation(plan: QueryPlan, text: str, lookup, database: str) -> QueryPlan:
    return plan
