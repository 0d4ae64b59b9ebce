"""A customer's webhook endpoint on a loopback port: records every request, answers as told.

``WebhookReceiver`` runs in the caller's event loop (async tests); ``ThreadedReceiver`` runs one
in a background thread with its own loop (sync end-to-end tests). Either can be started late or
stopped and started again on the same port, to play an endpoint that is down for a while.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from failover_otp.webhook_signing import verify
from tests.support.ports import LOOPBACK, free_port


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    signature: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    status: int = 0  # what the receiver answered

    def json(self) -> Any:
        return orjson.loads(self.body)

    def verify(self, secret: str) -> None:
        verify(secret, self.headers, self.body)


# The status to answer, or the status and extra headers (e.g. Retry-After).
Responder = Callable[[Received], int | tuple[int, dict[str, str]]]


@dataclass
class WebhookReceiver:
    port: int = field(default_factory=free_port)
    path: str = "/hook"
    respond: Responder = lambda _received: 200
    received: list[Received] = field(default_factory=list)
    # A slow receiver: while set and not released, requests wait (``waiting`` counts them).
    hold: asyncio.Event | None = None
    waiting: int = 0
    _runner: web.AppRunner | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.path}"

    async def _handle(self, request: web.Request) -> web.Response:
        if self.hold is not None and not self.hold.is_set():
            self.waiting += 1
            try:
                await self.hold.wait()
            finally:
                self.waiting -= 1
        received = Received(
            webhook_id=request.headers.get("webhook-id", ""),
            timestamp=request.headers.get("webhook-timestamp", ""),
            signature=request.headers.get("webhook-signature", ""),
            headers=dict(request.headers),
            body=await request.read(),
            at=time.monotonic(),
        )
        answer = self.respond(received)
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        received.status = status
        with self._lock:
            self.received.append(received)
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "no")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, self.port, reuse_address=True)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def accepted(self) -> list[Received]:
        """Requests answered 2xx, in arrival order (what the customer processed)."""
        return [r for r in self.snapshot() if 200 <= r.status < 300]


class ThreadedReceiver:
    """A :class:`WebhookReceiver` served from a thread of its own (for sync tests)."""

    def __init__(self, respond: Responder | None = None) -> None:
        self.receiver = WebhookReceiver()
        if respond is not None:
            self.receiver.respond = respond
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return self.receiver.url

    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> ThreadedReceiver:
        self._call(self.receiver.start())
        return self

    def stop(self) -> None:
        self._call(self.receiver.stop())

    def snapshot(self) -> list[Received]:
        return self.receiver.snapshot()

    def accepted(self) -> list[Received]:
        return self.receiver.accepted()

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
