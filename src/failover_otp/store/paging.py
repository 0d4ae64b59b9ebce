"""Paging of newest-first listings: bounded counts, and which rows a page reads.

An exact count of a million matches costs hundreds of milliseconds on either database; counting
no further than a limit costs a few (docs/benchmarks.md). List endpoints count this way and let
callers page through the first ``limit`` matches only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select


def bounded_count(matching: Select[Any], limit: int) -> Select[Any]:
    """The number of rows ``matching`` yields, counting no further than ``limit + 1`` (all of
    them when ``limit`` is 0): a result above ``limit`` means "more than ``limit``"."""
    if limit:
        matching = matching.limit(limit + 1)
    return select(func.count()).select_from(matching.subquery())


@dataclass(frozen=True, slots=True)
class PageWindow:
    """The rows a page reads: ``size`` after skipping ``skip``, newest first, or, when
    ``from_end``, oldest first (the caller reverses them)."""

    skip: int
    size: int
    from_end: bool

    def order(self, *columns: Any) -> list[Any]:
        """``columns`` in the direction this window reads them."""
        return [c.asc() if self.from_end else c.desc() for c in columns]


def page_window(total: int, offset: int, size: int, count_limit: int) -> PageWindow | None:
    """Where the page at ``offset`` lies among ``total`` matches (a bounded count when
    ``count_limit`` is set; only the first ``count_limit`` are reachable); None if it is empty.

    A page past the middle of an exact count is read from the other end (same rows, reversed),
    so the last page costs what the first does instead of skipping every row before it.
    """
    reachable = min(total, count_limit) if count_limit else total
    if offset >= reachable or size <= 0:
        return None
    from_end = total == reachable and offset > total - offset - size
    size = min(size, reachable - offset)
    return PageWindow(total - offset - size if from_end else offset, size, from_end)
