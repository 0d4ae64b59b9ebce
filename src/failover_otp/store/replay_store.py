"""The recorded Viber → SMS flows of an application and period, for the what-if replay
(services/replay.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from failover_otp.domain.replay import RecordedFlow
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.tables import flows, steps

# At most this many flows are replayed (the newest of the period).
REPLAY_LIMIT = 200_000


class ReplayStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def recorded(
        self, application_id: str, since: datetime, until: datetime, *, time_scale: float = 1.0
    ) -> tuple[list[RecordedFlow], int]:
        """The period's ended Viber → SMS flows, and how many other ended flows were skipped."""
        f, s = flows.c, steps.c
        chosen = (
            select(f.id, f.created_at, f.plans)
            .where(
                f.application_id == application_id,
                f.created_at >= since,
                f.created_at < until,
                f.status != FlowStatus.IN_PROGRESS.value,
            )
            .order_by(f.created_at.desc())
            .limit(REPLAY_LIMIT)
            .subquery()
        )
        query = (
            select(
                chosen.c.id.label("flow_id"),
                chosen.c.created_at.label("flow_created_at"),
                chosen.c.plans,
                s.ttl_seconds,
                s.idx,
                s.channel,
                s.status,
                s.detailed_status,
                s.created_at,
                s.sent_at,
                s.delivered_at,
                s.updated_at,
                s.price,
                s.country,
                s.operator,
            )
            .join(steps, s.flow_id == chosen.c.id)
            .order_by(chosen.c.id, s.idx)
        )
        async with self.db.scan() as conn:
            rows = (await conn.execute(query)).mappings().all()
        grouped: dict[str, list[Mapping[Any, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["flow_id"], []).append(row)
        recorded = [recorded_flow(group, time_scale) for group in grouped.values()]
        found = [r for r in recorded if r is not None]
        return found, len(recorded) - len(found)


def recorded_flow(group: Sequence[Mapping[Any, Any]], scale: float) -> RecordedFlow | None:
    """One ended flow's steps (rows in step order) as the replay sees it; None unless it was
    a Viber step and (maybe) its SMS failover."""
    viber = group[0]
    if viber["channel"] != Channel.VIBER.value or len(group) > 2:
        return None
    sms = group[1] if len(group) == 2 else None
    if sms is not None and sms["channel"] != Channel.SMS.value:
        return None
    origin = viber["sent_at"] or viber["created_at"]

    def since(moment: datetime | None, start: datetime = origin) -> float | None:
        return None if moment is None else max(0.0, (moment - start).total_seconds() * scale)

    status = StepStatus(viber["status"])
    delivered = since(viber["delivered_at"])
    gave_up = failed = None
    if delivered is None:
        ended = since(viber["updated_at"]) or 0.0
        if viber["sent_at"] is None:
            failed = 0.0  # refused at send: the SMS went at once
        elif status is StepStatus.EXPIRED or viber["detailed_status"] == "Expired":
            gave_up = ended
        elif status.outcome is Outcome.FAILURE:
            failed = ended
        else:
            return None  # still on its way when the flow ended (cancelled): nothing to learn
    sms_sent = sms["sent_at"] if sms is not None else None
    return RecordedFlow(
        flow_id=viber["flow_id"],
        country=viber["country"] or (sms["country"] if sms is not None else None),
        operator=viber["operator"],
        start_offset=since(origin, viber["flow_created_at"]) or 0.0,
        viber_price=viber["price"] or 0.0,
        viber_delivered=delivered,
        viber_gave_up=gave_up,
        viber_failed=failed,
        sms_started=since(sms_sent),
        sms_delivered=since(sms["delivered_at"], sms_sent) if sms and sms_sent else None,
        sms_price=sms["price"] if sms is not None else None,
        viber_ttl=viber["ttl_seconds"]
        or (viber["plans"][0].get("ttl_seconds") if viber["plans"] else None),
    )
