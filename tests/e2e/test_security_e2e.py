"""Security over HTTP against the real server: Idempotency-Key, code verification under
concurrency, send limits with 429 + Retry-After, number types, secrets kept out of the logs.

Most tests run on the three set-ups of ``conftest.py`` (whose servers switch the send limits
off); the limit tests start a server of their own with the defaults on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.flows import wait_until_ended
from tests.support import postgres as pg
from tests.support.payloads import viber_sms_flow
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args
from tests.support.waiting import wait_until

VERIFY_PIN = "73914562"
# How often a request answered 503 + Retry-After is sent again (failover_otp.client does the same).
OVERLOAD_RETRIES = 12


def _number(block: str, n: int, digit: int) -> str:
    """A valid Greek mobile of its own: ``+30 69 <block:3> <n:4> <digit>``."""
    return f"+3069{block}{n:04d}{digit}"


def _flow(
    to: str, *, pin: str | None = VERIFY_PIN, label: str = "security", viber_ttl: int = 120
) -> dict[str, Any]:
    body = viber_sms_flow(int(to[-1]), prefix=to[1:-1], label=label, viber_ttl=viber_ttl)
    if pin is None:
        body["flow"][0].pop("pin")
        body["flow"][1]["message"]["body"] = "Your code is {pin}"
    else:
        body["flow"][0]["pin"] = pin
        body["flow"][1]["message"]["body"] = f"Your code is {pin}"
    return body


def _token(api: ApiSession) -> str:
    return str(api.http.headers["Authorization"]).split(" ", 1)[1]


async def _post_all(
    base_url: str, token: str, path: str, bodies: list[Any], headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    """Every body POSTed at once, each on a connection of its own. A documented 503 (no
    database connection in time: a busy machine) is sent again after its Retry-After, as a
    client does; what the test counts are the answers the service gave to the requests."""
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=60,
        trust_env=False,
        limits=limits,
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    ) as http:

        async def post(body: Any) -> httpx.Response:
            for _ in range(OVERLOAD_RETRIES):
                answer = await http.post(path, json=body)
                if answer.status_code != 503 or "Retry-After" not in answer.headers:
                    return answer
                await asyncio.sleep(float(answer.headers["Retry-After"]))  # as the client is told
            return answer

        return list(await asyncio.gather(*(post(b) for b in bodies)))


def _flows_labelled(api: ApiSession, label: str) -> set[str]:
    page = api.get("/otp/failover", tag=label, limit=200).json()
    return {r["flowId"] for r in page["results"]}


# --- Idempotency-Key ---------------------------------------------------------------------


def test_replayed_key_sends_once(
    api: ApiSession, server: ServerProcess, routee_sandbox: ServerProcess | None
) -> None:
    label = f"idem-{uuid.uuid4().hex[:8]}"
    to = _number("701", 1, 0)
    body = _flow(to, label=label)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.http.post("/otp/send-failover", json=body, headers=key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    sequential = [api.http.post("/otp/send-failover", json=body, headers=key) for _ in range(20)]
    concurrent = asyncio.run(
        _post_all(server.url, _token(api), "/otp/send-failover", [body] * 20, key)
    )
    for answer in [*sequential, *concurrent]:
        assert answer.status_code == 200
        assert answer.content == first.content  # the same bytes, flowId included
        assert answer.headers["Idempotent-Replayed"] == "true"
    assert _flows_labelled(api, label) == {first.json()["flowId"]}
    if routee_sandbox is not None:  # the provider itself saw one message
        sends = httpx.get(routee_sandbox.url + "/_sandbox/sends").json()["by_number"]
        assert sends.get(f"viber:{to[1:]}", 0) + sends.get(f"viber:{to}", 0) == 1


def test_key_reused_with_another_body_is_422(api: ApiSession) -> None:
    key = {"Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    body = _flow(_number("702", 1, 0))
    assert api.http.post("/otp/send-failover", json=body, headers=key).status_code == 200
    other = _flow(_number("702", 2, 0))
    answer = api.http.post("/otp/send-failover", json=other, headers=key)
    assert answer.status_code == 422
    assert answer.json()["code"] == "idempotency_key_reused"
    # The key belongs to its first endpoint too.
    standard = {
        "flow": [
            {
                "type": "Sms",
                "from": "MyBrand",
                "to": _number("702", 3, 0),
                "order": 1,
                "message": {"body": "hello"},
            }
        ]
    }
    answer = api.http.post("/failover", json=standard, headers=key)
    assert answer.status_code == 422
    assert answer.json()["code"] == "idempotency_key_reused"
    fresh = {"Idempotency-Key": f"standard-{uuid.uuid4()}"}
    first = api.http.post("/failover", json=standard, headers=fresh)
    assert first.status_code == 200, first.text
    again = api.http.post("/failover", json=standard, headers=fresh)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"


def test_invalid_key_is_refused(api: ApiSession) -> None:
    body = _flow(_number("702", 4, 0))
    for bad in ["", "x" * 256, "spaces are not allowed"]:
        answer = api.http.post("/otp/send-failover", json=body, headers={"Idempotency-Key": bad})
        assert answer.status_code == 422, bad


def test_duplicate_in_flight_gets_409(
    api: ApiSession, routee_sandbox: ServerProcess | None
) -> None:
    """Needs a slow provider: the standalone sandbox holds the send for two seconds."""
    if routee_sandbox is None:
        pytest.skip("only the Routee set-up can hold a send (tests/integration covers the rest)")
    httpx.post(
        routee_sandbox.url + "/_sandbox/script", json={"endpoint": "send", "delay_seconds": 2}
    ).raise_for_status()

    def scripts_pending() -> int:
        sends = httpx.get(f"{routee_sandbox.url}/_sandbox/sends").json()
        return int(sends["scripts_pending"])

    scripted = scripts_pending()
    body, key = _flow(_number("703", 1, 0)), {"Idempotency-Key": str(uuid.uuid4())}
    answers: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(api.http.post("/otp/send-failover", json=body, headers=key))
    )
    first.start()
    # The sandbox takes the script when the send arrives, then holds the send for two seconds.
    wait_until(
        lambda: scripts_pending() < scripted,
        what="the first send to reach the sandbox",
    )
    with httpx.Client(base_url=str(api.http.base_url), trust_env=False) as other:
        duplicate = other.post(
            "/otp/send-failover",
            json=body,
            headers={**key, "Authorization": api.http.headers["Authorization"]},
        )
    first.join()
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["code"] == "idempotency_in_progress"
    assert duplicate.headers["Retry-After"] == "1"
    assert answers[0].status_code == 200
    replay = api.http.post("/otp/send-failover", json=body, headers=key)
    assert replay.content == answers[0].content


# --- verification ------------------------------------------------------------------------


def test_fifty_concurrent_right_codes_approve_once(api: ApiSession, server: ServerProcess) -> None:
    # Digit 1: Viber never reports; the SMS would follow once the ttl passes (600 s: 10 s here).
    sent = api.post("/otp/send-failover", _flow(_number("704", 1, 1), viber_ttl=600)).json()
    flow_id = sent["flowId"]
    answers = asyncio.run(
        _post_all(
            server.url,
            _token(api),
            "/otp/verify",
            [{"flowId": flow_id, "code": VERIFY_PIN}] * 50,
        )
    )
    assert all(a.status_code == 200 for a in answers)
    statuses = Counter(a.json()["status"] for a in answers)
    assert statuses["approved"] == 1, statuses
    assert sum(a.json()["valid"] for a in answers) == 1
    assert set(statuses) <= {"approved", "already_used", "too_many_attempts"}
    # The pending failover is cancelled: the flow ended on its Viber step, and an ended flow
    # never sends again (tests/integration/test_codes.py shows a due SMS being held back).
    story = api.get(f"/otp/failover/{flow_id}").json()
    assert story["status"] == "Succeeded"
    assert [s["channel"] for s in story["steps"]] == ["viber"]
    again = api.post("/otp/verify", {"flowId": flow_id, "code": VERIFY_PIN}).json()
    assert again == {"flowId": flow_id, "valid": False, "status": "already_used"}


def test_two_hundred_concurrent_guesses_stop_at_five(
    api: ApiSession, server: ServerProcess
) -> None:
    flow_id = api.post("/otp/send-failover", _flow(_number("705", 1, 0))).json()["flowId"]
    guesses = [{"flowId": flow_id, "code": f"{n:08d}"} for n in range(200)]
    answers = asyncio.run(_post_all(server.url, _token(api), "/otp/verify", guesses))
    statuses = Counter(a.json()["status"] for a in answers)
    assert statuses == {"wrong_code": 5, "too_many_attempts": 195}, statuses
    locked = api.post("/otp/verify", {"flowId": flow_id, "code": VERIFY_PIN}).json()
    assert locked["status"] == "too_many_attempts"


def test_verify_is_scoped_to_the_application(api: ApiSession, server: ServerProcess) -> None:
    flow_id = api.post("/otp/send-failover", _flow(_number("706", 1, 0))).json()["flowId"]
    app_id, secret = create_application(server.env["FOTP_DATABASE_URL"], "stranger")
    stranger = ApiSession(server.url, app_id, secret)
    try:
        foreign = stranger.post("/otp/verify", {"flowId": flow_id, "code": VERIFY_PIN})
        assert foreign.status_code == 404
        assert set(foreign.json()) == {"code", "message"}
        assert api.post("/otp/verify", {"flowId": flow_id, "code": VERIFY_PIN}).json()["valid"]
    finally:
        stranger.close()
    assert (
        httpx.post(server.url + "/otp/verify", json={"flowId": flow_id, "code": "1"}).status_code
        == 401
    )
    bad = api.post("/otp/verify", {"flowId": flow_id})
    assert bad.status_code == 422


def test_codes_and_secrets_stay_out_of_responses_and_logs(
    api: ApiSession, server: ServerProcess
) -> None:
    """I1: after a flow with a failover and its verification, the server's log has neither
    the code nor the Bearer token; tracking never shows the code."""
    pin = "58203746"
    sent = api.post("/otp/send-failover", _flow(_number("707", 1, 2), pin=pin))
    assert pin not in sent.text
    flow_id = sent.json()["flowId"]
    story = wait_until_ended(api, flow_id, step_statuses=["UNDELIVERED", "delivered"])
    assert api.post("/otp/verify", {"flowId": flow_id, "code": "00000000"}).status_code == 200
    assert api.post("/otp/verify", {"flowId": flow_id, "code": pin}).json()["valid"] is True
    for path in (f"/otp/failover/{flow_id}", f"/failover/tracking/{flow_id}", "/otp/failover"):
        assert pin not in api.http.get(path).text, path
    assert pin not in str(story)
    log = server.log_path.read_text(errors="replace")
    assert pin not in log
    assert _token(api) not in log
    assert VERIFY_PIN not in log


def test_openapi_documents_auth_and_errors(server: ServerProcess) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()
    send = spec["paths"]["/otp/send-failover"]["post"]
    assert send["security"]
    assert {"200", "401", "409", "422", "429"} <= set(send["responses"])
    assert "Retry-After" in send["responses"]["429"]["headers"]
    assert any(p["name"] == "Idempotency-Key" for p in send["parameters"])
    verify = spec["paths"]["/otp/verify"]["post"]
    assert {"200", "401", "404", "422"} <= set(verify["responses"])
    assert "/failover" in spec["paths"]


# --- the default limits (a server of its own) -----------------------------------------------

CODE_KEY = "e2e-code-key-" + "k" * 32


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def strict_database_url(request: pytest.FixtureRequest, e2e_dir: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{e2e_dir}/strict-{uuid.uuid4().hex[:6]}.db"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    with pg.fresh_database(server.base_url) as url:
        yield url


@pytest.fixture(scope="module")
def strict(e2e_dir: Path, strict_database_url: str) -> Iterator[ApiSession]:
    """A server with the documented defaults on (and a known code key, 4-digit codes)."""
    proc = ServerProcess(args=[], workdir=e2e_dir)
    proc.args = serve_args(proc.port, strict_database_url)
    proc.env = {
        "FOTP_DATABASE_URL": strict_database_url,
        "FOTP_RATE_LIMIT_ENABLED": "true",
        "FOTP_SPEND_CAP_PER_DAY": "50",
        "FOTP_CODE_HMAC_KEY": CODE_KEY,
        "FOTP_CODE_LENGTH": "4",
    }
    proc.start()
    app_id, secret = create_application(strict_database_url, "strict")
    session = ApiSession(proc.url, app_id, secret)
    yield session
    session.close()
    proc.stop()


def test_per_number_limit_answers_429_with_retry_after(strict: ApiSession) -> None:
    to = _number("710", 1, 0)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = strict.http.post("/otp/send-failover", json=_flow(to), headers=key)
    assert first.status_code == 200
    # Replays are answered from the key: they are not sends and count for nothing.
    for _ in range(5):
        assert (
            strict.http.post("/otp/send-failover", json=_flow(to), headers=key).status_code == 200
        )
    answers = [strict.post("/otp/send-failover", _flow(to)) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 4 + [429] * 2
    refused = answers[-1]
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    assert refused.json()["detail"][0]["limit"] == "number_per_10min"
    # The standard endpoint shares the number's limit.
    standard = {
        "flow": [{"type": "Sms", "from": "MyBrand", "to": to, "order": 1, "message": {"body": "x"}}]
    }
    assert strict.post("/failover", standard).status_code == 429
    listed = strict.get("/otp/failover", phone_number=to[1:], limit=200).json()
    assert len({r["flowId"] for r in listed["results"]}) == 5


def test_per_prefix_limit(strict: ApiSession) -> None:
    """B2: a burst over one block of numbers stops at 100 per hour."""
    codes = [
        strict.post("/otp/send-failover", _flow(_number("711", n, 0))).status_code
        for n in range(101)
    ]
    assert codes == [200] * 100 + [429]


def test_premium_rate_numbers_are_refused(strict: ApiSession) -> None:
    body = _flow(_number("712", 1, 0))
    for step in body["flow"]:
        step["to"] = "+309091234567"  # Greek premium rate
    answer = strict.post("/otp/send-failover", body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "number_type_not_allowed"
    assert strict.get("/otp/failover", phone_number="309091234567").json()["total"] == 0


def test_satellite_numbers_are_refused(strict: ApiSession) -> None:
    body = _flow(_number("712", 2, 0))
    for step in body["flow"]:
        step["to"] = "+881612345678"  # Iridium: phonenumbers calls it "mobile"
    answer = strict.post("/otp/send-failover", body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "number_type_not_allowed"
    assert answer.json()["detail"] == [{"step": 1, "numberType": "satellite"}]


def test_one_tenant_cannot_lock_out_another(strict: ApiSession, strict_database_url: str) -> None:
    """Issue 15 item 6: another application uses up its own send limit and wrong-code budget
    for a number; the bank's application still sends to it and checks its code."""
    to = _number("715", 1, 4)
    app_id, secret = create_application(strict_database_url, "noisy-tenant")
    other = ApiSession(str(strict.http.base_url), app_id, secret)
    try:
        sent = [other.post("/otp/send-failover", _flow(to)) for _ in range(6)]
        assert [a.status_code for a in sent] == [200] * 5 + [429]
        guesses = [
            {"flowId": a.json()["flowId"], "code": "00000000"} for a in sent[:5] for _ in range(5)
        ]
        base_url = str(strict.http.base_url)
        answers = asyncio.run(_post_all(base_url, _token(other), "/otp/verify", guesses))
        # 25 wrong codes at once against the daily budget of 20: exactly 20 evaluated.
        statuses = Counter(a.json()["status"] for a in answers)
        assert statuses == {"wrong_code": 20, "too_many_attempts": 5}, statuses
    finally:
        other.close()
    mine = strict.post("/otp/send-failover", _flow(to))
    assert mine.status_code == 200, mine.text
    checked = strict.post("/otp/verify", {"flowId": mine.json()["flowId"], "code": VERIFY_PIN})
    assert checked.json()["status"] == "approved"


