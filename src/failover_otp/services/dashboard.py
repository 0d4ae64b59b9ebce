"""The operator dashboard: the flows table, a flow's timeline and the charts.

Who is signed in is ``services/dashboard_sessions.py``'s business.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from failover_otp.domain import stats_views as views
from failover_otp.domain.listing import Cursor, TableFilter, TablePage
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import Channel
from failover_otp.services.account_ports import Applications
from failover_otp.services.clock import Clock
from failover_otp.services.conversion import (
    conversion_summary,
    whole_days_until,
)
from failover_otp.services.dashboard_stats import stats_view
from failover_otp.services.flows import FlowService
from failover_otp.services.ports import Listings, RefusalCounts, Statistics
from failover_otp.services.story import flow_story, iso
from failover_otp.services.timeline import TimelineEvent, channel_name, flow_timeline, format_ms

# Periods the charts can cover, in days.
PERIODS = (1, 7, 30, 90)
# Routee prices are in the account's currency (docs/configuration.md, FOTP_DASHBOARD_CURRENCY).
DEFAULT_CURRENCY = "EUR"
# How long the charts' and tiles' numbers are reused (the page refreshes them every 10 s).
STATS_TTL_SECONDS = 5.0

# The table's filter and position types, for the web layer that reads them from a query string.
__all__ = [
    "PERIODS",
    "Cursor",
    "DashboardService",
    "FlowRow",
    "FlowView",
    "TableFilter",
    "channel_name",
    "format_ms",
]


@dataclass(frozen=True, slots=True)
class FlowRow:
    """One line of the flows table."""

    flow_id: str
    kind: str
    status: str
    status_code: int | None
    created_at: str | None
    phone: str
    label: str | None
    channels: list[tuple[str, str]]  # (channel, its status as the API words it), in order
    failover: bool
    total_cost: float
    time_to_deliver_ms: int | None


@dataclass(frozen=True, slots=True)
class FlowView:
    story: dict[str, Any]
    kind: str
    created_at: str | None
    phone: str
    label: str | None
    # What the flow would have cost sent by SMS alone (the SMS price times its parts).
    sms_only_cost: float = 0.0
    events: list[TimelineEvent] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return bool(self.story["status"] in ("Succeeded", "Failed"))


class DashboardService:
    def __init__(
        self,
        stats: Statistics,
        apps: Applications,
        flows: FlowService,
        clock: Clock,
        listings: Listings,
        *,
        count_limit: int = 10_000,
        refusals: RefusalCounts,
        time_scale: float = 1.0,
        sms_price: float = 0.0375,
        currency: str = DEFAULT_CURRENCY,
    ) -> None:
        self.store = stats
        self.listings = listings
        # Matches the table counts at most, for its "N flows" (FOTP_LIST_COUNT_LIMIT; 0: all;
        # more shows as "more than N").
        self.count_limit = count_limit
        self.refusals = refusals
        self.currency = currency
        self.apps = apps
        self.flows = flows
        self.clock = clock
        self.time_scale = time_scale
        self.sms_price = sms_price
        self._stats_cache: dict[tuple[str, int], tuple[float, dict[str, Any]]] = {}

    async def app_name(self, app_id: str) -> str:
        """The application's name as the pages show it (its id if it has none)."""
        app = await self.apps.get(app_id)
        return app.name if app else app_id

    # -- flows ---------------------------------------------------------------------------------

    async def table(
        self,
        where: TableFilter,
        *,
        size: int = 25,
        older_than: Cursor | None = None,
        newer_than: Cursor | None = None,
    ) -> tuple[TablePage, list[FlowRow]]:
        """A page of the flows table, and its rows as the table shows them."""
        page = await self.listings.table(
            where,
            size=size,
            count_limit=self.count_limit,
            older_than=older_than,
            newer_than=newer_than,
        )
        return page, [self._row(r) for r in page.records]

    async def export(self, where: TableFilter) -> AsyncIterator[list[FlowRow]]:
        """Every row the filter matches, newest first, a batch at a time (the CSV export)."""
        async for batch in self.listings.table_batches(where):
            yield [self._row(r) for r in batch]

    def _row(self, record: FlowRecord) -> FlowRow:
        flow = record.flow
        delivered = next((s for s in flow.steps if s.delivered_at is not None), None)
        ttd = None
        if delivered is not None and delivered.delivered_at is not None:
            ttd = round(
                (delivered.delivered_at - flow.created_at).total_seconds() * 1000 * self.time_scale
            )
        return FlowRow(
            flow_id=flow.id,
            kind=flow.kind.value,
            status=flow.status.value,
            status_code=int(flow.status_code) if flow.status_code is not None else None,
            created_at=iso(flow.created_at),
            phone=record.meta.phone,
            label=record.meta.label or record.meta.step_label(0),
            channels=[(s.channel.value, s.status.render(s.channel)) for s in flow.steps],
            failover=len(flow.steps) > 1,
            total_cost=flow.total_cost,
            time_to_deliver_ms=max(0, ttd) if ttd is not None else None,
        )

    async def flow(self, app_id: str, any_id: str) -> FlowView | None:
        """A flow by id or tracking id (pending steps refreshed, as the API does)."""
        record = await self.flows.read(app_id, any_id)
        if record is None:
            return None
        flow = record.flow
        sms_parts = next((s.parts for s in flow.steps if s.channel is Channel.SMS), 1)
        checks = await self.store.code_checks(flow.id)
        return FlowView(
            story=flow_story(flow, record.meta, self.time_scale),
            kind=flow.kind.value,
            created_at=iso(flow.created_at),
            phone=record.meta.phone,
            label=record.meta.label or record.meta.step_label(0),
            sms_only_cost=self.sms_price * sms_parts,
            events=flow_timeline(
                flow, time_scale=self.time_scale, currency=self.currency, checks=checks
            ),
        )

    # -- charts --------------------------------------------------------------------------------

    async def stats(self, app_id: str, days: int) -> dict[str, Any]:
        """Everything the charts and tiles show, for flows created in the last ``days`` days.

        Computed at most once per ``STATS_TTL_SECONDS`` per application and period: the page,
        its tiles and its charts each ask, and so does every open tab, while over a long period
        the aggregates read every flow in it (docs/operations.md#the-dashboard).
        """
        days = days if days in PERIODS else 7
        key = (app_id, days)
        cached = self._stats_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < STATS_TTL_SECONDS:
            return cached[1]
        stats = await self._stats(app_id, days)
        if len(self._stats_cache) > 1000:  # applications x periods: a bound, never reached
            self._stats_cache.clear()
        self._stats_cache[key] = (time.monotonic(), stats)
        return stats

    async def _stats(self, app_id: str, days: int) -> dict[str, Any]:
        # Whole UTC days, today's included: the stored daily rollups answer them (a period
        # starting mid-day would count its first day flow by flow). Nothing is created after
        # now, so counting to the end of today counts to now.
        now = self.clock.now()
        until = whole_days_until(now)
        since = until - timedelta(days=days)
        rollup = await self.store.rollup(app_id, since, until)
        channels = views.channel_delivery(rollup)
        per_day = views.flows_per_day(rollup)
        costs = views.cost_per_day(rollup)
        latency = views.delivery_latency(rollup)
        overall = views.delivery_latency(rollup, by_country=False)
        conversion = conversion_summary(views.conversion(rollup), channels)
        refusals = await self.refusals.counts(app_id, since, now)

        return stats_view(
            days=days,
            since=since,
            now=now,
            channels=channels,
            per_day=per_day,
            costs=costs,
            latency=latency,
            overall=overall,
            conversion=conversion,
            refusals=refusals,
            sms_price=self.sms_price,
            currency=self.currency,
            time_scale=self.time_scale,
        )
