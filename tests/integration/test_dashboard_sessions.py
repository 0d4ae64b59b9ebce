"""Dashboard sign-in sessions: signed tokens bound to the application's current secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from failover_otp.services.auth import AuthService, Credentials
from failover_otp.services.dashboard import DashboardService
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.stats_store import StatsStore

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class FakeClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class Setup:
    dashboard: DashboardService
    auth: AuthService
    clock: FakeClock
    creds: Credentials


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    await upgrade(database_url)
    db = Database(database_url)
    clock = FakeClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    apps = AppStore(db)
    auth = AuthService(apps, clock)
    creds = await auth.create_application("ops")
    dashboard = DashboardService(
        StatsStore(db),
        apps,
        None,  # type: ignore[arg-type]  # flows are not needed for sessions
        clock,
        session_seconds=3600,
    )
    yield Setup(dashboard, auth, clock, creds)
    await db.dispose()


async def test_sign_in_with_the_right_secret_only(setup: Setup) -> None:
    app_id, secret = setup.creds.application_id, setup.creds.application_secret
    assert await setup.dashboard.sign_in(app_id, "wrong") is None
    assert await setup.dashboard.sign_in("nope", secret) is None
    assert await setup.dashboard.sign_in("", "") is None
    token = await setup.dashboard.sign_in(app_id, secret)
    assert token is not None
    assert secret not in token
    assert await setup.dashboard.session_application(token) == app_id


async def test_tampered_or_foreign_tokens_are_refused(setup: Setup) -> None:
    token = await setup.dashboard.sign_in(
        setup.creds.application_id, setup.creds.application_secret
    )
    assert token is not None
    version, app_id, expires, fingerprint, mac = token.split(".")
    later = str(int(expires) + 10**6)
    for forged in (
        f"{version}.{app_id}.{later}.{fingerprint}.{mac}",
        f"{version}.other-app.{expires}.{fingerprint}.{mac}",
        f"{version}.{app_id}.{expires}.{fingerprint}.{mac[:-2]}AA",
        f"v0.{app_id}.{expires}.{fingerprint}.{mac}",
        "garbage",
        "",
        None,
    ):
        assert await setup.dashboard.session_application(forged) is None


async def test_sessions_expire(setup: Setup) -> None:
    token = await setup.dashboard.sign_in(
        setup.creds.application_id, setup.creds.application_secret
    )
    setup.clock.moment += timedelta(seconds=3599)
    assert await setup.dashboard.session_application(token) is not None
    setup.clock.moment += timedelta(seconds=2)
    assert await setup.dashboard.session_application(token) is None


async def test_rotating_the_secret_ends_every_session(setup: Setup) -> None:
    token = await setup.dashboard.sign_in(
        setup.creds.application_id, setup.creds.application_secret
    )
    assert await setup.auth.rotate_secret(setup.creds.application_id) is not None
    assert await setup.dashboard.session_application(token) is None
