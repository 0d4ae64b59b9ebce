"""The standalone sandbox's state: the simulated Routee, issued tokens, scripted faults, counts,
and the delivery of reports to the callback URLs sends named. Shared by the wire server's Routee
endpoints (``wire_server``) and its control API (``wire_control``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from failover_otp.domain.statuses import StepStatus
from failover_otp.providers.routee import shapes, validation
from failover_otp.providers.sandbox.routee_sim import RouteeSim, SimMessage, SimReport

DEFAULT_TOKEN_TTL = 3600
CALLBACK_ATTEMPTS = 6  # the first POST and up to five re-POSTs
ON_COMPLETION = "OnCompletion"
ENDPOINTS = frozenset({"send", "lookup", "token", "any"})


@dataclass(slots=True)
class Script:
    """A fault for the next ``times`` requests of one ``endpoint`` kind."""

    endpoint: str = "send"  # send | lookup | token | any
    times: int = 1
    status: int | None = None  # answer this status (Routee error body), taking nothing
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    delay_seconds: float = 0.0  # wait, then handle normally
    malformed: bool = False  # answer a body that is not JSON
    accept: bool = False  # with malformed: take the message first
    accept_then_timeout: bool = False  # take the message, then hang so the client times out
    hang: bool = False  # hang without taking anything, then answer 504
    hang_seconds: float = 30.0

    @classmethod
    def parse(cls, data: Any) -> Script:
        """Raises ValueError, or TypeError for unknown fields."""
        script = cls(**data) if isinstance(data, Mapping) else None
        if script is None or script.endpoint not in ENDPOINTS or script.times < 1:
            raise ValueError(f"a script is an object, endpoint in {sorted(ENDPOINTS)}, times>=1")
        return script


class SandboxState:
    def __init__(
        self,
        sim: RouteeSim,
        app_id: str | None,
        app_secret: str | None,
        *,
        callbacks: bool = True,
    ) -> None:
        self.sim = sim
        self.tokens = validation.TokenBook(app_id, app_secret, DEFAULT_TOKEN_TTL)
        self.scripts: deque[Script] = deque()
        self.requests: Counter[str] = Counter()
        self.callbacks: Counter[str] = Counter()
        # False: no delivery report is POSTed at all (a lost callback URL, a firewall);
        # statuses are then only learnt from tracking look-ups.
        self.callbacks_enabled = self.callbacks_at_start = callbacks
        self.closing = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None

    def take_script(self, kind: str) -> Script | None:
        for script in list(self.scripts):
            if script.endpoint in (kind, "any"):
                script.times -= 1
                if script.times == 0:
                    self.scripts.remove(script)
                return replace(script)
        return None

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake up when the server shuts down so no handler holds it open."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)

    def view(self, message: SimMessage, report: SimReport | None = None) -> shapes.MessageView:
        """``message`` as Routee describes it now, or as of ``report``."""
        detailed: str | None
        if report is not None:
            status, detailed, at = report.status, report.detailed_status, report.at
        else:
            current = self.sim.current_report(message)
            status = current.status if current else StepStatus.QUEUED
            detailed = current.detailed_status if current else None
            at = self.sim.reported_at(message, current) if current else message.accepted_at
        return shapes.MessageView(
            spec=message.extra["spec"],
            message_id=message.message_id,
            parts=message.parts,
            price=message.price,
            country=message.country,
            operator=message.operator,
            created_at=message.accepted_at,
            status=status,
            detailed=detailed,
            status_at=at,
            sms_ids=message.extra["sms_ids"],
        )

    async def deliver(self, report: SimReport) -> None:
        """The sim's sink: POST the report to the callback URL the send named, if any, as its
        strategy asks: ``OnChange`` every report, ``OnCompletion`` the final one only."""
        callback = report.message.extra["spec"].callback
        if not callback or not self.callbacks_enabled:
            return
        if callback.get("strategy") == ON_COMPLETION and not report.final:
            self.callbacks["skipped_on_completion"] += 1
            return
        for body in shapes.callbacks(self.view(report.message, report)):
            await self._post(str(callback["url"]), orjson.dumps(body))

    async def _post(self, url: str, data: bytes) -> None:
        headers = {"Content-Type": "application/json"}
        for attempt in range(CALLBACK_ATTEMPTS):
            if self.closing.is_set() or self.session is None:
                return
            with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                async with self.session.post(url, data=data, headers=headers) as response:
                    if 200 <= response.status < 300:
                        self.callbacks["posted"] += 1
                        return
            self.callbacks["retried"] += 1
            await self.pause(0.1 * 2**attempt)
        self.callbacks["failed"] += 1


STATE = web.AppKey("routee_sandbox", SandboxState)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def routee_error(
    status: int, code: str, message: str, retry_after: float | None = None
) -> web.Response:
    """An answer with Routee's error body ``{code, developerMessage}``."""
    response = json_response(shapes.error(code, message), status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def json_body(request: web.Request, default: bytes = b"") -> Any:
    try:
        return orjson.loads(await request.read() or default)
    except orjson.JSONDecodeError:
        error = orjson.dumps(shapes.error("400000000", "The body must be JSON"))
        raise web.HTTPBadRequest(body=error, content_type="application/json") from None
