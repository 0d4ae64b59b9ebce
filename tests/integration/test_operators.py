"""Issue 17.11: operators sign in to the dashboard as themselves, with a role per application
(viewer or admin); viewers see no admin action, admins' actions go to the audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from tests.support.dashboard_app import dashboard_process, page, sign_in

from failover_otp.services.auth import AuthService, Credentials
from failover_otp.services.clock import SystemClock
from failover_otp.services.dashboard_sessions import DashboardSessions, TooManySignIns
from failover_otp.services.operators import OperatorError, OperatorService
from failover_otp.store.app_store import AppStore
from failover_otp.store.audit_store import AuditStore
from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.operator_store import OperatorStore
from failover_otp.store.session_store import SessionStore
from failover_otp.store.tables import applications, operators

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "correct horse battery staple"
# Cheap parameters keep the tests quick; the service's own default is RFC 9106's profile.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Setup:
    db: Database
    auth: AuthService
    operators: OperatorService
    sessions: DashboardSessions
    shop: Credentials
    bank: Credentials


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    await upgrade(database_url)
    db = Database(database_url)
    clock = SystemClock()
    apps = AppStore(db)
    auth = AuthService(apps, clock)
    people = OperatorService(OperatorStore(db), apps, clock, hasher=FAST)
    sessions = DashboardSessions(SessionStore(db), apps, people, clock)
    shop = await auth.create_application("shop")
    bank = await auth.create_application("bank")
    yield Setup(db, auth, people, sessions, shop, bank)
    await db.dispose()


async def test_an_operator_signs_in_as_themselves(setup: Setup) -> None:
    await setup.operators.add("Alice", PASSWORD)
    await setup.operators.set_role("alice", setup.shop.application_id, "viewer")
    assert await setup.sessions.sign_in_operator("alice", "wrong password, long enough") is None
    assert await setup.sessions.sign_in_operator("bob", PASSWORD) is None
    token = await setup.sessions.sign_in_operator("ALICE ", PASSWORD)
    session = await setup.sessions.session(token)
    assert session is not None
    assert (session.username, session.application_id, session.role) == (
        "alice",
        setup.shop.application_id,
        "viewer",
    )
    assert not session.is_admin
    assert session.actor == "operator:alice"
    async with setup.db.read() as conn:
        stored = (await conn.execute(select(operators.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_refused_operator_changes(setup: Setup) -> None:
    with pytest.raises(OperatorError, match="15 to 256"):
        await setup.operators.add("alice", "too short")
    with pytest.raises(OperatorError, match="username"):
        await setup.operators.add("-alice", PASSWORD)
    await setup.operators.add("alice", PASSWORD)
    with pytest.raises(OperatorError, match="exists"):
        await setup.operators.add("ALICE", PASSWORD)
    with pytest.raises(OperatorError, match="role"):
        await setup.operators.set_role("alice", setup.shop.application_id, "owner")
    with pytest.raises(OperatorError, match="no application"):
        await setup.operators.set_role("alice", "nope", "viewer")
    with pytest.raises(OperatorError, match="no operator"):
        await setup.operators.set_role("carol", setup.shop.application_id, "viewer")


async def test_losing_access_ends_open_sessions_at_once(setup: Setup) -> None:
    shop = setup.shop.application_id
    await setup.operators.add("alice", PASSWORD)
    # No role on any application: nothing to show, no session.
    assert await setup.sessions.sign_in_operator("alice", PASSWORD) is None
    await setup.operators.set_role("alice", shop, "viewer")

    token = await setup.sessions.sign_in_operator("alice", PASSWORD)
    await setup.operators.set_role("alice", shop, "admin")  # a role change applies at once
    assert (session := await setup.sessions.session(token)) is not None
    assert session.is_admin
    await setup.operators.set_role("alice", shop, None)
    assert await setup.sessions.session(token) is None

    await setup.operators.set_role("alice", shop, "viewer")
    token = await setup.sessions.sign_in_operator("alice", PASSWORD)
    await setup.operators.set_disabled("alice", True)
    assert await setup.sessions.session(token) is None
    assert await setup.sessions.sign_in_operator("alice", PASSWORD) is None
    await setup.operators.set_disabled("alice", False)

    token = await setup.sessions.sign_in_operator("alice", PASSWORD)
    await setup.operators.set_password("alice", PASSWORD + "!")
    assert await setup.sessions.session(token) is None
    assert await setup.sessions.sign_in_operator("alice", PASSWORD + "!") is not None

    # A disabled application is nobody's to see; rotating its secret leaves operators signed in.
    token = await setup.sessions.sign_in_operator("alice", PASSWORD + "!")
    await setup.auth.rotate_secret(shop)
    assert await setup.sessions.session(token) is not None
    async with setup.db.write() as conn:
        await conn.execute(
            applications.update().where(applications.c.id == shop).values(disabled=True)
        )
    assert await setup.sessions.session(token) is None


async def test_switching_only_to_an_application_of_theirs(setup: Setup) -> None:
    await setup.operators.add("alice", PASSWORD)
    await setup.operators.set_role("alice", setup.shop.application_id, "viewer")
    token = await setup.sessions.sign_in_operator("alice", PASSWORD)
    assert token is not None
    session = await setup.sessions.session(token)
    assert session is not None
    assert not await setup.sessions.switch(token, session, setup.bank.application_id)
    await setup.operators.set_role("alice", setup.bank.application_id, "admin")
    assert [g.application_id for g in await setup.sessions.grants(session)] == [
        setup.bank.application_id,
        setup.shop.application_id,
    ]  # by name: bank, shop
    assert await setup.sessions.switch(token, session, setup.bank.application_id)
    switched = await setup.sessions.session(token)
    assert switched is not None
    assert (switched.application_id, switched.role) == (setup.bank.application_id, "admin")


async def test_a_weaker_hash_is_replaced_at_sign_in(setup: Setup) -> None:
    await setup.operators.add("alice", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    upgraded = OperatorService(
        setup.operators.store, setup.operators.apps, SystemClock(), hasher=stronger
    )
    assert await upgraded.authenticate("alice", PASSWORD) is not None
    operator = await setup.operators.get("alice")
    assert not stronger.check_needs_rehash(operator.password_hash)
    assert await upgraded.authenticate("alice", PASSWORD) is not None


async def test_viewers_see_no_admin_action_and_admins_are_audited(
    setup: Setup, database_url: str
) -> None:
    shop = setup.shop.application_id
    await setup.operators.add("alice", PASSWORD)
    await setup.operators.set_role("alice", shop, "viewer")
    async with dashboard_process(database_url) as web:
        cookie = await sign_in(web, username="alice", password=PASSWORD)
        home = await page(web, "/dashboard", cookie)
        assert home.status_code == 200
        assert 'id="signed-in-as">alice · viewer<' in home.text
        assert "admin-link" not in home.text
        assert "export-csv" not in home.text  # a bulk copy of phone numbers is for admins
        assert (await page(web, "/dashboard/admin", cookie)).status_code == 403
        assert (await page(web, "/dashboard/flows.csv", cookie)).status_code == 403
        refused = await web.post("/dashboard/admin/rotate-secret")
        assert refused.status_code == 403
        # The secret still works: nothing was rotated.
        assert await setup.auth.issue_token(shop, setup.shop.application_secret) is not None

        secret_cookie = await sign_in(
            web, application_id=shop, application_secret=setup.shop.application_secret
        )
        await setup.operators.set_role("alice", shop, "admin")
        home = await page(web, "/dashboard", cookie)
        assert 'id="signed-in-as">alice · admin<' in home.text
        assert 'id="admin-link"' in home.text
        assert 'id="export-csv"' in home.text
        exported = await page(web, "/dashboard/flows.csv?status=flow:Failed", cookie)
        assert exported.status_code == 200
        rotated = await web.post("/dashboard/admin/rotate-secret")
        assert rotated.status_code == 200
        assert 'id="new-secret"' in rotated.text
        assert await setup.auth.issue_token(shop, setup.shop.application_secret) is None
        # The sign-in made with the old secret ended; alice's own did not.
        assert (await page(web, "/dashboard/flows", secret_cookie)).status_code == 401
        admin = await page(web, "/dashboard/admin", cookie)
        assert admin.status_code == 200
        assert "operator:alice" in admin.text
        assert "application.rotate_secret" in admin.text

    entries = await AuditStore(setup.db).recent(application_id=shop)
    assert [(e.actor, e.action) for e in entries] == [
        ("operator:alice", "application.rotate_secret"),
        ("operator:alice", "flows.export"),
    ]
    assert entries[1].detail == '{"filters": "status=flow%3AFailed&period=7"}'
    assert entries[0].at <= datetime.now(UTC)


async def test_the_application_secret_still_signs_in_as_admin(
    setup: Setup, database_url: str
) -> None:
    async with dashboard_process(database_url) as web:
        cookie = await sign_in(
            web,
            application_id=setup.shop.application_id,
            application_secret=setup.shop.application_secret,
        )
        home = await page(web, "/dashboard", cookie)
        assert 'id="signed-in-as">application secret · admin<' in home.text
        assert (await page(web, "/dashboard/admin", cookie)).status_code == 200
        wrong = await web.post("/dashboard/login", data={"username": "alice", "password": "x"})
        assert wrong.status_code == 401
        assert "Unknown operator" in wrong.text


async def test_password_guessing_is_bounded_per_operator(setup: Setup) -> None:
    await setup.operators.add("alice", PASSWORD)
    await setup.operators.set_role("alice", setup.shop.application_id, "viewer")
    sessions = DashboardSessions(
        setup.sessions.store,
        setup.sessions.apps,
        setup.operators,
        SystemClock(),
        sign_in_failures=3,
    )
    for _ in range(5):  # right passwords use up nothing
        assert await sessions.sign_in_operator("alice", PASSWORD) is not None
    # Ten guesses at once: exactly three are checked, whatever the backend's interleaving.
    answers = await asyncio.gather(
        *(sessions.sign_in_operator("Alice", f"guess number {i:04d}!") for i in range(10)),
        return_exceptions=True,
    )
    assert sum(a is None for a in answers) == 3
    assert sum(isinstance(a, TooManySignIns) for a in answers) == 7
    with pytest.raises(TooManySignIns):  # the right password waits for the window too
        await sessions.sign_in_operator("alice", PASSWORD)
    # Names that do not exist are bounded the same way; other operators are not affected.
    await setup.operators.add("bob", PASSWORD)
    await setup.operators.set_role("bob", setup.shop.application_id, "viewer")
    assert await sessions.sign_in_operator("bob", PASSWORD) is not None
    for _ in range(3):
        assert await sessions.sign_in_operator("nobody", PASSWORD) is None
    with pytest.raises(TooManySignIns):
        await sessions.sign_in_operator("nobody", PASSWORD)


async def test_the_sign_in_page_answers_429_past_the_bound(setup: Setup, database_url: str) -> None:
    await setup.operators.add("alice", PASSWORD)
    await setup.operators.set_role("alice", setup.shop.application_id, "viewer")
    async with dashboard_process(database_url, dashboard_sign_in_failures_per_15min=2) as web:
        for _ in range(2):
            wrong = await web.post("/dashboard/login", data={"username": "alice", "password": "x"})
            assert wrong.status_code == 401
        refused = await web.post(
            "/dashboard/login", data={"username": "alice", "password": PASSWORD}
        )
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.text


async def test_an_operator_switches_between_their_applications(
    setup: Setup, database_url: str
) -> None:
    shop, bank = setup.shop.application_id, setup.bank.application_id
    await setup.operators.add("alice", PASSWORD)
    await setup.operators.set_role("alice", shop, "viewer")
    await setup.operators.set_role("alice", bank, "admin")
    stranger = await setup.auth.create_application("stranger")
    async with dashboard_process(database_url) as web:
        cookie = await sign_in(web, username="alice", password=PASSWORD)
        account = await page(web, "/dashboard/account", cookie)
        assert shop in account.text
        assert bank in account.text
        assert stranger.application_id not in account.text
        first = await page(web, "/dashboard", cookie)
        assert 'id="signed-in-as">alice · admin<' in first.text  # bank: first by name
        switched = await web.post("/dashboard/account/switch", data={"application_id": shop})
        assert switched.status_code == 303
        home = await page(web, "/dashboard", cookie)
        assert 'id="signed-in-as">alice · viewer<' in home.text
        assert shop in home.text
        refused = await web.post(
            "/dashboard/account/switch", data={"application_id": stranger.application_id}
        )
        assert refused.status_code == 403
        assert 'id="signed-in-as">alice · viewer<' in (await page(web, "/dashboard", cookie)).text
