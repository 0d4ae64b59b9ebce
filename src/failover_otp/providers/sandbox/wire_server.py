"""The standalone Routee sandbox (`failover-otp sandbox`): Routee's wire API on loopback.

It drives the same :class:`RouteeSim` as the embedded sandbox (same outcome table) but speaks
Routee's paths and JSON (``providers/routee/shapes.py``, ``validation.py``): the token endpoint,
``POST /sms``, ``/viber/otp``, ``/viber``, their tracking, the SMS search, and delivery reports
POSTed to the callback URL given at send time (re-POSTed up to five times, as Routee does).

Attempt keys: the wire carries no flow id, so "the first attempt answers 503, the retry is
accepted" (digit 7) is keyed on (channel, number, text): the SMS body, the Viber OTP template and
pin, or the Viber text. A different text to the same number is a different send.

``/_sandbox/...`` is a small control API for tests: counts of accepted sends, scripted faults for
the next requests (status codes, slow or malformed answers, accept-then-hang), the token
lifetime, token revocation and a reset. The server binds to loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.routee import shapes, validation, wire
from failover_otp.providers.routee.validation import Rejection, SendSpec
from failover_otp.providers.sandbox.routee_sim import RouteeSim, SimMessage, SimRefused, SimReport

DEFAULT_TOKEN_TTL = 3600
CALLBACK_ATTEMPTS = 6  # the first POST and up to five re-POSTs
_SEND_PATHS = frozenset({"/sms", "/viber", "/viber/otp"})
_ENDPOINTS = frozenset({"send", "lookup", "token", "any"})


def wire_attempt_key(channel: Channel, to: str, text: str) -> str:
    """The sandbox's key for one logical send (hashed: it may hold a one-time code)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{channel.value}:{to.lstrip('+')}:{digest}"


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
        if script is None or script.endpoint not in _ENDPOINTS or script.times < 1:
            raise ValueError(f"a script is an object, endpoint in {sorted(_ENDPOINTS)}, times>=1")
        return script


class _Sandbox:
    def __init__(self, sim: RouteeSim, app_id: str | None, app_secret: str | None) -> None:
        self.sim = sim
        self.tokens = validation.TokenBook(app_id, app_secret, DEFAULT_TOKEN_TTL)
        self.scripts: deque[Script] = deque()
        self.requests: Counter[str] = Counter()
        self.callbacks: Counter[str] = Counter()
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
        """The sim's sink: POST the report to the callback URL the send named, if any."""
        callback = report.message.extra["spec"].callback
        if not callback:
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


