"""What the dashboard and ``GET /stats/conversion`` show of code checks (issue 17, items 5 and 9):
a wrong code then the right one appear on the flow's timeline, and the verified flow counts in
the conversion (kept on the flow: the code's own row is purged a day after it expires)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update
from tests.support.security_stack import otp_body, security_stack
from tests.support.seeding import seed_flows

from failover_otp.services.auth import AuthService
from failover_otp.services.clock import SystemClock
from failover_otp.services.codes import VerifyStatus
from failover_otp.services.dashboard import DashboardService
from failover_otp.settings import Settings
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.listing import ListingStore
from failover_otp.store.migrate import upgrade
from failover_otp.store.refusal_store import RefusalStore
from failover_otp.store.rollup_store import count_verified
from failover_otp.store.stats_store import StatsStore
from failover_otp.store.tables import flows, otp_codes
from failover_otp.web.app import create_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_wrong_code_then_the_right_one_on_the_timeline_and_in_conversion(
    database_url: str,
) -> None:
    async with security_stack(database_url) as stack:
        record, code = await stack.send_otp(otp_body(pin=None))
        assert code is not None
        flow_id = record.flow.id
        stack.clock.advance(5)
        wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
        assert (await stack.security.codes.verify("app-1", flow_id, wrong)).status is (
            VerifyStatus.WRONG_CODE
        )
        stack.clock.advance(5)
        assert (await stack.security.codes.verify("app-1", flow_id, code)).valid

        dashboard = DashboardService(
            StatsStore(stack.db),
            stack.apps,
            stack.flows,
            stack.clock,
            ListingStore(stack.db),
            refusals=RefusalStore(stack.db),
        )
        view = await dashboard.flow("app-1", flow_id)
        assert view is not None
        titles = [e.title for e in view.events]
        assert titles.index("Viber sent") < titles.index("1 wrong code entered")
        assert titles.index("1 wrong code entered") < titles.index("Code verified")
        verified = next(e for e in view.events if e.title == "Code verified")
        assert verified.at == stack.clock.now()

        stats = await dashboard.stats("app-1", 1)
        assert stats["conversion"]["flows"] == 1
        assert stats["conversion"]["verified"] == 1
        [viber] = stats["conversion"]["byChannel"]
        assert (viber["channel"], viber["conversionRate"]) == ("viber", 1.0)

        # The code's row goes a day after it expires; the flow keeps that it was verified.
        async with stack.db.write() as conn:
            await conn.execute(delete(otp_codes).where(otp_codes.c.flow_id == flow_id))
        again = await dashboard.flow("app-1", flow_id)
        assert again is not None
        assert "Code verified" in [e.title for e in again.events]
        assert (await dashboard.stats("app-1", 1))["conversion"]["verified"] == 1


async def test_the_conversion_endpoint_per_channel_country_and_day(database_url: str) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    try:
        creds = await AuthService(AppStore(db), SystemClock()).create_application("conversion")
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        since = day - timedelta(days=2)
        await seed_flows(database_url, creds.application_id, 300, since=since, until=day)
        # One flow in three had its code verified (what CodeStore.mark_used records).
        async with db.write() as conn:
            ids = [
                row.id
                for row in await conn.execute(
                    select(flows.c.id)
                    .where(flows.c.application_id == creds.application_id)
                    .where(flows.c.created_at >= since)
                    .order_by(flows.c.id)
                )
            ]
            await conn.execute(
                update(flows).where(flows.c.id.in_(ids[::3])).values(verified_at=day)
            )
            for flow_id in ids[::3]:
                await count_verified(conn, flow_id)
    finally:
        await db.dispose()
    app = create_app(Settings(database_url=database_url, run_worker=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            token = (
                await client.post(
                    "/oauth/token",
                    auth=(creds.application_id, creds.application_secret),
                    data={"grant_type": "client_credentials"},
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            answer = await client.get(
                "/stats/conversion",
                params={"dateStart": since.isoformat(), "dateEnd": day.isoformat()},
                headers=headers,
            )
            assert (await client.get("/stats/conversion")).status_code == 401
            bad = await client.get(
                "/stats/conversion", params={"dateStart": "yesterday"}, headers=headers
            )
            assert bad.status_code == 422
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["flows"], body["verified"]) == (300, 100)
    assert body["conversionRate"] == pytest.approx(1 / 3)
    # Seeded: 60% delivered on Viber, 30% failed over to a delivered SMS, 10% failed on SMS.
    channels = {c["channel"]: c for c in body["byChannel"]}
    assert set(channels) == {"viber", "sms"}
    assert channels["viber"]["flows"] == 180
    assert channels["sms"]["flows"] == 120
    assert sum(c["verified"] for c in channels.values()) == 100
    assert channels["viber"]["deliveryRate"] is not None
    assert [c["country"] for c in body["byCountry"]] == ["GR"]
    assert [d["day"] for d in body["byDay"]] == [
        (since + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(2)
    ]
    assert sum(d["flows"] for d in body["byDay"]) == 300
