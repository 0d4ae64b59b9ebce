"""``GET /stats/conversion`` over a real database: verified flows per channel, country and day
(issue 17, item 9; the dashboard's timeline and conversion of code checks run on the in-memory
storage: tests/unit/services/test_dashboard_views.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from tests.support.seeding import seed_flows

from failover_otp.services.auth import AuthService
from failover_otp.services.clock import SystemClock
from failover_otp.settings import Settings
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.rollup_store import count_verified
from failover_otp.store.tables import flows
from failover_otp.web.app import create_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
