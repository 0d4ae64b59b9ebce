"""The dashboard's Sandbox inbox in a real browser (issue 17, item 12): a code the service
generated is read off the page, from the newest flows and from the flow's own page, and
``POST /otp/verify`` approves it; at phone width nothing scrolls sideways. With the real
provider there is no inbox page: ``tests/unit/web/test_sandbox_inbox.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from failover_otp.client import FailoverOtpClient
from tests.browser.conftest import sqlite_server
from tests.browser.test_dashboard import _page, _sign_in
from tests.e2e.flows import wait_until_ended
from tests.support.payloads import number
from tests.support.server import ApiSession, ServerProcess, create_application


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from sqlite_server(tmp_path_factory, "browser-inbox")


def test_a_generated_code_read_in_the_sandbox_inbox_verifies(
    server: ServerProcess, browser: Browser
) -> None:
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "inbox")
    with FailoverOtpClient(server.url, app_id, secret) as api:
        # No pin: the service generates the code. …2: Viber undelivered, the SMS delivered.
        flow_id = api.send_otp(number(2), label="inbox").flowId
        assert flow_id is not None
        session = ApiSession(server.url, app_id, secret)
        wait_until_ended(session, flow_id, timeout=60)
        session.close()

        errors: list[str] = []
        page = _page(browser, errors)
        _sign_in(page, server, app_id, secret)
        page.click("#inbox-link")
        card = page.locator(f'.inbox-flow[data-flow-id="{flow_id}"]')
        expect(card).to_be_visible()
        sms = card.locator('tr[data-channel="sms"]')
        expect(sms).to_have_class("received")
        code = sms.locator("td.code").inner_text().strip()
        assert code.isdigit(), code
        expect(sms).to_contain_text(f"Your code is {code}")
        # The Viber message carried the same code but never reached the phone.
        expect(card.locator('tr[data-channel="viber"]')).to_have_class("not-received")

        # From the flow's page, the same flow alone.
        page.goto(f"{server.url}/dashboard/flows/{flow_id}")
        page.click("#flow-inbox-link")
        expect(page.locator(".inbox-flow")).to_have_count(1)
        expect(page.locator("#inbox-flow")).to_have_value(flow_id)
        expect(page.locator('.inbox-flow tr[data-channel="sms"] td.code')).to_have_text(code)

        # An unknown flow: said so, nothing shown.
        page.fill("#inbox-flow", "0123abcd")
        page.click(".inbox-find button[type=submit]")
        expect(page.locator("#inbox-empty")).to_contain_text("No flow or message")

        # At phone width nothing scrolls sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{server.url}/dashboard/inbox?flow={flow_id}")
        expect(page.locator(".inbox-flow")).to_have_count(1)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        assert errors == [], errors

        verdict = api.verify_code(flow_id, code)
    assert verdict.status == "approved"
