"""Token caching: renewal before expiry, single-flight refresh, lenient token answers."""

from __future__ import annotations

import asyncio
import math

import pytest

from failover_otp.providers.base import ProviderUnavailable
from failover_otp.providers.routee.auth import TokenCache, TokenGrant, parse_grant, usable_for


@pytest.mark.parametrize(
    ("expires_in", "used_for"),
    [
        (3600, 3540),  # 60 s before a one-hour token dies
        (86400, 86340),
        (300, 270),  # 10 % of short lifetimes
        (2, 1.8),
        (0, 0),
        (math.inf, math.inf),  # "unlimited" tokens are kept until a 401
    ],
)
def test_usable_for(expires_in: float, used_for: float) -> None:
    assert usable_for(expires_in) == pytest.approx(used_for)


@pytest.mark.parametrize(
    ("payload", "token", "expires_in"),
    [
        ({"access_token": "t", "token_type": "Bearer", "expires_in": 3600}, "t", 3600),
        ({"access_token": "t", "token_type": "bearer", "expires_in": "60"}, "t", 60),
        ({"access_token": "t"}, "t", math.inf),
        ({"access_token": "t", "expires_in": True}, "t", math.inf),
        ({"access_token": "t", "expires_in": "never"}, "t", math.inf),
    ],
)
def test_parse_grant(payload: dict[str, object], token: str, expires_in: float) -> None:
    assert parse_grant(payload) == TokenGrant(token, expires_in)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {},
        {"access_token": ""},
        {"access_token": 5},
        {"access_token": "t", "token_type": "mac"},
    ],
)
def test_parse_grant_refuses_unusable_answers(payload: object) -> None:
    with pytest.raises(ProviderUnavailable):
        parse_grant(payload)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting_fetch(expires_in: float = 100.0, pause: float = 0.0) -> tuple[list[str], object]:
    issued: list[str] = []

    async def fetch() -> TokenGrant:
        # A token request that takes a while. Not a synchronisation: every concurrent caller
        # was scheduled before the fetch resumes, however slow the machine, so they all find
        # it in flight.
        await asyncio.sleep(pause)
        issued.append(f"token-{len(issued) + 1}")
        return TokenGrant(issued[-1], expires_in)

    return issued, fetch


async def test_token_is_cached_until_the_margin() -> None:
    """A 100 s token is reused for 90 s, then renewed before use."""
    clock = FakeClock()
    issued, fetch = counting_fetch(100)
    cache = TokenCache(fetch, clock=clock)  # type: ignore[arg-type]

    assert await cache.token() == "token-1"
    clock.now = 89.9
    assert await cache.token() == "token-1"
    clock.now = 90.0
    assert await cache.token() == "token-2"
    assert issued == ["token-1", "token-2"]


async def test_concurrent_refreshes_share_one_fetch() -> None:
    """Fifty callers who all saw the same refused token cause one token request."""
    issued, fetch = counting_fetch(pause=0.01)
    cache = TokenCache(fetch)  # type: ignore[arg-type]
    stale = await cache.token()

    tokens = await asyncio.gather(*(cache.refresh(stale) for _ in range(50)))

    assert set(tokens) == {"token-2"}
    assert issued == ["token-1", "token-2"]


async def test_concurrent_first_use_shares_one_fetch() -> None:
    _, fetch = counting_fetch(pause=0.01)
    cache = TokenCache(fetch)  # type: ignore[arg-type]

    tokens = await asyncio.gather(*(cache.token() for _ in range(20)))

    assert set(tokens) == {"token-1"}
    assert cache.fetches == 1


async def test_refresh_of_an_already_replaced_token_reuses_the_new_one() -> None:
    _, fetch = counting_fetch()
    cache = TokenCache(fetch)  # type: ignore[arg-type]
    first = await cache.token()
    second = await cache.refresh(first)

    assert await cache.refresh(first) == second
    assert await cache.refresh(second) == "token-3"
    cache.forget()
    assert await cache.token() == "token-4"


async def test_failed_fetch_leaves_no_token() -> None:
    async def fetch() -> TokenGrant:
        raise ProviderUnavailable("down")

    cache = TokenCache(fetch)
    with pytest.raises(ProviderUnavailable):
        await cache.token()
    assert cache.fetches == 0
