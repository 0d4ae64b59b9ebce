"""The sandbox inbox exists with the sandbox only (issue 17, item 12)."""

from __future__ import annotations

import httpx
import pytest

from failover_otp.services.sandbox_inbox import code_in_text
from failover_otp.settings import ProviderName, Settings
from failover_otp.web.app import create_app


def _paths(provider: ProviderName) -> set[str]:
    app = create_app(Settings(provider=provider, database_url="sqlite:///unused.db"))
    return set(app.openapi()["paths"])


def test_the_inbox_is_mounted_for_the_sandbox_only() -> None:
    assert "/sandbox/inbox/{flow_id}" in _paths(ProviderName.SANDBOX)
    assert not any(p.startswith("/sandbox") for p in _paths(ProviderName.ROUTEE))


async def test_with_routee_the_dashboard_has_no_inbox_page() -> None:
    """(With the sandbox the page is there: tests/browser/test_dashboard_inbox.py.)"""
    sandbox = create_app(Settings(provider=ProviderName.SANDBOX, database_url="sqlite:///x.db"))
    assert sandbox.state.sandbox_inbox is True  # the page and its links
    app = create_app(Settings(provider=ProviderName.ROUTEE, database_url="sqlite:///unused.db"))
    assert app.state.sandbox_inbox is False
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fotp.test") as http:
        answer = await http.get("/dashboard/inbox")
    assert answer.status_code == 404


async def test_with_routee_the_inbox_answers_404() -> None:
    app = create_app(Settings(provider=ProviderName.ROUTEE, database_url="sqlite:///unused.db"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fotp.test") as http:
        answer = await http.get("/sandbox/inbox/a-flow", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("template", "text", "code"),
    [
        ("Your code is {pin}", "Your code is 482913", "482913"),
        ("{pin} is your code for Bank", "A1B2C3 is your code for Bank", "A1B2C3"),
        ("Code: {pin}. Valid 5 min", "Code: 0042. Valid 5 min", "0042"),
        ("Your code is {pin}", "Something else entirely", None),
        ("No placeholder here", "No placeholder here", None),
    ],
)
def test_the_code_is_what_the_template_leaves(template: str, text: str, code: str | None) -> None:
    assert code_in_text(template, text) == code
