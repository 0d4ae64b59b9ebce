"""The standalone Routee sandbox (`failover-otp sandbox`): Routee's wire API on loopback.

It drives the same :class:`RouteeSim` as the embedded sandbox (same outcome table) but speaks
Routee's paths and JSON (``providers/routee/shapes.py``, ``validation.py``): the token endpoint
(scopes honoured), ``POST /sms``, ``/viber/otp``, ``/viber``, their tracking, the SMS search,
the account's balance and transactions, and delivery reports POSTed to the callback URL given at
send time (re-POSTed up to five times, as Routee does; ``OnCompletion`` gets the final one only).
Every error is JSON: Routee's ``{code, developerMessage}``, or on the token endpoint the body a
recorded run against Routee shows (``wire_state``, docs/routee.md).

Attempt keys: the wire carries no flow id, so "the first attempt answers 503, the retry is
accepted" (digit 7) is keyed on (channel, number, text): the SMS body, the Viber OTP template and
pin, or the Viber text. A different text to the same number is a different send.

``/_sandbox/...`` is a small control API for tests (``wire_control``). The server binds to
loopback only.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from failover_otp.domain.statuses import Channel
from failover_otp.providers.routee import shapes, validation
from failover_otp.providers.routee.validation import Rejection, SendSpec
from failover_otp.providers.sandbox.account import DEFAULT_BALANCE, Account
from failover_otp.providers.sandbox.profiles import Profile
from failover_otp.providers.sandbox.routee_sim import RouteeSim, SimRefused
from failover_otp.providers.sandbox.wire_control import add_control_routes
from failover_otp.providers.sandbox.wire_state import (
    STATE,
    SandboxState,
    Script,
    json_body,
    json_response,
    routee_error,
)

_SEND_PATHS = frozenset({"/sms", "/viber", "/viber/otp"})
# The scope a token needs for each group of Routee's resources (reference §1.1, §6.1).
_SCOPE_BY_PREFIX = (("/sms", "sms"), ("/viber", "viber"), ("/accounts", "account"))


def wire_attempt_key(channel: Channel, to: str, text: str) -> str:
    """The sandbox's key for one logical send (hashed: it may hold a one-time code)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{channel.value}:{to.lstrip('+')}:{digest}"


def _garbage(status: int) -> web.Response:
    return web.Response(body=b'{"trackingId": "', status=status, content_type="application/json")


def _kind(request: web.Request) -> str | None:
    """Which scripts apply to a request: token, send or lookup (None: the control API)."""
    if request.path.startswith("/_sandbox"):
        return None
    if request.path == "/oauth/token":
        return "token"
    return "send" if request.method == "POST" and request.path in _SEND_PATHS else "lookup"


def _scope_for(path: str) -> str | None:
    return next((scope for prefix, scope in _SCOPE_BY_PREFIX if path.startswith(prefix)), None)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error answer is JSON: an unknown path or method gets Routee's error body, never
    aiohttp's plain-text ``404: Not Found``."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.content_type == "application/json" and exc.body:
            return web.Response(body=exc.body, status=exc.status, content_type=exc.content_type)
        text = f"{exc.reason}: {request.method} {request.path}"
        return routee_error(exc.status, f"{exc.status}000000", text)


@web.middleware
async def _routee(request: web.Request, handler: Handler) -> web.StreamResponse:
    """In front of Routee's endpoints: count, apply scripted faults, check the Bearer token
    and its scope."""
    state, kind = request.app[STATE], _kind(request)
    if kind is None:
        return await handler(request)
    resource = request.match_info.route.resource
    state.requests[f"{request.method} {resource.canonical if resource else request.path}"] += 1
    script = state.take_script(kind) or Script(times=0)
    await state.pause(script.delay_seconds)
    if script.hang:
        await state.pause(script.hang_seconds)
        return routee_error(504, "504000000", "Gateway timeout")
    if script.malformed and not script.accept:
        return _garbage(script.status or 200)
    if script.status is not None and not script.malformed:
        text = script.message or f"Scripted HTTP {script.status}"
        code = script.code or f"{script.status}000000"
        return routee_error(script.status, code, text, script.retry_after)
    if kind != "token":
        scopes = state.tokens.scopes_of(request.headers.get("Authorization"))
        if scopes is None:
            return routee_error(401, "401000000", "No access token provided or it has expired")
        needed = _scope_for(request.path)
        if needed is not None and needed not in scopes:
            return routee_error(403, "403000000", f"Access denied: the token has no {needed} scope")
    response = await handler(request)
    if script.accept_then_timeout:
        await state.pause(script.hang_seconds)
    return _garbage(script.status or 200) if script.malformed else response


async def _token(request: web.Request) -> web.Response:
    """``POST /oauth/token``: client credentials, optionally narrowed to some scopes."""
    state = request.app[STATE]
    if not state.tokens.client_ok(request.headers.get("Authorization")):
        body = shapes.framework_error(
            401, "Unauthorized", "Bad credentials", request.path, datetime.now(UTC)
        )
        return json_response(body, 401)
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        description = "Only grant_type=client_credentials is supported"
        return json_response(shapes.oauth_error("unsupported_grant_type", description), 400)
    scope_field = form.get("scope")
    asked = scope_field if isinstance(scope_field, str) else None
    scopes = validation.requested_scopes(asked)
    if scopes is None:
        description = f"Invalid scope: {asked}; known scopes: {', '.join(validation.SCOPES)}"
        return json_response(shapes.oauth_error("invalid_scope", description), 400)
    token = state.tokens.issue(scopes)
    return json_response(shapes.token_answer(token, state.tokens.ttl, scopes))


