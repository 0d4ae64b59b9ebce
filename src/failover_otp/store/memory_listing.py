"""The listings over flows held in memory: the in-memory twin of ``store/listing.py``, held to the
same results by the contract tests (``tests/integration/contract/test_listings_contract.py``).

It reads whatever flows its source gives (the in-memory flows store's, or a test's list) and
filters, orders and pages them in Python, with the SQL engine's rules: newest first (ties by id),
totals counted no further than a limit, only that many matches reachable by offset, keyset pages
on (creation time, id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

from failover_otp.domain.flow import Flow, Step
from failover_otp.domain.listing import (
    Cursor,
    Delivery,
    DeliveryFilter,
    SearchField,
    SearchOperator,
    TableFilter,
    TablePage,
    TrackingFilter,
    TrackingQuery,
)
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import FlowStatus, StepStatus, stored_as
from failover_otp.store.paging import page_window

COUNT_LIMIT = 10_000


T = TypeVar("T")


def _bounded(total: int, count_limit: int) -> int:
    """What a count that stops past ``count_limit`` says of ``total`` matches."""
    return min(total, count_limit + 1) if count_limit else total


def _offset_page(found: list[T], offset: int, size: int, count_limit: int) -> tuple[int, list[T]]:
    """(the bounded count of ``found``, its page at ``offset``), as the SQL engine pages."""
    total = _bounded(len(found), count_limit)
    window = page_window(total, offset, size, count_limit)
    return total, found[offset : offset + window.size] if window is not None else []


def _shown_as(step: Step, status: str) -> bool:
    return step.status in stored_as(StepStatus(status))


def _has_part(text: str | None, part: str, *, ignore_case: bool = False) -> bool:
    if text is None:
        return False
    if ignore_case:
        return part.lower() in text.lower()
    return part in text


def _termination_channel(flow: Flow) -> str | None:
    """As the flows row stores it: the last step's channel once the flow is final."""
    return flow.steps[-1].channel.type_name if flow.steps and flow.status.is_terminal else None


class MemoryListings:
    def __init__(self, records: Callable[[], Iterable[FlowRecord]]) -> None:
        self._records = records

    def _newest_first(self, application_id: str) -> list[FlowRecord]:
        mine = [r for r in self._records() if r.flow.application_id == application_id]
        return sorted(mine, key=lambda r: (r.flow.created_at, r.flow.id), reverse=True)

    # -- deliveries --------------------------------------------------------------------------

    async def deliveries(
        self, where: DeliveryFilter, *, limit: int, offset: int, count_limit: int = 0
    ) -> tuple[int, list[Delivery]]:
        found: list[tuple[Step, FlowRecord]] = []
        for record in self._records():
            flow = record.flow
            if flow.application_id != where.application_id:
                continue
            if where.flow_id and flow.id != where.flow_id:
                continue
            if where.flow_status is not None and flow.status.value != where.flow_status:
                continue
            if where.kind is not None and flow.kind is not where.kind:
                continue
            for step in flow.steps:
                if self._delivery_matches(record, step, where):
                    found.append((step, record))
        found.sort(key=lambda m: (m[0].created_at, m[1].flow.id, m[0].index), reverse=True)
        total, page = _offset_page(found, offset, limit, count_limit)
        return total, [
            Delivery(r.flow.id, s, r.meta.step_label(s.index), r.flow.status.value) for s, r in page
        ]

    @staticmethod
    def _delivery_matches(record: FlowRecord, step: Step, where: DeliveryFilter) -> bool:
        if where.step_status is not None and not _shown_as(step, where.step_status):
            return False
        if where.tag and not _has_part(
            record.meta.step_label(step.index), where.tag, ignore_case=True
        ):
            return False
        if where.phone and where.phone_whole:
            return step.to == where.phone
        return not where.phone or _has_part(step.to, where.phone)

    # -- the tracking search -----------------------------------------------------------------

    async def search(self, query: TrackingQuery) -> tuple[int, list[FlowRecord]]:
        found = [
            r
            for r in self._newest_first(query.application_id)
            if (query.date_start is None or r.flow.created_at >= query.date_start)
            and (query.date_end is None or r.flow.created_at < query.date_end)
            and all(_tracking_matches(r.flow, f) for f in query.filters)
        ]
        return _offset_page(found, query.page * query.size, query.size, query.count_limit)

    # -- the dashboard's flows table ---------------------------------------------------------

    def _table_matches(self, where: TableFilter) -> list[FlowRecord]:
        return [r for r in self._newest_first(where.application_id) if _table_match(r, where)]

    async def table(
        self,
        where: TableFilter,
        *,
        size: int,
        count_limit: int = COUNT_LIMIT,
        older_than: Cursor | None = None,
        newer_than: Cursor | None = None,
    ) -> TablePage:
        found = self._table_matches(where)
        keys = [(r.flow.created_at, r.flow.id) for r in found]  # newest first
        if newer_than is not None:
            at = (newer_than.created_at, newer_than.flow_id)
            newer_ones = [i for i, k in enumerate(keys) if k > at]
            picked = newer_ones[-size:] if size else []
            more_newer = len(newer_ones) > size
            more_older = bool(picked) and any(k <= at for k in keys)
        else:
            bound = (older_than.created_at, older_than.flow_id) if older_than else None
            older_ones = [i for i, k in enumerate(keys) if bound is None or k < bound]
            picked = older_ones[:size]
            more_older = len(older_ones) > size
            more_newer = bound is not None and any(k >= bound for k in keys)
        records = [found[i] for i in picked]
        return TablePage.between(
            _bounded(len(found), count_limit),
            records,
            [Cursor(r.flow.created_at, r.flow.id) for r in records],
            more_newer=more_newer,
            more_older=more_older,
            older_than=older_than,
        )

    async def table_batches(
        self, where: TableFilter, *, size: int = 500
    ) -> AsyncIterator[list[FlowRecord]]:
        found = self._table_matches(where)
        for start in range(0, len(found), size):
            yield found[start : start + size]


