"""``/dashboard/timing``: the delivery-time curves and the replay table's numbers, for a
signed-in session only."""

from __future__ import annotations

from tests.support.asgi_app import in_process_api
from tests.support.dashboard_app import page, sign_in

from failover_otp.domain.delivery_model import ModelKey, Observation
from failover_otp.domain.statuses import Channel
from failover_otp.store.delivery_store import DeliveryStore


async def test_the_timing_page_and_its_numbers(database_url: str) -> None:
    async with in_process_api(database_url, delivery_model_cache_seconds=0) as api:
        now = api.services.clock.now()
        key = ModelKey(Channel.VIBER, "GR", "Cosmote")
        await DeliveryStore(api.services.db).record(
            [Observation(key, 2, True, now)] * 3 + [Observation(key, 18, False, now)]
        )
        client = api.client
        del client.headers["Authorization"]
        assert (await client.get("/dashboard/timing.json")).status_code == 401
        assert (await client.get("/dashboard/timing")).status_code == 303
        cookie = await sign_in(
            client,
            application_id=api.credentials.application_id,
            application_secret=api.credentials.application_secret,
        )
        shown = await page(client, "/dashboard/timing", cookie)
        assert shown.status_code == 200
        assert 'data-chart="curve"' in shown.text
        assert "timing.js" in shown.text
        numbers = (await page(client, "/dashboard/timing.json", cookie)).json()
        operators = {(m["country"], m["operator"]): m for m in numbers["models"]}
        assert operators[("GR", "Cosmote")]["samples"] == 4
        assert numbers["replay"]["flows"] == 0
        assert [p["policy"] for p in numbers["replay"]["policies"]][-1] == "auto 99%"