STATE = web.AppKey("routee_sandbox", _Sandbox)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _error(status: int, code: str, message: str, retry_after: float | None = None) -> web.Response:
    response = _json(shapes.error(code, message), status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _garbage(status: int) -> web.Response:
    return web.Response(body=b'{"trackingId": "', status=status, content_type="application/json")


def _kind(request: web.Request) -> str | None:
    """Which scripts apply to a request: token, send or lookup (None: the control API)."""
    if request.path.startswith("/_sandbox"):
        return None
    if request.path == "/oauth/token":
        return "token"
    return "send" if request.method == "POST" and request.path in _SEND_PATHS else "lookup"


@web.middleware
async def _routee(request: web.Request, handler: Handler) -> web.StreamResponse:
    """In front of Routee's endpoints: count, apply scripted faults, check the Bearer token."""
    state, kind = request.app[STATE], _kind(request)
    if kind is None:
        return await handler(request)
    resource = request.match_info.route.resource
    state.requests[f"{request.method} {resource.canonical if resource else request.path}"] += 1
    script = state.take_script(kind) or Script(times=0)
    await state.pause(script.delay_seconds)
    if script.hang:
        await state.pause(script.hang_seconds)
        return _error(504, "504000000", "Gateway timeout")
    if script.malformed and not script.accept:
        return _garbage(script.status or 200)
    if script.status is not None and not script.malformed:
        text = script.message or f"Scripted HTTP {script.status}"
        code = script.code or f"{script.status}000000"
        return _error(script.status, code, text, script.retry_after)
    if kind != "token" and not state.tokens.bearer_ok(request.headers.get("Authorization")):
        return _error(401, "401000000", "No access token provided or it has expired")
    response = await handler(request)
    if script.accept_then_timeout:
        await state.pause(script.hang_seconds)
    return _garbage(script.status or 200) if script.malformed else response


async def _token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.tokens.client_ok(request.headers.get("Authorization")):
        return _json({"error": "invalid_client", "error_description": "Bad credentials"}, 401)
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _json({"error": "unsupported_grant_type", "error_description": "grant"}, 400)
    return _json(shapes.token_answer(state.tokens.issue(), state.tokens.ttl))


async def _json_body(request: web.Request, default: bytes = b"") -> Any:
    try:
        return orjson.loads(await request.read() or default)
    except orjson.JSONDecodeError:
        error = orjson.dumps(shapes.error("400000000", "The body must be JSON"))
        raise web.HTTPBadRequest(body=error, content_type="application/json") from None


def _sender(parse: Callable[[Mapping[str, Any]], SendSpec | Rejection]) -> Handler:
    """A send endpoint: Routee's validation, then the outcome table, then Routee's answer."""

    async def handler(request: web.Request) -> web.Response:
        state, body = request.app[STATE], await _json_body(request)
        spec = parse(body) if isinstance(body, dict) else validation.invalid("not an object")
        if isinstance(spec, Rejection):
            return _error(spec.http_status, spec.code, spec.message)
        # The spec keeps the callback URL and what tracking echoes; sms_ids name the parts.
        extra = {"spec": spec, "sms_ids": []}
        try:
            message = state.sim.accept(
                channel=spec.channel,
                to=spec.to,
                body=spec.text,
                ttl_seconds=spec.ttl_seconds,
                label=spec.label,
                attempt_key=wire_attempt_key(spec.channel, spec.to, spec.key_text),
                extra=extra,
            )
        except SimRefused as refused:
            return _error(refused.http_status, refused.code, refused.message)
        message.extra["sms_ids"] = [str(uuid.uuid4()) for _ in range(message.parts)]
        return _json(shapes.send_answer(state.view(message)))

    return handler


def _tracker(channel: Channel, code: str) -> Handler:
    """A tracking endpoint (SMS §4.3, Viber §5.4); 404 with Routee's code when unknown."""
    render: Callable[[shapes.MessageView], Any]
    render = shapes.sms_tracking if channel is Channel.SMS else shapes.viber_tracking

    async def handler(request: web.Request) -> web.Response:
        state = request.app[STATE]
        message = state.sim.find(request.match_info["id"])
        if message is None or message.channel is not channel:
            return _error(404, code, f"{channel.type_name} tracking not found")
        return _json(render(state.view(message)))

    return handler


async def _search_sms(request: web.Request) -> web.Response:
    """``POST /sms/tracking``: exact-match filters over SMS parts sent in a time window."""
    state = request.app[STATE]
    filters = validation.search_filters(await _json_body(request, b"[]"))
    try:
        number = max(0, int(request.query.get("page", "0")))
        size = min(max(1, int(request.query.get("size", "10"))), 1000)
    except ValueError:
        return _error(400, "400000000", "page and size must be integers")
    if isinstance(filters, Rejection):
        return _error(filters.http_status, filters.code, filters.message)
    start = wire.parse_time(request.query.get("dateStart"))
    end = wire.parse_time(request.query.get("dateEnd"))
    parts = [
        part
        for message in list(state.sim.messages.values())
        if message.channel is Channel.SMS
        and (start is None or message.accepted_at >= start)
        and (end is None or message.accepted_at <= end)
        for part in shapes.sms_tracking(state.view(message))
        if validation.matches(part, filters)
    ]
    return _json(shapes.page(parts, number, size))


async def _control_sends(request: web.Request) -> web.Response:
    state = request.app[STATE]
    by_number = Counter(f"{m.channel.value}:{m.to}" for m in state.sim.messages.values())
    return _json(
        {
            "total": sum(state.sim.accepted.values()),
            "by_key": dict(state.sim.accepted),
            "by_number": dict(by_number),
            "requests": dict(state.requests),
            "tokens_issued": state.tokens.issued,
            "callbacks": dict(state.callbacks),
            "scripts_pending": len(state.scripts),
        }
    )


async def _control(request: web.Request) -> web.Response:
    """``POST /_sandbox/{script|token-ttl|revoke-tokens|reset}``."""
    state, data = request.app[STATE], await _json_body(request, b"{}")
    action = request.match_info["action"]
    if action == "script":
        try:
            scripts = [Script.parse(d) for d in (data if isinstance(data, list) else [data])]
        except (TypeError, ValueError) as exc:
            return _error(400, "400000000", str(exc))
        state.scripts.extend(scripts)
        return _json({"queued": len(scripts), "pending": len(state.scripts)})
    if action == "token-ttl":
        expires_in = data.get("expires_in") if isinstance(data, dict) else None
        if not isinstance(expires_in, int) or expires_in < 1:
            return _error(400, "400000000", "expires_in must be a positive integer")
        state.tokens.ttl = expires_in
        return _json({"expires_in": expires_in})
    if action == "revoke-tokens":
        return _json({"revoked": state.tokens.revoke_all()})
    if action == "reset":
        state.sim.reset()
        state.scripts.clear()
        state.requests.clear()
        state.callbacks.clear()
        state.tokens.issued, state.tokens.ttl = 0, DEFAULT_TOKEN_TTL
        return _json({"reset": True})
    raise web.HTTPNotFound()


def create_sandbox_app(
    sim: RouteeSim, *, app_id: str | None, app_secret: str | None
) -> web.Application:
    """Routee's wire API over ``sim``; only ``app_id``/``app_secret`` get tokens when given."""
    app = web.Application(middlewares=[_routee])
    state = _Sandbox(sim, app_id, app_secret)
    app[STATE] = state

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        state.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        sim.set_sink(state.deliver)
        yield
        sim.set_sink(None)
        await state.session.close()

    async def on_shutdown(app: web.Application) -> None:
        state.closing.set()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    app.router.add_post("/oauth/token", _token)
    app.router.add_post("/sms", _sender(validation.sms_send))
    app.router.add_post("/sms/tracking", _search_sms)
    app.router.add_get("/sms/tracking/single/{id}", _tracker(Channel.SMS, "404005000"))
    app.router.add_post("/viber/otp", _sender(validation.viber_otp_send))
    app.router.add_post("/viber", _sender(validation.viber_send))
    app.router.add_get("/viber/tracking/{id}", _tracker(Channel.VIBER, "404019006"))
    app.router.add_get("/_sandbox/sends", _control_sends)
    app.router.add_post("/_sandbox/{action}", _control)
    return app


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_sandbox(
    host: str,
    port: int,
    time_scale: float = 1.0,
    app_id: str | None = None,
    app_secret: str | None = None,
    *,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve the sandbox on ``host:port`` (loopback only) until cancelled.

    ``on_ready`` receives the bound port (useful with ``port=0``).
    """
    if not _is_loopback(host):
        raise ValueError(f"the Routee sandbox binds to loopback only, not {host!r}")
    sim = RouteeSim(time_scale=time_scale)
    runner = web.AppRunner(
        create_sandbox_app(sim, app_id=app_id, app_secret=app_secret), shutdown_timeout=2.0
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        if on_ready is not None:
            on_ready(runner.addresses[0][1])
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await sim.aclose()
