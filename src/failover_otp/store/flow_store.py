"""The flows store: a flow, its steps and its deadline created, loaded, found and saved (one
transaction each). The deadlines are handed out by ``store/deadline_queue.py``, listings are
``store/listing.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, select

from failover_otp.domain.aggregate import is_settled
from failover_otp.domain.flow import Flow
from failover_otp.domain.outbox import NewWebhookEvent
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.store import flow_statements as sql
from failover_otp.store.code_store import scrub_ended
from failover_otp.store.database import Database
from failover_otp.store.driver_sql import DriverConnection
from failover_otp.store.rollup_store import roll_up, rollup_change
from failover_otp.store.rows import (
    flow_from_rows,
    flow_state_values,
    meta_from_row,
    plans_to_json,
    step_values,
)
from failover_otp.store.spend_store import settle as settle_spend
from failover_otp.store.tables import deadlines, flows, steps
from failover_otp.store.webhook_store import insert_events

# The statements of a read, built once (the parameters are bound per call).
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
        # A flow stored already final (a first send refused for good) is counted in the
        # dashboard's rollups in the same transaction.
        change = rollup_change(None, flow)
        if self.db.dialect.one_statement_writes and not webhooks and change.empty:
            await self._create_in_one(flow, meta, values)
            return
        if not webhooks and change.empty:
            # SQLite: the hot path through the driver (store/driver_sql.py).
            async with self.db.driver_write() as driver:
                await driver.execute(sql.INSERT_FLOW, values, columns=tuple(values))
                await sql.write_steps(driver, None, flow, meta)
                await sql.write_deadline(driver, None, flow)
            return
        async with self.db.write() as conn:
            await conn.execute(sql.INSERT_FLOW, values)
            driver = await self.db.driver_of(conn)
            await sql.write_steps(driver, None, flow, meta)
            await sql.write_deadline(driver, None, flow)
            await insert_events(conn, webhooks)
            if not change.empty:
                await roll_up(conn, None, flow, change)

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
        async with self.db.driver_write(one_statement=True) as driver:
            await driver.fetch(sql.pg_create_statement(shape), params)

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
        # What the save changes in the dashboard's daily rollups (store/rollup_store.py): only
        # a finished flow is counted there, so most saves change nothing.
        change = rollup_change(old, new)
        if not webhooks and not ends and not settles and change.empty:
            if self.db.dialect.one_statement_writes:
                return await self._save_in_one(old, new, meta)
            # SQLite: the hot path through the driver (store/driver_sql.py).
            async with self.db.driver_write() as driver:
                state = {
                    "b_id": new.id,
                    "b_version": old.version,
                    "version": old.version + 1,
                    **flow_state_values(new),
                }
                if await driver.execute(sql.UPDATE_FLOW, state, columns=tuple(state)) != 1:
                    driver.abort()
                    return False
                await sql.write_steps(driver, old, new, meta)
                await sql.write_deadline(driver, old, new)
            return True
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
            driver = await self.db.driver_of(conn)
            await sql.write_steps(driver, old, new, meta)
            await sql.write_deadline(driver, old, new)
            await insert_events(conn, webhooks)
            await scrub_ended(conn, old, new, meta.request)
            await settle_spend(conn, old, new)
            if not change.empty:
                await roll_up(conn, old, new, change)
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
        async with self.db.driver_write(one_statement=True) as driver:
            saved = (await driver.fetch(statement, params))[0][0]
        return int(saved) == 1

    # The reads of a send, a report, a fire and a story run through the driver
    # (store/driver_sql.py).
    async def load(self, flow_id: str) -> FlowRecord | None:
        async with self.db.driver_read() as driver:
            return await self._load(driver, flow_id)

    async def find(self, application_id: str, any_id: str) -> FlowRecord | None:
        """The flow with this id, or the flow one of whose steps has this tracking id."""
        async with self.db.driver_read() as driver:
            record = await self._load(driver, any_id)
            if record is None:
                found = await driver.fetch(_STEP_FLOW_ID, {"tracking_id": any_id})
                record = await self._load(driver, found[0][0]) if found else None
        if record is None or record.flow.application_id != application_id:
            return None
        return record

    async def load_by_tracking(self, tracking_id: str) -> FlowRecord | None:
        """The flow one of whose steps has this tracking id (one connection, two lookups)."""
        async with self.db.driver_read() as driver:
            found = await driver.fetch(_STEP_FLOW_ID, {"tracking_id": tracking_id})
            return await self._load(driver, found[0][0]) if found else None

    async def _load(self, driver: DriverConnection, flow_id: str) -> FlowRecord | None:
        rows = await driver.fetch(_LOAD, {"flow_id": flow_id})
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
        return FlowRecord(flow_from_rows(row, step_rows, deadline), meta_from_row(row))
