"""The operator dashboard in a real browser: Debian's Chromium driven by Playwright against a
real server process. Sign in, watch a flow fail over from Viber to SMS in the live table, open
its timeline, see the charts drawn, sign out. Screenshots land in ``artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from failover_otp.client import FailoverOtpClient
from tests.support.payloads import number, viber_sms_flow
from tests.support.server import ServerProcess, cli, create_application, serve_args

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{workdir}/dashboard.db"
    proc = ServerProcess(args=[], workdir=workdir, env={"FOTP_DATABASE_URL": database_url})
    proc.args = serve_args(proc.port, database_url)
    proc.start()
    yield proc
    proc.stop()


def _page(browser: Browser, console: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on(
        "console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    return page


def _sign_in(page: Page, server: ServerProcess, app_id: str, secret: str) -> None:
    page.goto(server.url + "/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))
    page.fill("#application_id", app_id)
    page.fill("#application_secret", secret)
    page.click("#application-login button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def _painted_pixels(page: Page, selector: str) -> Any:
    return page.eval_on_selector(
        selector,
        """canvas => {
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
            return painted;
        }""",
    )


def test_sign_in_watch_a_failover_open_its_timeline_and_see_the_charts(
    server: ServerProcess, browser: Browser
) -> None:
    database_url = server.env["FOTP_DATABASE_URL"]
    app_id, secret = create_application(database_url, "ops-team")
    errors: list[str] = []
    page = _page(browser, errors)

    # A wrong secret is refused, with a message.
    page.goto(server.url + "/dashboard/login")
    page.fill("#application_id", app_id)
    page.fill("#application_secret", "wrong")
    page.click("#application-login button[type=submit]")
    expect(page.locator(".error")).to_contain_text("wrong secret")
    errors.clear()  # the refused sign-in is a 401 page, which the browser logs

    _sign_in(page, server, app_id, secret)
    cookie = next(c for c in page.context.cookies() if c["name"] == "fotp_dashboard")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert secret not in cookie["value"]
    expect(page.locator("header .app")).to_contain_text("ops-team")

    # Viber gets 8 minutes (8 s at time scale 60), then expires: the SMS goes out.
    with FailoverOtpClient(server.url, app_id, secret) as api:
        sent = api.send_failover(viber_sms_flow(1, viber_ttl=480, label="browser"))
        for digit in (0, 2, 3):
            api.send_failover(viber_sms_flow(digit, label="browser"))
    flow_id = sent["flowId"]

    # The live table shows the flow without a reload: first waiting on Viber, then failed over.
    row = page.locator(f'tr[data-flow-id="{flow_id}"]')
    expect(row).to_have_attribute("data-status", "InProgress")
    expect(row.locator(".chip.viber")).to_contain_text("QUEUED")
    expect(row).to_have_attribute("data-status", "Succeeded", timeout=TIMEOUT_MS)
    expect(row.locator(".chip.viber")).to_contain_text("EXPIRED")
    expect(row.locator(".chip.sms")).to_contain_text("Delivered")
    expect(row.locator(".tag.failover")).to_be_visible()
    expect(row).to_contain_text("0.0468")

    # The filters narrow the table.
    page.select_option("#filter-status", "flow:Failed")
    page.click("#filters button[type=submit]")
    expect(page.locator("tr[data-flow-id]")).to_have_count(1)
    expect(page.locator("tr[data-flow-id]")).to_have_attribute("data-status", "Failed")
    page.select_option("#filter-status", "")
    page.fill("#filter-phone", number(1)[-4:])
    page.click("#filters button[type=submit]")
    expect(page.locator("tr[data-flow-id]")).to_have_count(1)
    expect(page.locator(f'tr[data-flow-id="{flow_id}"]')).to_be_visible()

    # The flow's own page: the step timeline with sends, the expiry, the failover and costs.
    page.click(f'tr[data-flow-id="{flow_id}"] a')
    expect(page).to_have_url(re.compile(f"/dashboard/flows/{flow_id}$"))
    expect(page.locator("#flow-status")).to_have_text("Succeeded")
    timeline = page.locator("#timeline")
    for text in (
        "Flow created",
        "Viber sent",
        "Viber EXPIRED",
        "Failover to SMS",
        "SMS sent",
        "SMS delivered",
        "Flow Succeeded",
    ):
        expect(timeline).to_contain_text(text)
    expect(timeline.locator("li[data-kind=failover]")).to_contain_text("+8 min")
    expect(page.locator(".steps-table")).to_contain_text("0.0375")
    expect(page.locator(".tiles")).to_contain_text("0.0468")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-flow.png"), full_page=True)

    # The charts, drawn from the flows above.
    page.click("text=All flows")
    charts = page.locator("canvas[data-chart]")
    expect(charts).to_have_count(4)
    for name in ("delivery", "failover", "latency", "cost"):
        canvas = f'canvas[data-chart="{name}"]'
        expect(page.locator(canvas)).to_have_attribute("data-rendered", "true")
        assert _painted_pixels(page, canvas) > 2_000, f"the {name} chart is blank"
    expect(page.locator("#tiles")).to_contain_text("Saved versus SMS only")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == [], errors

    # Signing out ends the session.
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    page.goto(server.url + "/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))


def test_an_application_sees_only_its_own_flows(server: ServerProcess, browser: Browser) -> None:
    database_url = server.env["FOTP_DATABASE_URL"]
    owner = create_application(database_url, "owner")
    stranger = create_application(database_url, "stranger")
    with FailoverOtpClient(server.url, *owner) as api:
        flow_id = api.send_failover(viber_sms_flow(0, label="private"))["flowId"]
    errors: list[str] = []
    page = _page(browser, errors)
    _sign_in(page, server, *stranger)
    expect(page.locator("#flows")).to_contain_text("0 flow(s)")
    response = page.goto(f"{server.url}/dashboard/flows/{flow_id}")
    assert response is not None
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("No such flow")
    errors.clear()  # the browser logs the 404 it was sent to on purpose
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    # The stats an application's charts draw are its own.
    stats = page.request.get(f"{server.url}/dashboard/stats.json").json()
    assert stats["totals"]["flows"] == 0
    # Without the cookie, fragments and stats answer 401, pages send to the sign-in form.
    anonymous = browser.new_context()
    assert anonymous.request.get(f"{server.url}/dashboard/stats.json").status == 401
    assert anonymous.request.get(f"{server.url}/dashboard/flows").status == 401
    anonymous.close()
    assert errors == [], errors


def test_an_operator_signs_in_as_themselves_and_signing_out_ends_a_copied_cookie(
    server: ServerProcess, browser: Browser
) -> None:
    """Issue 17.11 and 15.8: who is signed in is shown, a viewer sees no admin action, and
    after signing out a copy of the session cookie opens nothing."""
    database_url = server.env["FOTP_DATABASE_URL"]
    app_id, _ = create_application(database_url, "support-desk")
    password = "correct horse battery staple"
    cli(
        "operators", "add", "dana", "--role", "viewer", "--app", app_id, "--password-stdin",
        "--database-url", database_url, stdin=password + "\n",
    )  # fmt: skip
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(server.url + "/dashboard")
    page.fill("#username", "dana")
    page.fill("#password", password)
    page.click("#operator-login button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("#signed-in-as")).to_have_text("dana · viewer")
    expect(page.locator("header .app")).to_contain_text("support-desk")
    expect(page.locator("#admin-link")).to_have_count(0)

    # Someone copies the cookie into another browser, then dana signs out.
    copied = browser.new_context()
    cookie = next(c for c in page.context.cookies() if c["name"] == "fotp_dashboard")
    copied.add_cookies(
        [{"name": cookie["name"], "value": cookie["value"], "url": server.url + "/dashboard"}]
    )
    thief = copied.new_page()
    thief.goto(server.url + "/dashboard")
    expect(thief).to_have_url(re.compile(r"/dashboard$"))
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    thief.goto(server.url + "/dashboard")
    expect(thief).to_have_url(re.compile(r"/dashboard/login"))
    copied.close()
    assert errors == [], errors
