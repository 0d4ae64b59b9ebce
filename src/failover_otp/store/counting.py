"""Bounded counts: how many rows a query matches, up to a limit.

An exact count of a million matches costs hundreds of milliseconds on either database; counting
no further than the limit costs a few (docs/benchmarks.md). List endpoints count this way and let
callers page through the first ``limit`` matches only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select


def bounded_count(matching: Select[Any], limit: int) -> Select[Any]:
    """The number of rows ``matching`` yields, counting no further than ``limit + 1`` (all of
    them when ``limit`` is 0): a result above ``limit`` means "more than ``limit``"."""
    if limit:
        matching = matching.limit(limit + 1)
    return select(func.count()).select_from(matching.subquery())
