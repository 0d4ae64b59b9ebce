"""The dashboard table's "nothing can match" probes (store/filter_probe.py) on a real database
(SQLite and PostgreSQL): a combination that matches nothing is told at once, and a filter that
matches is never cut short."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.support.stats_seed import DAY1, M, S, V, flow_of

from failover_otp.domain.listing import TableFilter
from failover_otp.domain.statuses import FlowStatus, StepStatus
from failover_otp.store.database import Database
from failover_otp.store.filter_probe import nothing_matches
from failover_otp.store.flow_store import FlowStore
from failover_otp.store.listing import ListingStore
from failover_otp.store.migrate import upgrade

pytestmark = pytest.mark.asyncio(loop_scope="session")

APP = "app-probe"
VIBER_PRICE, SMS_PRICE = 0.0093, 0.0375


async def test_empty_combinations_are_told_at_once_and_matches_never_cut(
    database_url: str,
) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    try:
        store = FlowStore(db)
        made = [
            flow_of(APP, DAY1, [S(V, StepStatus.SEEN, 1, VIBER_PRICE)], FlowStatus.SUCCEEDED),
            flow_of(
                APP,
                DAY1 + timedelta(minutes=1),
                [
                    S(V, StepStatus.EXPIRED, None, VIBER_PRICE),
                    S(M, StepStatus.FAILED, None, SMS_PRICE),
                ],
                FlowStatus.FAILED,
                phone="35799123456",
                label="payment",
            ),
        ]
        for flow, meta in made:
            await store.create(flow, meta)
        day = DAY1.replace(hour=0, minute=0)
        empty = [
            TableFilter(APP, tag="nomatch"),
            TableFilter(APP, step_status="FAILED", tag="login"),  # each alone matches
            TableFilter(APP, step_status="SENT"),
            TableFilter(APP, flow_status="Failed", phone="306912"),
            TableFilter(APP, created_from=day + timedelta(days=1)),
            TableFilter(APP, flow_status="Failed", created_to=day),
        ]
        matching = [
            TableFilter(APP),
            TableFilter(APP, tag="PAY"),
            TableFilter(APP, step_status="FAILED", tag="pay"),
            TableFilter(
                APP, step_status="EXPIRED", created_from=day, created_to=day + timedelta(days=1)
            ),
            TableFilter(APP, flow_status="Failed", phone="357"),
            # A label on another step of the flow than the one of the asked status.
            TableFilter(APP, step_status="FAILED", tag="payment"),
        ]
        table = ListingStore(db)
        async with db.scan() as conn:
            for where in empty:
                assert await nothing_matches(conn, where, db.dialect), where
            for where in matching:
                assert not await nothing_matches(conn, where, db.dialect), where
        for where in empty:
            assert (await table.table(where, size=10)).total == 0
        for where in matching:
            assert (await table.table(where, size=10)).total > 0, where
    finally:
        await db.dispose()
