"""Listings: the OTP API's deliveries (one row per step, newest first, offset pages over a
bounded count)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.flow import FlowKind
from failover_otp.domain.statuses import StepStatus, stored_as
from failover_otp.store.database import Database
from failover_otp.store.paging import bounded_count, page_window
from failover_otp.store.search_store import escape_like
from failover_otp.store.tables import flows, steps


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    application_id: str
    step_status: str | None = None
    flow_status: str | None = None
    tag: str | None = None
    phone: str | None = None
    # The phone is a whole number: matched as such (through an index), not as a part.
    phone_whole: bool = False
    flow_id: str | None = None
    kind: FlowKind | None = None


class Listings:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_deliveries(
        self, where: DeliveryFilter, *, limit: int, offset: int, count_limit: int = 0
    ) -> tuple[int, Sequence[Any]]:
        """Steps (deliveries) newest first, with their flow's status, and the total count.

        With ``count_limit`` the count stops after ``count_limit + 1`` matches (a total above
        the limit means "more than that") and only the first ``count_limit`` can be paged
        through, as in ``SearchStore.search``.
        """
        step_conditions: list[Any] = [steps.c.application_id == where.application_id]
        if where.flow_id:
            # One flow's steps: through the primary key. As a bare column the application would
            # lead SQLite to its (application_id, ...) indexes, i.e. to every step it has.
            step_conditions = [
                steps.c.flow_id == where.flow_id,
                func.coalesce(steps.c.application_id, "") == where.application_id,
            ]
        if where.step_status is not None:
            # As shown: a queued filter also finds sends in flight (shown as queued).
            shown = stored_as(StepStatus(where.step_status))
            step_conditions.append(steps.c.status.in_(sorted(s.value for s in shown)))
        if where.tag:
            step_conditions.append(steps.c.label.ilike(f"%{escape_like(where.tag)}%", escape="\\"))
        if where.phone and where.phone_whole:
            step_conditions.append(steps.c.phone == where.phone)
        elif where.phone:
            step_conditions.append(steps.c.phone.like(f"%{escape_like(where.phone)}%", escape="\\"))
        flow_conditions: list[Any] = []
        if where.flow_status is not None:
            flow_conditions.append(flows.c.status == where.flow_status)
        if where.kind is not None:
            flow_conditions.append(flows.c.kind == where.kind.value)
        joined = steps.join(flows, flows.c.id == steps.c.flow_id)
        condition = and_(*step_conditions, *flow_conditions)
        newest: Any = steps.c.created_at
        if self.db.is_sqlite and where.phone and where.phone_whole:
            # Without statistics SQLite walks all of the application's steps in date order (to
            # skip a sort) testing each number. Ordering by an expression of the date instead
            # leaves it the number's index: its few steps found at once, then sorted.
            newest = func.coalesce(steps.c.created_at, steps.c.created_at)
        async with self.db.scan() as conn:
            if count_limit:
                matching = select(steps.c.flow_id).select_from(joined).where(condition)
                total = int((await conn.execute(bounded_count(matching, count_limit))).scalar_one())
            else:
                total = await self._count_deliveries(conn, where, step_conditions, flow_conditions)
            window = page_window(total, offset, limit, count_limit)
            if window is None:
                return total, []
            page = (
                select(steps, flows.c.status.label("flow_status"), flows.c.status_code)
                .select_from(joined)
                .where(condition)
                .order_by(*window.order(newest, steps.c.flow_id, steps.c.idx))
                .limit(window.size)
                .offset(window.skip)
            )
            rows = list((await conn.execute(page)).mappings().all())
        if window.from_end:
            rows.reverse()
        return total, rows

    async def _count_deliveries(
        self,
        conn: AsyncConnection,
        where: DeliveryFilter,
        step_conditions: list[Any],
        flow_conditions: list[Any],
    ) -> int:
        # A flow's steps share its application: counted per flow, they are found through the
        # primary key alone (given the application too, SQLite would take an (application_id,
        # ...) index and visit all of the application's steps for every flow).
        per_flow = step_conditions[1:] if not where.flow_id else step_conditions
        if where.flow_status is not None:
            # Start from the flows in that status (their own index), not from every step.
            query = self._count_from_flows(
                where.application_id, step_conditions, per_flow, flow_conditions
            )
            return int((await conn.execute(query)).scalar_one())
        everything = select(func.count()).select_from(steps).where(*step_conditions)
        total = int((await conn.execute(everything)).scalar_one())
        if where.kind is None or not total:
            return total
        # Only the kind needs the flow: count the application's matching steps without the
        # join, then take away those of its flows of the other kinds (found through the
        # flows (application_id, kind) index, usually few or none). Same number, without a flow
        # lookup per step.
        others = [k.value for k in FlowKind if k is not where.kind]
        if others:
            other_kinds = self._count_from_flows(
                where.application_id, step_conditions, per_flow, [flows.c.kind.in_(others)]
            )
            total -= int((await conn.execute(other_kinds)).scalar_one())
        return total

    def _count_from_flows(
        self,
        application_id: str,
        step_conditions: list[Any],
        per_flow_conditions: list[Any],
        flow_conditions: list[Any],
    ) -> Any:
        """The matching steps of the application's flows that meet ``flow_conditions``, the
        flows found first. PostgreSQL's planner picks the join itself; SQLite's would start
        from every step of the application, so there each flow counts its own steps (those
        meeting ``per_flow_conditions``: ``step_conditions`` less the application)."""
        if not self.db.is_sqlite:
            joined = steps.join(flows, flows.c.id == steps.c.flow_id)
            return (
                select(func.count())
                .select_from(joined)
                .where(flows.c.application_id == application_id, *flow_conditions)
                .where(*step_conditions)
            )
        per_flow = (
            select(func.count())
            .select_from(steps)
            .where(steps.c.flow_id == flows.c.id, *per_flow_conditions)
            .scalar_subquery()
        )
        return (
            select(func.coalesce(func.sum(per_flow), 0))
            .select_from(flows)
            .where(flows.c.application_id == application_id, *flow_conditions)
        )
