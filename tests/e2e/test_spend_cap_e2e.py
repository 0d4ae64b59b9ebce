"""The daily spend cap over HTTP against the real server (SQLite and PostgreSQL): forty
concurrent sends against a cap of 0.2, every admitted flow failing over to its SMS. What the
sandbox charged never passes the cap (it used to: 24 of 24 admitted on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.flows import wait_until_ended
from tests.support import postgres as pg
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args

CAP = 0.2
SENDERS = 40


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def capped_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/capped.db"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    with pg.fresh_database(server.base_url) as url:
        yield url


@pytest.fixture
def capped(capped_database_url: str, tmp_path: Path) -> Iterator[ApiSession]:
    """A server whose applications may spend 0.2 a day (send limits off: only the cap acts)."""
    proc = ServerProcess(args=[], workdir=tmp_path)
    proc.args = serve_args(proc.port, capped_database_url)
    proc.env = {"FOTP_DATABASE_URL": capped_database_url, "FOTP_SPEND_CAP_PER_DAY": str(CAP)}
    proc.start()
    try:
        app_id, secret = create_application(capped_database_url, "capped")
        session = ApiSession(proc.url, app_id, secret)
        try:
            yield session
        finally:
            session.close()
    finally:
        proc.stop()


async def _send_all(api: ApiSession, count: int) -> list[httpx.Response]:
    """``count`` sends at once, each on a connection of its own. Digit 2: the sandbox fails the
    Viber step, so every admitted flow also sends (and pays for) its SMS."""
    token = str(api.http.headers["Authorization"])
    async with httpx.AsyncClient(
        base_url=str(api.http.base_url),
        timeout=60,
        trust_env=False,
        limits=httpx.Limits(max_connections=count),
        headers={"Authorization": token},
    ) as http:
        bodies = [viber_sms_flow(2, prefix=f"306976{n:04d}0") for n in range(count)]
        return list(
            await asyncio.gather(*(http.post("/otp/send-failover", json=b) for b in bodies))
        )


def test_concurrent_sends_never_charge_past_the_cap(capped: ApiSession) -> None:
    answers = asyncio.run(_send_all(capped, SENDERS))
    codes = Counter(a.status_code for a in answers)
    # A Viber step and an SMS: 0.0468 at worst. Four fit under 0.2, a fifth could pass it.
    assert codes == {200: 4, 429: SENDERS - 4}, codes
    refusals = {a.json()["code"] for a in answers if a.status_code == 429}
    assert refusals == {"spend_cap_reached"}
    flow_ids = [a.json()["flowId"] for a in answers if a.status_code == 200]
    stories = [wait_until_ended(capped, flow_id) for flow_id in flow_ids]
    assert [[s["channel"] for s in story["steps"]] for story in stories] == [["viber", "sms"]] * 4
    charged = sum(story["total_cost"] for story in stories)
    assert charged == pytest.approx(4 * 0.0468)
    assert charged <= CAP
    # The flows ended and spent their worst case: nothing more fits today.
    again = capped.post("/otp/send-failover", viber_sms_flow(2, prefix="30697699990"))
    assert again.status_code == 429
    assert again.json()["code"] == "spend_cap_reached"
