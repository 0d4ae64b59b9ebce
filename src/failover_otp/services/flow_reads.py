"""The read use cases of the API: one flow's story (``GET /otp/failover/{id}``), one tracking
(``GET /failover/tracking/{id}``), the tracking search (``POST /failover/tracking``) and the OTP
deliveries list (``GET /otp/failover``). Filters arrive checked (the web layer parses them);
answers are the documented JSON shapes, built by the pure renderers of ``services/story.py``
and ``services/tracking.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from failover_otp.domain.flow import FlowKind
from failover_otp.domain.listing import (
    DeliveryFilter,
    SearchField,
    SearchOperator,
    TrackingFilter,
    TrackingQuery,
)
from failover_otp.phones import InvalidPhoneNumber, normalize
from failover_otp.services.errors import NotFound, shown
from failover_otp.services.flows import FlowService
from failover_otp.services.ports import Listings
from failover_otp.services.story import flow_story, step_story
from failover_otp.services.tracking import tracking

# The tracking search's filter types, for the web layer that parses a request into them.
__all__ = [
    "FlowReads",
    "SearchField",
    "SearchOperator",
    "TrackingFilter",
    "delivery_page",
    "page_object",
]


def page_object(
    content: list[dict[str, Any]], total: int, page: int, size: int, *, count_limit: int = 0
) -> dict[str, Any]:
    """The seed's Spring Data page. Past ``count_limit`` matches the count stopped
    (``totalElementsExact`` false): ``totalElements`` and ``totalPages`` then cover the matches
    that can be paged through, the first ``count_limit``."""
    exact = not count_limit or total <= count_limit
    total = total if exact else count_limit
    total_pages = -(-total // size)
    return {
        "content": content,
        "totalPages": total_pages,
        "totalElements": total,
        "totalElementsExact": exact,
        "number": page,
        "size": size,
        "numberOfElements": len(content),
        "first": page == 0,
        "last": page >= total_pages - 1,
    }


def delivery_page(
    results: list[dict[str, Any]], total: int, limit: int, offset: int, *, count_limit: int = 0
) -> dict[str, Any]:
    """``GET /otp/failover``'s page: past ``count_limit`` matches the count stopped there."""
    exact = not count_limit or total <= count_limit
    return {
        "total": total if exact else count_limit,
        "totalExact": exact,
        "limit": limit,
        "offset": offset,
        "results": results,
    }


def _is_whole_number(digits: str) -> bool:
    """A complete, valid number (E.164 digits): listed by that number, not as a part of others
    (no valid number is part of another one in practice, and the whole match uses an index)."""
    try:
        return normalize(digits) == digits
    except InvalidPhoneNumber:
        return False


class FlowReads:
    def __init__(
        self,
        flows: FlowService,
        listings: Listings,
        *,
        time_scale: float = 1.0,
        count_limit: int = 0,
    ) -> None:
        self.flows = flows
        self.listings = listings
        self.time_scale = time_scale
        # Matches are counted up to this many (0: all): FOTP_LIST_COUNT_LIMIT.
        self.count_limit = count_limit

    async def story(self, application_id: str, any_id: str) -> dict[str, Any]:
        """An OTP flow's delivery story, by flow id or any step's tracking id."""
        record = await self.flows.read(application_id, any_id)
        if record is None:
            raise NotFound(f"no flow or message {shown(any_id)}")
        return flow_story(record.flow, record.meta, self.time_scale)

    async def tracking(self, application_id: str, tracking_id: str) -> dict[str, Any]:
        """A flow's tracking (either API), by its tracking id or an OTP flow id."""
        record = await self.flows.read(application_id, tracking_id)
        if record is None:
            raise NotFound(f"no failover tracking {shown(tracking_id)}")
        return tracking(record.flow, record.meta, self.time_scale)

    async def search(
        self,
        application_id: str,
        *,
        date_start: datetime | None,
        date_end: datetime | None,
        filters: tuple[TrackingFilter, ...],
        page: int,
        size: int,
    ) -> dict[str, Any]:
        """A page of the application's trackings created in ``[date_start, date_end)``."""
        query = TrackingQuery(
            application_id=application_id,
            date_start=date_start,
            date_end=date_end,
            filters=filters,
            page=page,
            size=size,
            count_limit=self.count_limit,
        )
        total, records = await self.listings.search(query)
        content = [tracking(r.flow, r.meta, self.time_scale) for r in records]
        return page_object(content, total, page, size, count_limit=self.count_limit)

    async def otp_deliveries(
        self,
        application_id: str,
        *,
        step_status: str | None = None,
        flow_status: str | None = None,
        tag: str | None = None,
        phone: str | None = None,
        flow_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of the application's OTP deliveries (steps), newest first. ``phone``: digits,
        a whole number or a part of one."""
        where = DeliveryFilter(
            application_id=application_id,
            step_status=step_status,
            flow_status=flow_status,
            tag=tag or None,
            phone=phone or None,
            phone_whole=bool(phone) and _is_whole_number(phone or ""),
            flow_id=flow_id or None,
            kind=FlowKind.OTP,
        )
        total, deliveries = await self.listings.deliveries(
            where, limit=limit, offset=offset, count_limit=self.count_limit
        )
        results = []
        for delivery in deliveries:
            item = step_story(delivery.step, delivery.label, delivery.flow_id, self.time_scale)
            item["flow_status"] = delivery.flow_status
            results.append(item)
        return delivery_page(results, total, limit, offset, count_limit=self.count_limit)
