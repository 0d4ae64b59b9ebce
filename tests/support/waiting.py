"""Waiting for something to happen: poll a condition until it holds, within a generous bound.

Tests never sleep to synchronise (CONTRIBUTING.md): on a busy machine any fixed pause is either
too short (a flaky test) or too long (a slow one). They wait on the condition itself; the bound
only decides how long a broken test takes to fail, so it is generous.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast, overload

T = TypeVar("T")

# Long enough for a loaded 2-core machine, short enough that a broken test fails well inside
# its tier's timeout (CONTRIBUTING.md).
DEFAULT_TIMEOUT = 30.0
DEFAULT_INTERVAL = 0.05


def _message(what: str | Callable[[], str], timeout: float, last: object) -> str:
    shown = what() if callable(what) else what
    return f"timed out after {timeout:.0f} s waiting for {shown} (last: {last!r})"


def wait_until(
    condition: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    what: str | Callable[[], str] = "the condition",
    interval: float = DEFAULT_INTERVAL,
) -> T:
    """Call ``condition()`` until it returns something truthy, and return that.

    Raises ``AssertionError`` naming ``what`` (a text, or a function giving one, called only on
    failure) and the last value seen when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(_message(what, timeout, last))
        time.sleep(interval)  # the poll interval, not a synchronisation


@overload
async def wait_until_async(
    condition: Callable[[], Awaitable[T]],
    timeout: float = ...,
    *,
    what: str | Callable[[], str] = ...,
    interval: float = ...,
) -> T: ...


@overload
async def wait_until_async(
    condition: Callable[[], T],
    timeout: float = ...,
    *,
    what: str | Callable[[], str] = ...,
    interval: float = ...,
) -> T: ...


async def wait_until_async(
    condition: Callable[[], T | Awaitable[T]],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    what: str | Callable[[], str] = "the condition",
    interval: float = DEFAULT_INTERVAL,
) -> T:
    """:func:`wait_until` for async tests: ``condition`` may be a plain or an async function.
    Other tasks of the loop run while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        last = cast(T, await result) if inspect.isawaitable(result) else result
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(_message(what, timeout, last))
        await asyncio.sleep(interval)  # the poll interval, not a synchronisation
