"""Customer webhooks against the real server process: every change of a flow reaches its
``callback.url`` in order and signed, and a server killed while deliveries are being retried
loses none of them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from failover_otp.domain.outbox import DELIVERED, PENDING, WebhookEvent
from failover_otp.store.database import Database
from failover_otp.store.webhook_store import WebhookStore
from tests.e2e.flows import wait_until_ended
from tests.support.payloads import number, viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, cli, create_application, serve_args
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Received, ThreadedReceiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[ThreadedReceiver]:
    hook = ThreadedReceiver().start()
    yield hook
    hook.close()


def webhook_secret(api: ApiSession) -> tuple[str, str]:
    answer = api.get("/webhooks/secret")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["webhookSecret"].startswith("whsec_")
    return body["applicationId"], body["webhookSecret"]


def wait_for(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    wait_until(condition, timeout, what=what)


def received_for(hook: ThreadedReceiver, key: str, value: str) -> list[Received]:
    return [r for r in hook.accepted() if r.json().get(key) == value]


def test_every_change_of_an_otp_flow_arrives_signed_and_in_order(
    api: ApiSession, receiver: ThreadedReceiver, server: ServerProcess
) -> None:
    app_id, secret = webhook_secret(api)
    # Digit 2: Viber UNDELIVERED, then SMS Delivered.
    sent = api.post("/otp/send-failover", viber_sms_flow(2, callback_url=receiver.url))
    assert sent.status_code == 200, sent.text
    flow_id = sent.json()["flowId"]
    story = wait_until_ended(api, flow_id, step_statuses=["UNDELIVERED", "delivered"])

    def final_arrived() -> bool:
        got = received_for(receiver, "flowId", flow_id)
        final = ["UNDELIVERED", "delivered"]
        return bool(got) and [s["status"] for s in got[-1].json()["steps"]] == final

    wait_for(final_arrived, what="the flow's final webhook")
    got = received_for(receiver, "flowId", flow_id)
    assert len({r.webhook_id for r in got}) == len(got) >= 2
    for received in got:
        received.verify(secret)
        assert received.webhook_id.startswith("msg_")
    stories = [r.json() for r in got]
    # In order: the story only grows, and ends as the API tells it.
    assert [len(s["steps"]) for s in stories] == sorted(len(s["steps"]) for s in stories)
    # InProgress until the SMS reaches the network (its Sent counts as success), then Succeeded
    # for its Sent and Delivered changes alike.
    statuses = [s["status"] for s in stories]
    first = statuses.index("Succeeded")
    assert set(statuses[:first]) == {"InProgress"}
    assert set(statuses[first:]) == {"Succeeded"}
    assert stories[-1]["status"] == story["status"]
    assert stories[-1]["total_cost"] == pytest.approx(story["total_cost"])
    assert [s["status"] for s in stories[-1]["steps"]] == ["UNDELIVERED", "delivered"]
    assert set(stories[-1]) == {"flowId", "status", "statusCode", "total_cost", "steps"}

    # The same secret from the command line.
    printed = json.loads(
        cli("apps", "webhook-secret", app_id, "--json", env=server.env, timeout=60)
    )
    assert printed == {"applicationId": app_id, "webhookSecret": secret}


def test_standard_flows_send_the_tracking_on_change_or_on_completion(
    api: ApiSession, receiver: ThreadedReceiver
) -> None:
    _, secret = webhook_secret(api)
    viber = {"type": "Viber", "to": number(2), "order": 1, "ttl": 0.5, "text": "Hello"}
    viber["senderInfoTrackingId"] = "Routeetest"
    sms = {"type": "Sms", "to": number(2), "order": 2, "from": "Routee", "ttl": 5}
    sms["message"] = {"body": "Hello"}
    flow = [viber, sms]
    ids = {}
    for strategy in ("OnChange", "OnCompletion"):
        answer = api.post(
            "/failover", {"flow": flow, "callback": {"url": receiver.url, "strategy": strategy}}
        )
        assert answer.status_code == 200, answer.text
        ids[strategy] = answer.json()["trackingId"]

    def ended(strategy: str) -> bool:
        got = received_for(receiver, "trackingId", ids[strategy])
        return bool(got) and got[-1].json()["status"] == "Succeeded"

    wait_for(lambda: ended("OnChange") and ended("OnCompletion"), what="both standard flows")
    # Deliberate: nothing more may follow the end of an OnCompletion flow. There is no event
    # to wait for; half a second is many times what a stray late webhook takes on loopback.
    time.sleep(0.5)
    on_change = received_for(receiver, "trackingId", ids["OnChange"])
    on_completion = received_for(receiver, "trackingId", ids["OnCompletion"])
    assert len(on_change) >= 2
    assert len(on_completion) == 1
    final = on_completion[0].json()
    assert final["originatingService"] == "Failover"
    assert [m["status"]["name"] for m in final["messages"]] == ["UNDELIVERED", "Delivered"]
    for received in on_change + on_completion:
        received.verify(secret)


def test_flows_without_a_callback_send_nothing(api: ApiSession, receiver: ThreadedReceiver) -> None:
    before = len(receiver.snapshot())
    flow_id = api.post("/otp/send-failover", viber_sms_flow(0)).json()["flowId"]
    wait_until_ended(api, flow_id)
    # Deliberate: proves that no webhook follows (a late report such as SEEN may still change
    # the flow); there is nothing to wait for, so a short pause.
    time.sleep(0.3)
    assert all(r.json().get("flowId") != flow_id for r in receiver.snapshot()[before:])


def test_the_secret_needs_a_token(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, trust_env=False) as http:
        assert http.get("/webhooks/secret").status_code == 401


def test_rotating_the_webhook_secret_with_an_overlap(
    server: ServerProcess, receiver: ThreadedReceiver
) -> None:
    """``apps rotate-webhook-secret --overlap 24h`` in another process: the running server's
    next webhook carries two signatures, one per secret, and says so on /webhooks/secret."""
    database_url = server.env["FOTP_DATABASE_URL"]
    app_id, app_secret = create_application(database_url, "rotating")
    api = ApiSession(server.url, app_id, app_secret)
    try:
        _, old = webhook_secret(api)
        assert api.get("/webhooks/secret").json()["previousSecretValidUntil"] is None
        rotated = json.loads(
            cli(
                "apps",
                "rotate-webhook-secret",
                app_id,
                "--overlap",
                "24h",
                "--json",
                env=server.env,
            )
        )
        new = rotated["webhookSecret"]
        assert new.startswith("whsec_")
        assert new != old
        shown = api.get("/webhooks/secret").json()
        assert shown["webhookSecret"] == new
        assert shown["previousSecretValidUntil"] is not None
        sent = api.post("/otp/send-failover", viber_sms_flow(1, callback_url=receiver.url))
        flow_id = sent.json()["flowId"]
        wait_for(lambda: received_for(receiver, "flowId", flow_id), what="a webhook")
        first = received_for(receiver, "flowId", flow_id)[0]
        assert len(first.signature.split()) == 2
        first.verify(new)
        first.verify(old)
    finally:
        api.close()


# Restart: the outbox survives a SIGKILL while the receiver is down.

FAST_RETRIES = {
    "FOTP_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "FOTP_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
    "FOTP_WEBHOOK_TIMEOUT_SECONDS": "1",
    "FOTP_WEBHOOK_LEASE_SECONDS": "3",
}


def outbox(database_url: str) -> list[WebhookEvent]:
    async def read() -> list[WebhookEvent]:
        db = Database(database_url)
        try:
            return await WebhookStore(db).events()
        finally:
            await db.dispose()

    return asyncio.run(read())


def start_server(tmp_path: Path, database_url: str) -> ServerProcess:
    proc = ServerProcess(args=[], workdir=tmp_path)
    proc.args = serve_args(proc.port, database_url)
    proc.env = {"FOTP_DATABASE_URL": database_url, **FAST_RETRIES}
    return proc.start()


def test_a_kill_during_retries_loses_no_webhook(tmp_path: Path, database_url: str) -> None:
    app_id, app_secret = create_application(database_url)
    hook = ThreadedReceiver()  # down for now: every attempt is refused
    try:
        first = start_server(tmp_path, database_url)
        try:
            api = ApiSession(first.url, app_id, app_secret)
            _, secret = webhook_secret(api)
            flow_ids = [
                api.post(
                    "/otp/send-failover", viber_sms_flow(2, label=f"r{n}", callback_url=hook.url)
                ).json()["flowId"]
                for n in range(5)
            ]
            for flow_id in flow_ids:
                wait_until_ended(api, flow_id, step_statuses=["UNDELIVERED", "delivered"])
            api.close()
            wait_until(
                lambda: any(e.attempts >= 2 for e in outbox(database_url)),
                what="a refused retry of a first event",
            )
        finally:
            first.kill()  # SIGKILL mid-retries: claims and schedules stay in the database

        stored = outbox(database_url)
        assert {e.flow_id for e in stored} == set(flow_ids)
        assert all(e.status == PENDING for e in stored)
        assert any(e.attempts >= 2 for e in stored)

        hook.start()
        second = start_server(tmp_path, database_url)
        try:
            wait_for(
                lambda: all(e.status == DELIVERED for e in outbox(database_url)),
                timeout=40,
                what="every webhook delivered after the restart",
            )
        finally:
            second.stop()

        stored = outbox(database_url)
        got = hook.accepted()
        # Every event once (the receiver was down while the first server died, so none of its
        # attempts can have been half-done), each signed, each flow's in order.
        assert sorted(r.webhook_id for r in got) == sorted(e.event_id for e in stored)
        for received in got:
            received.verify(secret)
        for flow_id in flow_ids:
            in_order = [e.event_id for e in stored if e.flow_id == flow_id]
            arrived = [r.webhook_id for r in got if r.json()["flowId"] == flow_id]
            assert arrived == in_order
            assert [r.json()["status"] for r in got if r.json()["flowId"] == flow_id][
                -1
            ] == "Succeeded"
    finally:
        hook.close()


# The SSRF guard at send time, on a server with the default settings (no http, no loopback).

REFUSED_CALLBACKS = [
    "https://127.0.0.1:5432/",
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://0177.0.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/hook",
    "https://[fe80::1]/hook",
    "https://localhost/hook",  # a name: judged by what it resolves to (here /etc/hosts)
    "https://user:pass@example.com/hook",
    "http://example.com/hook",
]


STANDARD_SMS = {
    "type": "Sms",
    "to": number(1),
    "order": 1,
    "from": "Routee",
    "ttl": 5,
    "message": {"body": "Hello"},
}


def test_unsafe_callback_urls_are_refused_at_send_time(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/strict.db"
    app_id, app_secret = create_application(database_url)
    hook = ThreadedReceiver().start()
    proc = ServerProcess(args=[], workdir=tmp_path)
    proc.args = serve_args(proc.port, database_url)
    proc.env = {"FOTP_WEBHOOK_ALLOW_HTTP": "false", "FOTP_WEBHOOK_ALLOWED_TARGETS": ""}
    proc.start()
    api = ApiSession(proc.url, app_id, app_secret)
    try:
        for url in [hook.url, *REFUSED_CALLBACKS]:
            otp = api.post("/otp/send-failover", viber_sms_flow(1, callback_url=url))
            standard = api.post(
                "/failover",
                {"flow": [STANDARD_SMS], "callback": {"url": url, "strategy": "OnChange"}},
            )
            for answer in (otp, standard):
                assert answer.status_code == 422, (url, answer.text)
                body = answer.json()
                assert body["code"] == "validation_failed"
                assert body["message"].startswith("callback.url: "), body
        # Nothing was stored or sent for a refused request.
        assert api.get("/otp/failover").json()["total"] == 0
        assert hook.snapshot() == []
    finally:
        api.close()
        proc.stop()
        hook.close()