def _sender(parse: Callable[[Mapping[str, Any]], SendSpec | Rejection]) -> Handler:
    """A send endpoint: Routee's validation, then the outcome table, then Routee's answer."""

    async def handler(request: web.Request) -> web.Response:
        state, body = request.app[STATE], await json_body(request)
        spec = parse(body) if isinstance(body, dict) else validation.invalid("not an object")
        if isinstance(spec, Rejection):
            return routee_error(spec.http_status, spec.code, spec.message)
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
            return routee_error(refused.http_status, refused.code, refused.message)
        message.extra["sms_ids"] = [str(uuid.uuid4()) for _ in range(message.parts)]
        return json_response(shapes.send_answer(state.view(message)))

    return handler


def _tracker(channel: Channel, code: str) -> Handler:
    """A tracking endpoint (SMS §4.3, Viber §5.4); 404 with Routee's code when unknown."""
    render: Callable[[shapes.MessageView], Any]
    render = shapes.sms_tracking if channel is Channel.SMS else shapes.viber_tracking

    async def handler(request: web.Request) -> web.Response:
        state = request.app[STATE]
        message = state.sim.find(request.match_info["id"])
        if message is None or message.channel is not channel:
            return routee_error(404, code, f"{channel.type_name} tracking not found")
        return json_response(render(state.view(message)))

    return handler


def _paging(request: web.Request) -> tuple[int, int] | Rejection:
    try:
        number = max(0, int(request.query.get("page", "0")))
        size = min(max(1, int(request.query.get("size", "10"))), 1000)
    except ValueError:
        return validation.invalid("page and size must be integers")
    return number, size


async def _search_sms(request: web.Request) -> web.Response:
    """``POST /sms/tracking``: exact-match filters over SMS parts sent in a time window
    (``dateStart`` required, within the last seven days)."""
    state = request.app[STATE]
    filters = validation.search_filters(await json_body(request, b"[]"))
    paging = _paging(request)
    window = validation.search_window(
        request.query.get("dateStart"), request.query.get("dateEnd"), datetime.now(UTC)
    )
    if isinstance(paging, Rejection):
        return routee_error(paging.http_status, paging.code, paging.message)
    if isinstance(filters, Rejection):
        return routee_error(filters.http_status, filters.code, filters.message)
    if isinstance(window, Rejection):
        return routee_error(window.http_status, window.code, window.message)
    parts = [
        part
        for message in list(state.sim.messages.values())
        if message.channel is Channel.SMS
        and message.accepted_at >= window.start
        and (window.end is None or message.accepted_at <= window.end)
        for part in shapes.sms_tracking(state.view(message))
        if validation.matches(part, filters)
    ]
    return json_response(shapes.page(parts, *paging))


async def _balance(request: web.Request) -> web.Response:
    """``GET /accounts/me/balance``: what is left after every accepted send's price."""
    return json_response(shapes.balance(request.app[STATE].sim.account.balance))


async def _transactions(request: web.Request) -> web.Response:
    """``GET /accounts/me/transactions``: the account's top-ups, newest first, as a page."""
    paging = _paging(request)
    if isinstance(paging, Rejection):
        return routee_error(paging.http_status, paging.code, paging.message)
    top_ups = reversed(request.app[STATE].sim.account.top_ups)
    items = [shapes.transaction(t.id, t.amount, t.before, t.after, t.at) for t in top_ups]
    return json_response(shapes.page(items, *paging))


def create_sandbox_app(
    sim: RouteeSim, *, app_id: str | None, app_secret: str | None, callbacks: bool = True
) -> web.Application:
    """Routee's wire API over ``sim``; only ``app_id``/``app_secret`` get tokens when given;
    ``callbacks=False`` posts no delivery report (statuses only through tracking)."""
    app = web.Application(middlewares=[_json_errors, _routee])
    state = SandboxState(sim, app_id, app_secret, callbacks=callbacks)
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
    app.router.add_get("/accounts/me/balance", _balance)
    app.router.add_get("/accounts/me/transactions", _transactions)
    add_control_routes(app)
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
    callbacks: bool = True,
    balance: float = DEFAULT_BALANCE,
    on_ready: Callable[[int], None] | None = None,
    profile: Profile | None = None,
) -> None:
    """Serve the sandbox on ``host:port`` (loopback only) until cancelled.

    ``on_ready`` receives the bound port (useful with ``port=0``).
    """
    if not _is_loopback(host):
        raise ValueError(f"the Routee sandbox binds to loopback only, not {host!r}")
    sim = RouteeSim(time_scale=time_scale, account=Account(opening=balance), profile=profile)
    app = create_sandbox_app(sim, app_id=app_id, app_secret=app_secret, callbacks=callbacks)
    runner = web.AppRunner(app, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        if on_ready is not None:
            on_ready(runner.addresses[0][1])
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await sim.aclose()
