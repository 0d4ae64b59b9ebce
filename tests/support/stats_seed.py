"""The dashboard's numbers worked out by hand: flows over two days (and one too old, and another
application's), stored through the flows port, for the statistics contract and the table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus
from failover_otp.services.ports import FlowRecords

APP, OTHER = "app-stats", "app-other"
DAY1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)


@dataclass(frozen=True)
class S:
    """A step: channel, status, seconds from send to delivery (None: not delivered), price."""

    channel: Channel
    status: StepStatus
    delivered_after: float | None = None
    price: float | None = None
    country: str | None = "GR"
    parts: int = 1


def flow_of(
    app: str,
    created: datetime,
    specs: list[S],
    status: FlowStatus,
    *,
    phone: str = "306912345671",
    label: str | None = "login",
) -> tuple[Flow, FlowMeta]:
    steps = []
    for i, s in enumerate(specs):
        at = created + timedelta(seconds=10 * i)
        sent = at if s.price is not None else None
        delivered = at + timedelta(seconds=s.delivered_after) if s.delivered_after else None
        steps.append(
            Step(
                index=i,
                tracking_id=str(uuid.uuid4()),
                role=Role.PRIMARY if i == 0 else Role.FAILOVER,
                channel=s.channel,
                to=phone,
                status=s.status,
                created_at=at,
                updated_at=delivered or at,
                sent_at=sent,
                delivered_at=delivered,
                price=s.price,
                parts=s.parts,
                country=s.country,
            )
        )
    flow = Flow(
        id=str(uuid.uuid4()),
        application_id=app,
        kind=FlowKind.OTP,
        plans=tuple(
            StepPlan(s.channel, phone, 60.0, DEFAULT_FAILOVER_ON[s.channel]) for s in specs
        ),
        created_at=created,
        updated_at=created,
        status=status,
        steps=tuple(steps),
    )
    request = [{"type": s.channel.type_name, "order": i + 1} for i, s in enumerate(specs)]
    return flow, FlowMeta(request=request, phone=phone, label=label)


V, M = Channel.VIBER, Channel.SMS
VIBER_PRICE, SMS_PRICE = 0.0093, 0.0375


async def seed(store: FlowRecords) -> dict[str, str]:
    """Store the flows: their ids by name."""
    seeded = {
        # Day 1: Viber delivered in 1 s; Viber delivered in 3 s; Viber expired, SMS in 2 s.
        "seen": flow_of(APP, DAY1, [S(V, StepStatus.SEEN, 1, VIBER_PRICE)], FlowStatus.SUCCEEDED),
        "delivered": flow_of(
            APP,
            DAY1 + timedelta(minutes=1),
            [S(V, StepStatus.DELIVERED, 3, VIBER_PRICE)],
            FlowStatus.SUCCEEDED,
            phone="306912345670",
            label="payment",
        ),
        "failover": flow_of(
            APP,
            DAY1 + timedelta(minutes=2),
            [S(V, StepStatus.EXPIRED, None, VIBER_PRICE), S(M, StepStatus.DELIVERED, 2, SMS_PRICE)],
            FlowStatus.SUCCEEDED,
        ),
        # Day 2: refused Viber, two-part SMS failed (Cyprus); a Viber still waiting.
        "failed": flow_of(
            APP,
            DAY2,
            [S(V, StepStatus.FAILED), S(M, StepStatus.FAILED, None, 2 * SMS_PRICE, "CY", parts=2)],
            FlowStatus.FAILED,
            phone="35799123456",
            label=None,
        ),
        "waiting": flow_of(
            APP, DAY2 + timedelta(minutes=5), [S(V, StepStatus.QUEUED)], FlowStatus.IN_PROGRESS
        ),
        # Out of range, and another application's: never counted.
        "old": flow_of(
            APP, SINCE - timedelta(days=3), [S(V, StepStatus.SEEN, 1, 1.0)], FlowStatus.SUCCEEDED
        ),
        "other": flow_of(OTHER, DAY1, [S(V, StepStatus.SEEN, 9, 5.0)], FlowStatus.SUCCEEDED),
    }
    for flow, meta in seeded.values():
        await store.create(flow, meta)
    return {name: flow.id for name, (flow, _) in seeded.items()}
