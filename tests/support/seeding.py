"""Thousands of stored flows in a second, for tests that need a realistic table: a few template
flows written through ``FlowStore``, cloned inside the database by ``benchmarks.seed`` (each
clone its own id, number, label from ``benchmarks.seed.LABELS`` and time)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from benchmarks.seed import TEMPLATE_LABEL, SeedPlan, Template, seed

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.flow_store import FlowStore

V, M = Channel.VIBER, Channel.SMS
# (steps, flow status, share of the clones in %)
MIX = (
    (((V, StepStatus.DELIVERED),), FlowStatus.SUCCEEDED, 60),
    (((V, StepStatus.EXPIRED), (M, StepStatus.DELIVERED)), FlowStatus.SUCCEEDED, 30),
    (((V, StepStatus.UNDELIVERED), (M, StepStatus.FAILED)), FlowStatus.FAILED, 10),
)


def _template(
    app_id: str, n: int, specs: tuple[tuple[Channel, StepStatus], ...], status: FlowStatus
) -> tuple[Flow, FlowMeta]:
    phone = f"30690000000{n}"
    created = datetime.now(UTC) - timedelta(days=400)
    steps = []
    for i, (channel, step_status) in enumerate(specs):
        at = created + timedelta(seconds=10 * i)
        delivered = at + timedelta(seconds=1) if step_status is StepStatus.DELIVERED else None
        steps.append(
            Step(
                index=i,
                tracking_id=str(uuid.uuid4()),
                role=Role.PRIMARY if i == 0 else Role.FAILOVER,
                channel=channel,
                to=phone,
                status=step_status,
                created_at=at,
                updated_at=delivered or at,
                sent_at=at,
                delivered_at=delivered,
                price=0.0093 if channel is V else 0.0375,
                country="GR",
            )
        )
    flow = Flow(
        id=str(uuid.uuid4()),
        application_id=app_id,
        kind=FlowKind.OTP,
        plans=tuple(StepPlan(c, phone, 60.0, DEFAULT_FAILOVER_ON[c]) for c, _ in specs),
        created_at=created,
        updated_at=created,
        status=status,
        steps=tuple(steps),
    )
    request = [{"type": c.type_name, "label": TEMPLATE_LABEL} for c, _ in specs]
    return flow, FlowMeta(request=request, phone=phone, label=TEMPLATE_LABEL)


async def seed_flows(
    database_url: str, app_id: str, count: int, *, since: datetime, until: datetime
) -> None:
    """``count`` flows of ``app_id`` created evenly over ``[since, until)`` (plus the three
    templates, 400 days old), in the proportions of :data:`MIX`."""
    db = Database(database_url)
    templates = []
    try:
        store = FlowStore(db)
        for n, (specs, status, weight) in enumerate(MIX):
            flow, meta = _template(app_id, n, specs, status)
            await store.create(flow, meta)
            templates.append(Template(flow.id, meta.phone, weight, pending=False))
    finally:
        await db.dispose()
    plan = SeedPlan(templates, count, since, until, due_from=until + timedelta(days=30))
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    # The seeder runs its own event loop (PostgreSQL) or plain sqlite3: off this one.
    await asyncio.to_thread(seed, kind, database_url, plan, live=True)
