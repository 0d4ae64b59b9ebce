"""A dashboard filter never stalls the service (issue 17, item 1).

With 5,000 stored flows, the table filtered by a step's status and by a tag answers, and while
such a filter is held in flight inside the database, ``/health`` (and on SQLite a send) still
answer: the filter runs where it cannot hold up the event loop (SQLite: a thread of its own;
PostgreSQL: its own pool, the loop never waits on asyncpg).

How the filter is held, by condition rather than by timing:
- SQLite: a progress handler on every connection of the service blocks the first statement that
  runs long enough (the filter's count; a point read or ``SELECT 1`` never reaches it) until the
  test lets it go. Run on the event loop (as the dashboard's reads once were), it would block
  the loop itself, and nothing else could answer until the handler gave up.
- PostgreSQL: another session holds ``LOCK TABLE flows``; the filter waits for it in the server
  (seen in ``pg_stat_activity``).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_
from tests.support.payloads import viber_sms_flow
from tests.support.seeding import seed_flows
from tests.support.waiting import wait_until_async

from failover_otp.services.auth import AuthService
from failover_otp.services.clock import SystemClock
from failover_otp.settings import Settings
from failover_otp.store.app_store import AppStore
from failover_otp.store.database import Database
from failover_otp.store.migrate import upgrade
from failover_otp.store.tables import flows, steps
from failover_otp.web.app import create_app

pytestmark = pytest.mark.asyncio(loop_scope="session")

FLOWS = 5_000
# How long a held statement waits for the test before giving up (only reached on failure).
GATE_SECONDS = 20.0
# SQLite VM instructions between progress-handler calls: a point read never reaches it.
GATE_INSTRUCTIONS = 20_000


@dataclass
class Service:
    client: httpx.AsyncClient
    db: Database
    database_url: str
    app_id: str
    secret: str


@asynccontextmanager
async def _running(database_url: str, app_id: str, secret: str) -> AsyncIterator[Service]:
    settings = Settings(database_url=database_url, run_worker=False, time_scale=60)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dashboard.test"
        ) as client:
            yield Service(client, app.state.services.db, database_url, app_id, secret)


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    await upgrade(database_url)
    db = Database(database_url)
    try:
        creds = await AuthService(AppStore(db), SystemClock()).create_application("stall")
    finally:
        await db.dispose()
    now = datetime.now(UTC)
    await seed_flows(
        database_url, creds.application_id, FLOWS, since=now - timedelta(days=20), until=now
    )
    async with _running(database_url, creds.application_id, creds.application_secret) as running:
        response = await running.client.post(
            "/dashboard/login",
            data={"application_id": running.app_id, "application_secret": running.secret},
        )
        assert response.status_code == 303, response.text
        yield running


async def _count(db: Database, app_id: str, condition: Any) -> int:
    matching = select(steps.c.flow_id).where(steps.c.application_id == app_id, condition)
    query = (
        select(func.count())
        .select_from(flows)
        .where(flows.c.application_id == app_id, flows.c.id.in_(matching))
    )
    async with db.scan() as conn:
        return int((await conn.execute(query)).scalar_one())


def _shown_total(html: str) -> int:
    found = re.search(r'id="flows-count">(\d+) flow\(s\) match', html)
    assert found is not None, html[:2000]
    return int(found.group(1))


async def test_filters_by_step_status_and_tag_over_5000_flows(service: Service) -> None:
    delivered = await service.client.get("/dashboard/flows", params={"status": "step:DELIVERED"})
    assert delivered.status_code == 200
    expected = await _count(service.db, service.app_id, steps.c.status == "DELIVERED")
    assert expected > 1000  # 90% of the seeded flows have a delivered step
    assert _shown_total(delivered.text) == expected
    assert delivered.text.count('data-flow-id="') == 25

    tagged = await service.client.get("/dashboard/flows", params={"tag": "pay"})
    assert tagged.status_code == 200
    expected = await _count(service.db, service.app_id, steps.c.label.ilike("%pay%"))
    assert expected > 100  # one flow in 20 is labelled "payment"
    assert _shown_total(tagged.text) == expected
    assert all("payment" in row for row in tagged.text.split("<tr data-flow-id=")[1:])


@dataclass
class Gate:
    """Holds the first long statement until released (SQLite)."""

    armed: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    gave_up: threading.Event = field(default_factory=threading.Event)

    def progress(self) -> int:
        if self.armed.is_set():
            self.armed.clear()
            self.holding.set()
            if not self.release.wait(GATE_SECONDS):
                self.gave_up.set()
            self.holding.clear()
        return 0  # go on with the statement

    def install(self, db: Database) -> None:
        """Put the handler on every connection the service checks out, whichever its engine."""

        def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            driver = dbapi_connection.driver_connection
            raw = getattr(driver, "_conn", None)
            if hasattr(driver, "set_progress_handler"):  # aiosqlite: on its own thread
                await_(driver.set_progress_handler(self.progress, GATE_INSTRUCTIONS))
            elif raw is not None:
                raw.set_progress_handler(self.progress, GATE_INSTRUCTIONS)

        for engine in (db.writer, db.reader, db.scanner):
            event.listen(engine.sync_engine, "checkout", on_checkout)


@pytest.fixture
def gate() -> Iterator[Gate]:
    held = Gate()
    yield held
    held.release.set()  # never leave a statement held behind


async def _wait_for(condition: Any, what: str, *, timeout: float = 60.0) -> None:
    """Poll ``condition`` (a coroutine function) until it holds; fail after ``timeout``."""
    await wait_until_async(condition, timeout, what=what)


async def _token(service: Service) -> str:
    response = await service.client.post(
        "/oauth/token",
        auth=(service.app_id, service.secret),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_health_and_sends_answer_while_a_filter_is_in_flight(
    service: Service, gate: Gate
) -> None:
    token = await _token(service)
    if service.db.is_sqlite:
        gate.install(service.db)
        gate.armed.set()
        held = asyncio.create_task(
            service.client.get("/dashboard/flows", params={"status": "step:DELIVERED"})
        )
        assert await asyncio.to_thread(gate.holding.wait, 60), "the filter never ran"
        health = await service.client.get("/health")
        assert health.status_code == 200
        sent = await service.client.post(
            "/otp/send-failover",
            json=viber_sms_flow(1, label="while-filtering"),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 200, sent.text
        # Both answered while the filter was still held: it never had the event loop.
        assert gate.holding.is_set()
        assert not gate.gave_up.is_set()
        gate.release.set()
    else:
        url = make_url(service.database_url).set(drivername="postgresql")
        locker = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            lock = locker.transaction()
            await lock.start()
            await locker.execute("LOCK TABLE flows IN ACCESS EXCLUSIVE MODE")
            held = asyncio.create_task(
                service.client.get("/dashboard/flows", params={"status": "step:DELIVERED"})
            )

            async def filter_waits() -> bool:
                # Statistics views keep one snapshot per transaction: the locker's would never
                # change, so each look starts a fresh one.
                await locker.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await locker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%FROM flows%'"
                )
                return bool(waiting)

            await _wait_for(filter_waits, "the filter to wait on the lock")
            health = await service.client.get("/health")
            assert health.status_code == 200
            assert await filter_waits()  # still in flight
            await lock.commit()
        finally:
            await locker.close()
    answer = await held
    assert answer.status_code == 200
    assert _shown_total(answer.text) > 1000
