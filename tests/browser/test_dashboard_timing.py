"""The dashboard's Delivery times page in a real browser: the curve and the time-vs-cost chart
are drawn, the model and replay tables filled, without a script error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from failover_otp.client import FailoverOtpClient
from tests.browser.test_dashboard import _page, _sign_in
from tests.e2e.flows import wait_until_ended
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("browser-timing")
    database_url = f"sqlite:///{workdir}/dashboard.db"
    env = {"FOTP_DATABASE_URL": database_url, "FOTP_DELIVERY_MODEL_CACHE_SECONDS": "0"}
    proc = ServerProcess(args=[], workdir=workdir, env=env)
    proc.args = serve_args(proc.port, database_url)
    proc.start()
    yield proc
    proc.stop()


def test_delivery_times_page_draws_the_curve_and_the_replay(
    server: ServerProcess, browser: Browser
) -> None:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "timing")
    with FailoverOtpClient(server.url, app_id, secret) as api:
        flow_ids = [api.send_failover(viber_sms_flow(d))["flowId"] for d in (2, 4)]
    session = ApiSession(server.url, app_id, secret)
    for flow_id in flow_ids:
        wait_until_ended(session, flow_id, timeout=60)
    session.close()
    errors: list[str] = []
    page = _page(browser, errors)
    _sign_in(page, server, app_id, secret)
    page.click("#timing-link")
    expect(page.locator('canvas[data-chart="curve"]')).to_have_attribute("data-rendered", "true")
    expect(page.locator('canvas[data-chart="tradeoff"]')).to_have_attribute("data-rendered", "true")
    expect(page.locator("#timing-models tbody")).to_contain_text("viber")
    expect(page.locator("#replay tbody tr")).to_have_count(9)
    expect(page.locator("#replay-summary")).to_contain_text("2 Viber → SMS flows replayed")
    assert errors == [], errors
