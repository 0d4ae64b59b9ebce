"""Whether a filter of the dashboard's table can match anything, told by indexed probes.

A combination that matches nothing is the table's worst case: the page and its count walk the
application's flows newest first, testing each, and find nothing to stop them (7-25 s over a
million flows on SQLite). Before that, each part of the filter is looked up alone, unordered,
one row at most (``LIMIT 1``), on the index that serves it: the creation range and the flow's
status on ``flows (application_id, status, created_at)``, a step's status (with the range,
widened by a day: a failover step is created after its flow) on ``steps (application_id,
status, created_at)``, a partial label or number as one pass over the application's steps or
flows (of the asked status and range) that stops at the first hit, and the step status together
with the label over the steps of that status. If any part finds nothing, nothing matches and
the table says so at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import FromClause, Select, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.listing import TableFilter
from failover_otp.store.dialect import Dialect
from failover_otp.store.listing_filters import contains, contains_any_case, step_shown_as
from failover_otp.store.tables import flows, steps

# A step is created at most this long after its flow (its ttls: minutes; a day is generous).
_STEP_LAG = timedelta(days=1)


async def nothing_matches(conn: AsyncConnection, where: TableFilter, dialect: Dialect) -> bool:
    """True when an indexed probe proves that no flow matches ``where``; False when one might."""
    for probe in _probes(where, dialect):
        if (await conn.execute(probe)).first() is None:
            return True
    return False


def _probes(where: TableFilter, dialect: Dialect) -> list[Select[Any]]:
    app = where.application_id
    probes: list[Select[Any]] = []
    in_range: list[ColumnElement[bool]] = []
    if where.created_from is not None:
        in_range.append(flows.c.created_at >= where.created_from)
    if where.created_to is not None:
        in_range.append(flows.c.created_at < where.created_to)
    if where.flow_status or in_range:
        own = [flows.c.application_id == app, *in_range]
        if where.flow_status:
            own.append(flows.c.status == where.flow_status)
        probes.append(_one(flows, *own))
    step_conditions: list[ColumnElement[bool]] = [steps.c.application_id == app]
    if where.step_status:
        step_conditions.append(step_shown_as(where.step_status))
        if where.created_from is not None:
            step_conditions.append(steps.c.created_at >= where.created_from)
        if where.created_to is not None:
            step_conditions.append(steps.c.created_at < where.created_to + _STEP_LAG)
        probes.append(_one(steps, *step_conditions))
    if where.tag:
        label = contains_any_case(dialect, steps.c.label, where.tag)
        probes.append(_one(steps, steps.c.application_id == app, label))
        if where.step_status:
            # The label on any of the flow's steps, beside a step of the asked status.
            labelled = steps.alias("labelled")
            same_flow = exists(
                select(labelled.c.idx).where(
                    labelled.c.flow_id == steps.c.flow_id,
                    contains_any_case(dialect, labelled.c.label, where.tag),
                )
            )
            probes.append(_one(steps, *step_conditions, same_flow))
    if where.phone:
        number = contains(flows.c.phone, where.phone)
        status = [flows.c.status == where.flow_status] if where.flow_status else []
        probes.append(_one(flows, flows.c.application_id == app, *in_range, *status, number))
    return probes


def _one(table: FromClause, *conditions: ColumnElement[bool]) -> Select[Any]:
    return select(literal(1)).select_from(table).where(*conditions).limit(1)
