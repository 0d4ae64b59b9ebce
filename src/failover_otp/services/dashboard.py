"""The operator dashboard: the flows table, a flow's timeline and the charts.

Who is signed in is ``services/dashboard_sessions.py``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from failover_otp.domain.flow import Flow, Step
from failover_otp.domain.statuses import Channel, Outcome
from failover_otp.services.clock import Clock
from failover_otp.services.flows import FlowService
from failover_otp.services.story import flow_story, iso, latency_ms
from failover_otp.store.app_store import AppStore
from failover_otp.store.flow_store import FlowRecord
from failover_otp.store.stats_store import FlowListFilter, StatsStore

# Periods the charts can cover, in days.
PERIODS = (1, 7, 30, 90)


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
class TimelineEvent:
    at: datetime
    offset_ms: int  # since the flow started, in the flow's own (unscaled) time
    kind: str  # created | sent | refused | delivered | seen | failed | failover | ended
    channel: str | None
    title: str
    detail: str = ""


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
        stats: StatsStore,
        apps: AppStore,
        flows: FlowService,
        clock: Clock,
        *,
        time_scale: float = 1.0,
        sms_price: float = 0.0375,
    ) -> None:
        self.store = stats
        self.apps = apps
        self.flows = flows
        self.clock = clock
        self.time_scale = time_scale
        self.sms_price = sms_price

    # -- flows ---------------------------------------------------------------------------------

    async def recent_flows(
        self, where: FlowListFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[FlowRow]]:
        total, records = await self.store.recent_flows(where, limit=limit, offset=offset)
        return total, [self._row(r) for r in records]

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
        return FlowView(
            story=flow_story(flow, record.meta, self.time_scale),
            kind=flow.kind.value,
            created_at=iso(flow.created_at),
            phone=record.meta.phone,
            label=record.meta.label or record.meta.step_label(0),
            sms_only_cost=self.sms_price * sms_parts,
            events=self.timeline(flow),
        )

    def timeline(self, flow: Flow) -> list[TimelineEvent]:
        """What happened to the flow, in order: each send, report, failover and the outcome."""
        start = flow.created_at

        def event(
            at: datetime, kind: str, channel: str | None, title: str, detail: str = ""
        ) -> TimelineEvent:
            offset = max(0, round((at - start).total_seconds() * 1000 * self.time_scale))
            return TimelineEvent(at, offset, kind, channel, title, detail)

        events = [event(start, "created", None, "Flow created", f"{len(flow.plans)} step(s)")]
        previous: Step | None = None
        for step in flow.steps:
            channel = step.channel.value
            name = channel_name(step.channel.value)
            status = step.status.render(step.channel)
            if previous is not None:
                why = previous.status.render(previous.channel)
                events.append(
                    event(
                        step.created_at,
                        "failover",
                        channel,
                        f"Failover to {name}",
                        f"{channel_name(previous.channel.value)} ended {why}",
                    )
                )
            if step.sent_at is not None:
                attempts = f", {step.send_attempts} attempts" if step.send_attempts > 1 else ""
                price = f"price {step.price:.4f}" if step.price is not None else "no price yet"
                parts = f", {step.parts} parts" if step.parts > 1 else ""
                events.append(
                    event(step.sent_at, "sent", channel, f"{name} sent", price + parts + attempts)
                )
            elif step.status.outcome is Outcome.FAILURE:
                events.append(
                    event(
                        step.created_at,
                        "refused",
                        channel,
                        f"{name} refused ({status})",
                        step.error_message or "",
                    )
                )
            if step.delivered_at is not None:
                latency = latency_ms(step, self.time_scale)
                events.append(
                    event(
                        step.delivered_at,
                        "delivered",
                        channel,
                        f"{name} delivered",
                        f"latency {format_ms(latency)}" if latency is not None else "",
                    )
                )
            if step.status.value == "SEEN":
                events.append(event(step.updated_at, "seen", channel, f"{name} seen"))
            elif step.sent_at is not None and step.status.outcome is Outcome.FAILURE:
                detail = step.detailed_status or step.error_message or ""
                events.append(event(step.updated_at, "failed", channel, f"{name} {status}", detail))
            previous = step
        if flow.status.is_terminal:
            code = f"statusCode {int(flow.status_code)}" if flow.status_code is not None else ""
            cost = f"total cost {flow.total_cost:.4f}"
            events.append(
                event(
                    max(flow.updated_at, events[-1].at),
                    "ended",
                    None,
                    f"Flow {flow.status.value}",
                    ", ".join(x for x in (cost, code) if x),
                )
            )
        return sorted(events, key=lambda e: (e.at, _ORDER.get(e.kind, 5)))

    # -- charts --------------------------------------------------------------------------------

    async def stats(self, app_id: str, days: int) -> dict[str, Any]:
        """Everything the charts and tiles show, for flows created in the last ``days`` days."""
        days = days if days in PERIODS else 7
        until = self.clock.now()
        since = until - timedelta(days=days)
        channels = await self.store.channel_delivery(app_id, since, until)
        per_day = await self.store.flows_per_day(app_id, since, until)
        costs = await self.store.cost_per_day(app_id, since, until)
        latency = await self.store.delivery_latency(app_id, since, until)
        overall = await self.store.delivery_latency(app_id, since, until, by_country=False)

        flows = sum(d.flows for d in per_day)
        failovers = sum(d.failovers for d in per_day)
        actual = sum(d.cost for d in per_day)
        sms_only = sum(d.sms_parts for d in per_day) * self.sms_price
        day_names = sorted({d.day for d in per_day} | {c.day for c in costs})
        channel_names = sorted({c.channel for c in costs}, key=_channel_order)
        cost_by = {(c.day, c.channel): c.cost for c in costs}
        flows_by = {d.day: d for d in per_day}
        return {
            "period_days": days,
            "since": iso(since),
            "until": iso(until),
            "sms_price": self.sms_price,
            "totals": {
                "flows": flows,
                "succeeded": sum(d.succeeded for d in per_day),
                "failed": sum(d.failed for d in per_day),
                "in_progress": sum(d.in_progress for d in per_day),
                "failovers": failovers,
                "failover_rate": failovers / flows if flows else None,
                "cost": round(actual, 6),
                "sms_only_cost": round(sms_only, 6),
                "saved": round(sms_only - actual, 6),
                "saved_ratio": (sms_only - actual) / sms_only if sms_only else None,
            },
            "channels": [
                {
                    "channel": c.channel,
                    "steps": c.steps,
                    "delivered": c.delivered,
                    "failed": c.failed,
                    "pending": c.pending,
                    "delivery_rate": c.delivered / (c.delivered + c.failed)
                    if c.delivered + c.failed
                    else None,
                }
                for c in sorted(channels, key=lambda c: _channel_order(c.channel))
            ],
            "days": [
                {
                    "day": day,
                    "flows": flows_by[day].flows if day in flows_by else 0,
                    "failovers": flows_by[day].failovers if day in flows_by else 0,
                    "failover_rate": flows_by[day].failovers / flows_by[day].flows
                    if day in flows_by and flows_by[day].flows
                    else None,
                    "cost": {ch: round(cost_by.get((day, ch), 0.0), 6) for ch in channel_names},
                    "actual_cost": round(flows_by[day].cost, 6) if day in flows_by else 0.0,
                    "sms_only_cost": round(flows_by[day].sms_parts * self.sms_price, 6)
                    if day in flows_by
                    else 0.0,
                }
                for day in day_names
            ],
            "latency": [
                {
                    "channel": item.channel,
                    "country": item.country or "unknown",
                    "median_ms": round(item.median_seconds * 1000 * self.time_scale),
                    "samples": item.samples,
                }
                for item in latency
            ],
            "median_ms_by_channel": {
                item.channel: round(item.median_seconds * 1000 * self.time_scale)
                for item in sorted(overall, key=lambda i: _channel_order(i.channel))
            },
        }


_ORDER = {
    # Events at the same instant: a step's failure comes before the failover it causes.
    "created": 0,
    "sent": 1,
    "refused": 2,
    "delivered": 3,
    "seen": 4,
    "failed": 4,
    "failover": 5,
    "ended": 9,
}


def channel_name(channel: str) -> str:
    """How a person writes the channel: ``Viber``, ``SMS``, ``Voice``."""
    return {"sms": "SMS"}.get(channel, channel.capitalize())


def _channel_order(channel: str) -> tuple[int, str]:
    return ({"viber": 0, "sms": 1, "voice": 2}.get(channel, 9), channel)


def format_ms(value: int | float | None) -> str:
    """``850 ms``, ``2.0 s``, ``2 min 5 s``: a latency for a person."""
    if value is None:
        return ""
    if value < 1000:
        return f"{round(value)} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"
