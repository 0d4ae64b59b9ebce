"""Applications and tokens, operators and roles, dashboard sessions, the audit trail, and what
expires: the same behaviour on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.support.stored_records import T0, an_application, stored_started

from failover_otp.domain.accounts import ADMIN, VIEWER, Grant, Operator
from failover_otp.domain.audit import AuditEntry
from failover_otp.services.storage import Storage

pytestmark = pytest.mark.asyncio(loop_scope="session")
HOUR = timedelta(hours=1)


async def test_a_token_belongs_to_its_enabled_application_until_it_expires(
    storage: Storage,
) -> None:
    apps = storage.apps
    await an_application(storage, "app-1", name="one")
    app = await apps.get("app-1")
    assert app is not None
    assert (app.name, app.secret_hash, app.disabled) == ("one", "hash-app-1", False)
    assert await apps.get("nope") is None
    await apps.add_token("t1", "app-1", T0 + HOUR)
    assert await apps.token_owner("t1", T0) == "app-1"
    assert await apps.token_owner("t1", T0 + HOUR) is None
    assert await apps.token_owner("t2", T0) is None
    # Disabling ends its tokens; a new secret too.
    assert await apps.set_disabled("app-1", True)
    assert await apps.token_owner("t1", T0) is None
    assert await apps.set_disabled("app-1", False)
    assert await apps.token_owner("t1", T0) is None
    await apps.add_token("t3", "app-1", T0 + HOUR)
    assert await apps.set_secret_hash("app-1", "new")
    assert await apps.token_owner("t3", T0) is None
    assert not await apps.set_secret_hash("nope", "new")
    await apps.add_token("t4", "app-1", T0 + HOUR)
    assert await apps.purge_expired_tokens(T0 + 2 * HOUR) == 1
    await an_application(storage, "app-0")
    assert [a.id for a in await apps.all()] == ["app-1", "app-0"]  # by creation, then id


async def test_webhook_secrets_are_kept_and_rotated(storage: Storage) -> None:
    apps = storage.apps
    await an_application(storage)
    assert await apps.webhook_secret("app-1", "whsec_a") == "whsec_a"
    assert await apps.webhook_secret("app-1", "whsec_b") == "whsec_a"
    assert await apps.webhook_secret("nope", "whsec_b") is None
    assert await apps.rotate_webhook_secret("app-1", "whsec_c", T0 + HOUR)
    secrets = await apps.webhook_secrets("app-1", "unused")
    assert secrets is not None
    assert secrets.signing(T0) == ["whsec_c", "whsec_a"]
    assert secrets.signing(T0 + HOUR) == ["whsec_c"]
    assert await apps.rotate_webhook_secret("app-1", "whsec_d", None)
    secrets = await apps.webhook_secrets("app-1", "unused")
    assert secrets is not None
    assert secrets.signing(T0) == ["whsec_d"]
    assert not await apps.rotate_webhook_secret("nope", "x", None)
    assert await apps.webhook_secrets("nope", "x") is None


async def test_a_service_value_is_the_first_writers(storage: Storage) -> None:
    assert await storage.apps.state_value("k", "first") == "first"
    assert await storage.apps.state_value("k", "second") == "first"
    await storage.apps.forget_state_value("k")
    assert await storage.apps.state_value("k", "third") == "third"


async def test_operators_have_roles_on_enabled_applications(storage: Storage) -> None:
    await an_application(storage, "app-b", name="beta")
    await an_application(storage, "app-a", name="alpha")
    people = storage.operators
    await people.add(Operator("op-1", "ann", "h1", T0))
    await people.add(Operator("op-2", "bob", "h2", T0))
    await people.set_role("op-1", "app-b", VIEWER)
    await people.set_role("op-1", "app-a", VIEWER)
    await people.set_role("op-1", "app-a", ADMIN)
    assert await people.grants("op-1") == [
        Grant("app-a", "alpha", ADMIN),
        Grant("app-b", "beta", VIEWER),
    ]
    await storage.apps.set_disabled("app-b", True)
    assert await people.grants("op-1") == [Grant("app-a", "alpha", ADMIN)]
    everyone = await people.all()
    assert [(o.username, len(g)) for o, g in everyone] == [("ann", 2), ("bob", 0)]
    await people.set_role("op-1", "app-a", None)
    assert await people.grants("op-1") == []
    await people.rehash("op-2", "wrong", "h3")
    await people.rehash("op-2", "h2", "h4")
    bob = await people.by_username("bob")
    assert bob is not None
    assert bob.password_hash == "h4"
    assert await people.by_username("carl") is None


async def test_a_session_holds_while_its_application_secret_or_role_does(
    storage: Storage,
) -> None:
    await an_application(storage, "app-1", name="one")
    await an_application(storage, "app-2", name="two")
    sessions, people = storage.sessions, storage.operators
    end = T0 + HOUR
    await sessions.open(
        "s-secret", "app-1", operator_id=None, secret_hash="hash-app-1", now=T0, expires_at=end
    )
    found = await sessions.find("s-secret", T0)
    assert found is not None
    assert (found.application_name, found.operator_id, found.role) == ("one", None, ADMIN)
    assert await sessions.find("s-secret", end) is None
    await storage.apps.set_secret_hash("app-1", "rotated")
    assert await sessions.find("s-secret", T0) is None

    await people.add(Operator("op-1", "ann", "h", T0))
    await people.set_role("op-1", "app-1", VIEWER)
    await sessions.open(
        "s-op", "app-1", operator_id="op-1", secret_hash=None, now=T0, expires_at=end
    )
    found = await sessions.find("s-op", T0)
    assert found is not None
    assert (found.username, found.role) == ("ann", VIEWER)
    # Switched to an application without a role there: no session until one is given.
    await sessions.switch("s-op", "app-2")
    assert await sessions.find("s-op", T0) is None
    await people.set_role("op-1", "app-2", ADMIN)
    found = await sessions.find("s-op", T0)
    assert found is not None
    assert (found.application_id, found.role) == ("app-2", ADMIN)
    # A new password (or disabling the operator) ends their sessions.
    await people.set_password_hash("op-1", "h2")
    assert await sessions.find("s-op", T0) is None
    await sessions.open(
        "s-op2", "app-2", operator_id="op-1", secret_hash=None, now=T0, expires_at=end
    )
    await people.set_disabled("op-1", True)
    assert await sessions.find("s-op2", T0) is None
    await sessions.end("s-secret")
    assert await sessions.find("s-secret", T0) is None


async def test_sign_in_attempts_are_limited_per_window(storage: Storage) -> None:
    sessions = storage.sessions
    assert await sessions.take_sign_in_attempt("ann", T0, 2)
    assert await sessions.take_sign_in_attempt("ann", T0, 2)
    assert not await sessions.take_sign_in_attempt("ann", T0, 2)
    await sessions.give_back_sign_in_attempt("ann", T0)
    assert await sessions.take_sign_in_attempt("ann", T0, 2)
    assert await sessions.take_sign_in_attempt("bob", T0, 2)
    assert await sessions.take_sign_in_attempt("ann", T0 + timedelta(minutes=15), 2)


async def test_the_audit_trail_reads_newest_first(storage: Storage) -> None:
    for n in range(3):
        await storage.audit.add(AuditEntry(T0 + timedelta(minutes=n), "cli", f"a{n}", "app-1"))
    await storage.audit.add(AuditEntry(T0, "cli", "other", "app-2"))
    recent = await storage.audit.recent(application_id="app-1", limit=2)
    assert [e.action for e in recent] == ["a2", "a1"]
    assert all(e.id is not None for e in recent)
    since = await storage.audit.recent(since=T0 + timedelta(minutes=1))
    assert [e.action for e in since] == ["a2", "a1"]


async def test_expiry_deletes_what_ran_out_and_flows_past_their_retention(
    storage: Storage,
) -> None:
    await an_application(storage)
    await storage.apps.add_token("t1", "app-1", T0 + HOUR)
    old = await stored_started(storage, now=T0 - timedelta(days=40))
    fresh = await stored_started(storage)
    await storage.audit.add(AuditEntry(T0 - timedelta(days=500), "cli", "old"))
    await storage.refusals.record("app-1", "spend_cap_reached", T0 - timedelta(days=100))
    done = await storage.expiry.purge_expired(
        T0 + 2 * HOUR,
        webhook_retention=timedelta(days=7),
        audit_retention=timedelta(days=400),
        flow_retention=timedelta(days=30),
        delivery_window=timedelta(hours=168),
    )
    assert done["access_tokens"] == 1
    assert done["flows"] == 1
    assert done["audit_entries"] == 1
    assert done["refusal_counts"] == 1
    assert await storage.flows.load(old.flow.id) is None
    assert await storage.flows.load_by_tracking(old.flow.steps[0].tracking_id) is None
    assert await storage.flows.load(fresh.flow.id) == fresh
    assert await storage.deadlines.pending_count() == 1
