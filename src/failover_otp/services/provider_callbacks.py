"""Routee's delivery reports (``POST /callbacks/routee/{token}``), applied through the same
engine as every other event: duplicated, reordered and late reports never move a step backwards.

Routee signs nothing, so the path carries an unguessable per-deployment token; a wrong token is
refused as if the route did not exist, before the body is read.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from failover_otp.providers.base import DeliveryReport
from failover_otp.services.errors import Malformed, NotFound
from failover_otp.services.flows import FlowService

# Reads the delivery reports of a callback body; raises ValueError for a body it cannot read.
CallbackParser = Callable[[bytes], list[DeliveryReport]]


class ProviderCallbacks:
    def __init__(self, flows: FlowService, token: str, parse: CallbackParser) -> None:
        self.flows = flows
        self._token = token.encode()
        # Routee's wire format (providers/routee/wire.py), handed over by bootstrap.
        self._parse = parse

    async def routee(self, token: str, read_body: Callable[[], Awaitable[bytes]]) -> int:
        """Apply the reports of one callback (``read_body`` is read only for the right token):
        how many were accepted. Objects without an id or with an unknown status are skipped."""
        if not hmac.compare_digest(token.encode(), self._token):
            raise NotFound("not found")
        try:
            reports = self._parse(await read_body())
        except ValueError as exc:
            raise Malformed(str(exc), code="malformed_callback") from None
        for report in reports:
            await self.flows.report(report)
        return len(reports)
