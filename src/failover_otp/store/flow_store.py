"""Flows, their steps and their deadlines: the queries the service layer needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.flow import Flow, FlowKind
from failover_otp.store.database import Database
from failover_otp.store.rows import (
    flow_from_rows,
    flow_state_values,
    plans_to_json,
    step_values,
)
from failover_otp.store.tables import deadlines, flows, steps
from failover_otp.store.webhook_store import NewWebhookEvent, insert_events


@dataclass(frozen=True, slots=True)
class FlowMeta:
    """What a flow was created with and never changes: the request as the API echoes it."""

    request: list[dict[str, Any]]
    phone: str
    label: str | None = None
    callback_url: str | None = None
    # Standard flows: OnChange or OnCompletion (None: the OTP API's every-change webhooks).
    callback_strategy: str | None = None

    def step_label(self, index: int) -> str | None:
        label = self.request[index].get("label") if index < len(self.request) else None
        return str(label) if label is not None else self.label


@dataclass(frozen=True, slots=True)
class FlowRecord:
    flow: Flow
    meta: FlowMeta


@dataclass(frozen=True, slots=True)
class ClaimedDeadline:
    flow_id: str
    kind: str
    step_index: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    application_id: str
    step_status: str | None = None
    flow_status: str | None = None
    tag: str | None = None
    phone: str | None = None
    flow_id: str | None = None
    kind: FlowKind | None = None


class FlowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, flow: Flow, meta: FlowMeta) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(flows).values(
                    id=flow.id,
                    application_id=flow.application_id,
                    kind=flow.kind.value,
                    label=meta.label,
                    phone=meta.phone,
                    callback_url=meta.callback_url,
                    callback_strategy=meta.callback_strategy,
                    request=meta.request,
                    plans=plans_to_json(flow.plans),
                    created_at=flow.created_at,
                    version=flow.version,
                    **flow_state_values(flow),
                )
            )
            await self._write_steps(conn, None, flow, meta)
            await self._write_deadline(conn, None, flow)

    async def save(
        self,
        old: Flow,
        new: Flow,
        meta: FlowMeta,
        *,
        webhooks: Sequence[NewWebhookEvent] = (),
    ) -> bool:
        """Persist ``new`` if nobody saved ``old``'s flow since it was loaded (else False).

        ``webhooks`` join the outbox in the same transaction: saved with the flow, or not at all.
        """
        async with self.db.write() as conn:
            result = await conn.execute(
                update(flows)
                .where(flows.c.id == new.id, flows.c.version == old.version)
                .values(version=old.version + 1, **flow_state_values(new))
            )
            if result.rowcount != 1:
                await conn.rollback()
                return False
            await self._write_steps(conn, old, new, meta)
            await self._write_deadline(conn, old, new)
            await insert_events(conn, webhooks)
        return True

    async def _write_steps(
        self, conn: AsyncConnection, old: Flow | None, new: Flow, meta: FlowMeta
    ) -> None:
        before = {s.index: s for s in old.steps} if old else {}
        for step in new.steps:
            previous = before.get(step.index)
            if previous == step:
                continue
            values = step_values(new, step, meta.step_label(step.index))
            if previous is None:
                await conn.execute(insert(steps).values(**values))
            else:
                await conn.execute(
                    update(steps)
                    .where(steps.c.flow_id == new.id, steps.c.idx == step.index)
                    .values(**values)
                )

    async def _write_deadline(self, conn: AsyncConnection, old: Flow | None, new: Flow) -> None:
        if old is not None and old.deadline == new.deadline:
            return
        if old is not None and old.deadline is not None:
            await conn.execute(delete(deadlines).where(deadlines.c.flow_id == new.id))
        if new.deadline is not None:
            await conn.execute(
                insert(deadlines).values(
                    flow_id=new.id,
                    due_at=new.deadline.due_at,
                    kind=new.deadline.kind.value,
                    step_index=new.deadline.step_index,
                )
            )

    async def load(self, flow_id: str) -> FlowRecord | None:
        async with self.db.read() as conn:
            return await self._load(conn, flow_id)

    async def find(self, application_id: str, any_id: str) -> FlowRecord | None:
        """The flow with this id, or the flow one of whose steps has this tracking id."""
        async with self.db.read() as conn:
            record = await self._load(conn, any_id)
            if record is None:
                flow_id = (
                    await conn.execute(select(steps.c.flow_id).where(steps.c.tracking_id == any_id))
                ).scalar()
                record = await self._load(conn, flow_id) if flow_id else None
        if record is None or record.flow.application_id != application_id:
            return None
        return record

    async def flow_id_for_tracking(self, tracking_id: str) -> str | None:
        async with self.db.read() as conn:
            result = await conn.execute(
                select(steps.c.flow_id).where(steps.c.tracking_id == tracking_id)
            )
            return result.scalar()

    async def _load(self, conn: AsyncConnection, flow_id: str) -> FlowRecord | None:
        row = (await conn.execute(select(flows).where(flows.c.id == flow_id))).mappings().first()
        if row is None:
            return None
        step_rows = (
            (await conn.execute(select(steps).where(steps.c.flow_id == flow_id))).mappings().all()
        )
        deadline = (
            (await conn.execute(select(deadlines).where(deadlines.c.flow_id == flow_id)))
            .mappings()
            .first()
        )
        meta = FlowMeta(
            request=list(row["request"]),
            phone=row["phone"],
            label=row["label"],
            callback_url=row["callback_url"],
            callback_strategy=row["callback_strategy"],
        )
        return FlowRecord(flow_from_rows(row, step_rows, deadline), meta)

    async def claim_due(
        self, *, now: datetime, worker_id: str, lease_until: datetime, limit: int
    ) -> list[ClaimedDeadline]:
        """Claim up to ``limit`` due deadlines that no live worker holds.

        ``FOR UPDATE SKIP LOCKED`` keeps concurrent PostgreSQL workers off each other's rows
        (SQLite has one writer, so its claims are exclusive anyway); the lease hands the work of
        a worker that died mid-fire to another once it runs out.
        """
        due = (
            select(deadlines.c.flow_id)
            .where(
                deadlines.c.due_at <= now,
                or_(deadlines.c.lease_until.is_(None), deadlines.c.lease_until < now),
            )
            .order_by(deadlines.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(deadlines)
            .where(deadlines.c.flow_id.in_(due.scalar_subquery()))
            .values(claimed_by=worker_id, lease_until=lease_until)
            .returning(
                deadlines.c.flow_id, deadlines.c.kind, deadlines.c.step_index, deadlines.c.due_at
            )
        )
        async with self.db.write() as conn:
            rows = (await conn.execute(stmt)).all()
        return [ClaimedDeadline(r.flow_id, r.kind, r.step_index, r.due_at) for r in rows]

    async def next_due_at(self) -> datetime | None:
        async with self.db.read() as conn:
            result = await conn.execute(select(func.min(deadlines.c.due_at)))
            value: datetime | None = result.scalar()
            return value

    async def pending_count(self) -> int:
        async with self.db.read() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(deadlines))).scalar_one()
            )

    async def list_deliveries(
        self, where: DeliveryFilter, *, limit: int, offset: int
    ) -> tuple[int, Sequence[Any]]:
        """Steps (deliveries) newest first, with their flow's status, and the total count."""
        conditions: list[Any] = [steps.c.application_id == where.application_id]
        if where.step_status is not None:
            conditions.append(steps.c.status == where.step_status)
        if where.flow_status is not None:
            conditions.append(flows.c.status == where.flow_status)
        if where.tag:
            conditions.append(steps.c.label.ilike(f"%{_escape_like(where.tag)}%", escape="\\"))
        if where.phone:
            conditions.append(steps.c.phone.like(f"%{_escape_like(where.phone)}%", escape="\\"))
        if where.flow_id:
            conditions.append(steps.c.flow_id == where.flow_id)
        if where.kind is not None:
            conditions.append(flows.c.kind == where.kind.value)
        joined = steps.join(flows, flows.c.id == steps.c.flow_id)
        condition = and_(*conditions)
        page = (
            select(steps, flows.c.status.label("flow_status"), flows.c.status_code)
            .select_from(joined)
            .where(condition)
            .order_by(steps.c.created_at.desc(), steps.c.flow_id.desc(), steps.c.idx.desc())
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(joined).where(condition)
        async with self.db.read() as conn:
            total = int((await conn.execute(count)).scalar_one())
            rows = (await conn.execute(page)).mappings().all()
        return total, rows


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
