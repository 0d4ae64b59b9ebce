"""Customer webhooks: the flow's story POSTed to ``callback.url`` whenever it changes."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import structlog

from failover_otp.services.story import flow_story
from failover_otp.store.flow_store import FlowRecord

log = structlog.get_logger(__name__)


class WebhookNotifier:
    """Fire-and-forget delivery, as Routee's Failover OTP service documents its webhooks."""

    def __init__(self, *, time_scale: float, timeout_seconds: float = 5.0) -> None:
        self.time_scale = time_scale
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def notify(self, record: FlowRecord) -> None:
        url = record.meta.callback_url
        if not url:
            return
        body = orjson.dumps(flow_story(record.flow, record.meta, self.time_scale))
        task = asyncio.get_running_loop().create_task(self._post(url, body, record.flow.id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: bytes, flow_id: str) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                if response.status >= 300:
                    log.info("webhook refused", flow_id=flow_id, status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("webhook failed", flow_id=flow_id, error=str(exc))

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        if self._session is not None:
            await self._session.close()
