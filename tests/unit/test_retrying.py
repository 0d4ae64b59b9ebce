"""The in-process retry helper (failover_otp.retrying, on stamina) and the provider send's policy:
what is retried, how often, how long it waits, and what a caller sees when it gives up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

from failover_otp.domain.statuses import RejectReason
from failover_otp.providers.base import ProviderUnavailable, SendRefused
from failover_otp.providers.retry import retry_unavailable
from failover_otp.retrying import Backoff, retry

pytestmark = pytest.mark.asyncio

# Short waits: these tests check counts and the waits stamina was asked for, not the clock.
QUICK = Backoff(attempts=4, wait_initial=0.001, wait_max=0.004, wait_jitter=0.001)


@pytest.fixture
def scheduled() -> Iterator[list[RetryDetails]]:
    """Every retry stamina schedules, as its instrumentation hooks see it."""
    seen: list[RetryDetails] = []
    before = get_on_retry_hooks()

    def hook(details: RetryDetails) -> None:
        seen.append(details)

    set_on_retry_hooks([hook])
    yield seen
    set_on_retry_hooks(before)


class Flaky:
    """Fails ``failures`` times with ``error()``, then answers ``"done"``."""

    def __init__(self, failures: int, error: type[Exception] = ProviderUnavailable) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "done"


async def test_a_first_success_is_not_retried(scheduled: list[RetryDetails]) -> None:
    attempt = Flaky(0)
    assert await retry(attempt, on=ProviderUnavailable, backoff=QUICK) == "done"
    assert attempt.calls == 1
    assert scheduled == []


async def test_failures_are_retried_until_one_succeeds(scheduled: list[RetryDetails]) -> None:
    attempt = Flaky(2)
    assert await retry(attempt, on=ProviderUnavailable, backoff=QUICK) == "done"
    assert attempt.calls == 3
    assert [d.retry_num for d in scheduled] == [1, 2]


async def test_it_gives_up_after_the_attempts_with_the_last_error() -> None:
    attempt = Flaky(10)
    with pytest.raises(ProviderUnavailable, match="failure 4"):
        await retry(attempt, on=ProviderUnavailable, backoff=QUICK)
    assert attempt.calls == QUICK.attempts


async def test_other_errors_are_raised_at_once() -> None:
    attempt = Flaky(1, error=ValueError)
    with pytest.raises(ValueError, match="failure 1"):
        await retry(attempt, on=ProviderUnavailable, backoff=QUICK)
    assert attempt.calls == 1


async def test_one_attempt_means_no_retry() -> None:
    attempt = Flaky(1)
    with pytest.raises(ProviderUnavailable):
        await retry(attempt, on=ProviderUnavailable, backoff=Backoff(1, 0.001, 0.001, 0.0))
    assert attempt.calls == 1


async def test_a_failure_the_caller_saw_counts_and_is_waited_for(
    scheduled: list[RetryDetails],
) -> None:
    attempt = Flaky(10)
    with pytest.raises(ProviderUnavailable, match="failure 3"):
        await retry(
            attempt, on=ProviderUnavailable, backoff=QUICK, failed=ProviderUnavailable("first")
        )
    assert attempt.calls == QUICK.attempts - 1
    # The caller's failure was the first attempt: the backoff before the second try was waited.
    assert [d.retry_num for d in scheduled] == [1, 2, 3]
    assert str(scheduled[0].caused_by) == "first"


async def test_the_waits_grow_exponentially_up_to_the_cap(scheduled: list[RetryDetails]) -> None:
    backoff = Backoff(attempts=5, wait_initial=0.001, wait_max=0.005, wait_jitter=0.0005)
    with pytest.raises(ProviderUnavailable):
        await retry(Flaky(10), on=ProviderUnavailable, backoff=backoff)
    waits = [d.wait_for for d in scheduled]
    assert len(waits) == 4
    for number, wait in enumerate(waits[:3], start=1):
        floor = backoff.wait_initial * 2 ** (number - 1)
        assert floor - 1e-9 <= wait <= min(backoff.wait_max, floor + backoff.wait_jitter) + 1e-9
    assert waits[3] == pytest.approx(backoff.wait_max)  # 0.008 (+ jitter) capped at 0.005


async def test_a_send_waits_the_retry_after_the_provider_asked_for(
    scheduled: list[RetryDetails],
) -> None:
    calls = 0

    async def throttled() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ProviderUnavailable("429", retry_after=0.003)
        if calls == 2:
            raise ProviderUnavailable("503")
        return "sent"

    assert await retry_unavailable(throttled, backoff=QUICK) == "sent"
    assert scheduled[0].wait_for == pytest.approx(0.003)
    # Without a Retry-After the backoff decides again.
    assert 0.002 - 1e-9 <= scheduled[1].wait_for <= 0.003 + 1e-9


async def test_a_send_the_provider_refused_is_never_retried() -> None:
    calls = 0

    async def refused() -> str:
        nonlocal calls
        calls += 1
        raise SendRefused(RejectReason.INVALID_REQUEST, "bad number")

    with pytest.raises(SendRefused):
        await retry_unavailable(refused, backoff=QUICK)
    assert calls == 1
