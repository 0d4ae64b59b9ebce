"""The exact count of the OTP API's deliveries (``GET /otp/failover`` with no count limit), in
the shapes that keep it on the indexes (``store/listing.py`` runs the page itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.flow import FlowKind
from failover_otp.domain.listing import DeliveryFilter
from failover_otp.store.dialect import Dialect
from failover_otp.store.tables import flows, steps


async def count_deliveries(
    conn: AsyncConnection,
    dialect: Dialect,
    where: DeliveryFilter,
    step_conditions: list[Any],
    flow_conditions: list[Any],
) -> int:
    """How many steps meet ``step_conditions`` (the application's first) whose flows meet
    ``flow_conditions`` (``where``'s flow status and kind)."""
    # A flow's steps share its application: counted per flow, they are found through the
    # primary key alone (given the application too, SQLite would take an (application_id,
    # ...) index and visit all of the application's steps for every flow).
    per_flow = step_conditions[1:] if not where.flow_id else step_conditions
    if where.flow_status is not None:
        # Start from the flows in that status (their own index), not from every step.
        query = _count_from_flows(
            dialect, where.application_id, step_conditions, per_flow, flow_conditions
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
        other_kinds = _count_from_flows(
            dialect, where.application_id, step_conditions, per_flow, [flows.c.kind.in_(others)]
        )
        total -= int((await conn.execute(other_kinds)).scalar_one())
    return total


def _count_from_flows(
    dialect: Dialect,
    application_id: str,
    step_conditions: list[Any],
    per_flow_conditions: list[Any],
    flow_conditions: list[Any],
) -> Any:
    """The matching steps of the application's flows that meet ``flow_conditions``, the
    flows found first. A planner with statistics (PostgreSQL's) picks the join itself; SQLite's
    would start from every step of the application, so there each flow counts its own steps
    (those meeting ``per_flow_conditions``: ``step_conditions`` less the application)."""
    if not dialect.plans_without_statistics:
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
