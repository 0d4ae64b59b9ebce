"""Routee's delivery reports (``POST /callbacks/routee/{token}``), applied through the same
engine as every other event: duplicated, reordered and late reports never move a step backwards.

Routee signs nothing, so the path carries an unguessable per-deployment token; a wrong token is
refused as if the route did not exist, before the body is read.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from failover_otp.providers.routee.wire import MalformedBody, parse_callback
from failover_otp.services.errors import Malformed, NotFound
from failover_otp.services.flows import FlowService


class ProviderCallbacks:
    def __init__(self, flows: FlowService, token: str) -> None:
        self.flows = flows
        self._token = token.encode()

    async def routee(self, token: str, read_body: Callable[[], Awaitable[bytes]]) -> int:
        """Apply the reports of one callback (``read_body`` is read only for the right token):
        how many were accepted. Objects without an id or with an unknown status are skipped."""
        if not hmac.compare_digest(token.encode(), self._token):
            raise NotFound("not found")
        try:
            reports = parse_callback(await read_body())
        except MalformedBody as exc:
            raise Malformed(str(exc), code="malformed_callback") from None
        for report in reports:
            await self.flows.report(report)
        return len(reports)
