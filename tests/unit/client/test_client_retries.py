"""The client's retry and token rules, against a scripted transport (no server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from failover_otp.client import (
    ApiClientError,
    ApiConnectionError,
    AsyncFailoverOtpClient,
    FailoverOtpClient,
    RetryPolicy,
)

FAST = RetryPolicy(attempts=3, backoff=0.001, max_wait=0.05)
Handler = Callable[[httpx.Request], httpx.Response]
# What the service answers each path with on success (the shapes the typed results expect).
OK_BODIES: dict[str, dict[str, Any]] = {
    "/otp/failover": {"total": 0, "limit": 50, "offset": 0, "results": []},
    "/otp/send-failover": {
        "flowId": "f",
        "status": "InProgress",
        "type": "ViberOtp",
        "flow": [],
        "createdAt": "2026-02-16T12:00:00Z",
    },
    "/otp/verify": {"flowId": "f", "valid": True, "status": "approved"},
}
STORY: dict[str, Any] = {
    "flowId": "f",
    "status": "InProgress",
    "statusCode": None,
    "total_cost": 0,
    "steps": [],
}


class Script:
    """Answers the token endpoint, then the scripted answers for everything else in turn."""

    def __init__(self, *answers: int | Exception, expires_in: int = 3600) -> None:
        self.answers = list(answers)
        self.calls: list[httpx.Request] = []
        self.tokens = 0
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.tokens += 1
            body = {"access_token": f"t{self.tokens}", "expires_in": self.expires_in}
            return httpx.Response(200, json=body)
        self.calls.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if answer == 401 and request.headers["Authorization"] != f"Bearer t{self.tokens}":
            return httpx.Response(401, json={"code": "unauthorized", "message": "old token"})
        if answer == 200:
            return httpx.Response(200, json=OK_BODIES.get(request.url.path, STORY))
        headers = {"Retry-After": "3600"} if answer == 429 else {}
        return httpx.Response(answer, json={"code": str(answer), "message": "m"}, headers=headers)


def client(script: Script) -> FailoverOtpClient:
    return FailoverOtpClient(
        "http://fotp.test", "app", "secret", retry=FAST, transport=httpx.MockTransport(script)
    )


def test_gets_are_retried_on_5xx_until_they_succeed() -> None:
    script = Script(503, 502, 200)
    with client(script) as api:
        assert api.get_failover("f").flowId == "f"
    assert len(script.calls) == 3


def test_gets_give_up_after_the_policy_attempts() -> None:
    script = Script(503, 503, 503, 200)
    with client(script) as api, pytest.raises(ApiClientError) as failed:
        api.get_failover("f")
    assert failed.value.status == 503
    assert len(script.calls) == 3


def test_sends_carry_an_idempotency_key_and_are_retried_with_the_same_one() -> None:
    script = Script(503, httpx.ReadTimeout("slow"), 200)
    with client(script) as api:
        api.send_failover({"flow": []})
    keys = {r.headers["Idempotency-Key"] for r in script.calls}
    assert len(script.calls) == 3
    assert len(keys) == 1


def test_posts_without_a_key_are_not_retried_once_sent() -> None:
    script = Script(503, 200)
    api = FailoverOtpClient(
        "http://fotp.test",
        "app",
        "secret",
        retry=FAST,
        auto_idempotency_keys=False,
        transport=httpx.MockTransport(script),
    )
    with api, pytest.raises(ApiClientError):
        api.send_failover({"flow": []})
    assert len(script.calls) == 1
    assert "Idempotency-Key" not in script.calls[0].headers
    # ...nor after a timeout (the server may have acted on it)...
    script = Script(httpx.ReadTimeout("slow"), 200)
    with (
        FailoverOtpClient(
            "http://fotp.test",
            "app",
            "secret",
            retry=FAST,
            auto_idempotency_keys=False,
            transport=httpx.MockTransport(script),
        ) as api,
        pytest.raises(ApiConnectionError),
    ):
        api.verify_code("f", "1234")
    # ...but they are when the connection never opened: nothing reached the server.
    script = Script(httpx.ConnectError("refused"), 200)
    with client(script) as api:
        api.verify_code("f", "1234")
    assert len(script.calls) == 2


def test_a_long_retry_after_is_reported_not_waited() -> None:
    script = Script(429, 200)
    with client(script) as api, pytest.raises(ApiClientError) as limited:
        api.get_failover("f")
    assert limited.value.status == 429
    assert limited.value.headers["retry-after"] == "3600"
    assert len(script.calls) == 1


def test_a_401_fetches_one_new_token_and_tries_again() -> None:
    script = Script(200, 200)
    with client(script) as api:
        api.get_failover("a")
        api.get_failover("b")
        assert script.tokens == 1  # cached
        api._tokens.token = "stale"
        script.answers = [401, 200]
        api.get_failover("c")
    assert script.tokens == 2


def test_tokens_are_renewed_shortly_before_they_expire() -> None:
    script = Script(200, 200, expires_in=1)  # 10% of a 1 s life: renewed after 0.9 s
    with client(script) as api:
        api.get_failover("a")
        api._tokens.refresh_at = 0  # as if the time had come
        api.get_failover("b")
    assert script.tokens == 2


async def test_the_async_client_follows_the_same_rules() -> None:
    script = Script(503, 200, 503, 200)
    async with AsyncFailoverOtpClient(
        "http://fotp.test",
        "app",
        "secret",
        retry=FAST,
        transport=httpx.MockTransport(script),
    ) as api:
        assert (await api.get_failover("f")).flowId == "f"
        await api.send_failover({"flow": []}, idempotency_key="k-1")
        assert script.calls[-1].headers["Idempotency-Key"] == "k-1"
        api._tokens.token = "stale"
        script.answers = [401, 200]
        await api.list_failovers(status="Delivered")
    assert len(script.calls) == 6
    assert script.tokens == 2
    assert script.calls[-1].url.params["status"] == "Delivered"
