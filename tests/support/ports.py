"""Loopback ports and waiting for a server to answer HTTP."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that was free on ``host`` a moment ago (the OS picks it).

    Another process could take it before the caller binds it; callers that start a
    server on it should retry on "address in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _describe(url: str, timeout: float, last: str) -> str:
    return f"{url} gave no HTTP answer within {timeout:.1f}s (last: {last})"


def wait_for_http(
    url: str,
    timeout: float = 15.0,
    *,
    expect_status: int | None = None,
    interval: float = 0.05,
) -> httpx.Response:
    """Poll ``GET url`` until the server answers, and return that answer.

    With ``expect_status=None`` any HTTP answer counts (the server is up); otherwise
    polling goes on until that status is seen. Raises ``TimeoutError`` after ``timeout``
    seconds, naming the last error or status seen.
    """
    deadline = time.monotonic() + timeout
    last = "no attempt"
    with httpx.Client(timeout=max(interval, 1.0), trust_env=False) as client:
        while True:
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if expect_status is None or response.status_code == expect_status:
                    return response
                last = f"HTTP {response.status_code}"
            if time.monotonic() >= deadline:
                raise TimeoutError(_describe(url, timeout, last))
            time.sleep(interval)


async def wait_for_http_async(
    url: str,
    timeout: float = 15.0,
    *,
    expect_status: int | None = None,
    interval: float = 0.05,
) -> httpx.Response:
    """The same as :func:`wait_for_http`, for async tests and fixtures."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "no attempt"
    async with httpx.AsyncClient(timeout=max(interval, 1.0), trust_env=False) as client:
        while True:
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if expect_status is None or response.status_code == expect_status:
                    return response
                last = f"HTTP {response.status_code}"
            if loop.time() >= deadline:
                raise TimeoutError(_describe(url, timeout, last))
            await asyncio.sleep(interval)
