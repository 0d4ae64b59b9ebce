"""``"ttl": "auto"`` through the HTTP API and the delivery history behind it, on SQLite and
PostgreSQL: the history counts each sent step's end, the application's bounds apply, and a step
may omit its ttl only when the application made auto its default."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.support.asgi_app import InProcessApi, in_process_api
from tests.support.payloads import viber_sms_flow
from tests.support.waiting import wait_until_async

from failover_otp.client.models import FlowStory
from failover_otp.domain.adaptive_ttl import AutoTtl
from failover_otp.store.ttl_policy_store import TtlPolicy, TtlPolicyStore


async def ended(api: InProcessApi, flow_id: str) -> dict[str, Any]:
    async def story_if_ended() -> dict[str, Any] | None:
        story: dict[str, Any] = (await api.client.get(f"/otp/failover/{flow_id}")).json()
        # Ended, and every step has its verdict: an SMS `sent` already makes the flow Succeeded
        # before its `delivered` arrives.
        return story if FlowStory.from_json(story).settled else None

    story: dict[str, Any] | None = await wait_until_async(
        story_if_ended, what=f"flow {flow_id} to end"
    )
    assert story is not None
    return story


def with_ttl(digit: int, ttl: Any, prefix: str = "30691234567") -> dict[str, Any]:
    body = viber_sms_flow(digit, prefix=prefix)
    if ttl is None:
        del body["flow"][0]["ttl"]
    else:
        body["flow"][0]["ttl"] = ttl
    return body


async def test_each_sent_step_end_is_counted_in_the_history(database_url: str) -> None:
    async with in_process_api(database_url, time_scale=60, delivery_model_cache_seconds=0) as api:
        empty = (await api.client.get("/stats/delivery-times")).json()
        assert empty["models"] == []
        sent = (await api.client.post("/otp/send-failover", json=viber_sms_flow(2))).json()
        story = await ended(api, sent["flowId"])
        assert [s["status"] for s in story["steps"]] == ["UNDELIVERED", "delivered"]
        assert "auto_ttl" not in story["steps"][0]  # a fixed ttl: the story is as before

        # The history is written behind the flow (services/delivery_history.py).
        async def both_counted() -> dict[tuple[str, Any, Any], Any] | None:
            model = (await api.client.get("/stats/delivery-times")).json()
            found = {(m["channel"], m["country"], m["operator"]): m for m in model["models"]}
            return found if ("sms", None, None) in found else None

        by_key = await wait_until_async(both_counted, what="the SMS step's end in the history")
        assert by_key is not None
        viber = by_key[("viber", None, None)]
        assert viber["samples"] == 1
        assert viber["trusted"] is False
        assert by_key[("viber", "GR", None)]["samples"] == 1
        sms = by_key[("sms", None, None)]
        assert sms["samples"] == 1
        assert sms["deliveredShare"] is None  # one message: no curve is trusted yet
        only_sms = (await api.client.get("/stats/delivery-times?channel=sms")).json()
        assert {m["channel"] for m in only_sms["models"]} == {"sms"}


async def test_auto_uses_the_application_bounds(database_url: str) -> None:
    async with in_process_api(database_url, time_scale=60) as api:
        app_id = api.credentials.application_id
        policy = TtlPolicy(AutoTtl(3, 30, 0.9), is_default=False)
        await TtlPolicyStore(api.services.db).set(app_id, policy, api.services.clock.now())
        answer = await api.client.post("/otp/send-failover", json=with_ttl(1, "auto"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["flow"][0]["ttl"] == "auto"
        story = await ended(api, answer.json()["flowId"])
        assert story["steps"][0]["auto_ttl"]["seconds"] == 30
        assert "too little history" in story["steps"][0]["auto_ttl"]["reason"]


async def test_a_missing_ttl_needs_auto_as_the_application_default(database_url: str) -> None:
    async with in_process_api(database_url, time_scale=60) as api:
        refused = await api.client.post("/otp/send-failover", json=with_ttl(4, None))
        assert refused.status_code == 422
        assert refused.json()["message"] == "flow.0.ttl: Field required"

        app_id = api.credentials.application_id
        policy = TtlPolicy(AutoTtl(5, 60), is_default=True)
        await TtlPolicyStore(api.services.db).set(app_id, policy, api.services.clock.now())
        answer = await api.client.post(
            "/otp/send-failover", json=with_ttl(4, None, prefix="30691234568")
        )
        assert answer.status_code == 200, answer.text
        assert "ttl" not in answer.json()["flow"][0]
        story = await ended(api, answer.json()["flowId"])
        assert story["steps"][0]["auto_ttl"]["seconds"] == 60


def test_apps_auto_ttl_sets_and_clears_an_application_policy(database_url: str) -> None:
    from typer.testing import CliRunner

    from failover_otp.cli.main import app as cli_app
    from failover_otp.store.database import Database

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli_app, list(args), env={"FOTP_DATABASE_URL": database_url})

    assert run("migrate").exit_code == 0
    app_id = json.loads(run("apps", "create", "shop", "--json").output)["applicationId"]
    bad = run("apps", "auto-ttl", app_id, "--min", "60", "--max", "30")
    assert bad.exit_code == 2
    assert run("apps", "auto-ttl", "no-such-app").exit_code == 1
    set_ = run("apps", "auto-ttl", app_id, "--min", "4", "--max", "45", "--default")
    assert set_.exit_code == 0, set_.output
    assert json.loads(set_.output)["autoTtl"] == {
        "minTtl": 4.0, "maxTtl": 45.0, "threshold": 0.95, "default": True
    }  # fmt: skip

    async def stored() -> TtlPolicy | None:
        db = Database(database_url)
        try:
            return await TtlPolicyStore(db).get(app_id)
        finally:
            await db.dispose()

    assert asyncio.run(stored()) == TtlPolicy(AutoTtl(4, 45, 0.95), is_default=True)
    assert run("apps", "auto-ttl", app_id, "--clear").exit_code == 0
    assert asyncio.run(stored()) is None
    trail = json.loads(run("audit", "list", "--json").output)
    assert [e["action"] for e in trail][:2] == [
        "application.auto_ttl_set",
        "application.auto_ttl_set",
    ]
