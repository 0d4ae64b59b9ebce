"""In-process retries with exponential backoff and jitter, by stamina (built on tenacity).

One helper for every retry that happens inside a process (a provider send the provider did not
take, a delivery report that outran the save of its send). The durable schedule of customer
webhooks is not one of them: it lives in the database (``worker/webhooks.py``), so it survives a
restart and is shared by every worker.

The first try runs outside stamina: a try that succeeds (nearly every one) costs a function call,
not the ~20 µs of setting up a retry loop. Only a failure enters stamina, which is handed that
failure as its first attempt, so the backoff before the second try is stamina's too.

Retries are instrumented by stamina's default hooks: a structlog warning
``stamina.retry_scheduled`` and the Prometheus counter ``stamina_retries_total`` (labelled by
``error_type``) on ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often and how patiently to retry: at most ``attempts`` tries in all (the first one
    included); retry n waits ``min(wait_max, wait_initial * 2**(n-1) + uniform(0, wait_jitter))``
    seconds; ``timeout`` bounds the whole (None: only ``attempts`` does)."""

    attempts: int
    wait_initial: float
    wait_max: float
    wait_jitter: float
    timeout: float | None = None


async def retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    on: type[E],
    backoff: Backoff,
    failed: E | None = None,
    wait_for: Callable[[E], float | None] | None = None,
) -> T:
    """``await attempt()`` until it stops raising ``on`` or ``backoff`` runs out (then the last
    ``on`` error is raised). Any other exception is raised at once.

    ``failed``: the error of a first try the caller made itself (it counts as one of the
    attempts, and the next try waits the first backoff). ``wait_for``: the wait an error asks
    for (a ``Retry-After``) instead of the backoff's, or None for the backoff's.
    """
    if failed is None:
        try:
            return await attempt()
        except on as error:
            failed = error
    if backoff.attempts <= 1:
        raise failed
    replay: E | None = failed
    async for trying in stamina.retry_context(
        on=on if wait_for is None else _hook(on, wait_for),
        attempts=backoff.attempts,
        timeout=backoff.timeout,
        wait_initial=backoff.wait_initial,
        wait_max=backoff.wait_max,
        wait_jitter=backoff.wait_jitter,
    ):
        with trying:
            if replay is not None:
                # The try already made, told to stamina so that it schedules the first backoff.
                first, replay = replay, None
                raise first
            return await attempt()
    raise AssertionError("unreachable: stamina raises the last error when it gives up")


def _hook(
    on: type[E], wait_for: Callable[[E], float | None]
) -> Callable[[Exception], bool | float]:
    """A stamina backoff hook: retry ``on`` errors, waiting what the error asks for, if it does."""

    def decide(error: Exception) -> bool | float:
        if not isinstance(error, on):
            return False
        wait = wait_for(error)
        return True if wait is None else wait

    return decide
