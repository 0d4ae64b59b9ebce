"""The what-if replay reads what the engine recorded, on SQLite and PostgreSQL, and the CLI
reports it (sandbox digit table, time scale 60)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.integration.test_auto_ttl_api import ended
from tests.support.asgi_app import in_process_api
from tests.support.payloads import viber_sms_flow
from typer.testing import CliRunner

from failover_otp.cli.main import app as cli_app
from failover_otp.domain.replay import Policy, replay
from failover_otp.store.replay_store import ReplayStore


async def test_recorded_flows_replay_as_they_ran(database_url: str) -> None:
    async with in_process_api(database_url, time_scale=60) as api:
        # digit 4: Viber delivered; 2: Viber undelivered, SMS delivered; 1: Viber expired at
        # its 2 s ttl, SMS delivered.
        ids = []
        for digit, ttl in ((4, 120), (2, 120), (1, 2)):
            body = viber_sms_flow(digit, viber_ttl=ttl)
            ids.append((await api.client.post("/otp/send-failover", json=body)).json()["flowId"])
        for flow_id in ids:
            await ended(api, flow_id)
        now = api.services.clock.now()
        flows, skipped = await ReplayStore(api.services.db).recorded(
            api.credentials.application_id, now - timedelta(hours=1), now, time_scale=60
        )
        assert skipped == 0
        by_id = {f.flow_id: f for f in flows}
        delivered, undelivered, expired = (by_id[i] for i in ids)
        assert delivered.viber_delivered is not None
        assert delivered.sms_started is None
        assert undelivered.viber_failed is not None
        assert undelivered.sms_delivered is not None
        assert expired.viber_gave_up is not None
        assert 1.5 <= expired.viber_gave_up <= 60  # 2 s, plus the worker's (scaled) delay
        assert expired.country == "GR"

        (as_recorded,) = replay(flows, [Policy("fixed 60 s", ttl=60)])
        assert as_recorded.codes == 3
        assert as_recorded.both_channels_share == round(2 / 3, 4)


def test_the_replay_command_prints_every_policy(database_url: str) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(cli_app, list(args), env={"FOTP_DATABASE_URL": database_url})

    assert run("migrate").exit_code == 0
    created = json.loads(run("apps", "create", "shop", "--json").output)
    report = run("replay", "--since", "7d", "--json")
    assert report.exit_code == 0, report.output
    found = json.loads(report.output)
    assert found["applicationId"] == created["applicationId"]
    assert found["flows"] == 0
    assert [p["policy"] for p in found["policies"]][:2] == ["fixed 10 s", "fixed 20 s"]
    assert len(found["policies"]) == 9
    printed = run("replay", "--since", "1d")
    assert printed.exit_code == 0
    assert "auto 95%" in printed.output
    run("apps", "create", "other")
    assert run("replay").exit_code == 1  # two applications: --app is needed