async def _code_hmac(database_url: str, flow_id: str) -> str:
    if database_url.startswith("sqlite:///"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            row = conn.execute(
                "SELECT code_hmac FROM otp_codes WHERE flow_id = ?", (flow_id,)
            ).fetchone()
        return str(row[0])
    conn = await asyncpg.connect(pg.asyncpg_dsn(database_url))
    try:
        return str(await conn.fetchval("SELECT code_hmac FROM otp_codes WHERE flow_id=$1", flow_id))
    finally:
        await conn.close()


def test_generated_code_round_trip(strict: ApiSession, strict_database_url: str) -> None:
    """No pin: the service draws the code; the response never shows it; the user's code (here
    recovered from its keyed hash, which needs the server key) verifies once and stops the
    failover."""
    started = time.monotonic()
    # Digit 1: the SMS would follow the Viber ttl (600 s: 10 s at time scale 60).
    sent = strict.post("/otp/send-failover", _flow(_number("713", 1, 1), pin=None, viber_ttl=600))
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert "pin" not in body["flow"][0]
    assert body["flow"][1]["message"]["body"] == "Your code is {pin}"
    flow_id = body["flowId"]
    digest = asyncio.run(_code_hmac(strict_database_url, flow_id))
    code = next(
        f"{n:04d}"
        for n in range(10_000)
        if hmac.compare_digest(
            hmac.new(CODE_KEY.encode(), f"{flow_id}{n:04d}".encode(), hashlib.sha256).hexdigest(),
            digest,
        )
    )
    assert strict.post("/otp/verify", {"flowId": flow_id, "code": code}).json()["valid"]
    assert time.monotonic() - started < 10, "too slow to show the cancelled failover"
    # Deliberate: proves that nothing happens (no SMS) once the ttl is over; sleeps only what
    # is left of it, plus one second for a wrongly scheduled failover to show.
    time.sleep(max(0.0, started + 11 - time.monotonic()))
    story = strict.get(f"/otp/failover/{flow_id}").json()
    assert [s["channel"] for s in story["steps"]] == ["viber"]
    assert story["status"] == "Succeeded"


async def _stored_text(database_url: str) -> str:
    """Every value of every table, as one string."""
    chunks: list[str] = []
    if database_url.startswith("sqlite:///"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                chunks.extend(map(repr, db.execute(f'SELECT * FROM "{table}"')))  # noqa: S608
        return "\n".join(chunks)
    conn = await asyncpg.connect(pg.asyncpg_dsn(database_url))
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for row in tables:
            records = await conn.fetch(f'SELECT * FROM "{row[0]}"')  # noqa: S608
            chunks.extend(repr(tuple(r.values())) for r in records)
    finally:
        await conn.close()
    return "\n".join(chunks)


def test_a_pin_copied_into_labels_and_extra_fields_is_stored_nowhere(
    strict: ApiSession, strict_database_url: str
) -> None:
    """Issue 15 item 11: the flow, its steps and the Idempotency-Key's stored answer hold
    ``{pin}`` where the client wrote its pin, while the flow runs and after it ended."""
    pin = "58203917"
    body = _flow(_number("714", 1, 4), pin=pin, label=f"login {pin}")  # 4: Viber delivered
    body["flow"][0]["note"] = f"your pin is {pin}"
    sent = strict.http.post(
        "/otp/send-failover", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert sent.status_code == 200, sent.text
    assert pin not in sent.text
    assert sent.json()["flow"][0]["label"] == "login {pin}"
    assert pin not in asyncio.run(_stored_text(strict_database_url))
    story = wait_until_ended(strict, sent.json()["flowId"])
    assert story["status"] == "Succeeded"
    assert pin not in asyncio.run(_stored_text(strict_database_url))
