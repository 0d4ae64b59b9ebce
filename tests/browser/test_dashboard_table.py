"""The dashboard's table and panels in Chromium over 5,000 stored flows (issue 17, items 1, 6, 9,
10): the 8-character id finds its flow, a date range, jump-to-date and keyset pages, the CSV
export of the filtered rows, the currency on costs, refused sends and conversion, a live indicator
that says "offline" when the server is gone and backs off when answers are slow, and a phone-width
(390 px) layout without sideways scrolling."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.test_dashboard import TIMEOUT_MS, _sign_in
from tests.support.payloads import viber_sms_flow
from tests.support.seeding import seed_flows
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args

FLOWS = 5_000
NOW = datetime.now(UTC).replace(microsecond=0)
SEEDED_FROM = NOW - timedelta(days=10)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}


def _start(tmp_path_factory: pytest.TempPathFactory, name: str, **env: str) -> ServerProcess:
    workdir = tmp_path_factory.mktemp(name)
    database_url = f"sqlite:///{workdir}/dashboard.db"
    proc = ServerProcess(args=[], workdir=workdir, env={"FOTP_DATABASE_URL": database_url, **env})
    proc.args = serve_args(proc.port, database_url)
    return proc.start()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    # Greek and Cypriot numbers only: a UK number is refused (and counted).
    proc = _start(tmp_path_factory, "table", FOTP_ALLOWED_COUNTRIES="GR,CY")
    try:
        database_url = proc.env["FOTP_DATABASE_URL"]
        app_id, secret = create_application(database_url, "table")
        asyncio.run(seed_flows(database_url, app_id, FLOWS, since=SEEDED_FROM, until=NOW))
        yield proc, app_id, secret
    finally:
        proc.stop()


def _open(browser: Browser, viewport: dict[str, int], errors: list[str]) -> Page:
    context = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return page


def _signed_in(
    browser: Browser,
    seeded: tuple[ServerProcess, str, str],
    viewport: dict[str, int],
    errors: list[str],
) -> Page:
    page = _open(browser, viewport, errors)
    _sign_in(page, *seeded)
    return page


def _send(
    seeded: tuple[ServerProcess, str, str], body: dict[str, Any], status: int, *, times: int = 1
) -> list[httpx.Response]:
    """POST /otp/send-failover ``times`` times, each answered ``status``."""
    server, app_id, secret = seeded
    api = ApiSession(server.url, app_id, secret)
    try:
        answers = [api.post("/otp/send-failover", body) for _ in range(times)]
    finally:
        api.close()
    for answer in answers:
        assert answer.status_code == status, answer.text
    return answers


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    wide = page.evaluate(
        """() => {
            const edge = document.documentElement.clientWidth + 0.5;
            return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > edge)
                .slice(0, 8)
                .map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right);
        }"""
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways at {widths[1]} px: {widths} {wide}"


def _row_ids(page: Page) -> list[str]:
    return [
        str(x)
        for x in page.locator("tr[data-flow-id]").evaluate_all(
            "rows => rows.map(r => r.getAttribute('data-flow-id'))"
        )
    ]


def _created(page: Page) -> list[str]:
    cells = page.locator("tr[data-flow-id] td:first-child")
    return [str(x) for x in cells.evaluate_all("cells => cells.map(c => c.textContent.trim())")]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-390"])
def test_find_by_the_shown_id_filter_by_dates_and_page_from_a_date(
    seeded: tuple[ServerProcess, str, str], browser: Browser, viewport: dict[str, int]
) -> None:
    server = seeded[0]
    # A flow sent now, with a random id (the seeded clones' ids share their first part).
    [sent] = _send(seeded, viber_sms_flow(0, label="find-me"), 200)
    errors: list[str] = []
    page = _signed_in(browser, seeded, viewport, errors)
    expect(page.locator("#flows-count")).to_contain_text(re.compile(r"500\d flow\(s\) match"))
    _no_sideways_scroll(page)
    expect(page.locator("#flows-table thead")).to_contain_text("EUR")
    expect(page.locator("tr[data-flow-id]").first).to_contain_text("EUR")

    # The 8 characters the table shows find the flow.
    first = page.locator("tr[data-flow-id]").first
    wanted = str(first.get_attribute("data-flow-id"))
    assert wanted == sent.json()["flowId"]
    shown = first.locator("td:nth-child(2) a").inner_text().rstrip("…")
    assert len(shown) == 8
    page.fill("#filter-flow-id", shown)
    page.click("#filters button[type=submit]")
    expect(page.locator("#flows-count")).to_contain_text("1 flow(s) match")
    assert _row_ids(page) == [wanted]

    # A date range: one day's flows, and only those.
    day = (NOW - timedelta(days=3)).strftime("%Y-%m-%d")
    page.goto(f"{server.url}/dashboard?from={day}&to={day}")
    expect(page.locator("#filter-from")).to_have_value(day)
    count = int(re.findall(r"\d+", page.locator("#flows-count").inner_text())[0])
    assert 400 < count < 600  # 5,000 flows over 10 days
    assert all(c.startswith(day) for c in _created(page))

    # Jump to a date: that day's newest flows first, then page by keyset both ways.
    page.goto(f"{server.url}/dashboard")
    page.fill("#jump-at", day)
    page.click("#jump button[type=submit]")
    expect(page).to_have_url(re.compile(rf"at={day}"))
    on_the_day = _created(page)
    assert on_the_day[0].startswith(day)
    assert on_the_day == sorted(on_the_day, reverse=True)
    page.click("#page-older")
    older = _created(page)
    assert older[0] < on_the_day[-1]
    page.click("#page-newer")
    assert _created(page) == on_the_day
    page.click("#page-newer")
    assert _created(page)[-1] > on_the_day[0]
    _no_sideways_scroll(page)

    # A flow's page fits the phone too.
    page.click("tr[data-flow-id] a >> nth=0")
    expect(page.locator("#timeline")).to_contain_text("Flow created")
    expect(page.locator(".steps-table")).to_contain_text("EUR")
    _no_sideways_scroll(page)
    assert errors == [], errors


def test_export_is_the_filtered_rows_as_csv(
    seeded: tuple[ServerProcess, str, str], browser: Browser
) -> None:
    errors: list[str] = []
    page = _signed_in(browser, seeded, DESKTOP, errors)
    page.fill("#filter-tag", "kyc")
    page.select_option("#filter-status", "step:EXPIRED")
    page.click("#filters button[type=submit]")
    shown = int(re.findall(r"\d+", page.locator("#flows-count").inner_text())[0])
    assert shown > 5
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    assert path is not None
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == shown
    assert {r["label"] for r in rows} == {"kyc"}
    assert all("viber EXPIRED" in r["steps"] for r in rows)
    assert {r["currency"] for r in rows} == {"EUR"}
    assert [r["createdAt"] for r in rows] == sorted((r["createdAt"] for r in rows), reverse=True)
    assert errors == [], errors


def test_refused_sends_and_conversion_are_on_the_dashboard(
    seeded: tuple[ServerProcess, str, str], browser: Browser
) -> None:
    _send(seeded, viber_sms_flow(1, prefix="44791112345"), 422, times=2)
    errors: list[str] = []
    page = _signed_in(browser, seeded, DESKTOP, errors)
    refused = page.locator('#refusals tr[data-reason="country_not_allowed"]')
    # The panels' numbers are reused for up to 5 s (DashboardService.stats): reload until the
    # refusals are in, for at most a minute.
    for _ in range(60):
        if refused.count():
            break
        page.wait_for_timeout(1_000)
        page.reload()
    expect(refused).to_contain_text("2")
    expect(page.locator('[data-tile="refused"]')).to_have_text("2")
    expect(page.locator("#conversion")).to_contain_text("Conversion")
    expect(page.locator('#conversion tr[data-channel="viber"]')).to_be_visible()
    expect(page.locator('[data-tile="conversion"]')).to_have_text("0.0%")
    assert errors == [], errors


def test_live_indicator_backs_off_when_slow_and_says_offline_when_the_server_is_gone(
    tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> None:
    server = _start(tmp_path_factory, "offline")
    try:
        app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "offline")
        errors: list[str] = []
        page = _open(browser, DESKTOP, errors)
        _sign_in(page, server, app_id, secret)
        table = page.locator("#flows")
        expect(table).to_have_attribute("data-live", "on")
        expect(table).to_have_attribute("data-refreshed-at", re.compile(".+"))

        # Slow answers (held 2.5 s here): the next refresh waits at least four times as long.
        def slow(route: Route) -> None:
            page.wait_for_timeout(2_500)
            route.continue_()

        page.route(re.compile(r"/dashboard/flows\?"), slow)
        expect(table).to_have_attribute("data-live", "slow", timeout=60_000)
        took, wait = table.evaluate(
            "el => ['data-last-took-ms', 'data-next-refresh-ms'].map(a => +el.getAttribute(a))"
        )
        assert took >= 2_500
        assert wait >= 4 * took
        page.unroute(re.compile(r"/dashboard/flows\?"))

        server.stop()
        indicator = table.locator("[data-live-indicator]")
        expect(table).to_have_attribute("data-live", "offline", timeout=90_000)
        expect(indicator).to_contain_text("offline")
        expect(indicator).not_to_contain_text("live ·")
        errors.clear()  # the browser logs the failed fetches: that is the point
    finally:
        server.stop()