def _tracking_matches(flow: Flow, where: TrackingFilter) -> bool:
    positive = _tracking_positive(flow, where)
    if where.operator is not SearchOperator.IS_NOT:
        return positive
    if where.field is SearchField.TERMINATION_CHANNEL:
        return _termination_channel(flow) is None or not positive
    return not positive


def _tracking_positive(flow: Flow, where: TrackingFilter) -> bool:
    term = where.term
    if where.field is SearchField.TYPE:
        return any(s.channel.value == term for s in flow.steps)
    if where.field is SearchField.TERMINATION_CHANNEL:
        return _termination_channel(flow) == term
    if where.field is SearchField.STATUS:
        in_progress = flow.status is FlowStatus.IN_PROGRESS
        answered = any(s.status is not StepStatus.SENDING for s in flow.steps)
        if term == FlowStatus.QUEUED.value:
            return in_progress and not answered
        if term == FlowStatus.IN_PROGRESS.value:
            return in_progress and answered
        return term in (FlowStatus.SUCCEEDED.value, FlowStatus.FAILED.value) and (
            flow.status.value == term
        )
    match where.operator:
        case SearchOperator.CONTAINS:
            return any(term in s.to for s in flow.steps)
        case SearchOperator.STARTS_WITH:
            return any(s.to.startswith(term) for s in flow.steps)
        case SearchOperator.ENDS_WITH:
            return any(s.to.endswith(term) for s in flow.steps)
        case _:
            return any(s.to == term for s in flow.steps)


def _table_match(record: FlowRecord, where: TableFilter) -> bool:
    flow = record.flow
    if where.created_from is not None and flow.created_at < where.created_from:
        return False
    if where.created_to is not None and flow.created_at >= where.created_to:
        return False
    if where.flow_status and flow.status.value != where.flow_status:
        return False
    step_status = where.step_status
    if step_status and not any(_shown_as(s, step_status) for s in flow.steps):
        return False
    tag = where.tag
    if tag and not any(
        _has_part(record.meta.step_label(s.index), tag, ignore_case=True) for s in flow.steps
    ):
        return False
    if where.phone and not _has_part(record.meta.phone, where.phone):
        return False
    if where.flow_id is not None:
        prefix = where.flow_id.lower().rstrip("-")
        ids = [flow.id, *(s.tracking_id for s in flow.steps if s.tracking_id)]
        return any(i.startswith(prefix) for i in ids)
    return True
