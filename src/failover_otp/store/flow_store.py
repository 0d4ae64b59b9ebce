"""Flows, their steps and their deadlines: the queries the service layer needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.aggregate import is_settled
from failover_otp.domain.flow import Flow, FlowKind
from failover_otp.domain.outbox import NewWebhookEvent
from failover_otp.domain.records import ClaimedDeadline, FlowMeta, FlowRecord
from failover_otp.domain.statuses import StepStatus, stored_as
from failover_otp.store import flow_statements as sql
from failover_otp.store.code_store import scrub_ended
from failover_otp.store.database import Database
from failover_otp.store.paging import bounded_count, page_window
from failover_otp.store.rows import (
    flow_from_rows,
    flow_state_values,
    plans_to_json,
    step_values,
)
from failover_otp.store.spend_store import settle as settle_spend
from failover_otp.store.tables import UTCDateTime, deadlines, flows, steps
from failover_otp.store.webhook_store import insert_events


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


# The worker's statements, built once (the parameters are bound per call).
_UNCLAIMED = or_(
    deadlines.c.lease_until.is_(None), deadlines.c.lease_until < bindparam("now", type_=UTCDateTime)
)
_CLAIM_DUE = (
    update(deadlines)
    .where(
        deadlines.c.flow_id.in_(
            select(deadlines.c.flow_id)
            .where(deadlines.c.due_at <= bindparam("now", type_=UTCDateTime), _UNCLAIMED)
            .order_by(deadlines.c.due_at)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(claimed_by=bindparam("worker_id"), lease_until=bindparam("lease_until"))
    .returning(deadlines.c.flow_id, deadlines.c.kind, deadlines.c.step_index, deadlines.c.due_at)
)
_NEXT_CLAIMABLE = select(deadlines.c.due_at).where(_UNCLAIMED).order_by(deadlines.c.due_at).limit(1)
_STEP_FLOW_ID = select(steps.c.flow_id).where(steps.c.tracking_id == bindparam("tracking_id"))
# A flow, its steps and its deadline in one query (one row per step).
_LOAD = (
    select(flows, steps, deadlines)
    .select_from(
        flows.outerjoin(steps, steps.c.flow_id == flows.c.id).outerjoin(
            deadlines, deadlines.c.flow_id == flows.c.id
        )
    )
    .where(flows.c.id == bindparam("flow_id"))
    .order_by(steps.c.idx)
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)
_FLOW_COLUMNS = tuple(c.name for c in flows.c)
_STEP_COLUMNS = tuple(c.name for c in steps.c)
_DEADLINE_COLUMNS = tuple(c.name for c in deadlines.c)


class FlowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, flow: Flow, meta: FlowMeta, *, webhooks: Sequence[NewWebhookEvent] = ()
    ) -> None:
        """Store a new flow, its steps and deadline (and ``webhooks``) in one transaction."""
        values = {
            "id": flow.id,
            "application_id": flow.application_id,
            "kind": flow.kind.value,
            "label": meta.label,
            "phone": meta.phone,
            "callback_url": meta.callback_url,
            "callback_strategy": meta.callback_strategy,
            "request": meta.request,
            "plans": plans_to_json(flow.plans),
            "created_at": flow.created_at,
            "version": flow.version,
            **flow_state_values(flow),
        }
        if not self.db.is_sqlite and not webhooks:
            await self._create_in_one(flow, meta, values)
            return
        async with self.db.write() as conn:
            await conn.execute(sql.INSERT_FLOW, values)
            await self._write_steps(conn, None, flow, meta)
            await self._write_deadline(conn, None, flow)
            await insert_events(conn, webhooks)

    async def _create_in_one(self, flow: Flow, meta: FlowMeta, values: dict[str, Any]) -> None:
        """PostgreSQL: the flow, its steps and its deadline in one statement."""
        params: dict[str, Any] = {f"f_{k}": v for k, v in values.items()}
        step_columns: tuple[str, ...] = ()
        for i, step in enumerate(flow.steps):
            step_row = step_values(flow, step, meta.step_label(step.index))
            step_columns = tuple(step_row)
            params.update({f"n{i}_{k}": v for k, v in step_row.items()})
        if flow.deadline is not None:
            params["d_due_at"] = flow.deadline.due_at
            params["d_kind"] = flow.deadline.kind.value
            params["d_step_index"] = flow.deadline.step_index
        shape = (tuple(values), step_columns, len(flow.steps), flow.deadline is not None)
        async with self.db.write_one() as conn:
            await conn.execute(sql.pg_create_statement(shape), params)

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
        # An ended flow (or an ended flow's late charge) settles its spend reservation, and a
        # flow that settles for good scrubs its code, in the same transaction: not the
        # one-statement path.
        ends = new.status.is_terminal and (
            not old.status.is_terminal or new.total_cost != old.total_cost
        )
        settles = is_settled(new) and not is_settled(old)
        if not self.db.is_sqlite and not webhooks and not ends and not settles:
            return await self._save_in_one(old, new, meta)
        async with self.db.write() as conn:
            result = await conn.execute(
                sql.UPDATE_FLOW,
                {
                    "b_id": new.id,
                    "b_version": old.version,
                    "version": old.version + 1,
                    **flow_state_values(new),
                },
            )
            if result.rowcount != 1:
                await conn.rollback()
                return False
            await self._write_steps(conn, old, new, meta)
            await self._write_deadline(conn, old, new)
            await insert_events(conn, webhooks)
            await scrub_ended(conn, old, new, meta.request)
            await settle_spend(conn, old, new)
        return True

    async def _save_in_one(self, old: Flow, new: Flow, meta: FlowMeta) -> bool:
        """PostgreSQL, when the save touches only the flow, its steps and its deadline: one
        statement, so one round trip instead of BEGIN, three to five statements and COMMIT."""
        state = {"version": old.version + 1, **flow_state_values(new)}
        params: dict[str, Any] = {"b_id": new.id, "b_version": old.version}
        params.update({f"f_{k}": v for k, v in state.items()})
        before = {s.index: s for s in old.steps}
        new_steps = changed_steps = 0
        step_columns: tuple[str, ...] = ()
        for step in new.steps:
            previous = before.get(step.index)
            if previous == step:
                continue
            values = step_values(new, step, meta.step_label(step.index))
            step_columns = tuple(values)
            if previous is None:
                params.update({f"n{new_steps}_{k}": v for k, v in values.items()})
                new_steps += 1
            else:
                params[f"c{changed_steps}_b_idx"] = step.index
                params.update({f"c{changed_steps}_{k}": v for k, v in values.items()})
                changed_steps += 1
        deadline = "keep"
        if old.deadline != new.deadline:
            if new.deadline is not None:
                deadline = "upsert"
                params["d_due_at"] = new.deadline.due_at
                params["d_kind"] = new.deadline.kind.value
                params["d_step_index"] = new.deadline.step_index
            elif old.deadline is not None:
                deadline = "delete"
        shape = (tuple(state), step_columns, new_steps, changed_steps, deadline)
        statement = sql.pg_save_statement(shape)
        async with self.db.write_one() as conn:
            saved = (await conn.execute(statement, params)).scalar_one()
        return int(saved) == 1

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
                await conn.execute(sql.INSERT_STEP, values)
            else:
                await conn.execute(
                    sql.UPDATE_STEP, {"b_flow_id": new.id, "b_idx": step.index, **values}
                )

    async def _write_deadline(self, conn: AsyncConnection, old: Flow | None, new: Flow) -> None:
        if old is not None and old.deadline == new.deadline:
            return
        if new.deadline is None:
            if old is not None and old.deadline is not None:
                await conn.execute(sql.DELETE_DEADLINE, {"b_flow_id": new.id})
            return
        # An upsert (a new deadline is unclaimed): one statement where a delete and an insert
        # took two.
        await conn.execute(
            sql.INSERT_DEADLINE if old is None else sql.upsert_deadline(conn),
            {
                "flow_id": new.id,
                "due_at": new.deadline.due_at,
                "kind": new.deadline.kind.value,
                "step_index": new.deadline.step_index,
            },
        )

    async def load(self, flow_id: str) -> FlowRecord | None:
        async with self.db.read() as conn:
            return await self._load(conn, flow_id)

    async def find(self, application_id: str, any_id: str) -> FlowRecord | None:
        """The flow with this id, or the flow one of whose steps has this tracking id."""
        async with self.db.read() as conn:
            record = await self._load(conn, any_id)
            if record is None:
                flow_id = (await conn.execute(_STEP_FLOW_ID, {"tracking_id": any_id})).scalar()
                record = await self._load(conn, flow_id) if flow_id else None
        if record is None or record.flow.application_id != application_id:
            return None
        return record

    async def load_by_tracking(self, tracking_id: str) -> FlowRecord | None:
        """The flow one of whose steps has this tracking id (one connection, two lookups)."""
        async with self.db.read() as conn:
            flow_id = (await conn.execute(_STEP_FLOW_ID, {"tracking_id": tracking_id})).scalar()
            return await self._load(conn, flow_id) if flow_id else None

    async def _load(self, conn: AsyncConnection, flow_id: str) -> FlowRecord | None:
        rows = (await conn.execute(_LOAD, {"flow_id": flow_id})).all()
        if not rows:
            return None
        n_flow, n_step = len(_FLOW_COLUMNS), len(_STEP_COLUMNS)
        first = tuple(rows[0])
        row = dict(zip(_FLOW_COLUMNS, first[:n_flow], strict=True))
        step_rows = [
            dict(zip(_STEP_COLUMNS, tuple(r)[n_flow : n_flow + n_step], strict=True))
            for r in rows
            if r[n_flow] is not None
        ]
        deadline_values = first[n_flow + n_step :]
        deadline = (
            dict(zip(_DEADLINE_COLUMNS, deadline_values, strict=True))
            if deadline_values[0] is not None
            else None
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
        params = {"now": now, "worker_id": worker_id, "lease_until": lease_until, "limit": limit}
        # One statement: on PostgreSQL it needs no BEGIN and COMMIT round trips around it.
        async with self.db.write_one() as conn:
            rows = (await conn.execute(_CLAIM_DUE, params)).all()
        return [ClaimedDeadline(r.flow_id, r.kind, r.step_index, r.due_at) for r in rows]

    async def next_claimable_at(self, now: datetime) -> datetime | None:
        """When the earliest deadline that no live worker holds falls due (None: none waits)."""
        async with self.db.read() as conn:
            value: datetime | None = (await conn.execute(_NEXT_CLAIMABLE, {"now": now})).scalar()
            return value

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
            step_conditions.append(steps.c.label.ilike(f"%{_escape_like(where.tag)}%", escape="\\"))
        if where.phone and where.phone_whole:
            step_conditions.append(steps.c.phone == where.phone)
        elif where.phone:
            step_conditions.append(
                steps.c.phone.like(f"%{_escape_like(where.phone)}%", escape="\\")
            )
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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
