"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) render in Chromium from the service alone: every
request the pages make is counted, and any that would leave loopback is refused and fails the
test (issue 17, item 2: they were blank without internet, loading from a CDN and Google Fonts)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Route,
    expect,
)

from tests.support.server import ServerProcess, serve_args

TIMEOUT_MS = 30_000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("api-docs")
    database_url = f"sqlite:///{workdir}/docs.db"
    proc = ServerProcess(args=serve_args(0, database_url), workdir=workdir)
    proc.args = serve_args(proc.port, database_url)
    proc.start()
    yield proc
    proc.stop()


class Watched:
    """A page whose every request is seen: loopback ones go through, others are refused."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.local: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []  # loads the page's Content-Security-Policy refused
        self.context.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if "violates the following Content Security Policy" in message.text:
            self.blocked.append(message.text)
        else:
            self.errors.append(message.text)

    def _route(self, route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOOPBACK_HOSTS:
            self.local.append(url)
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    tab = Watched(browser)
    yield tab
    tab.close()


def test_swagger_ui_renders_from_the_service_alone(server: ServerProcess, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("failover-otp")
    send = page.locator(".opblock-summary-path", has_text="/otp/send-failover").first
    expect(send).to_be_visible()
    # Open the send operation: its request example is the documented one.
    send.click()
    expect(page.locator(".opblock-body").first).to_contain_text("ViberOtp")
    assert any(u.endswith("/docs/static/swagger-ui/swagger-ui-bundle.js") for u in watched.local)
    assert any(u.endswith("/openapi.json") for u in watched.local)
    assert watched.outside == []
    assert watched.errors == []
    assert watched.blocked == []


def test_redoc_renders_from_the_service_alone(server: ServerProcess, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "/redoc")
    expect(page.locator(".api-info h1")).to_contain_text("failover-otp")
    expect(
        page.locator("h2", has_text="Send an OTP through an ordered flow of channels")
    ).to_be_visible()
    assert any(u.endswith("/docs/static/redoc/redoc.standalone.js") for u in watched.local)
    assert watched.outside == []
    assert watched.errors == []
    # ReDoc's sidebar logo comes from its CDN: the policy stops it in the browser (the logo
    # hides itself), nothing else is refused.
    assert all("Loading the image 'https://" in b for b in watched.blocked), watched.blocked
