"""The standalone sandbox's control API (``/_sandbox/...``, no authentication, loopback only):
counts for tests, scripted faults, token lifetime and revocation, delivery reports on or off,
the account's balance, and a reset. See docs/routee.md."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from failover_otp.providers.sandbox.wire_state import (
    DEFAULT_TOKEN_TTL,
    STATE,
    SandboxState,
    Script,
    json_body,
    json_response,
    routee_error,
)


async def _sends(request: web.Request) -> web.Response:
    state = request.app[STATE]
    by_number = Counter(f"{m.channel.value}:{m.to}" for m in state.sim.messages.values())
    return json_response(
        {
            "total": state.sim.accepted_total,
            "by_key": dict(state.sim.accepted),
            "by_number": dict(by_number),
            "requests": dict(state.requests),
            "tokens_issued": state.tokens.issued,
            "callbacks": dict(state.callbacks),
            "callbacks_enabled": state.callbacks_enabled,
            "balance": state.sim.account.balance,
            "scripts_pending": len(state.scripts),
        }
    )


def _script(state: SandboxState, data: Any) -> web.Response:
    try:
        scripts = [Script.parse(d) for d in (data if isinstance(data, list) else [data])]
    except (TypeError, ValueError) as exc:
        return routee_error(400, "400000000", str(exc))
    state.scripts.extend(scripts)
    return json_response({"queued": len(scripts), "pending": len(state.scripts)})


def _token_ttl(state: SandboxState, data: Any) -> web.Response:
    expires_in = data.get("expires_in") if isinstance(data, dict) else None
    if not isinstance(expires_in, int) or expires_in < 1:
        return routee_error(400, "400000000", "expires_in must be a positive integer")
    state.tokens.ttl = expires_in
    return json_response({"expires_in": expires_in})


def _callbacks(state: SandboxState, data: Any) -> web.Response:
    enabled = data.get("enabled") if isinstance(data, dict) else None
    if not isinstance(enabled, bool):
        return routee_error(400, "400000000", "enabled must be true or false")
    state.callbacks_enabled = enabled
    return json_response({"enabled": enabled})


def _balance(state: SandboxState, data: Any) -> web.Response:
    amount = data.get("balance") if isinstance(data, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        return routee_error(400, "400000000", "balance must be a number >= 0")
    state.sim.account.set_balance(float(amount))
    return json_response({"balance": state.sim.account.balance})


def _reset(state: SandboxState) -> web.Response:
    state.sim.reset()
    state.scripts.clear()
    state.requests.clear()
    state.callbacks.clear()
    state.callbacks_enabled = state.callbacks_at_start
    state.tokens.issued, state.tokens.ttl = 0, DEFAULT_TOKEN_TTL
    return json_response({"reset": True})


async def _control(request: web.Request) -> web.Response:
    """``POST /_sandbox/{script|token-ttl|revoke-tokens|callbacks|balance|reset}``."""
    state, data = request.app[STATE], await json_body(request, b"{}")
    action = request.match_info["action"]
    if action == "script":
        return _script(state, data)
    if action == "token-ttl":
        return _token_ttl(state, data)
    if action == "revoke-tokens":
        return json_response({"revoked": state.tokens.revoke_all()})
    if action == "callbacks":
        return _callbacks(state, data)
    if action == "balance":
        return _balance(state, data)
    if action == "reset":
        return _reset(state)
    raise web.HTTPNotFound()


def add_control_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/sends", _sends)
    app.router.add_post("/_sandbox/{action}", _control)
