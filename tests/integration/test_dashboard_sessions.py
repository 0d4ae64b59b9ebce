"""Dashboard sign-in sessions, kept server side (issue 15.8): signing out, disabling the
application and rotating its secret end a session at once, in every process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.support.dashboard_app import dashboard_process, page, sign_in

from failover_otp.services.auth import AuthService, Credentials
from failover_otp.services.dashboard_sessions import DashboardSessions
from failover_otp.services.operators import OperatorService
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.operator_store import OperatorStore
from failover_otp.store.session_store import SessionStore
from failover_otp.store.tables import dashboard_sessions

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class FakeClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class Setup:
    sessions: DashboardSessions
    auth: AuthService
    clock: FakeClock
    creds: Credentials
    db: Database
    url: str


def sessions_on(db: Database, clock: FakeClock) -> DashboardSessions:
    apps = AppStore(db)
    operators = OperatorService(OperatorStore(db), apps, clock)
    return DashboardSessions(SessionStore(db), apps, operators, clock, session_seconds=3600)


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    await upgrade(database_url)
    db = Database(database_url)
    clock = FakeClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    auth = AuthService(AppStore(db), clock)
    creds = await auth.create_application("ops")
    yield Setup(sessions_on(db, clock), auth, clock, creds, db, database_url)
    await db.dispose()


async def test_sign_in_with_the_right_secret_only(setup: Setup) -> None:
    app_id, secret = setup.creds.application_id, setup.creds.application_secret
    assert await setup.sessions.sign_in(app_id, "wrong") is None
    assert await setup.sessions.sign_in("nope", secret) is None
    assert await setup.sessions.sign_in("", "") is None
    token = await setup.sessions.sign_in(app_id, secret)
    assert token is not None
    assert secret not in token
    session = await setup.sessions.session(token)
    assert session is not None
    assert (session.application_id, session.username, session.role) == (app_id, None, "admin")
    assert session.actor == f"application:{app_id}"


async def test_only_a_hash_of_the_token_is_stored(setup: Setup) -> None:
    token = await setup.sessions.sign_in(setup.creds.application_id, setup.creds.application_secret)
    assert token is not None
    async with setup.db.read() as conn:
        stored = (await conn.execute(select(dashboard_sessions.c.token_hash))).scalars().all()
    assert len(stored) == 1
    assert token not in stored[0]
    # A stored hash is no cookie.
    assert await setup.sessions.session(stored[0]) is None


async def test_unknown_or_altered_tokens_are_refused(setup: Setup) -> None:
    token = await setup.sessions.sign_in(setup.creds.application_id, setup.creds.application_secret)
    assert token is not None
    for forged in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token + "x",
        "",
        None,
        "x" * 500,
    ):
        assert await setup.sessions.session(forged) is None


async def test_sessions_expire(setup: Setup) -> None:
    token = await setup.sessions.sign_in(setup.creds.application_id, setup.creds.application_secret)
    setup.clock.moment += timedelta(seconds=3599)
    assert await setup.sessions.session_application(token) is not None
    setup.clock.moment += timedelta(seconds=2)
    assert await setup.sessions.session_application(token) is None


async def test_rotating_the_secret_ends_every_session(setup: Setup) -> None:
    token = await setup.sessions.sign_in(setup.creds.application_id, setup.creds.application_secret)
    assert await setup.auth.rotate_secret(setup.creds.application_id) is not None
    assert await setup.sessions.session_application(token) is None


async def test_disabling_the_application_ends_its_sessions(setup: Setup) -> None:
    app_id = setup.creds.application_id
    token = await setup.sessions.sign_in(app_id, setup.creds.application_secret)
    assert await setup.sessions.session_application(token) == app_id
    # `apps disable`, here through another process's own connections.
    other = Database(setup.url)
    try:
        assert await AuthService(AppStore(other), setup.clock).set_disabled(app_id, True)
    finally:
        await other.dispose()
    assert await setup.sessions.session_application(token) is None


async def test_sign_out_ends_a_copied_cookie_in_every_process(database_url: str) -> None:
    """Two processes on one database: signing out in one ends the session in the other, and
    a copy of the cookie taken before signing out no longer opens anything."""
    await upgrade(database_url)
    db = Database(database_url)
    try:
        creds = await AuthService(AppStore(db), FakeClock(datetime.now(UTC))).create_application(
            "ops"
        )
    finally:
        await db.dispose()
    form = {
        "application_id": creds.application_id,
        "application_secret": creds.application_secret,
    }
    async with dashboard_process(database_url) as one, dashboard_process(database_url) as two:
        cookie = await sign_in(one, **form)
        assert (await page(two, "/dashboard/flows", cookie)).status_code == 200
        one.cookies.set("fotp_dashboard", cookie)
        signed_out = await one.post("/dashboard/logout")
        assert signed_out.status_code == 303
        for process in (one, two):
            assert (await page(process, "/dashboard/flows", cookie)).status_code == 401
            answer = await page(process, "/dashboard", cookie)
            assert answer.status_code == 303
            assert "/dashboard/login" in answer.headers["location"]
        # Signing in again opens a new session; the old cookie stays dead.
        fresh = await sign_in(two, **form)
        assert fresh != cookie
        assert (await page(one, "/dashboard/flows", fresh)).status_code == 200
        assert (await page(one, "/dashboard/flows", cookie)).status_code == 401
